//! Bearer-token authentication and roles for the admin API. Without a valid
//! token: 401 with `WWW-Authenticate: Bearer`; with a token whose role does not
//! reach the resource: 403. Public: the OpenAPI document and `/metrics` (counts
//! only, no voicemail, no PIN). A `mailbox:EXT` token reaches only its own
//! mailbox: `/api/mailboxes/EXT` and below, and the messages of EXT. The web
//! pages ([`super::subscriber`]) guard themselves by their session cookie, which also
//! reads (only reads) its own mailbox through the API.

use super::AdminState;
use super::problem::problem;
pub use crate::tokens::Principal;
use crate::tokens::Role;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

fn public(path: &str) -> bool {
    matches!(path, "/api/openapi.json" | "/metrics")
}

fn bearer(req: &ServiceRequest) -> Option<String> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Whether a mailbox token may make this request (the message's owner is
/// looked up for `/api/messages/ID…`).
fn mailbox_may(
    state: &AdminState,
    ext: &str,
    method: &actix_web::http::Method,
    path: &str,
) -> bool {
    let own = format!("/api/mailboxes/{ext}");
    let read = method == actix_web::http::Method::GET;
    if (path == own || path == format!("{own}/messages")) && read {
        return true;
    }
    if path.starts_with(&format!("{own}/greetings/")) {
        return true;
    }
    if let Some(rest) = path.strip_prefix("/api/messages/") {
        let id = rest.split('/').next().unwrap_or("");
        return state
            .store
            .as_ref()
            .and_then(|s| s.get(id).ok())
            .is_some_and(|m| m.mailbox == ext);
    }
    false
}

pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if public(req.path()) || super::subscriber::is_page(req.path()) {
        return next.call(req).await.map(|r| r.map_into_left_body());
    }
    let Some(state) = req.app_data::<web::Data<AdminState>>().cloned() else {
        let r = super::problem::internal("no admin state");
        return Ok(req.into_response(r).map_into_right_body());
    };
    // A web session reads its own mailbox through the API (the pages' audio);
    // its changes go through the pages' forms, which check the CSRF token.
    if bearer(&req).is_none()
        && let Some((_, who)) = super::subscriber::subscriber(&state, req.request())
    {
        let p = who.principal();
        let read = matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
        if !read || !mailbox_may(&state, &who.extension, req.method(), req.path()) {
            let r = problem(
                StatusCode::FORBIDDEN,
                "a web session reads only its own mailbox through the API",
                None,
            );
            tracing::warn!(event = "admin_refused", status = 403, method = %req.method(), path = %req.path(), reason = "web session");
            return Ok(req.into_response(r).map_into_right_body());
        }
        req.extensions_mut().insert(p);
        return next.call(req).await.map(|r| r.map_into_left_body());
    }
    let refuse = |req: ServiceRequest, status: StatusCode, why: &str| {
        let mut r = problem(status, why, None);
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer realm=\"openum\""),
            );
        }
        tracing::warn!(event = "admin_refused", status = status.as_u16(), method = %req.method(), path = %req.path(), reason = why);
        Ok(req.into_response(r).map_into_right_body())
    };
    let Some(token) = bearer(&req) else {
        return refuse(
            req,
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer …)",
        );
    };
    let objects = state.objects.as_ref().map(|o| o.store().clone());
    let principal = match crate::tokens::check(&token, &state.local_token_hash, objects.as_deref())
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            return refuse(
                req,
                StatusCode::UNAUTHORIZED,
                "the token is not valid (revoked or mistyped)",
            );
        }
        Err(e) => return refuse(req, StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    if let Role::Mailbox(ext) = &principal.role
        && !mailbox_may(&state, ext, req.method(), req.path())
    {
        let why = format!("a mailbox:{ext} token reaches only mailbox {ext}");
        return refuse(req, StatusCode::FORBIDDEN, &why);
    }
    req.extensions_mut().insert(principal);
    next.call(req).await.map(|r| r.map_into_left_body())
}
