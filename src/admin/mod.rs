//! The admin HTTP API (actix-web), bound to the configured admin address (loopback by
//! default): message listing and WAV export while the server runs, status, and
//! Prometheus metrics.
//!
//! - `GET /api/status` — version, role, active calls, calls per worker, draining,
//!   mailbox nodes (router role)
//! - `POST /api/service/drain` — stop taking calls, exit when the last one ends
//! - `GET /api/mailboxes` — UM mailboxes (no PINs)
//! - `GET /api/mailboxes/{ext}` — a mailbox and its PIN status (set, expiry,
//!   failed logons, locked)
//! - `POST /api/mailboxes/{ext}/pin` — Set-UMMailboxPIN (`{"pin"|"generate", "expired"}`)
//! - `POST /api/mailboxes/{ext}/unlock` — clear a lockout
//! - `GET /api/gateways` — IP gateways and whether they answer OPTIONS
//! - `POST /api/gateways/{name}` — change status / OutcallsAllowed / address (JSON)
//! - `POST /api/autoattendants/reload` — take the CLI's attendant changes and
//!   imported greetings (new calls use them)
//! - `GET /api/media/timing` — how late call timers fire (server-side send jitter)
//! - `GET /api/mailboxes/{ext}/messages` — messages, oldest first
//! - `GET /api/messages/{id}` — one message's metadata
//! - `GET|PUT|DELETE /api/mailboxes/{ext}/greetings/{personal|away|name}` — a
//!   greeting as a file (PUT `?file=NAME` with the file as body: WAV and
//!   Ogg/Opus kept as given, other formats converted)
//! - `GET /api/messages/{id}/audio.wav` — the message as 16-bit PCM WAV
//! - `POST /api/certificate/reload` — serve the currently enabled certificate
//! - `GET /metrics` — Prometheus text format
//!
//! Depends on `store` and `directory`; store calls run on actix-web's blocking pool.

use crate::actors::monitor::{GatewayMonitor, GetGatewayStatus};
use crate::actors::supervisor::{Drain, GetStatus, Supervisor};
use crate::config::GatewayChange;
use crate::directory::Directory;
use crate::store::{MailboxStore, StoreError};
use actix::Addr;

pub mod auth;
pub mod calls;
pub mod objects;
pub mod openapi;
pub mod problem;
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

fn store_error(e: StoreError) -> HttpResponse {
    match e {
        StoreError::NotFound(id) => problem::not_found(&format!("no such message {id}")),
        e => problem::internal(&e.to_string()),
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

async fn gateways(s: web::Data<AdminState>) -> HttpResponse {
    match s.monitor.send(GetGatewayStatus).await {
        Ok(list) => HttpResponse::Ok().json(list),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// Set-UMIPGateway at run time (the JSON of `GatewayChange`), kept for clients
/// of earlier versions: the same change as `PATCH /api/gateways/{name}`.
async fn set_gateway(
    s: web::Data<AdminState>,
    who: web::ReqData<auth::Principal>,
    path: web::Path<String>,
    body: web::Json<GatewayChange>,
) -> HttpResponse {
    let name = path.into_inner();
    let set = body
        .into_inner()
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let change = crate::config::change::Change::Update {
        kind: crate::config::change::Kind::Gateway,
        key: name.clone(),
        set,
        unset: Vec::new(),
    };
    match objects::commit(&s, &who, change, None, false).await {
        Ok(out) => HttpResponse::Ok().json(out.config.directory.gateway(&name)),
        Err(r) => r,
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

/// `openum mailbox get`: a mailbox and its PIN status (no hash).
async fn mailbox_status(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let ext = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let dir = current_dir(&s).await;
    let r = web::block(move || {
        crate::store::pins::status(store.as_ref(), &dir, &ext, std::time::SystemTime::now())
    })
    .await;
    match r {
        Ok(Ok(st)) => HttpResponse::Ok().json(st),
        Ok(Err(e)) => problem::not_found(&(e).to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct SetPinBody {
    pin: Option<String>,
    #[serde(default)]
    generate: bool,
    #[serde(default)]
    expired: bool,
}

/// `openum mailbox set-pin` (Set-UMMailboxPIN) while the server runs.
async fn set_pin(
    s: web::Data<AdminState>,
    path: web::Path<String>,
    body: web::Json<SetPinBody>,
) -> HttpResponse {
    let ext = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let b = body.into_inner();
    let how = match (b.pin, b.generate) {
        (Some(p), false) => crate::store::pins::NewPin::Given(p),
        (None, true) => crate::store::pins::NewPin::Generate,
        _ => {
            return problem::bad_request("give either a pin or generate");
        }
    };
    let dir = current_dir(&s).await;
    let e2 = ext.clone();
    let r = web::block(move || {
        crate::store::pins::set_pin(
            store.as_ref(),
            &dir,
            &e2,
            how,
            b.expired,
            std::time::SystemTime::now(),
        )
    })
    .await;
    match r {
        Ok(Ok(generated)) => {
            tracing::info!(event = "pin_set", mailbox = %ext, expired = b.expired, generated = generated.is_some());
            HttpResponse::Ok().json(serde_json::json!({"generated": generated}))
        }
        Ok(Err(e)) => {
            tracing::warn!(event = "pin_refused", mailbox = %ext, reason = %e);
            problem::bad_request(&(e).to_string())
        }
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// `openum mailbox unlock` while the server runs.
async fn unlock(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let ext = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let e2 = ext.clone();
    match web::block(move || crate::store::pins::unlock(store.as_ref(), &e2)).await {
        Ok(Ok(was)) => {
            tracing::info!(event = "mailbox_unlocked", mailbox = %ext, was_locked = was);
            HttpResponse::Ok().json(serde_json::json!({"was_locked": was}))
        }
        Ok(Err(e)) => problem::bad_request(&(e).to_string()),
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

async fn mailboxes(s: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(&current_dir(&s).await.mailboxes)
}

/// A mailbox's messages, oldest first. A UM-disabled mailbox's messages stay
/// listed (until the retention removes them); an extension that is no mailbox
/// and holds none is 404.
async fn messages(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let ext = path.into_inner();
    let enabled = current_dir(&s).await.mailbox_any(&ext).is_some();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    match web::block(move || store.list(&ext).map(|l| (ext, l))).await {
        Ok(Ok((ext, list))) if list.is_empty() && !enabled => {
            problem::not_found(&format!("no UM mailbox {ext}"))
        }
        Ok(Ok((_, list))) => HttpResponse::Ok().json(
            list.into_iter()
                .map(crate::store::MessageView::from)
                .collect::<Vec<_>>(),
        ),
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn message(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    match web::block(move || store.get(&id)).await {
        Ok(Ok(m)) => HttpResponse::Ok().json(crate::store::MessageView::from(m)),
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct StatusBody {
    status: crate::store::MessageStatus,
}

/// `openum message delete|undelete|mark-new|mark-saved` while the server runs
/// (through the store's change feed, MWI follows).
async fn set_message_status(
    s: web::Data<AdminState>,
    path: web::Path<String>,
    body: web::Json<StatusBody>,
) -> HttpResponse {
    let id = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let status = body.status;
    match web::block(move || store.set_status(&id, status, std::time::SystemTime::now())).await {
        Ok(Ok(m)) => {
            tracing::info!(event = "message_status", message_id = %m.id, mailbox = %m.mailbox, status = status.name(), by = "admin");
            HttpResponse::Ok().json(crate::store::MessageView::from(m))
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// `openum message remove`: the message is gone for good at once, as the
/// deleted-item purge would remove it later (MWI follows when it was waiting).
async fn remove_message(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    match web::block(move || store.remove(&id)).await {
        Ok(Ok(m)) => {
            tracing::info!(event = "message_removed", message_id = %m.id, mailbox = %m.mailbox, by = "admin");
            HttpResponse::NoContent().finish()
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// A message's audio as WAV or Ogg/Opus (converted when stored otherwise).
async fn audio_as(
    s: web::Data<AdminState>,
    id: String,
    format: crate::store::audio::Format,
) -> HttpResponse {
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    match web::block(move || store.export(&id, format)).await {
        Ok(Ok(bytes)) => {
            let ctype = match format {
                crate::store::audio::Format::Ogg => "audio/ogg",
                _ => "audio/wav",
            };
            HttpResponse::Ok().content_type(ctype).body(bytes)
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn audio(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    audio_as(s, path.into_inner(), crate::store::audio::Format::Wav).await
}

async fn audio_ogg(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
    audio_as(s, path.into_inner(), crate::store::audio::Format::Ogg).await
}

#[derive(serde::Deserialize)]
struct GreetingQuery {
    file: Option<String>,
}

/// The mailbox and the kind of greeting a path names; Err is the refusal.
fn greeting_path(
    path: web::Path<(String, String)>,
) -> Result<(String, crate::store::GreetingKind), Box<HttpResponse>> {
    let (ext, kind) = path.into_inner();
    crate::store::greeting::parse_kind(&kind)
        .map(|k| (ext, k))
        .map_err(|e| Box::new(problem::not_found(&(e).to_string())))
}

async fn get_greeting(s: web::Data<AdminState>, path: web::Path<(String, String)>) -> HttpResponse {
    let (ext, kind) = match greeting_path(path) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let dir = current_dir(&s).await;
    match web::block(move || crate::store::greeting::get(store.as_ref(), &dir, &ext, kind)).await {
        Ok(Ok(Some((format, bytes)))) => {
            let ctype = match format {
                crate::store::audio::Format::Ogg => "audio/ogg",
                _ => "audio/wav",
            };
            HttpResponse::Ok().content_type(ctype).body(bytes)
        }
        Ok(Ok(None)) => problem::not_found("no such recording"),
        Ok(Err(e)) => problem::not_found(&(e).to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn put_greeting(
    s: web::Data<AdminState>,
    path: web::Path<(String, String)>,
    q: web::Query<GreetingQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let (ext, kind) = match greeting_path(path) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let dir = current_dir(&s).await;
    let file = q.into_inner().file.unwrap_or_else(|| "greeting".into());
    let (e2, f2) = (ext.clone(), file.clone());
    let r = web::block(move || {
        crate::store::greeting::put(store.as_ref(), &dir, &e2, kind, &f2, body.to_vec())
    })
    .await;
    match r {
        Ok(Ok((format, size))) => {
            tracing::info!(event = "greeting_imported", mailbox = %ext, kind = kind.name(), file = %file, format = format.name(), bytes = size);
            HttpResponse::Ok().json(serde_json::json!({"format": format, "bytes": size}))
        }
        Ok(Err(e)) => {
            tracing::warn!(event = "greeting_refused", mailbox = %ext, kind = kind.name(), file = %file, error = %e);
            problem::bad_request(&(e).to_string())
        }
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn delete_greeting(
    s: web::Data<AdminState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (ext, kind) = match greeting_path(path) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let dir = current_dir(&s).await;
    let e2 = ext.clone();
    match web::block(move || crate::store::greeting::remove(store.as_ref(), &dir, &e2, kind)).await
    {
        Ok(Ok(())) => {
            tracing::info!(event = "greeting_removed", mailbox = %ext, kind = kind.name());
            HttpResponse::Ok().json(serde_json::json!({"removed": true}))
        }
        Ok(Err(e)) => problem::not_found(&(e).to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn prometheus(s: web::Data<AdminState>) -> HttpResponse {
    metrics::counter!("openum_log_lines_dropped_total").absolute(crate::logging::dropped_lines());
    if let Some(h) = crate::alloc::heap_stats() {
        metrics::gauge!("openum_heap_allocated_bytes").set(h.allocated as f64);
        metrics::gauge!("openum_heap_resident_bytes").set(h.resident as f64);
    }
    match &s.metrics {
        Some(h) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(h.render()),
        None => HttpResponse::NotFound().body("metrics recorder not installed"),
    }
}

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
        .route("/metrics", web::get().to(prometheus))
        .configure(objects::routes)
        .configure(tokens::routes)
        .configure(calls::routes);
}
