//! Every Prometheus series openum exports, with its help text, registered at
//! start (unlabelled ones at zero), so `/metrics` names each one before it
//! first moves: a scraper's `rate()` and an alert on "absent" both need the
//! series to exist. A label written `name=a|b|c` has known values: the series
//! is registered at zero for each; a label without values (a worker, a
//! gateway) appears with its first value. A test keeps this list and the
//! code's `counter!`/`gauge!`/`histogram!` names the same.

/// (name, help, labels)
pub const COUNTERS: &[(&str, &str, &[&str])] = &[
    (
        "openum_self_tests_total",
        "Periodic self-test calls, by result",
        &["result=pass|fail"],
    ),
    (
        "openum_calls_total",
        "Calls ended, by type (the route they took, or refused/redirected) and SIP status",
        &[
            "type=voice_message|auto_attendant|subscriber_access|transfer",
            "status=200",
        ],
    ),
    (
        "openum_logons_total",
        "Subscriber access logons, by result",
        &["result=ok|failed|locked"],
    ),
    (
        "openum_mwi_notifies_total",
        "MWI NOTIFYs answered or given up, by result",
        &["result=delivered|terminated|ended|retry|gave_up"],
    ),
    (
        "openum_rtp_packets_lost_total",
        "RTP packets lost on the way in (RFC 3550), over ended calls",
        &[],
    ),
    (
        "openum_emails_total",
        "Voicemail email attempts, by result",
        &["result=sent|retry|failed|dropped"],
    ),
    (
        "openum_webhooks_total",
        "Webhook POST attempts, by result",
        &["result=sent|retry|failed"],
    ),
    (
        "openum_aa_menu_steps_total",
        "Auto attendant menu steps",
        &["step"],
    ),
    (
        "openum_call_actors_died_total",
        "Call actors that stopped without finishing (bugs)",
        &[],
    ),
    ("openum_calls_answered_total", "Calls answered", &[]),
    (
        "openum_calls_redirected_total",
        "Calls redirected to a mailbox node (router role)",
        &["node"],
    ),
    (
        "openum_calls_rejected_total",
        "Calls refused, by SIP status",
        &["status"],
    ),
    (
        "openum_cdrs_lost_total",
        "Call data records the store refused",
        &[],
    ),
    (
        "openum_cdrs_written_total",
        "Call data records written",
        &[],
    ),
    (
        "openum_diversions_unmatched_total",
        "Calls whose Diversion named no mailbox",
        &[],
    ),
    ("openum_dtmf_digits_total", "DTMF digits received", &[]),
    (
        "openum_gateway_unreachable_total",
        "IP gateways found unreachable by OPTIONS",
        &[],
    ),
    (
        "openum_log_lines_dropped_total",
        "Log lines dropped because stderr did not keep up",
        &[],
    ),
    (
        "openum_mailbox_full_total",
        "Deposits refused by a mailbox quota",
        &[],
    ),
    (
        "openum_messages_failed_total",
        "Messages the store failed to keep",
        &[],
    ),
    (
        "openum_messages_not_recorded_total",
        "Audio that arrived but could not be kept, by reason",
        &["reason=payload_type|undecodable|srtp"],
    ),
    ("openum_messages_stored_total", "Messages stored", &[]),
    (
        "openum_ova_menu_steps_total",
        "Subscriber access menu steps",
        &["step"],
    ),
    (
        "openum_rtp_foreign_pt_total",
        "RTP packets of a payload type the answer did not list",
        &[],
    ),
    (
        "openum_rtp_packets_received_total",
        "RTP packets received",
        &[],
    ),
    ("openum_rtp_packets_sent_total", "RTP packets sent", &[]),
    (
        "openum_rtp_timeouts_total",
        "Calls ended for RTP inactivity",
        &[],
    ),
    (
        "openum_rtp_unanswered_pt_total",
        "RTP packets of a G.711 law offered but not answered",
        &[],
    ),
    (
        "openum_session_timer_events_total",
        "Session timer events (RFC 4028)",
        &["event"],
    ),
    (
        "openum_sip_conn_timeouts_total",
        "SIP connections closed for slowness or idleness",
        &["reason"],
    ),
    (
        "openum_sip_malformed_total",
        "Malformed SIP messages",
        &["transport=UDP|TCP|TLS"],
    ),
    (
        "openum_sip_queue_full_total",
        "SIP messages dropped because the core queue was full",
        &[],
    ),
    (
        "openum_sip_rate_limited_total",
        "SIP messages over a source's rate limit",
        &[],
    ),
    (
        "openum_sip_shed_total",
        "New requests shed with 503 under load",
        &[],
    ),
    ("openum_transfers_total", "Transfers, by result", &["ok"]),
    (
        "openum_untrusted_certificates_total",
        "TLS peers whose certificate names no IP gateway",
        &[],
    ),
    (
        "openum_untrusted_requests_total",
        "SIP requests from addresses that are no IP gateway",
        &[],
    ),
    (
        "openum_worker_calls_total",
        "Calls placed on each worker",
        &["worker"],
    ),
];

pub const GAUGES: &[(&str, &str, &[&str])] = &[
    (
        "openum_self_test_ok",
        "1 when the last self-test call passed, 0 when it failed (0 before the first)",
        &[],
    ),
    (
        "openum_calls_active_by_type",
        "Calls in progress by the route they took",
        &["type=voice_message|auto_attendant|subscriber_access"],
    ),
    (
        "openum_store_bytes",
        "Bytes the mailbox store takes on disk",
        &[],
    ),
    (
        "openum_build_info",
        "Always 1; the version in its label",
        &[concat!("version=", env!("CARGO_PKG_VERSION"))],
    ),
    (
        "openum_outbox_depth",
        "Deliveries waiting in the outbox (emails, webhooks, message changes not yet handled)",
        &[],
    ),
    ("openum_calls_active", "Calls in progress", &[]),
    (
        "openum_heap_allocated_bytes",
        "Heap bytes allocated (jemalloc)",
        &[],
    ),
    (
        "openum_heap_resident_bytes",
        "Heap bytes resident (jemalloc)",
        &[],
    ),
    (
        "openum_worker_calls",
        "Calls in progress on each worker",
        &["worker"],
    ),
];

/// The version `openum_build_info` names.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// (name, help, buckets in seconds).
pub const HISTOGRAMS: &[(&str, &str, &[f64])] = &[
    (
        "openum_invite_answer_seconds",
        "From a new INVITE's arrival to our 200",
        &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
    ),
    (
        "openum_deposit_commit_seconds",
        "From a call's end of recording to its message durable in the store",
        &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
    ),
];

/// Describe every series and register the unlabelled ones at zero. Call once,
/// after the recorder is installed.
pub fn register() {
    for (name, help, labels) in COUNTERS {
        metrics::describe_counter!(*name, *help);
        for set in label_sets(labels) {
            metrics::counter!(*name, set).absolute(0);
        }
    }
    for (name, help, labels) in GAUGES {
        metrics::describe_gauge!(*name, *help);
        for set in label_sets(labels) {
            metrics::gauge!(*name, set).set(0.0);
        }
    }
    metrics::gauge!("openum_build_info", "version" => VERSION).set(1.0);
    for (name, help, _) in HISTOGRAMS {
        metrics::describe_histogram!(*name, metrics::Unit::Seconds, *help);
        // The handle registers the series: its buckets show at zero.
        let _ = metrics::histogram!(*name);
    }
}

/// The recorder, with each histogram's buckets (else they would be summaries).
pub fn builder() -> metrics_exporter_prometheus::PrometheusBuilder {
    let mut b = metrics_exporter_prometheus::PrometheusBuilder::new();
    for (name, _, buckets) in HISTOGRAMS {
        // The only refusal is an empty list, and the catalog's lists are not.
        b = b
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(name.to_string()),
                buckets,
            )
            .expect("the catalog's buckets are not empty");
    }
    b
}

/// Every combination of the known label values (one empty set when the series
/// has no label; none when a label's values are not known in advance).
pub fn label_sets(labels: &[&str]) -> Vec<Vec<metrics::Label>> {
    let mut sets: Vec<Vec<metrics::Label>> = vec![Vec::new()];
    for l in labels {
        let Some((name, values)) = l.split_once('=') else {
            return Vec::new();
        };
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.split('|').map(move |v| {
                    let mut s = set.clone();
                    s.push(metrics::Label::new(name.to_string(), v.to_string()));
                    s
                })
            })
            .collect();
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }

    #[test]
    fn the_catalog_names_every_series_the_code_moves() {
        let mut code = String::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut code,
        );
        let mut used = std::collections::BTreeSet::new();
        for kind in ["counter!(\"", "gauge!(\"", "histogram!(\""] {
            for part in code.split(kind).skip(1) {
                if let Some(name) = part.split('"').next()
                    && name.starts_with("openum_")
                {
                    used.insert(name.to_string());
                }
            }
        }
        let known: std::collections::BTreeSet<String> = COUNTERS
            .iter()
            .chain(GAUGES)
            .map(|(n, _, _)| n.to_string())
            .chain(HISTOGRAMS.iter().map(|(n, _, _)| n.to_string()))
            .collect();
        let missing: Vec<_> = used.difference(&known).collect();
        assert!(missing.is_empty(), "series the catalog lacks: {missing:?}");
        let unused: Vec<_> = known.difference(&used).collect();
        assert!(
            unused.is_empty(),
            "series the code no longer moves: {unused:?}"
        );
    }
}
