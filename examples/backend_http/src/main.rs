//! An HTTP backend with Blink-Store as its cache: axum on tokio over SQLite.
//!
//! ```sh
//! cargo run --release -p backend-http
//! ```
//!
//! Configuration is by environment variable (`examples/README.md` lists them).
//! Modules, in dependency order: [`config`] (environment) → [`origin`] (SQLite,
//! slowed) → [`cache`] (Blink-Store behind a breaker) → [`service`]
//! (cache-aside, single-flight, invalidation) → [`api`] (routes, logs).

mod api;
mod cache;
mod config;
mod origin;
mod service;

use std::process::ExitCode;
use std::sync::Arc;

use cache::{BlinkCache, Breaker};
use config::Config;
use origin::Origin;
use service::ItemService;

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("backend-http: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(config.log_level)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error, "stopped on an error");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let origin = Origin::open(&config.origin_path, config.origin_delay)
        .map_err(|e| format!("origin {}: {e}", config.origin_path.display()))?;
    let cache = config.cache_enabled.then(|| {
        let breaker = Breaker::new(config.breaker_failures, config.breaker_cooldown);
        BlinkCache::new(config.blink.clone(), config.cache_timeout, breaker)
    });
    let items = Arc::new(ItemService::new(
        origin,
        cache,
        config.cache_ttl,
        config.cache_ttl_jitter_percent,
    ));
    let listener = tokio::net::TcpListener::bind(&config.listen_addr)
        .await
        .map_err(|e| format!("listen on {}: {e}", config.listen_addr))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    tracing::info!(port, cache = config.cache_enabled, "started");
    // Graceful: on SIGINT/SIGTERM stop accepting, finish the requests in flight, then return.
    axum::serve(listener, api::router(items))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("stopping");
}
