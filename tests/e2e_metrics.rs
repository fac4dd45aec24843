//! End to end: `/metrics` read without a token and parsed by Prometheus's own
//! client parser (prometheus-client, `tests/py/parse_metrics.py`): every series
//! of the catalog is there from the start (at zero where its labels are
//! known), the counters and histograms move as a call is made, and every
//! expression of the Grafana dashboard (`tools/grafana/openum.json`) names a
//! series that `/metrics` exports.

mod common;
use common::ova::*;
use common::*;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Scrape {
    families: HashMap<String, String>,
    samples: Vec<(String, HashMap<String, String>, f64)>,
}

impl Scrape {
    fn of(server: &Server) -> Scrape {
        let text = ureq::get(&format!("{}/metrics", server.admin_url))
            .call()
            .expect("/metrics without a token")
            .into_string()
            .unwrap();
        let mut p = Command::new("python3")
            .arg(repo().join("tests/py/parse_metrics.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "prometheus-client cannot parse /metrics: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        Scrape {
            families: serde_json::from_value(v["families"].clone()).unwrap(),
            samples: v["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["name"].as_str().unwrap().to_string(),
                        serde_json::from_value(s["labels"].clone()).unwrap(),
                        s["value"].as_f64().unwrap(),
                    )
                })
                .collect(),
        }
    }

    /// The sum of the samples named `name` whose labels include `with`.
    fn sum(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && with
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|(n, _, _)| n == name)
    }
}

#[test]
fn every_series_is_there_from_the_start_and_moves_with_a_call() {
    let server = Server::start(&[]);
    let before = Scrape::of(&server);
    for (name, _, labels) in openum::metrics_catalog::COUNTERS
        .iter()
        .chain(openum::metrics_catalog::GAUGES)
    {
        // Labels with known values are registered at zero; others (a worker,
        // a gateway) appear with their first value.
        if labels.iter().all(|l| l.contains('=')) {
            assert!(before.has(name), "{name} absent at start");
        }
    }
    for (name, _, _) in openum::metrics_catalog::HISTOGRAMS {
        assert_eq!(
            before.families.get(*name).map(String::as_str),
            Some("histogram"),
            "{name}"
        );
        assert!(
            before.has(&format!("{name}_count")),
            "{name} has no count at start"
        );
    }
    assert_eq!(
        before.sum(
            "openum_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(
        before
            .families
            .get("openum_media_timer_lateness_seconds")
            .map(String::as_str),
        Some("histogram")
    );

    deposit(&server, "1001", "5551234");
    // A subscriber access call with a wrong PIN, then the right one.
    let mut c = Caller::call(&server, "1001", "metrics-logon");
    c.wait("welcome", 1);
    c.keys("111111#");
    c.wait("pin_wrong", 1);
    c.keys("135790#");
    c.wait("logged_on", 1);
    c.hang_up();
    let after = wait_for("the call records", Duration::from_secs(15), || {
        let s = Scrape::of(&server);
        (s.sum("openum_calls_total", &[("type", "subscriber_access")]) >= 1.0).then_some(s)
    });
    let moved = |name: &str, with: &[(&str, &str)]| {
        let (a, b) = (before.sum(name, with), after.sum(name, with));
        assert!(b > a, "{name} {with:?} did not move: {a} → {b}");
    };
    moved(
        "openum_calls_total",
        &[("type", "voice_message"), ("status", "200")],
    );
    moved("openum_messages_stored_total", &[]);
    moved("openum_logons_total", &[("result", "ok")]);
    moved("openum_logons_total", &[("result", "failed")]);
    moved("openum_rtp_packets_received_total", &[]);
    moved("openum_rtp_packets_sent_total", &[]);
    moved("openum_invite_answer_seconds_count", &[]);
    moved("openum_deposit_commit_seconds_count", &[]);
    moved("openum_media_timer_lateness_seconds_count", &[]);
    assert!(after.sum("openum_store_bytes", &[]) > before.sum("openum_store_bytes", &[]));
    assert_eq!(after.sum("openum_calls_active", &[]), 0.0);
}

#[test]
fn the_dashboard_uses_only_series_that_metrics_exports() {
    let server = Server::start(&[]);
    let s = Scrape::of(&server);
    let exported: BTreeSet<String> = s.samples.iter().map(|(n, _, _)| n.clone()).collect();
    let text = std::fs::read_to_string(repo().join("tools/grafana/openum.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut exprs = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr" | "query", serde_json::Value::String(e)) => out.push(e.clone()),
                        _ => walk(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&dash, &mut exprs);
    assert!(
        exprs.len() > 20,
        "the dashboard has {} expressions",
        exprs.len()
    );
    let mut named = BTreeSet::new();
    for e in &exprs {
        for (i, _) in e.match_indices("openum_") {
            let name: String = e[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            named.insert(name);
        }
    }
    let missing: Vec<&String> = named.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard names series /metrics lacks: {missing:?}"
    );
    // And it shows what the issue asks for.
    for must in [
        "openum_calls_active_by_type",
        "openum_calls_total",
        "openum_logons_total",
        "openum_mwi_notifies_total",
        "openum_emails_total",
        "openum_webhooks_total",
        "openum_outbox_depth",
        "openum_rtp_packets_lost_total",
        "openum_invite_answer_seconds_bucket",
        "openum_media_timer_lateness_seconds_bucket",
        "openum_deposit_commit_seconds_bucket",
        "openum_store_bytes",
        "openum_build_info",
    ] {
        assert!(named.contains(must), "the dashboard does not show {must}");
    }
}
