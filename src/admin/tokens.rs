//! `GET|POST /api/tokens`, `DELETE /api/tokens/{id}`: API tokens (admin role).
//! A new token is in the answer once; the store keeps its hash.

use super::problem;
use super::{AdminState, no_store};
use crate::tokens::{Principal, Role};
use actix_web::{HttpResponse, web};

async fn list(s: web::Data<AdminState>) -> HttpResponse {
    let Some(o) = s.objects.clone() else {
        return no_store();
    };
    match web::block(move || o.store().tokens()).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(
            v.into_iter()
                .map(|t| serde_json::json!({"id": t.id, "role": t.role, "created_at": t.created_at, "label": t.label}))
                .collect::<Vec<_>>(),
        ),
        Ok(Err(e)) => problem::internal(&e.to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct NewToken {
    role: String,
    label: Option<String>,
}

async fn create(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    body: web::Json<NewToken>,
) -> HttpResponse {
    let Some(o) = s.objects.clone() else {
        return no_store();
    };
    let b = body.into_inner();
    let role = match Role::parse(&b.role) {
        Ok(r) => r,
        Err(e) => {
            return problem::problem(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &e,
                Some(("token", "", "role")),
            );
        }
    };
    let r2 = role.clone();
    match web::block(move || {
        crate::tokens::create(
            o.store().as_ref(),
            &r2,
            b.label,
            std::time::SystemTime::now(),
        )
    })
    .await
    {
        Ok(Ok((token, rec))) => {
            tracing::info!(event = "token_created", id = %rec.id, role = %rec.role, who = %who.who());
            HttpResponse::Created()
                .insert_header(("Location", format!("/api/tokens/{}", rec.id)))
                .json(serde_json::json!({"id": rec.id, "role": rec.role, "token": token}))
        }
        Ok(Err(e)) => problem::internal(&e.to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

async fn revoke(
    s: web::Data<AdminState>,
    who: web::ReqData<Principal>,
    path: web::Path<String>,
) -> HttpResponse {
    let Some(o) = s.objects.clone() else {
        return no_store();
    };
    let id = path.into_inner();
    let i2 = id.clone();
    match web::block(move || o.store().remove_token(&i2)).await {
        Ok(Ok(true)) => {
            tracing::info!(event = "token_revoked", id = %id, who = %who.who());
            HttpResponse::NoContent().finish()
        }
        Ok(Ok(false)) => problem::not_found(&format!("no token {id:?}")),
        Ok(Err(e)) => problem::internal(&e.to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/tokens")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .route("/api/tokens/{id}", web::delete().to(revoke));
}
