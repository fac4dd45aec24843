//! `GET /api/calls` (Get-UMActiveCalls), `GET /api/cdrs` (Get-UMCallDataRecord:
//! `since`, `mailbox`, `gateway`, `limit`), `GET /api/cdrs/summary`
//! (Get-UMCallSummaryReport: `group_by=day|month`, `since`) and `GET
//! /api/events` (the recent structured events: `after`, `limit`, `event`).

use super::{AdminState, no_store, problem};
use crate::actors::supervisor::GetCalls;
use crate::store::cdr::{CdrQuery, summary};
use actix_web::{HttpResponse, web};

async fn calls(s: web::Data<AdminState>) -> HttpResponse {
    match s.supervisor.send(GetCalls).await {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => problem::internal(&e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct CdrParams {
    since: Option<String>,
    mailbox: Option<String>,
    gateway: Option<String>,
    limit: Option<usize>,
    group_by: Option<String>,
}

impl CdrParams {
    fn query(&self) -> Result<CdrQuery, String> {
        if let Some(s) = &self.since {
            humantime::parse_rfc3339_weak(s)
                .map_err(|e| format!("since {s:?}: {e} (write it as 2026-12-07T00:00:00Z)"))?;
        }
        Ok(CdrQuery {
            since: self.since.clone(),
            mailbox: self.mailbox.clone(),
            gateway: self.gateway.clone(),
            limit: self.limit.unwrap_or(1000).clamp(1, 100_000),
        })
    }
}

async fn cdrs(s: web::Data<AdminState>, p: web::Query<CdrParams>) -> HttpResponse {
    let Some(store) = s.cdrs.clone() else {
        return no_store();
    };
    let q = match p.query() {
        Ok(q) => q,
        Err(e) => return problem::bad_request(&e),
    };
    match web::block(move || store.cdrs(&q)).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(e)) => problem::internal(&e.to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn cdr_summary(s: web::Data<AdminState>, p: web::Query<CdrParams>) -> HttpResponse {
    let Some(store) = s.cdrs.clone() else {
        return no_store();
    };
    let by_month = match p.group_by.as_deref() {
        None | Some("day") => false,
        Some("month") => true,
        Some(g) => return problem::bad_request(&format!("group_by {g:?}: use day or month")),
    };
    let mut q = match p.query() {
        Ok(q) => q,
        Err(e) => return problem::bad_request(&e),
    };
    q.limit = usize::MAX;
    match web::block(move || store.cdrs(&q)).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(summary(&v, by_month)),
        Ok(Err(e)) => problem::internal(&e.to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct EventParams {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
    event: Option<String>,
}

async fn events(p: web::Query<EventParams>) -> HttpResponse {
    let limit = p.limit.unwrap_or(1000).clamp(1, crate::events::KEPT);
    HttpResponse::Ok().json(crate::events::since(p.after, limit, p.event.as_deref()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/events", web::get().to(events))
        .route("/api/calls", web::get().to(calls))
        .route("/api/cdrs", web::get().to(cdrs))
        .route("/api/cdrs/summary", web::get().to(cdr_summary));
}
