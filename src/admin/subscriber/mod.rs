//! The subscriber's web pages on the admin address: `GET /` signs in with
//! extension and PIN (the mailbox policy's lockout counts these failures in
//! the same place as the phone's), `GET /inbox` lists and plays the messages,
//! `POST /inbox/{id}` marks one new, saved or deleted (MWI follows through the
//! store's change feed, exactly as by phone), `POST /signout`. Every change
//! carries the session's CSRF token. Server-rendered HTML ([`pages`]), plain
//! CSS, no script; the audio comes from the API's own authenticated URLs,
//! which take the session cookie for reads.

pub mod pages;
pub mod session;

use super::AdminState;
use crate::store::MessageStatus;
use crate::store::pins::{self, Logon};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use std::time::{Instant, SystemTime};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/web.css", web::get().to(css))
        .route("/signin", web::post().to(sign_in))
        .route("/signout", web::post().to(sign_out))
        .route("/inbox", web::get().to(inbox))
        .route("/inbox/{id}", web::post().to(act));
}

/// The paths this module guards itself (by the session cookie).
pub fn is_page(path: &str) -> bool {
    matches!(path, "/" | "/web.css" | "/signin" | "/signout" | "/inbox")
        || path.starts_with("/inbox/")
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body)
}

fn see(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

fn lang(req: &HttpRequest) -> crate::directory::lang::Lang {
    pages::lang_of(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The signed-in subscriber of this request, if any.
pub fn subscriber(s: &AdminState, req: &HttpRequest) -> Option<(String, session::Subscriber)> {
    let token = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(session::from_cookie_header)?;
    let who = s.sessions.check(&token, Instant::now())?;
    Some((token, who))
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(pages::CSS)
}

async fn home(s: web::Data<AdminState>, req: HttpRequest) -> HttpResponse {
    if subscriber(&s, &req).is_some() {
        return see("/inbox");
    }
    html(
        actix_web::http::StatusCode::OK,
        pages::sign_in(lang(&req), None, ""),
    )
}

#[derive(serde::Deserialize)]
struct SignIn {
    extension: String,
    pin: String,
}

async fn sign_in(
    s: web::Data<AdminState>,
    req: HttpRequest,
    form: web::Form<SignIn>,
) -> HttpResponse {
    let l = lang(&req);
    let SignIn { extension, pin } = form.into_inner();
    let ext = extension.trim().to_string();
    let refuse = |status: actix_web::http::StatusCode, why: &str| {
        html(
            status,
            pages::sign_in(l, Some(&pages::refusal(l, why)), &ext),
        )
    };
    let dir = super::current_dir(&s).await;
    let Some(store) = s.store.clone() else {
        return refuse(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
        );
    };
    if dir.mailbox_any(&ext).is_none() {
        tracing::warn!(event = "web_logon", mailbox = %ext, result = "unknown_mailbox");
        return refuse(actix_web::http::StatusCode::UNAUTHORIZED, "wrong");
    }
    let (e2, d2) = (ext.clone(), dir.clone());
    // A failed store and a lost blocking pool are the same failure here.
    let r = web::block(move || pins::logon(store.as_ref(), &d2, &e2, &pin, SystemTime::now()))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    match r {
        Ok(Logon::Ok { .. }) => {
            metrics::counter!("openum_logons_total", "result" => "ok").increment(1);
            tracing::info!(event = "web_logon", mailbox = %ext, result = "ok");
            let (token, _) = s.sessions.open(&ext, Instant::now());
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/inbox"))
                .insert_header((
                    header::SET_COOKIE,
                    session::set_cookie(&token, s.secure_cookies),
                ))
                .finish()
        }
        Ok(Logon::Wrong { failures, locked }) => {
            metrics::counter!("openum_logons_total", "result" => "failed").increment(1);
            tracing::warn!(event = "web_logon", mailbox = %ext, result = "wrong_pin", failures, locked);
            if locked {
                tracing::warn!(event = "mailbox_locked", mailbox = %ext, failures, via = "web");
                return refuse(actix_web::http::StatusCode::FORBIDDEN, "locked");
            }
            refuse(actix_web::http::StatusCode::UNAUTHORIZED, "wrong")
        }
        Ok(Logon::Locked) => {
            metrics::counter!("openum_logons_total", "result" => "locked").increment(1);
            tracing::warn!(event = "web_logon", mailbox = %ext, result = "locked");
            refuse(actix_web::http::StatusCode::FORBIDDEN, "locked")
        }
        Ok(Logon::NoPin) => {
            tracing::warn!(event = "web_logon", mailbox = %ext, result = "no_pin");
            refuse(actix_web::http::StatusCode::FORBIDDEN, "no_pin")
        }
        Err(e) => {
            tracing::warn!(event = "web_logon", mailbox = %ext, result = "error", error = %e);
            refuse(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            )
        }
    }
}

#[derive(serde::Deserialize)]
struct Csrf {
    csrf: String,
}

async fn sign_out(
    s: web::Data<AdminState>,
    req: HttpRequest,
    form: web::Form<Csrf>,
) -> HttpResponse {
    if let Some((token, who)) = subscriber(&s, &req) {
        if form.csrf != who.csrf {
            return super::problem::problem(
                actix_web::http::StatusCode::FORBIDDEN,
                "the form's CSRF token does not match the session",
                None,
            );
        }
        s.sessions.close(&token);
        tracing::info!(event = "web_logoff", mailbox = %who.extension);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .insert_header((header::SET_COOKIE, session::clear_cookie()))
        .finish()
}

async fn inbox(
    s: web::Data<AdminState>,
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let Some((_, who)) = subscriber(&s, &req) else {
        return see("/");
    };
    let Some(store) = s.store.clone() else {
        return super::problem::internal("no store in this role");
    };
    let dir = super::current_dir(&s).await;
    let ext = who.extension.clone();
    let list = match web::block(move || store.list(&ext)).await {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => return super::problem::internal(&e.to_string()),
        Err(e) => return super::problem::internal(&e.to_string()),
    };
    let mb = dir.mailbox_any(&who.extension);
    // The mailbox's language for dates; the browser's for the page's words
    // when it asks for one we speak.
    let tz = dir.mailbox_time_zone(&who.extension);
    let l = match req.headers().get(header::ACCEPT_LANGUAGE) {
        Some(_) => lang(&req),
        None => mb.map_or(crate::directory::lang::Lang::EnUs, |m| {
            dir.mailbox_language(m)
        }),
    };
    // Read by hand: an empty select or date field is "any", not an error.
    let get = |k: &str| {
        query
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut query_error = None;
    let status = get("status").and_then(|x| {
        let s = MessageStatus::parse(&x);
        if s.is_none() {
            query_error = Some(format!("status {x:?}: new, saved or deleted"));
        }
        s
    });
    let q = crate::store::query::MessageQuery {
        q: get("q"),
        status,
        from: get("from"),
        to: get("to"),
    };
    query_error = query_error.or_else(|| q.check().err());
    html(
        actix_web::http::StatusCode::OK,
        pages::inbox(pages::Inbox {
            lang: l,
            extension: &who.extension,
            name: mb.map_or("", |m| m.display_name.as_str()),
            tz,
            csrf: &who.csrf,
            messages: list.into_iter().map(Into::into).collect(),
            query: &q,
            query_error,
        }),
    )
}

#[derive(serde::Deserialize)]
struct Action {
    csrf: String,
    action: String,
}

/// Mark a message new, saved or deleted (undelete is saved), as by phone.
async fn act(
    s: web::Data<AdminState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Action>,
) -> HttpResponse {
    let Some((_, who)) = subscriber(&s, &req) else {
        return see("/");
    };
    let forbidden =
        |why: &str| super::problem::problem(actix_web::http::StatusCode::FORBIDDEN, why, None);
    if form.csrf != who.csrf {
        tracing::warn!(event = "web_refused", mailbox = %who.extension, reason = "csrf");
        return forbidden("the form's CSRF token does not match the session");
    }
    let Some(status) = MessageStatus::parse(&form.action) else {
        return super::problem::problem(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &format!("action {:?}: use new, saved or deleted", form.action),
            None,
        );
    };
    let Some(store) = s.store.clone() else {
        return super::problem::internal("no store in this role");
    };
    let id = path.into_inner();
    let ext = who.extension.clone();
    let r = web::block(move || {
        let m = store.get(&id)?;
        if m.mailbox != ext {
            return Ok(None);
        }
        store.set_status(&id, status, SystemTime::now()).map(Some)
    })
    .await;
    match r {
        Ok(Ok(Some(m))) => {
            tracing::info!(event = "message_status_changed", message_id = %m.id, mailbox = %m.mailbox, status = %status.name(), via = "web");
            see("/inbox")
        }
        Ok(Ok(None)) => forbidden("that message is not in your mailbox"),
        Ok(Err(e)) => super::messages::store_error(e),
        Err(e) => super::problem::internal(&e.to_string()),
    }
}
