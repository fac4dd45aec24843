//! UM mailboxes: `GET /api/mailboxes` (no PINs), `GET /api/mailboxes/{ext}` (PIN
//! status: set, expiry, failed logons, locked), `POST /api/mailboxes/{ext}/pin`
//! (Set-UMMailboxPIN) and `/unlock`. Their creation, change and removal are in
//! `objects`.

use super::*;

/// `openum mailbox get`: a mailbox and its PIN status (no hash).
pub(super) async fn mailbox_status(
    s: web::Data<AdminState>,
    path: web::Path<String>,
) -> HttpResponse {
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
pub(super) struct SetPinBody {
    pin: Option<String>,
    #[serde(default)]
    generate: bool,
    #[serde(default)]
    expired: bool,
}

/// `openum mailbox set-pin` (Set-UMMailboxPIN) while the server runs.
pub(super) async fn set_pin(
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
pub(super) async fn unlock(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
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

pub(super) async fn mailboxes(s: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(&current_dir(&s).await.mailboxes)
}
