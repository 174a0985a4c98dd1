//! The JSON API: `GET /api/users?q=&sort=` (each user with its `note_count`),
//! `GET /api/notes?q=&sort=&author=ID` (each note with its `author_username`; only
//! user `ID`'s notes if `author` is given), `POST /api/{kind}` (a note's form names
//! its author as `author_id`, a number or `null`), `PUT /api/{kind}/{id}`,
//! `DELETE /api/{kind}/{id}` (a user with their notes), `GET /api/info`.
//!
//! Every error, whatever its cause, is a JSON body `{"status","message"}`: from
//! `plinth::Error` through the demo's service (409 for a taken username or a record
//! edited meanwhile, 404 for a missing record, 422 for bad input, an author that does
//! not exist, or `author` on the users' list) and from the requests
//! themselves (400 for a body that is not UTF-8, 403 for a foreign page, 413 for a body
//! over 64 KiB, 415 for a body that is not `application/json`, 404 and 405 for unknown
//! paths and methods).
//!
//! The server answers only requests for itself, from itself: the `Host` header must be
//! the address it serves (so a page on another site that rebinds its DNS name to
//! 127.0.0.1 is refused), an `Origin` header must be that address too (so another page
//! cannot write, whatever it sends), and writes must carry `Content-Type:
//! application/json`, which no cross-site form or `text/plain` request can send without
//! the browser asking first.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use plinth::{Database, Id};
use plinth_demo::service::{self, DemoError, Kind, Sort};
use serde::Deserialize;

/// The largest request body the API reads.
const MAX_BODY: usize = 64 * 1024;

/// Where the server is reached: the `Host` values it answers, and the origins whose
/// pages may call it.
#[derive(Clone, Debug)]
pub(crate) struct Served {
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl Served {
    /// The server on 127.0.0.1 at `port`, also reached as `localhost`.
    pub(crate) fn local(port: u16) -> Self {
        let hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        let origins = hosts.iter().map(|h| format!("http://{h}")).collect();
        Served { hosts, origins }
    }
}

/// The server's whole app: the API over `db` and the page's files from `site`, both
/// answering only requests for `served`.
pub(crate) fn app(db: Database, served: Served, site: &std::path::Path) -> Router {
    let api = Router::new()
        .route("/info", get(info))
        .route("/{kind}", get(list).post(create))
        .route("/{kind}/{id}", axum::routing::put(update).delete(delete))
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(db);
    Router::new()
        .nest("/api", api)
        .fallback_service(tower_http::services::ServeDir::new(site))
        .layer(middleware::from_fn_with_state(served, only_from_itself))
}

/// An error the API answers with.
struct ApiError(DemoError);

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError(DemoError { status, message: message.into() })
    }
}

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

/// Refuses requests addressed to another host, sent from another origin's page, or
/// writing without a JSON body; see the module docs.
async fn only_from_itself(State(served): State<Served>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if !text(header::HOST).is_some_and(|host| served.hosts.iter().any(|h| h == host)) {
        let message = format!("This server answers only requests for {}.", served.hosts.join(" or "));
        return ApiError::new(403, message).into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !origin.to_str().is_ok_and(|o| served.origins.iter().any(|allowed| allowed == o)) {
            return ApiError::new(403, "Only the demo's own page may call this API.").into_response();
        }
    }
    let writes = matches!(*request.method(), Method::POST | Method::PUT);
    if writes && request.uri().path().starts_with("/api/") {
        let json = text(header::CONTENT_TYPE)
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return ApiError::new(415, "Send the form as JSON, with Content-Type: application/json.").into_response();
        }
    }
    next.run(request).await
}

/// The body as UTF-8 text, or the JSON error for one too large or not UTF-8.
fn body_text(body: Result<Bytes, BytesRejection>) -> ApiResult<String> {
    let bytes = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(413, format!("The form is larger than {} KiB.", MAX_BODY / 1024))
        }
        status => ApiError::new(status.as_u16(), format!("The form could not be read: {rejection}.")),
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::new(400, "The form is not UTF-8 text."))
}

/// A record id from the path, or a 404 naming what was given.
fn record_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| ApiError::new(404, format!("There is no record `{id}`: a record id is a whole number.")))
}

/// A user id from the `author` parameter (empty: none), or a 422 naming what was given.
fn author_id(author: &str) -> ApiResult<Option<Id<plinth_demo::model::User>>> {
    if author.is_empty() {
        return Ok(None);
    }
    let id = author
        .parse()
        .map_err(|_| ApiError::new(422, format!("`author` is a user's id, a whole number; `{author}` is not one.")))?;
    Ok(Some(Id::new(id)))
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    /// Read as text, so that a bad id is the API's JSON error, not axum's.
    #[serde(default)]
    author: String,
}

async fn info(State(db): State<Database>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "database": db.backend_name() }))
}

async fn list(
    State(db): State<Database>,
    Path(kind): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<Vec<serde_json::Map<String, serde_json::Value>>>> {
    let (kind, sort, author) = (Kind::parse(&kind)?, Sort::parse(&params.sort)?, author_id(&params.author)?);
    Ok(Json(service::list(&db, kind, &params.q, sort, author).await?))
}

async fn create(
    State(db): State<Database>,
    Path(kind): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let kind = Kind::parse(&kind)?;
    let record = service::create(&db, kind, &body_text(body)?).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

async fn update(
    State(db): State<Database>,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Map<String, serde_json::Value>>> {
    let (kind, id) = (Kind::parse(&kind)?, record_id(&id)?);
    Ok(Json(service::update(&db, kind, id, &body_text(body)?).await?))
}

async fn delete(State(db): State<Database>, Path((kind, id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let (kind, id) = (Kind::parse(&kind)?, record_id(&id)?);
    service::delete(&db, kind, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unknown_path() -> ApiError {
    ApiError::new(404, "There is no such API path; see /api/info, /api/users and /api/notes.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(405, "This path does not take that method.")
}

#[cfg(test)]
mod tests;
