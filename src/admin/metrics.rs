//! `GET /metrics`: Prometheus text format, public (counts only, as scrapers
//! expect). The recorder's series (every one registered at start, see
//! [`crate::metrics_catalog`]), the gauges read at scrape time (heap, store
//! size), and the media timer lateness histogram kept by
//! [`crate::actors::lateness`] in its own atomics.

use super::AdminState;
use actix_web::{HttpResponse, web};

/// Lateness buckets, seconds (multiples of the 50 µs width it is kept in).
const LATENESS_LE: &[f64] = &[0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05];

pub(super) async fn prometheus(s: web::Data<AdminState>) -> HttpResponse {
    metrics::counter!("openum_log_lines_dropped_total").absolute(crate::logging::dropped_lines());
    if let Some(h) = crate::alloc::heap_stats() {
        metrics::gauge!("openum_heap_allocated_bytes").set(h.allocated as f64);
        metrics::gauge!("openum_heap_resident_bytes").set(h.resident as f64);
    }
    if s.store.is_some() {
        let dir = crate::datadir::store_path(&s.data);
        let bytes = web::block(move || dir_bytes(&dir)).await.unwrap_or(0);
        metrics::gauge!("openum_store_bytes").set(bytes as f64);
    }
    match &s.metrics {
        Some(h) => {
            let mut text = h.render();
            text.push_str(&crate::actors::lateness::prometheus(
                "openum_media_timer_lateness_seconds",
                "How late media timers fire (the server's share of RTP send jitter)",
                LATENESS_LE,
            ));
            HttpResponse::Ok()
                .content_type("text/plain; version=0.0.4")
                .body(text)
        }
        None => HttpResponse::NotFound().body("metrics recorder not installed"),
    }
}

/// Bytes of the files under `dir` (sled keeps a few large segment files).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
