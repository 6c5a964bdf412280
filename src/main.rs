//! The `blink-store` server binary: parse the configuration, start logging,
//! run the event loop, and turn how it ended into an exit code. Its one
//! other mode, `blink-store ping`, is the health probe ([`blink_store::probe`]).
//!
//! `main` returns instead of calling `process::exit`, so the logging guard
//! is dropped last and the final lines reach the log file.

use std::process::ExitCode;

use blink_store::config::Config;
use blink_store::logging::Logging;
use blink_store::server::{Exit, Server};
use blink_store::stats;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    if args.next_if(|first| first == "ping").is_some() {
        return ExitCode::from(blink_store::probe::run(args));
    }
    let config = Config::from_env_and_args();
    let snapshot = stats::shared_snapshot();
    let logging = match Logging::init(&config, snapshot.clone()) {
        Ok(logging) => logging,
        Err(error) => {
            eprintln!("blink-store: cannot start logging: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        memory_limit_bytes = config.memory_limit_bytes,
        max_connections = config.max_connections,
        auth = config.auth_token.is_some(),
        "starting"
    );
    let server = match Server::bind(config, snapshot, logging.counters()) {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("blink-store: {error}");
            return ExitCode::FAILURE;
        }
    };
    // One machine-readable line so scripts and tests learn the bound addresses.
    println!("{}", server.ready_line());
    let code = match server.run() {
        Ok(Exit::Clean) => {
            tracing::info!("shutdown complete");
            ExitCode::SUCCESS
        }
        Ok(Exit::Forced) => {
            tracing::warn!("forced exit");
            ExitCode::from(130)
        }
        Err(error) => {
            tracing::error!(%error, "event loop failed");
            ExitCode::FAILURE
        }
    };
    drop(logging);
    code
}
