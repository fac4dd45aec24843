//! The recent structured events (every tracing event with an `event` field),
//! kept in memory — the last [`KEPT`] — for `GET /api/events` and `openum
//! events [--follow]`: what the server just did, in order, with named fields,
//! without reading its log. A tracing layer; holding a mutex for a push, so
//! only events (a handful per call), never per packet.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// Events kept.
pub const KEPT: usize = 10_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// Increasing from 1 for the life of the process.
    pub seq: u64,
    /// RFC 3339 UTC, milliseconds.
    pub at: String,
    pub level: String,
    pub event: String,
    /// The other fields, by name (values as logged).
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

struct Ring {
    next: u64,
    kept: VecDeque<EventRecord>,
}

static RING: Mutex<Ring> = Mutex::new(Ring {
    next: 1,
    kept: VecDeque::new(),
});

/// Events after `after` (a `seq`), oldest first, at most `limit`, of one
/// `event` name when given.
pub fn since(after: u64, limit: usize, event: Option<&str>) -> Vec<EventRecord> {
    let r = RING.lock().unwrap_or_else(|p| p.into_inner());
    r.kept
        .iter()
        .filter(|e| e.seq > after && event.is_none_or(|n| e.event == n))
        .take(limit)
        .cloned()
        .collect()
}

#[derive(Default)]
struct Fields {
    event: Option<String>,
    map: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.put(f, serde_json::Value::String(format!("{v:?}")));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.put(f, serde_json::Value::String(v.to_string()));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.put(f, v.into());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.put(f, v.into());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.put(f, v.into());
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.put(f, v.into());
    }
}

impl Fields {
    fn put(&mut self, f: &Field, v: serde_json::Value) {
        if f.name() == "event" {
            self.event = v.as_str().map(str::to_string);
        } else {
            self.map.insert(f.name().to_string(), v);
        }
    }
}

/// The layer that keeps them.
pub struct Keep;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Keep {
    fn on_event(&self, e: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields::default();
        e.record(&mut f);
        let Some(event) = f.event else { return };
        let at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let mut r = RING.lock().unwrap_or_else(|p| p.into_inner());
        let seq = r.next;
        r.next += 1;
        if r.kept.len() >= KEPT {
            r.kept.pop_front();
        }
        r.kept.push_back(EventRecord {
            seq,
            at,
            level: e.metadata().level().to_string(),
            event,
            fields: f.map,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_are_kept_in_order_with_their_fields() {
        let sub = tracing_subscriber::registry().with(Keep);
        let before = since(0, usize::MAX, None).last().map_or(0, |e| e.seq);
        tracing::subscriber::with_default(sub, || {
            tracing::info!(
                event = "unit_test_event",
                mailbox = "1001",
                n = 3u64,
                ok = true
            );
            tracing::info!("no event field: not kept");
            tracing::warn!(event = "unit_test_other", why = %"x y");
        });
        let got = since(before, 10, Some("unit_test_event"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].fields["mailbox"], "1001");
        assert_eq!(got[0].fields["n"], 3);
        assert_eq!(got[0].level, "INFO");
        let all = since(before, 10, None);
        assert!(
            all.iter()
                .any(|e| e.event == "unit_test_other" && e.fields["why"] == "x y")
        );
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    }
}
