//! The HTTP API: axum routes, request validation, structured request logs.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::origin::OriginError;
use crate::service::ItemService;

/// Largest PUT body accepted; well under Blink-Store's default 1 MiB value limit.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest item id: ids are path segments and cache-key suffixes.
const MAX_ID_BYTES: usize = 128;

type Items = State<Arc<ItemService>>;

/// An error reply: `{"error": "..."}` with its status, as every app sends it.
struct ApiError(StatusCode, &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<OriginError> for ApiError {
    fn from(error: OriginError) -> ApiError {
        tracing::error!(error = %error, "origin call failed");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

fn item_id(id: &str) -> Result<&str, ApiError> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if id.is_empty() || id.len() > MAX_ID_BYTES || !id.chars().all(valid) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "id must match [A-Za-z0-9_.-]{1,128}",
        ));
    }
    Ok(id)
}

/// The router over `items`.
pub fn router(items: Arc<ItemService>) -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(get_item).put(put_item).delete(delete_item),
        )
        .route(
            "/stats",
            get(async |State(items): Items| Json(items.stats())),
        )
        .route("/healthz", get(healthz))
        .fallback(async || ApiError(StatusCode::NOT_FOUND, "not found"))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(request_log))
        .with_state(items)
}

async fn get_item(State(items): Items, Path(id): Path<String>) -> Result<Response, ApiError> {
    match items.get(item_id(&id)?).await? {
        Some(item) => Ok(Json(item).into_response()),
        None => Err(ApiError(StatusCode::NOT_FOUND, "no such item")),
    }
}

// The body is taken as bytes, whatever its content type: any JSON value, not only objects.
async fn put_item(
    State(items): Items,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = item_id(&id)?;
    let value = serde_json::from_slice(&body)
        .map_err(|_| ApiError(StatusCode::BAD_REQUEST, "body is not JSON"))?;
    Ok(Json(items.put(id, value).await?).into_response())
}

async fn delete_item(State(items): Items, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    match items.delete(item_id(&id)?).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError(StatusCode::NOT_FOUND, "no such item")),
    }
}

/// Healthy means "can serve": the origin answers. A sick cache only slows us down, so it is
/// reported, never failed on (restarting the app would not heal the cache).
async fn healthz(State(items): Items) -> Response {
    let breaker = items.stats()["breaker"].clone();
    match items.origin.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "breaker": breaker })).into_response(),
        Err(error) => {
            let body = json!({ "status": "unhealthy", "error": error.to_string() });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn request_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, path, status = response.status().as_u16(), duration_ms, "request");
    response
}
