//! The message search the inbox and the API share: caller name or number
//! (digits compared as digits, whatever the punctuation), status, and a date
//! range in the mailbox's time zone. Pure.

use super::{MessageStatus, MessageView};

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct MessageQuery {
    /// Words of the caller's name, or digits of the number.
    #[serde(default)]
    pub q: Option<String>,
    /// new, saved or deleted.
    #[serde(default)]
    pub status: Option<MessageStatus>,
    /// First day (YYYY-MM-DD, in the mailbox's zone), inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[serde(default)]
    pub to: Option<String>,
}

impl MessageQuery {
    pub fn is_empty(&self) -> bool {
        self.q.as_deref().is_none_or(|q| q.trim().is_empty())
            && self.status.is_none()
            && self.from.as_deref().is_none_or(str::is_empty)
            && self.to.as_deref().is_none_or(str::is_empty)
    }

    /// Whether the days can be read (Err names the one that cannot): a
    /// search is refused whole, whether or not any message would be compared.
    pub fn check(&self) -> Result<(), String> {
        self.days().map(|_| ())
    }

    fn days(&self) -> Result<(Option<jiff::civil::Date>, Option<jiff::civil::Date>), String> {
        let day = |d: &Option<String>, field: &str| -> Result<Option<jiff::civil::Date>, String> {
            match d.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                None => Ok(None),
                Some(d) => d
                    .parse::<jiff::civil::Date>()
                    .map(Some)
                    .map_err(|e| format!("{field} {d:?}: a date as YYYY-MM-DD ({e})")),
            }
        };
        Ok((day(&self.from, "from")?, day(&self.to, "to")?))
    }

    /// Whether `m` matches, with days in `tz`. Err names a date it cannot read.
    pub fn matches(&self, m: &MessageView, tz: &jiff::tz::TimeZone) -> Result<bool, String> {
        if let Some(s) = self.status
            && m.status != s
        {
            return Ok(false);
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let digits: String = q.chars().filter(char::is_ascii_digit).collect();
            let by_number = !digits.is_empty()
                && q.chars()
                    .all(|c| c.is_ascii_digit() || "+-. ()".contains(c))
                && m.meta
                    .caller_id
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .contains(&digits);
            let name = m.meta.caller_name.as_deref().unwrap_or("").to_lowercase();
            let by_name = q
                .to_lowercase()
                .split_whitespace()
                .all(|w| name.contains(w));
            if !by_number && !by_name {
                return Ok(false);
            }
        }
        let (from, to) = self.days()?;
        if from.is_some() || to.is_some() {
            let Ok(t) = m.meta.received_at.parse::<jiff::Timestamp>() else {
                return Ok(false);
            };
            let d = t.to_zoned(tz.clone()).date();
            if from.is_some_and(|f| d < f) || to.is_some_and(|e| d > e) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(caller: &str, name: Option<&str>, at: &str, read: bool) -> MessageView {
        super::super::MessageMeta {
            id: "1".into(),
            mailbox: "1001".into(),
            caller_id: caller.into(),
            caller_name: name.map(Into::into),
            received_at: at.into(),
            duration_ms: 1000,
            codec: crate::media::g711::Law::A,
            size: 1,
            read,
            call_id: "c".into(),
            deleted_at: None,
            forwarded_by: None,
            format: super::super::audio::Format::Ogg,
            rate: 8000,
            email: None,
        }
        .into()
    }

    fn q(q: &str, status: Option<MessageStatus>, from: &str, to: &str) -> MessageQuery {
        MessageQuery {
            q: Some(q.into()),
            status,
            from: Some(from.into()),
            to: Some(to.into()),
        }
    }

    #[test]
    fn by_number_name_status_and_day_in_the_mailboxs_zone() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // 23:30 UTC on the 7th is already the 8th in Paris.
        let a = m(
            "+33 1 55 55 10 01",
            Some("Élodie Fournier"),
            "2026-12-07T23:30:00Z",
            false,
        );
        let ok = |x: &MessageQuery| x.matches(&a, &paris).unwrap();
        assert!(ok(&q("0155551001".trim_start_matches('0'), None, "", "")));
        assert!(ok(&q("élodie", None, "", "")));
        assert!(ok(&q("fournier élodie", None, "", "")));
        assert!(!ok(&q("durand", None, "", "")));
        assert!(!ok(&q("", Some(MessageStatus::Saved), "", "")));
        assert!(ok(&q(
            "",
            Some(MessageStatus::New),
            "2026-12-08",
            "2026-12-08"
        )));
        assert!(!ok(&q("", None, "", "2026-12-07")));
        assert!(
            q("", None, "8/12/2026", "")
                .matches(&a, &paris)
                .unwrap_err()
                .contains("from")
        );
        assert!(
            q("", None, "", "2026-13-01")
                .check()
                .unwrap_err()
                .contains("to")
        );
        assert!(q("", None, "2026-12-01", "").check().is_ok());
        assert!(MessageQuery::default().is_empty());
    }
}
