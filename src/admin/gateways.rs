//! IP gateways: `GET /api/gateways` (each with its OPTIONS probe state) and the
//! `POST /api/gateways/{name}` of earlier versions (a `GatewayChange`, the same
//! change as `PATCH`).

use super::*;

pub(super) async fn gateways(s: web::Data<AdminState>) -> HttpResponse {
    match s.monitor.send(GetGatewayStatus).await {
        Ok(list) => HttpResponse::Ok().json(list),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// Set-UMIPGateway at run time (the JSON of `GatewayChange`), kept for clients
/// of earlier versions: the same change as `PATCH /api/gateways/{name}`.
pub(super) async fn set_gateway(
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
