//! The UM objects as REST resources, one collection per kind (`/api/dialplans`,
//! `/api/gateways`, `/api/huntgroups`, `/api/autoattendants`, `/api/policies`,
//! `/api/mailboxes`, `/api/nodes`): `GET` lists (by name or extension), `POST`
//! creates (201 + `Location`), `GET|PATCH|DELETE /…/{key}` reads, changes
//! (JSON merge patch: `null` returns a field to its default) and removes. Plus
//! `POST /api/changes` (several changes as one commit: what the CLI sends),
//! `GET|POST /api/config` (export / import the whole model) and `GET /api/audit`.
//!
//! Every change goes through `objects::Objects` (validated whole, atomic,
//! audited); new calls use the result at once, calls in progress keep theirs.

use super::problem::{self, of_object_error};
use super::{AdminState, no_store};
use crate::actors::messages::DirectoryChanged;
use crate::config::change::{self, Change, Kind};
use crate::objects::{Outcome, PinRequest, Request};
use crate::store::pins::NewPin;
use crate::tokens::Principal;
use actix_web::{HttpResponse, web};
use std::sync::Arc;

/// Apply a change for `who`; on success new calls use the new model.
pub async fn commit(
    s: &AdminState,
    who: &Principal,
    change: Change,
    pin: Option<PinRequest>,
    dry_run: bool,
) -> Result<Outcome, HttpResponse> {
    let Some(objects) = s.objects.clone() else {
        return Err(no_store());
    };
    let req = Request {
        change,
        pin,
        who: who.who(),
        dry_run,
    };
    let out = match web::block(move || objects.apply(req, std::time::SystemTime::now())).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            tracing::warn!(event = "object_change_refused", who = %who.who(), reason = %e);
            return Err(of_object_error(&e));
        }
        Err(e) => return Err(problem::internal(&e.to_string())),
    };
    if !dry_run {
        let touched: Vec<&str> = out
            .done
            .iter()
            .filter(|d| d.kind == "ip_gateway" || d.kind == "model")
            .map(|d| d.name.as_str())
            .collect();
        let log: Vec<_> = out
            .config
            .resolutions
            .iter()
            .filter(|r| touched.contains(&r.gateway.as_str()) || touched.contains(&"model"))
            .cloned()
            .collect();
        crate::config::log_resolutions(&log);
        s.supervisor
            .do_send(DirectoryChanged(Arc::new(out.config.directory.clone())));
    }
    Ok(out)
}

fn current_doc(s: &AdminState) -> Result<(u64, toml::Value), Box<HttpResponse>> {
    let Some(objects) = &s.objects else {
        return Err(Box::new(no_store()));
    };
    match objects.current() {
        Ok(Some((m, doc))) => Ok((m.version, doc)),
        Ok(None) => Err(Box::new(problem::internal("the store has no object model"))),
        Err(e) => Err(Box::new(of_object_error(&e))),
    }
}

fn kind_of(k: &web::Data<Kind>) -> Kind {
    *k.get_ref()
}

async fn list(s: web::Data<AdminState>, kind: web::Data<Kind>) -> HttpResponse {
    match current_doc(&s) {
        Ok((_, doc)) => HttpResponse::Ok().json(change::objects_json(&doc, kind_of(&kind))),
        Err(r) => *r,
    }
}

async fn get_one(
    s: web::Data<AdminState>,
    kind: web::Data<Kind>,
    path: web::Path<String>,
) -> HttpResponse {
    let kind = kind_of(&kind);
    let key = path.into_inner();
    match current_doc(&s) {
        Ok((_, doc)) => match change::object(&doc, kind, &key) {
            Some(t) => HttpResponse::Ok().json(change::to_json(&toml::Value::Table(t.clone()))),
            None => problem::not_found(&format!("no {} {key:?}", kind.noun())),
        },
        Err(r) => *r,
    }
}

/// `POST /api/<kind>`: a mailbox may carry `pin` (or `generate_pin`, the
/// default) set with it; an auto attendant may carry `gateway`, where the hunt
/// groups its pilots need are made.
async fn create(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    kind: web::Data<Kind>,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    let kind = kind_of(&kind);
    let mut v = body.into_inner();
    let Some(obj) = v.as_object_mut() else {
        return problem::bad_request("the body must be a JSON object");
    };
    let pin = obj.remove("pin");
    let generate = obj.remove("generate_pin");
    let expired = obj
        .remove("pin_expired")
        .and_then(|e| e.as_bool())
        .unwrap_or(false);
    let gateway = obj.remove("gateway_for_pilots");
    let object = match change::table_from_json(&v) {
        Ok(t) => t,
        Err(e) => return problem::bad_request(&e),
    };
    let key = object
        .get(kind.key())
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_string();
    let pin = match (kind, pin) {
        (Kind::Mailbox, Some(serde_json::Value::String(p))) => Some(NewPin::Given(p)),
        (Kind::Mailbox, _) if generate.and_then(|g| g.as_bool()) != Some(false) => {
            Some(NewPin::Generate)
        }
        _ => None,
    }
    .map(|how| PinRequest {
        extension: key.clone(),
        how,
        expired,
    });
    let change = if kind == Kind::AutoAttendant {
        Change::CreateAttendant {
            object,
            gateway: gateway
                .as_ref()
                .and_then(|g| g.as_str())
                .map(str::to_string),
        }
    } else {
        Change::Create { kind, object }
    };
    match commit(&s, &who, change, pin, false).await {
        Ok(out) => HttpResponse::Created()
            .insert_header(("Location", format!("/api/{}/{key}", kind.path())))
            .json(out.to_json()),
        Err(r) => r,
    }
}

async fn patch(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    kind: web::Data<Kind>,
    path: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    let kind = kind_of(&kind);
    let key = path.into_inner();
    let v = serde_json::json!({"op": "update", "kind": kind.array(), "key": key, "set": body.into_inner()});
    let change = match change::from_json(&v) {
        Ok(c) => c,
        Err(e) => return problem::bad_request(&e),
    };
    match commit(&s, &who, change, None, false).await {
        Ok(out) => HttpResponse::Ok().json(out.to_json()),
        Err(r) => r,
    }
}

async fn remove(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    kind: web::Data<Kind>,
    path: web::Path<String>,
) -> HttpResponse {
    let kind = kind_of(&kind);
    let change = Change::Remove {
        kind,
        key: path.into_inner(),
    };
    match commit(&s, &who, change, None, false).await {
        Ok(out) => HttpResponse::Ok().json(out.to_json()),
        Err(r) => r,
    }
}

/// `POST /api/changes`: `{"changes": <a change or a list>, "pin": {"extension",
/// "pin" | "generate", "expired"}, "dry_run": bool}`.
async fn changes(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    let b = body.into_inner();
    let change = match change::from_json(&b["changes"]) {
        Ok(c) => c,
        Err(e) => return problem::bad_request(&e),
    };
    let pin = match crate::objects::pin_request(&b["pin"]) {
        Ok(p) => p,
        Err(e) => return problem::bad_request(&e),
    };
    let dry = b["dry_run"].as_bool().unwrap_or(false);
    match commit(&s, &who, change, pin, dry).await {
        Ok(out) => HttpResponse::Ok().json(out.to_json()),
        Err(r) => r,
    }
}

/// `GET /api/config`: the whole model, as `openum config export` prints it (a
/// router: the configuration file it runs with, version 0).
async fn export(s: web::Data<AdminState>) -> HttpResponse {
    if let (None, Some(text)) = (&s.objects, &s.router_config) {
        let mut doc: toml::Value = match toml::from_str(text) {
            Ok(d) => d,
            Err(e) => return problem::internal(&e.to_string()),
        };
        change::strip_pins(&mut doc);
        let t = toml::to_string(&doc).unwrap_or_default();
        return HttpResponse::Ok().json(serde_json::json!({"version": 0, "toml": t}));
    }
    match current_doc(&s) {
        Ok((version, doc)) => match toml::to_string(&doc) {
            Ok(t) => HttpResponse::Ok().json(serde_json::json!({"version": version, "toml": t})),
            Err(e) => problem::internal(&e.to_string()),
        },
        Err(r) => *r,
    }
}

/// `POST /api/config`: `{"toml": "…", "dry_run": bool}` replaces the model.
async fn import(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    body: web::Json<serde_json::Value>,
) -> HttpResponse {
    let b = body.into_inner();
    let v = serde_json::json!({"op": "import", "toml": b["toml"]});
    let change = match change::from_json(&v) {
        Ok(c) => c,
        Err(e) => return problem::bad_request(&e),
    };
    let dry = b["dry_run"].as_bool().unwrap_or(false);
    match commit(&s, &who, change, None, dry).await {
        Ok(out) => HttpResponse::Ok().json(out.to_json()),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn audit(s: web::Data<AdminState>, q: web::Query<AuditQuery>) -> HttpResponse {
    let Some(objects) = s.objects.clone() else {
        return no_store();
    };
    let (after, limit) = (q.after, q.limit.unwrap_or(100).min(1000));
    match web::block(move || objects.store().audit_log(after, limit)).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(e)) => problem::internal(&e.to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// The object resources. `/api/gateways` (probe state) and
/// `/api/mailboxes/{ext}` (PIN status) answer GET with their richer views.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/changes").route(web::post().to(changes)))
        .service(
            web::resource("/api/config")
                .route(web::get().to(export))
                .route(web::post().to(import)),
        )
        .route("/api/audit", web::get().to(audit));
    for kind in Kind::ALL {
        let collection = web::resource(format!("/api/{}", kind.path()))
            .app_data(web::Data::new(kind))
            .route(web::post().to(create));
        let collection = match kind {
            Kind::Gateway => collection.route(web::get().to(super::gateways::gateways)),
            Kind::Mailbox => collection.route(web::get().to(super::mailboxes::mailboxes)),
            _ => collection.route(web::get().to(list)),
        };
        let one = web::resource(format!("/api/{}/{{key}}", kind.path()))
            .app_data(web::Data::new(kind))
            .route(web::patch().to(patch))
            .route(web::delete().to(remove));
        let one = match kind {
            Kind::Mailbox => one.route(web::get().to(super::mailboxes::mailbox_status)),
            Kind::Gateway => one
                .route(web::get().to(get_one))
                .route(web::post().to(super::gateways::set_gateway)),
            _ => one.route(web::get().to(get_one)),
        };
        cfg.service(collection).service(one);
    }
}
