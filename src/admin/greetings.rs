//! Greetings as files: `GET|PUT|DELETE /api/mailboxes/{ext}/greetings/{personal|away|name}`
//! (PUT `?file=NAME` with the file as body: WAV and Ogg/Opus kept as given,
//! other formats converted).

use super::*;

#[derive(serde::Deserialize)]
pub(super) struct GreetingQuery {
    file: Option<String>,
}

/// The mailbox and the kind of greeting a path names; Err is the refusal.
pub(super) fn greeting_path(
    path: web::Path<(String, String)>,
) -> Result<(String, crate::store::GreetingKind), Box<HttpResponse>> {
    let (ext, kind) = path.into_inner();
    crate::store::greeting::parse_kind(&kind)
        .map(|k| (ext, k))
        .map_err(|e| Box::new(problem::not_found(&(e).to_string())))
}

pub(super) async fn get_greeting(
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

pub(super) async fn put_greeting(
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
            tracing::info!(event = "greeting_imported", mailbox = %ext, kind = %kind.name(), file = %file, format = %format.name(), bytes = size);
            HttpResponse::Ok().json(serde_json::json!({"format": format, "bytes": size}))
        }
        Ok(Err(e)) => {
            tracing::warn!(event = "greeting_refused", mailbox = %ext, kind = %kind.name(), file = %file, error = %e);
            problem::bad_request(&(e).to_string())
        }
        Err(e) => problem::internal(&e.to_string()),
    }
}

pub(super) async fn delete_greeting(
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
            tracing::info!(event = "greeting_removed", mailbox = %ext, kind = %kind.name());
            HttpResponse::Ok().json(serde_json::json!({"removed": true}))
        }
        Ok(Err(e)) => problem::not_found(&(e).to_string()),
        Err(e) => problem::internal(&e.to_string()),
    }
}
