//! The JSON API: `GET /api/{users|notes}?q=&sort=`, `POST /api/{kind}`,
//! `PUT /api/{kind}/{id}`, `DELETE /api/{kind}/{id}`, `GET /api/info`. Errors map from
//! `plinth::Error` through the demo's service: 409 for a taken username, 404 for a
//! missing record, 422 for bad input, each with `{"status","message"}`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use plinth::Database;
use plinth_demo::service::{self, DemoError, Kind, Sort};
use serde::Deserialize;

/// The API's routes over `db`.
pub(crate) fn router(db: Database) -> Router {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/{kind}", get(list).post(create))
        .route("/api/{kind}/{id}", axum::routing::put(update).delete(delete))
        .with_state(db)
}

struct ApiError(DemoError);

impl From<DemoError> for ApiError {
    fn from(err: DemoError) -> Self {
        ApiError(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
}

async fn info(State(db): State<Database>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "database": db.backend_name() }))
}

async fn list(
    State(db): State<Database>,
    Path(kind): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<serde_json::Map<String, serde_json::Value>>>> {
    let (kind, sort) = (Kind::parse(&kind)?, Sort::parse(&params.sort)?);
    Ok(Json(service::list(&db, kind, &params.q, sort).await?))
}

async fn create(State(db): State<Database>, Path(kind): Path<String>, body: String) -> ApiResult<Response> {
    let record = service::create(&db, Kind::parse(&kind)?, &body).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

async fn update(
    State(db): State<Database>,
    Path((kind, id)): Path<(String, i64)>,
    body: String,
) -> ApiResult<Json<serde_json::Map<String, serde_json::Value>>> {
    Ok(Json(service::update(&db, Kind::parse(&kind)?, id, &body).await?))
}

async fn delete(State(db): State<Database>, Path((kind, id)): Path<(String, i64)>) -> ApiResult<StatusCode> {
    service::delete(&db, Kind::parse(&kind)?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
