//! The HTTP server: the JSON API under `/api/` and the web pages (one embedded HTML shell
//! with its script and style, which read the API). Malformed parameters answer 400 with
//! `{"error": ...}`, unknown things 404, database failures 500; nothing a client sends
//! can crash the server.

use std::collections::HashMap;

use arceon_primitives::parse_account;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::db::Db;
use crate::indexer::SharedStatus;
use crate::query;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The index.
    pub db: Db,
    /// The indexer's status.
    pub status: SharedStatus,
}

/// An API failure, answered as JSON.
#[derive(Debug)]
pub enum ApiError {
    /// A malformed parameter (400).
    BadRequest(String),
    /// Nothing indexed matches (404).
    NotFound(String),
    /// The database failed (500).
    Internal(String),
}

impl From<crate::error::ExplorerError> for ApiError {
    fn from(error: crate::error::ExplorerError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        (code, Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// What a block id (`/block/<id>`) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockId {
    /// A height.
    Number(i64),
    /// A `0x` hash (lower case).
    Hash(String),
}

/// `0x` + 64 hex digits, lower-cased; `None` otherwise.
pub fn parse_hash(text: &str) -> Option<String> {
    let hex = text.strip_prefix("0x")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("0x{}", hex.to_ascii_lowercase()))
}

/// A block number (decimal, fits u32) or hash.
pub fn parse_block_id(text: &str) -> Result<BlockId, ApiError> {
    if let Some(hash) = parse_hash(text) {
        return Ok(BlockId::Hash(hash));
    }
    if !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<u32>() {
            return Ok(BlockId::Number(i64::from(n)));
        }
    }
    Err(ApiError::BadRequest(format!(
        "`{text}` is not a block number or a 0x-prefixed 32-byte hash"
    )))
}

fn address(text: &str) -> Result<String, ApiError> {
    parse_account(text)
        .map(|a| arceon_primitives::to_ss58(&a))
        .map_err(|e| ApiError::BadRequest(format!("`{text}` is not an SS58 address: {e}")))
}

fn limit(params: &HashMap<String, String>, default: i64, max: i64) -> Result<i64, ApiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "limit must be a whole number from 1 to {max}, not `{text}`"
            ))),
        },
    }
}

async fn status(State(app): State<AppState>) -> ApiResult {
    let status = app.status.read().map(|s| s.clone()).unwrap_or_default();
    let lag = match (status.best_height, status.finalized_height) {
        (Some(b), Some(f)) => Some(b.saturating_sub(f)),
        _ => None,
    };
    let pool = app.db.pool();
    Ok(Json(json!({
        "status": status,
        "finalityLag": lag,
        "database": app.db.engine().name(),
        "chart": query::chart(pool, 60).await?,
        "latestBlocks": query::latest_blocks(pool, 10).await?,
        "latestExtrinsics": query::latest_extrinsics(pool, 10).await?,
    })))
}

async fn blocks(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let limit = limit(&q, 20, 100)?;
    Ok(Json(json!(
        query::latest_blocks(app.db.pool(), limit).await?
    )))
}

async fn block(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let found = match parse_block_id(&id)? {
        BlockId::Number(n) => query::block(app.db.pool(), Some(n), None).await?,
        BlockId::Hash(h) => query::block(app.db.pool(), None, Some(&h)).await?,
    };
    found
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("block {id} is not indexed")))
}

async fn extrinsic(State(app): State<AppState>, Path(hash): Path<String>) -> ApiResult {
    let hash = parse_hash(&hash).ok_or_else(|| {
        ApiError::BadRequest(format!("`{hash}` is not a 0x-prefixed 32-byte hash"))
    })?;
    query::extrinsic(app.db.pool(), &hash)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("extrinsic {hash} is not indexed")))
}

async fn account(State(app): State<AppState>, Path(text): Path<String>) -> ApiResult {
    let who = address(&text)?;
    query::account(app.db.pool(), &who)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("account {who} has no indexed activity")))
}

async fn validator(State(app): State<AppState>, Path(text): Path<String>) -> ApiResult {
    let who = address(&text)?;
    query::validator(app.db.pool(), &who)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("{who} is not a validator")))
}

async fn validators(State(app): State<AppState>) -> ApiResult {
    Ok(Json(query::validators(app.db.pool()).await?))
}

async fn lanes(State(app): State<AppState>) -> ApiResult {
    Ok(Json(query::lanes(app.db.pool()).await?))
}

async fn map(State(app): State<AppState>) -> ApiResult {
    Ok(Json(query::map(app.db.pool()).await?))
}

async fn search(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let term = q.get("q").map(|s| s.trim()).unwrap_or_default();
    if term.is_empty() {
        return Err(ApiError::BadRequest("search needs q: a block number or hash, an extrinsic hash, an SS58 address or a player name".into()));
    }
    if term.len() > 128 {
        return Err(ApiError::BadRequest(
            "search term longer than 128 characters".into(),
        ));
    }
    let pool = app.db.pool();
    let hit = |kind: &str, url: String, value: Value| {
        Json(json!({ "kind": kind, "url": url, "result": value }))
    };
    if let Ok(BlockId::Number(n)) = parse_block_id(term) {
        if let Some(b) = query::block(pool, Some(n), None).await? {
            return Ok(hit("block", format!("/block/{n}"), b));
        }
    }
    if let Some(hash) = parse_hash(term) {
        if let Some(b) = query::block(pool, None, Some(&hash)).await? {
            return Ok(hit("block", format!("/block/{hash}"), b));
        }
        if let Some(x) = query::extrinsic(pool, &hash).await? {
            return Ok(hit("extrinsic", format!("/extrinsic/{hash}"), x));
        }
    }
    if let Ok(who) = address(term) {
        let found = query::account(pool, &who)
            .await?
            .unwrap_or(json!({ "address": who }));
        return Ok(hit("account", format!("/account/{who}"), found));
    }
    let players = query::players_named(pool, term).await?;
    if let Some(first) = players.first() {
        let who = first["address"].as_str().unwrap_or_default().to_string();
        return Ok(hit("player", format!("/account/{who}"), json!(players)));
    }
    Err(ApiError::NotFound(format!(
        "nothing matches `{term}`: try a block number or hash, an extrinsic hash, an SS58 address or a player name"
    )))
}

async fn unknown_api() -> ApiError {
    ApiError::NotFound("no such API endpoint: see /api/status, /api/blocks, /api/block/<id>, /api/extrinsic/<hash>, /api/account/<ss58>, /api/validator/<ss58>, /api/validators, /api/map, /api/lanes, /api/search?q=".into())
}

const PAGE: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/app.js");
const STYLE: &str = include_str!("../static/style.css");

async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

async fn not_found_page() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE,
    )
}

/// The explorer's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/blocks", get(blocks))
        .route("/api/block/{id}", get(block))
        .route("/api/extrinsic/{hash}", get(extrinsic))
        .route("/api/account/{address}", get(account))
        .route("/api/validator/{address}", get(validator))
        .route("/api/validators", get(validators))
        .route("/api/map", get(map))
        .route("/api/lanes", get(lanes))
        .route("/api/search", get(search))
        .route("/api/{*rest}", get(unknown_api))
        .route("/", get(page))
        .route("/block/{id}", get(page))
        .route("/extrinsic/{hash}", get(page))
        .route("/account/{address}", get(page))
        .route("/validator/{address}", get(page))
        .route("/map", get(page))
        .route("/staking", get(page))
        .route("/static/app.js", get(script))
        .route("/static/style.css", get(style))
        .fallback(not_found_page)
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_are_numbers_or_hashes() {
        assert_eq!(parse_block_id("42").ok(), Some(BlockId::Number(42)));
        let hash = format!("0x{}", "AB".repeat(32));
        assert_eq!(
            parse_block_id(&hash).ok(),
            Some(BlockId::Hash(format!("0x{}", "ab".repeat(32))))
        );
        for bad in ["", "-1", "4294967296", "0x12", "abc", "1e3", "12345678901"] {
            assert!(parse_block_id(bad).is_err(), "{bad} accepted");
        }
    }
}
