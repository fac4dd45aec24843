//! The admin HTTP API (actix-web), bound to the configured admin address (loopback by
//! default): message listing and WAV export while the server runs, status, and
//! Prometheus metrics.
//!
//! - `GET /api/status` — version, role, active calls, calls per worker, draining,
//!   mailbox nodes (router role)
//! - `POST /api/service/drain` — stop taking calls, exit when the last one ends
//! - `GET /api/mailboxes` — UM mailboxes (no PINs)
//! - `GET /api/gateways` — IP gateways and whether they answer OPTIONS
//! - `POST /api/gateways/{name}` — change status / OutcallsAllowed / address (JSON)
//! - `POST /api/autoattendants/reload` — take the CLI's attendant changes and
//!   imported greetings (new calls use them)
//! - `GET /api/media/timing` — how late call timers fire (server-side send jitter)
//! - `GET /api/mailboxes/{ext}/messages` — messages, oldest first
//! - `GET /api/messages/{id}` — one message's metadata
//! - `GET /api/messages/{id}/audio.wav` — the message as 16-bit PCM WAV
//! - `POST /api/certificate/reload` — serve the currently enabled certificate
//! - `GET /metrics` — Prometheus text format
//!
//! Depends on `store` and `directory`; store calls run on actix-web's blocking pool.

use crate::actors::messages::DirectoryChanged;
use crate::actors::monitor::{GatewayMonitor, GetGatewayStatus};
use crate::actors::supervisor::{Drain, GetStatus, Supervisor};
use crate::config::GatewayChange;
use crate::directory::Directory;
use crate::store::{MailboxStore, StoreError, to_wav};
use actix::Addr;
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
    /// The configuration text, re-read with the data dir's objects on reload.
    pub base: Arc<String>,
    pub metrics: Option<PrometheusHandle>,
    /// Present when the TLS listener runs: lets `certificate enable` swap the
    /// certificate without a restart.
    pub tls: Option<Arc<TlsAdmin>>,
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
        return HttpResponse::Conflict().json(
            serde_json::json!({"error": "the TLS listener is not running (startup mode TCP)"}),
        );
    };
    let r = web::block(move || {
        let files = crate::tls::TlsFiles::new(&t.data);
        let (pair, info, source) =
            crate::tls::current_server_pair(&t.service, &files, std::time::SystemTime::now())?;
        t.resolver.replace(&pair).map_err(|e| e.to_string())?;
        Ok::<_, String>((info, source))
    })
    .await;
    match r {
        Ok(Ok((info, source))) => {
            tracing::info!(event = "certificate_reloaded", thumbprint = %info.thumbprint, source = %source);
            HttpResponse::Ok().json(serde_json::json!({"certificate": info, "source": source}))
        }
        Ok(Err(e)) => {
            tracing::warn!(event = "certificate_reload_refused", error = %e);
            HttpResponse::BadRequest().json(serde_json::json!({"error": e}))
        }
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

fn store_error(e: StoreError) -> HttpResponse {
    match e {
        StoreError::NotFound(id) => HttpResponse::NotFound()
            .json(serde_json::json!({"error": format!("no such message {id}")})),
        e => HttpResponse::InternalServerError().json(serde_json::json!({"error": e.to_string()})),
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
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn drain(s: web::Data<AdminState>) -> HttpResponse {
    match s.supervisor.send(Drain { now: false }).await {
        Ok(calls) => HttpResponse::Ok()
            .json(serde_json::json!({"draining": true, "calls_in_progress": calls})),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn gateways(s: web::Data<AdminState>) -> HttpResponse {
    match s.monitor.send(GetGatewayStatus).await {
        Ok(list) => HttpResponse::Ok().json(list),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// Set-UMIPGateway at run time: the change applies to new calls at once (a new
/// address or FQDN is resolved now) and is kept in `service.json` for restarts.
async fn set_gateway(
    s: web::Data<AdminState>,
    path: web::Path<String>,
    body: web::Json<GatewayChange>,
) -> HttpResponse {
    let name = path.into_inner();
    let change = body.into_inner();
    let current = match s
        .supervisor
        .send(crate::actors::supervisor::GetDirectory)
        .await
    {
        Ok(d) => d,
        Err(e) => return HttpResponse::InternalServerError().body(e.to_string()),
    };
    let data = s.data.clone();
    let (n, c) = (name.clone(), change.clone());
    let r = web::block(move || {
        let mut dir = (*current).clone();
        let log = crate::config::change_gateway(&mut dir, &n, &c, &crate::config::system_resolve)
            .map_err(|e| e.to_string())?;
        let mut settings = crate::server::load_settings(&data)?;
        settings.gateways.entry(n).or_default().merge(&c);
        crate::server::save_settings(&data, &settings)?;
        Ok::<_, String>((dir, log))
    })
    .await;
    match r {
        Ok(Ok((dir, log))) => {
            crate::server::log_resolutions(&log);
            let g = dir.gateway(&name).cloned();
            tracing::info!(event = "gateway_changed", gateway = %name, change = ?change);
            s.supervisor.do_send(DirectoryChanged(Arc::new(dir)));
            HttpResponse::Ok().json(g)
        }
        Ok(Err(e)) => HttpResponse::BadRequest().json(serde_json::json!({"error": e})),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// The CLI changed auto attendants or imported a prompt: re-read the
/// configuration with the data dir's objects and use them for new calls.
async fn reload_objects(s: web::Data<AdminState>) -> HttpResponse {
    let (base, data) = (s.base.clone(), s.data.clone());
    let r = web::block(move || {
        let mut cfg = crate::server::load_layers(&base, &data)?;
        crate::server::apply_gateway_settings(&mut cfg, &data)?;
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
            HttpResponse::BadRequest().json(serde_json::json!({"error": e}))
        }
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// What a router answers for messages: it has no store.
fn no_store() -> HttpResponse {
    HttpResponse::Conflict()
        .json(serde_json::json!({"error": "this is a router-role node: it stores no messages"}))
}

async fn media_timing() -> HttpResponse {
    HttpResponse::Ok().json(crate::actors::lateness::summary())
}

async fn mailboxes(s: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(&s.dir.mailboxes)
}

async fn messages(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let ext = path.into_inner();
    if s.dir.mailbox_any(&ext).is_none() {
        return HttpResponse::NotFound()
            .json(serde_json::json!({"error": format!("no UM mailbox {ext}")}));
    }
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    match web::block(move || store.list(&ext)).await {
        Ok(Ok(list)) => HttpResponse::Ok().json(list),
        Ok(Err(e)) => store_error(e),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn message(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    match web::block(move || store.get(&id)).await {
        Ok(Ok(m)) => HttpResponse::Ok().json(m),
        Ok(Err(e)) => store_error(e),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn audio(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let r = web::block(move || {
        let meta = store.get(&id)?;
        to_wav(meta.codec, &store.audio(&id)?)
    })
    .await;
    match r {
        Ok(Ok(wav)) => HttpResponse::Ok().content_type("audio/wav").body(wav),
        Ok(Err(e)) => store_error(e),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn prometheus(s: web::Data<AdminState>) -> HttpResponse {
    match &s.metrics {
        Some(h) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(h.render()),
        None => HttpResponse::NotFound().body("metrics recorder not installed"),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/status", web::get().to(status))
        .route("/api/service/drain", web::post().to(drain))
        .route("/api/mailboxes", web::get().to(mailboxes))
        .route("/api/gateways", web::get().to(gateways))
        .route("/api/gateways/{name}", web::post().to(set_gateway))
        .route("/api/autoattendants/reload", web::post().to(reload_objects))
        .route("/api/media/timing", web::get().to(media_timing))
        .route("/api/mailboxes/{ext}/messages", web::get().to(messages))
        .route("/api/messages/{id}", web::get().to(message))
        .route("/api/messages/{id}/audio.wav", web::get().to(audio))
        .route(
            "/api/certificate/reload",
            web::post().to(reload_certificate),
        )
        .route("/metrics", web::get().to(prometheus));
}
