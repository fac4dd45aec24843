//! Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`,
//! `detail`, and, when a refusal names one, the `object`, `name` and `field`
//! that fix it. `error` repeats `detail` for clients of earlier versions.

use crate::config::change::ChangeError;
use crate::objects::ObjectError;
use crate::store::StoreError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;

pub fn problem(
    status: StatusCode,
    detail: &str,
    field: Option<(&str, &str, &str)>,
) -> HttpResponse {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
        "error": detail,
    });
    if let Some((object, name, f)) = field {
        body["object"] = object.into();
        body["name"] = name.into();
        body["field"] = f.into();
    }
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .body(body.to_string())
}

pub fn bad_request(detail: &str) -> HttpResponse {
    problem(StatusCode::BAD_REQUEST, detail, None)
}

pub fn not_found(detail: &str) -> HttpResponse {
    problem(StatusCode::NOT_FOUND, detail, None)
}

pub fn conflict(detail: &str) -> HttpResponse {
    problem(StatusCode::CONFLICT, detail, None)
}

pub fn internal(detail: &str) -> HttpResponse {
    problem(StatusCode::INTERNAL_SERVER_ERROR, detail, None)
}

/// A refused object change: 404 no such object, 409 exists / in use / changed
/// meanwhile, 422 a rule broken (naming object and field), 503 the store failed.
pub fn of_object_error(e: &ObjectError) -> HttpResponse {
    let status = match e {
        ObjectError::Change(ChangeError::NotFound { .. }) => StatusCode::NOT_FOUND,
        ObjectError::Change(ChangeError::Exists { .. } | ChangeError::InUse { .. }) => {
            StatusCode::CONFLICT
        }
        ObjectError::Change(ChangeError::Invalid(_)) | ObjectError::Pin { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ObjectError::Store(StoreError::Conflict { .. }) => StatusCode::CONFLICT,
        ObjectError::Store(StoreError::DiskFull { .. } | StoreError::Io(_)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ObjectError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    problem(status, &e.to_string(), e.field())
}

/// Bodies, queries and paths that do not parse are problems too (actix's own
/// answers are text/plain), and so is a path no route has.
pub fn extractors(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    fn as_problem(detail: String) -> actix_web::Error {
        let r = bad_request(&detail);
        actix_web::error::InternalError::from_response(detail, r).into()
    }
    cfg.app_data(
        web::JsonConfig::default()
            .limit(4 << 20)
            .error_handler(|e, _| as_problem(format!("the JSON body: {e}"))),
    )
    .app_data(
        web::QueryConfig::default().error_handler(|e, _| as_problem(format!("the query: {e}"))),
    )
    .app_data(web::PathConfig::default().error_handler(|e, _| as_problem(format!("the path: {e}"))))
    .default_service(web::to(|req: actix_web::HttpRequest| async move {
        not_found(&format!(
            "no such resource: {} {}",
            req.method(),
            req.path()
        ))
    }));
}
