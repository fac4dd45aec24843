//! Messages: `GET /api/mailboxes/{ext}/messages` (oldest first, with status; a
//! UM-disabled mailbox's kept messages too), `GET|DELETE /api/messages/{id}`,
//! `POST /api/messages/{id}/status`, `GET /api/messages/{id}/audio.wav|.ogg`.
//! Store calls run on actix-web's blocking pool.

use super::*;

pub(crate) fn store_error(e: StoreError) -> HttpResponse {
    match e {
        StoreError::NotFound(id) => problem::not_found(&format!("no such message {id}")),
        e => problem::internal(&e.to_string()),
    }
}

/// A mailbox's messages, oldest first. A UM-disabled mailbox's messages stay
/// listed (until the retention removes them); an extension that is no mailbox
/// and holds none is 404.
/// `?q=` (caller name or number), `status=`, `from=`/`to=` (days in the
/// mailbox's zone) narrow it, as the inbox's search does.
pub(super) async fn messages(
    s: web::Data<AdminState>,
    path: web::Path<String>,
    query: web::Query<crate::store::query::MessageQuery>,
) -> HttpResponse {
    let ext = path.into_inner();
    let dir = current_dir(&s).await;
    let enabled = dir.mailbox_any(&ext).is_some();
    let tz = dir.mailbox_time_zone(&ext);
    let Some(store) = s.store.clone() else {
        return no_store();
    };
    let query = query.into_inner();
    if let Err(e) = query.check() {
        return problem::problem(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &e, None);
    }
    match web::block(move || store.list(&ext).map(|l| (ext, l))).await {
        Ok(Ok((ext, list))) if list.is_empty() && !enabled => {
            problem::not_found(&format!("no UM mailbox {ext}"))
        }
        Ok(Ok((_, list))) => HttpResponse::Ok().json(
            list.into_iter()
                .map(crate::store::MessageView::from)
                // The days were checked: a message matches or not.
                .filter(|v| query.matches(v, &tz).unwrap_or(false))
                .collect::<Vec<_>>(),
        ),
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

pub(super) async fn message(s: web::Data<AdminState>, path: web::Path<String>) -> HttpResponse {
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
pub(super) struct StatusBody {
    status: crate::store::MessageStatus,
}

/// `openum message delete|undelete|mark-new|mark-saved` while the server runs
/// (through the store's change feed, MWI follows).
pub(super) async fn set_message_status(
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
            tracing::info!(event = "message_status", message_id = %m.id, mailbox = %m.mailbox, status = %status.name(), by = "admin");
            HttpResponse::Ok().json(crate::store::MessageView::from(m))
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

/// `openum message remove`: the message is gone for good at once, as the
/// deleted-item purge would remove it later (MWI follows when it was waiting).
pub(super) async fn remove_message(
    s: web::Data<AdminState>,
    path: web::Path<String>,
) -> HttpResponse {
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
/// With HTTP Range (RFC 9110 14.2, one range): a browser's `<audio>` seeks
/// with it, and some will not play what cannot be ranged.
pub(super) async fn audio_as(
    s: web::Data<AdminState>,
    req: actix_web::HttpRequest,
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
            let range = req
                .headers()
                .get(actix_web::http::header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(|r| byte_range(r, bytes.len() as u64));
            match range {
                None => HttpResponse::Ok()
                    .content_type(ctype)
                    .insert_header(("Accept-Ranges", "bytes"))
                    .body(bytes),
                Some(Some((a, b))) => HttpResponse::PartialContent()
                    .content_type(ctype)
                    .insert_header(("Accept-Ranges", "bytes"))
                    .insert_header(("Content-Range", format!("bytes {a}-{b}/{}", bytes.len())))
                    .body(bytes[a as usize..=b as usize].to_vec()),
                Some(None) => HttpResponse::RangeNotSatisfiable()
                    .insert_header(("Content-Range", format!("bytes */{}", bytes.len())))
                    .finish(),
            }
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => problem::internal(&e.to_string()),
    }
}

pub(super) async fn audio(
    s: web::Data<AdminState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    audio_as(s, req, path.into_inner(), crate::store::audio::Format::Wav).await
}

pub(super) async fn audio_ogg(
    s: web::Data<AdminState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    audio_as(s, req, path.into_inner(), crate::store::audio::Format::Ogg).await
}

/// One `bytes=` range of a body of `len` bytes, as (first, last) inclusive:
/// None when it cannot be met (416).
pub(super) fn byte_range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.trim().strip_prefix("bytes=")?;
    let first = spec.split(',').next()?.trim();
    let (a, b) = first.split_once('-')?;
    let (a, b) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (len.checked_sub(n.min(len))?, len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(len.checked_sub(1)?),
        ),
    };
    (a <= b && b < len).then_some((a, b))
}

#[cfg(test)]
mod range_tests {
    use super::byte_range;

    #[test]
    fn ranges_as_browsers_send_them() {
        assert_eq!(byte_range("bytes=0-", 100), Some((0, 99)));
        assert_eq!(byte_range("bytes=10-19", 100), Some((10, 19)));
        assert_eq!(byte_range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=5-1", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
        assert_eq!(byte_range("bytes=0-", 0), None);
    }
}
