//! The admin HTTP API (actix-web), bound to the configured admin address (loopback
//! by default), every request but the public ones with a bearer token (`auth`).
//! One file per resource: `objects` (the UM objects, changes, the model, audit),
//! `mailboxes` (PIN status, set-pin, unlock), `messages`, `greetings`,
//! `gateways` (probe state), `calls` (calls in progress, CDRs, events),
//! `tokens`, `openapi` (the document); errors as problem+json (`problem`).
//! Here: the state they share, the route table, and the service itself:
//!
//! - `GET /api/status` — version, role, active calls, calls per worker, draining,
//!   mailbox nodes (router role)
//! - `POST /api/service/drain` — stop taking calls, exit when the last one ends
//! - `POST /api/autoattendants/reload` — re-read imported prompts and the model
//! - `GET /api/media/timing` — how late call timers fire (server-side send jitter)
//! - `POST /api/certificate/reload` — serve the currently enabled certificate
//! - `GET /metrics` — Prometheus text format (public: counts only)
//!
//! Depends on `store`, `objects` and `directory`, and on `actors` for the
//! supervisor's and the gateway monitor's answers; store calls run on
//! actix-web's blocking pool.

use crate::actors::monitor::{GatewayMonitor, GetGatewayStatus};
use crate::actors::supervisor::{Drain, GetStatus, Supervisor};
use crate::config::GatewayChange;
use crate::directory::Directory;
use crate::store::{MailboxStore, StoreError};
use actix::Addr;

pub mod auth;
pub mod calls;
mod gateways;
mod greetings;
pub mod https;
mod mailboxes;
mod messages;
mod metrics;
pub mod objects;
pub mod openapi;
pub mod problem;
pub mod subscriber;
pub mod tokens;
use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

#[derive(Clone)]
pub struct AdminState {
    /// None in the router role (no store).
    pub store: Option<Arc<dyn MailboxStore>>,
    pub dir: Arc<Directory>,
    pub supervisor: Addr<Supervisor>,
    pub monitor: Addr<GatewayMonitor>,
    pub data: std::path::PathBuf,
    /// The object model's administration (None in the router role: no store).
    pub objects: Option<Arc<crate::objects::Objects>>,
    /// SHA-256 of the local admin credential (`DATA/admin.token`).
    pub local_token_hash: Arc<str>,
    /// The configuration text a router runs with (it has no store, so no model
    /// of its own): what `GET /api/config` answers there.
    pub router_config: Option<Arc<String>>,
    /// Call data records (None in the router role).
    pub cdrs: Option<Arc<dyn crate::store::cdr::CdrStore>>,
    pub metrics: Option<PrometheusHandle>,
    /// Present when the TLS listener runs: lets `certificate enable` swap the
    /// certificate without a restart.
    pub tls: Option<Arc<TlsAdmin>>,
    /// Subscribers signed in to the web pages.
    pub sessions: Arc<subscriber::session::Sessions>,
    /// The session cookie is `Secure` (the pages are reached over HTTPS).
    pub secure_cookies: bool,
}

pub struct TlsAdmin {
    pub resolver: Arc<crate::tls::CertResolver>,
    pub service: Arc<crate::config::ServiceConfig>,
    pub data: std::path::PathBuf,
}

/// Re-read the certificate to use (configured, enabled import, or generated) and
/// serve it to new TLS handshakes. A certificate that fails its checks is refused
/// and the current one stays.
async fn reload_certificate(s: web::Data<AdminState>) -> HttpResponse {
    let Some(t) = s.tls.clone() else {
        return problem::conflict("the TLS listener is not running (startup mode TCP)");
    };
    match web::block(move || t.reload()).await {
        Ok(Ok((info, source))) => {
            HttpResponse::Ok().json(serde_json::json!({"certificate": info, "source": source}))
        }
        Ok(Err(e)) => problem::bad_request(&e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

impl TlsAdmin {
    /// Re-read the certificate to use and serve it to new handshakes (the API's
    /// `certificate/reload` and SIGHUP); one event either way. Blocking.
    pub fn reload(&self) -> Result<(crate::tls::certs::CertInfo, String), String> {
        let files = crate::tls::TlsFiles::new(&self.data);
        let r =
            crate::tls::current_server_pair(&self.service, &files, std::time::SystemTime::now())
                .and_then(|(pair, info, source)| {
                    self.resolver.replace(&pair).map_err(|e| e.to_string())?;
                    Ok((info, source.to_string()))
                });
        match &r {
            Ok((info, source)) => {
                tracing::info!(event = "certificate_reloaded", thumbprint = %info.thumbprint, source = %source)
            }
            Err(e) => tracing::warn!(event = "certificate_reload_refused", error = %e),
        }
        r
    }
}

async fn status(s: web::Data<AdminState>) -> HttpResponse {
    match s.supervisor.send(GetStatus).await {
        Ok(st) => HttpResponse::Ok().json(serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "role": st.role,
            "active_calls": st.active_calls,
            "draining": st.draining,
            "worker_calls": st.worker_calls,
            "mailbox_nodes": st.mailbox_nodes,
        })),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn drain(s: web::Data<AdminState>) -> HttpResponse {
    match s.supervisor.send(Drain { now: false }).await {
        Ok(calls) => HttpResponse::Ok()
            .json(serde_json::json!({"draining": true, "calls_in_progress": calls})),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// Imported prompts changed (`autoattendant import-greeting`): re-read them and
/// the model, and use them for new calls.
async fn reload_objects(s: web::Data<AdminState>) -> HttpResponse {
    let Some(objects) = s.objects.clone() else {
        return no_store();
    };
    let data = s.data.clone();
    let r = web::block(move || {
        let (_, cfg) = objects
            .config()
            .map_err(|e| e.to_string())?
            .ok_or("no object model")?;
        let prompts = crate::ivr::prompts::PromptLibrary::embedded()
            .and_then(|l| l.with_custom(&crate::ivr::prompts::custom_dir(&data)))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((cfg.directory, prompts))
    })
    .await;
    match r {
        Ok(Ok((dir, prompts))) => {
            let names: Vec<String> = dir.auto_attendants.iter().map(|a| a.name.clone()).collect();
            tracing::info!(event = "objects_reloaded", auto_attendants = %names.join(","));
            s.supervisor.do_send(crate::actors::supervisor::Reload {
                dir: Arc::new(dir),
                prompts: Arc::new(prompts),
            });
            HttpResponse::Ok().json(serde_json::json!({"auto_attendants": names}))
        }
        Ok(Err(e)) => {
            tracing::warn!(event = "objects_reload_refused", error = %e);
            problem::bad_request(&e)
        }
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// What a router answers for messages: it has no store.
fn no_store() -> HttpResponse {
    problem::conflict("this is a router-role node: it stores no messages")
}

async fn media_timing() -> HttpResponse {
    HttpResponse::Ok().json(crate::actors::lateness::summary())
}

/// The directory in force now (the one at start, if the supervisor is gone):
/// mailboxes enabled or changed since the start are in it.
async fn current_dir(s: &AdminState) -> Arc<Directory> {
    s.supervisor
        .send(crate::actors::supervisor::GetDirectory)
        .await
        .unwrap_or_else(|_| s.dir.clone())
}

use greetings::*;
use mailboxes::*;
use messages::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi::serve))
        .route("/api/status", web::get().to(status))
        .route("/api/service/drain", web::post().to(drain))
        .route("/api/autoattendants/reload", web::post().to(reload_objects))
        .route("/api/media/timing", web::get().to(media_timing))
        .route("/api/mailboxes/{ext}/messages", web::get().to(messages))
        .route("/api/mailboxes/{ext}/pin", web::post().to(set_pin))
        .route("/api/mailboxes/{ext}/unlock", web::post().to(unlock))
        .service(
            web::resource("/api/mailboxes/{ext}/greetings/{kind}")
                // A 10-minute 16 kHz WAV is 19 MB; actix's default limit is 256 KB.
                .app_data(web::PayloadConfig::new(32 << 20))
                .route(web::get().to(get_greeting))
                .route(web::put().to(put_greeting))
                .route(web::delete().to(delete_greeting)),
        )
        .service(
            web::resource("/api/messages/{id}")
                .route(web::get().to(message))
                .route(web::delete().to(remove_message)),
        )
        .route(
            "/api/messages/{id}/status",
            web::post().to(set_message_status),
        )
        .route("/api/messages/{id}/audio.wav", web::get().to(audio))
        .route("/api/messages/{id}/audio.ogg", web::get().to(audio_ogg))
        .route(
            "/api/certificate/reload",
            web::post().to(reload_certificate),
        )
        .route("/metrics", web::get().to(metrics::prometheus))
        .configure(subscriber::routes)
        .configure(objects::routes)
        .configure(tokens::routes)
        .configure(calls::routes);
}
