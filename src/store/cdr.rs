//! Call data records (Get-UMCallDataRecord, Get-UMCallSummaryReport): one per
//! call, refused and redirected ones included, kept in the store for a
//! retention time; the summary groups them by day or month with Exchange's
//! call-type shares and audio-quality bands. The record is plain data built
//! by the supervisor; the summary is pure.

use super::StoreError;
use serde::{Deserialize, Serialize};

/// What kind of call it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    VoiceMessage,
    AutoAttendant,
    SubscriberAccess,
    /// An auto-attendant call that ended transferred to an extension.
    Transfer,
    Refused,
    Redirected,
}

impl CallType {
    pub fn name(self) -> &'static str {
        match self {
            CallType::VoiceMessage => "voice_message",
            CallType::AutoAttendant => "auto_attendant",
            CallType::SubscriberAccess => "subscriber_access",
            CallType::Transfer => "transfer",
            CallType::Refused => "refused",
            CallType::Redirected => "redirected",
        }
    }

    pub fn parse(s: &str) -> Option<CallType> {
        [
            CallType::VoiceMessage,
            CallType::AutoAttendant,
            CallType::SubscriberAccess,
            CallType::Transfer,
            CallType::Refused,
            CallType::Redirected,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cdr {
    pub call_id: String,
    /// RFC 3339 UTC, millisecond precision.
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    pub ended_at: String,
    pub duration_ms: u64,
    pub call_type: CallType,
    pub calling: String,
    /// The number dialed (the Request-URI's user part: a pilot or extension).
    pub called: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverted_from: Option<String>,
    pub gateway: String,
    pub dial_plan: String,
    pub mailbox: String,
    /// In words: `message 0000… stored`, `transferred to 1001`, `abandoned`,
    /// `refused 404: …`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<String>,
    /// The SIP status of a refusal (or 302 for a redirection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// PCMU, PCMA or opus; empty when no media ran.
    pub codec: String,
    pub transport: String,
    /// RTP or SRTP; empty when no media ran.
    pub media_security: String,
    pub rtp_in: u64,
    pub rtp_out: u64,
    pub rtp_lost: u64,
    pub jitter_ms: f64,
    /// Estimated MOS (G.107 E-model); absent when no audio came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos: Option<f64>,
}

impl Cdr {
    /// A record of `call_type` that started and ended `at`, with nothing
    /// else known yet (the caller fills in what it knows).
    pub fn new(call_id: &str, at: &str, call_type: CallType) -> Cdr {
        Cdr {
            call_id: call_id.to_string(),
            started_at: at.to_string(),
            answered_at: None,
            ended_at: at.to_string(),
            duration_ms: 0,
            call_type,
            calling: String::new(),
            called: String::new(),
            diverted_from: None,
            gateway: String::new(),
            dial_plan: String::new(),
            mailbox: String::new(),
            outcome: String::new(),
            message_id: None,
            transferred_to: None,
            status: None,
            reason: None,
            codec: String::new(),
            transport: String::new(),
            media_security: String::new(),
            rtp_in: 0,
            rtp_out: 0,
            rtp_lost: 0,
            jitter_ms: 0.0,
            mos: None,
        }
    }
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct CdrQuery {
    /// RFC 3339: ended at or after.
    pub since: Option<String>,
    pub mailbox: Option<String>,
    pub gateway: Option<String>,
    pub limit: usize,
}

impl CdrQuery {
    pub fn matches(&self, c: &Cdr) -> bool {
        self.since
            .as_ref()
            .is_none_or(|s| c.ended_at.as_str() >= s.as_str())
            && self.mailbox.as_ref().is_none_or(|m| &c.mailbox == m)
            && self.gateway.as_ref().is_none_or(|g| &c.gateway == g)
    }
}

pub trait CdrStore: Send + Sync {
    /// Keep records durably (one write for the batch).
    fn put_cdrs(&self, cdrs: &[Cdr]) -> Result<(), StoreError>;
    /// Records matching `q`, oldest first, at most `q.limit` (the newest ones).
    fn cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, StoreError>;
    /// Remove records that ended before `before` (RFC 3339); how many.
    fn purge_cdrs(&self, before: &str) -> Result<usize, StoreError>;
}

/// One row of the summary report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SummaryRow {
    /// `2026-12-07` or `2026-12`.
    pub period: String,
    pub total: u64,
    pub voice_message: u64,
    pub auto_attendant: u64,
    pub subscriber_access: u64,
    pub transfer: u64,
    pub refused: u64,
    pub redirected: u64,
    /// Audio quality bands of calls with audio (Exchange's: good ≥ 3.5,
    /// average 2.5..3.5, poor < 2.5 MOS).
    pub quality_good: u64,
    pub quality_average: u64,
    pub quality_poor: u64,
    pub average_mos: Option<f64>,
}

/// Group records by `day` or `month` (of their end, UTC).
pub fn summary(cdrs: &[Cdr], by_month: bool) -> Vec<SummaryRow> {
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut mos_sum: Vec<(f64, u64)> = Vec::new();
    for c in cdrs {
        let period: String = c
            .ended_at
            .chars()
            .take(if by_month { 7 } else { 10 })
            .collect();
        let i = match rows.iter().position(|r| r.period == period) {
            Some(i) => i,
            None => {
                rows.push(SummaryRow {
                    period,
                    ..SummaryRow::default()
                });
                mos_sum.push((0.0, 0));
                rows.len() - 1
            }
        };
        let r = &mut rows[i];
        r.total += 1;
        match c.call_type {
            CallType::VoiceMessage => r.voice_message += 1,
            CallType::AutoAttendant => r.auto_attendant += 1,
            CallType::SubscriberAccess => r.subscriber_access += 1,
            CallType::Transfer => r.transfer += 1,
            CallType::Refused => r.refused += 1,
            CallType::Redirected => r.redirected += 1,
        }
        if let Some(m) = c.mos {
            match m {
                m if m >= 3.5 => r.quality_good += 1,
                m if m >= 2.5 => r.quality_average += 1,
                _ => r.quality_poor += 1,
            }
            mos_sum[i].0 += m;
            mos_sum[i].1 += 1;
        }
    }
    for (r, (sum, n)) in rows.iter_mut().zip(mos_sum) {
        r.average_mos = (n > 0).then(|| (sum / n as f64 * 100.0).round() / 100.0);
    }
    rows.sort_by(|a, b| a.period.cmp(&b.period));
    rows
}

/// The contract every [`CdrStore`] meets.
pub mod contract {
    use super::*;

    pub fn sample(call_id: &str, ended_at: &str, mailbox: &str, t: CallType) -> Cdr {
        Cdr {
            duration_ms: 1000,
            calling: "5551234".into(),
            called: "4000".into(),
            gateway: "loopback".into(),
            dial_plan: "Demo".into(),
            mailbox: mailbox.into(),
            outcome: "abandoned".into(),
            codec: "PCMU".into(),
            transport: "UDP".into(),
            media_security: "RTP".into(),
            rtp_in: 50,
            rtp_out: 50,
            jitter_ms: 0.5,
            mos: Some(4.39),
            ..Cdr::new(call_id, ended_at, t)
        }
    }

    pub fn cdrs(s: &dyn CdrStore) {
        let a = sample(
            "a",
            "2026-12-01T10:00:00.000Z",
            "1001",
            CallType::VoiceMessage,
        );
        let b = sample("b", "2026-12-02T10:00:00.000Z", "1002", CallType::Refused);
        let c = sample(
            "c",
            "2026-12-03T10:00:00.000Z",
            "1001",
            CallType::AutoAttendant,
        );
        s.put_cdrs(&[b.clone(), a.clone()]).unwrap();
        s.put_cdrs(std::slice::from_ref(&c)).unwrap();
        let all = s
            .cdrs(&CdrQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            all.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(all[0], a);
        let q = CdrQuery {
            mailbox: Some("1001".into()),
            since: Some("2026-12-02T00:00:00Z".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.cdrs(&q).unwrap(), std::slice::from_ref(&c));
        let newest = s
            .cdrs(&CdrQuery {
                limit: 2,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            newest
                .iter()
                .map(|c| c.call_id.as_str())
                .collect::<Vec<_>>(),
            ["b", "c"]
        );
        assert_eq!(s.purge_cdrs("2026-12-02T12:00:00Z").unwrap(), 2);
        assert_eq!(
            s.cdrs(&CdrQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap(),
            [c]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::contract::sample;
    use super::*;

    #[test]
    fn the_summary_counts_call_types_and_quality_bands_per_period() {
        let mut v = vec![
            sample(
                "a",
                "2026-12-01T10:00:00.000Z",
                "1001",
                CallType::VoiceMessage,
            ),
            sample("b", "2026-12-01T11:00:00.000Z", "1001", CallType::Refused),
            sample(
                "c",
                "2026-12-02T10:00:00.000Z",
                "1002",
                CallType::AutoAttendant,
            ),
        ];
        v[1].mos = None;
        v[2].mos = Some(2.0);
        let days = summary(&v, false);
        assert_eq!(days.len(), 2);
        assert_eq!(
            (days[0].total, days[0].voice_message, days[0].refused),
            (2, 1, 1)
        );
        assert_eq!((days[0].quality_good, days[0].average_mos), (1, Some(4.39)));
        assert_eq!((days[1].quality_poor, days[1].auto_attendant), (1, 1));
        let months = summary(&v, true);
        assert_eq!(months.len(), 1);
        assert_eq!((months[0].period.as_str(), months[0].total), ("2026-12", 3));
        for t in ["voice_message", "refused", "transfer"] {
            assert_eq!(CallType::parse(t).unwrap().name(), t);
        }
    }
}
