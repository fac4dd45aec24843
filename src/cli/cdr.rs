//! `openum cdr list|summary` (Get-UMCallDataRecord, Get-UMCallSummaryReport):
//! from the running server's API, or from the store when it is stopped.

use super::{Access, Common, access, http_get, print_json};
use clap::Subcommand;
use openum::store::cdr::{Cdr, CdrQuery, CdrStore, SummaryRow, summary};

#[derive(Subcommand)]
pub enum CdrCmd {
    /// Call data records, oldest first.
    List {
        #[command(flatten)]
        common: Common,
        /// Ended at or after (RFC 3339, e.g. 2026-12-07T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        mailbox: Option<String>,
        #[arg(long)]
        gateway: Option<String>,
        /// At most this many (the newest).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Call-type shares and audio-quality bands per day or month.
    Summary {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = "day")]
        group_by: String,
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v))))
        .collect();
    q.join("&")
}

pub fn run(cmd: CdrCmd) -> Result<(), String> {
    match cmd {
        CdrCmd::List {
            common,
            since,
            mailbox,
            gateway,
            limit,
            json,
        } => {
            let list: Vec<Cdr> = match access(&common.data)? {
                Access::Direct(s) => s
                    .cdrs(&CdrQuery {
                        since,
                        mailbox,
                        gateway,
                        limit,
                    })
                    .map_err(|e| e.to_string())?,
                Access::Remote(url) => {
                    let q = query_string(&[
                        ("since", since),
                        ("mailbox", mailbox),
                        ("gateway", gateway),
                        ("limit", Some(limit.to_string())),
                    ]);
                    http_get(&format!("{url}/api/cdrs?{q}"))?
                        .into_json()
                        .map_err(|e| e.to_string())?
                }
            };
            if json {
                return print_json(&list);
            }
            println!(
                "{:<24} {:<17} {:<8} {:<12} {:<6} {:<8} {:>7} {:<6} {:>4}  OUTCOME",
                "ENDED", "TYPE", "GATEWAY", "CALLING", "CALLED", "MAILBOX", "SECS", "CODEC", "MOS"
            );
            for c in &list {
                println!(
                    "{:<24} {:<17} {:<8} {:<12} {:<6} {:<8} {:>7.1} {:<6} {:>4}  {}",
                    c.ended_at,
                    c.call_type.name(),
                    c.gateway,
                    c.calling,
                    c.called,
                    c.mailbox,
                    c.duration_ms as f64 / 1000.0,
                    c.codec,
                    c.mos.map_or("-".to_string(), |m| format!("{m:.2}")),
                    c.outcome
                );
            }
            Ok(())
        }
        CdrCmd::Summary {
            common,
            group_by,
            since,
            json,
        } => {
            let by_month = match group_by.as_str() {
                "day" => false,
                "month" => true,
                g => return Err(format!("--group-by {g:?}: use day or month")),
            };
            let rows: Vec<SummaryRow> = match access(&common.data)? {
                Access::Direct(s) => {
                    let all = s
                        .cdrs(&CdrQuery {
                            since,
                            limit: usize::MAX,
                            ..Default::default()
                        })
                        .map_err(|e| e.to_string())?;
                    summary(&all, by_month)
                }
                Access::Remote(url) => {
                    let q = query_string(&[("group_by", Some(group_by.clone())), ("since", since)]);
                    http_get(&format!("{url}/api/cdrs/summary?{q}"))?
                        .into_json()
                        .map_err(|e| e.to_string())?
                }
            };
            if json {
                return print_json(&rows);
            }
            println!(
                "{:<10} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}   {:>5} {:>5} {:>5} {:>5}",
                "PERIOD",
                "TOTAL",
                "VOICE",
                "AA",
                "SUBSCR",
                "XFER",
                "REFUSE",
                "REDIR",
                "GOOD",
                "AVG",
                "POOR",
                "MOS"
            );
            let pct = |n: u64, t: u64| {
                if t == 0 {
                    0.0
                } else {
                    100.0 * n as f64 / t as f64
                }
            };
            for r in &rows {
                println!(
                    "{:<10} {:>6} {:>5.0}% {:>5.0}% {:>5.0}% {:>5.0}% {:>5.0}% {:>5.0}%   {:>5} {:>5} {:>5} {:>5}",
                    r.period,
                    r.total,
                    pct(r.voice_message, r.total),
                    pct(r.auto_attendant, r.total),
                    pct(r.subscriber_access, r.total),
                    pct(r.transfer, r.total),
                    pct(r.refused, r.total),
                    pct(r.redirected, r.total),
                    r.quality_good,
                    r.quality_average,
                    r.quality_poor,
                    r.average_mos.map_or("-".into(), |m| format!("{m:.2}"))
                );
            }
            Ok(())
        }
    }
}
