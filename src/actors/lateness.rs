//! How late call timers fire (the server's own contribution to RTP send jitter):
//! a process-wide histogram of `fired_at - due`, 50 µs buckets up to 50 ms, one
//! atomic add per timer. Read by the admin API (`GET /api/media/timing`) and
//! `tools/load`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKET_US: u64 = 50;
const BUCKETS: usize = 1000; // 50 ms; the last bucket takes everything later

static HIST: [AtomicU64; BUCKETS] = [const { AtomicU64::new(0) }; BUCKETS];
static MAX_US: AtomicU64 = AtomicU64::new(0);

pub fn record(late: Duration) {
    let us = late.as_micros() as u64;
    let i = ((us / BUCKET_US) as usize).min(BUCKETS - 1);
    HIST[i].fetch_add(1, Ordering::Relaxed);
    MAX_US.fetch_max(us, Ordering::Relaxed);
}

/// (count, p50, p99, p99.9, max) in milliseconds; percentiles are bucket upper bounds.
pub fn summary() -> serde_json::Value {
    let counts: Vec<u64> = HIST.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    let pct = |p: f64| -> f64 {
        let want = (total as f64 * p).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want.max(1) {
                return ((i as u64 + 1) * BUCKET_US) as f64 / 1000.0;
            }
        }
        f64::NAN
    };
    serde_json::json!({
        "timer_fires": total,
        "late_p50_ms": pct(0.50),
        "late_p99_ms": pct(0.99),
        "late_p999_ms": pct(0.999),
        "late_max_ms": MAX_US.load(Ordering::Relaxed) as f64 / 1000.0,
    })
}

/// The histogram in Prometheus text format, as `name` in seconds with the
/// buckets `le` (seconds; each a multiple of the 50 µs bucket width), so
/// `/metrics` carries it without a second recorder on every timer.
pub fn prometheus(name: &str, help: &str, le: &[f64]) -> String {
    let counts: Vec<u64> = HIST.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    // The sum is taken at bucket midpoints: the buckets are all that is kept.
    let sum: f64 = counts
        .iter()
        .enumerate()
        .map(|(i, c)| *c as f64 * (i as f64 + 0.5) * BUCKET_US as f64 / 1e6)
        .sum();
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
    for l in le {
        let upto = ((l * 1e6) as u64 / BUCKET_US) as usize;
        let n: u64 = counts[..upto.min(BUCKETS - 1)].iter().sum();
        out.push_str(&format!("{name}_bucket{{le=\"{l}\"}} {n}\n"));
    }
    out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {total}\n"));
    out.push_str(&format!("{name}_sum {sum}\n{name}_count {total}\n"));
    out
}
