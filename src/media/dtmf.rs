//! RFC 4733 telephone-event detection. A digit is reported once, when its end bit is
//! first seen (the sender repeats the end packet three times, §2.5.1.4); if a new
//! event starts before the previous one's end arrived (end packets lost), the
//! previous one is reported then. Events are identified by their RTP timestamp.

/// Map RFC 4733 event codes 0–15 to keypad characters.
pub fn event_char(code: u8) -> Option<char> {
    Some(match code {
        0..=9 => (b'0' + code) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + code - 12) as char,
        _ => return None,
    })
}

/// The RFC 4733 event code of a keypad character (the inverse of [`event_char`]).
pub fn event_code(c: char) -> Option<u8> {
    (0..=15).find(|&code| event_char(code) == Some(c))
}

/// The digit a SIP INFO carries (the other DTMF relay, common on Cisco and SBCs):
/// `application/dtmf-relay` (`Signal=5` / `Duration=160` lines) or
/// `application/dtmf` (the digit, or its RFC 4733 event code, alone). `Ok(None)`
/// when the content type is not a DTMF one; `Err` when it is but the body names no
/// key.
pub fn info_digit(content_type: &str, body: &[u8]) -> Result<Option<char>, &'static str> {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body).map_err(|_| "DTMF body is not text")?;
    let value = match ct.as_str() {
        "application/dtmf-relay" => text
            .lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
            .map(|(_, v)| v.trim())
            .ok_or("dtmf-relay body has no Signal line")?,
        "application/dtmf" => text.trim(),
        _ => return Ok(None),
    };
    let key = match value {
        v if v.len() == 1 => {
            let c = v.chars().next().unwrap_or(' ').to_ascii_uppercase();
            matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
        }
        v => v.parse::<u8>().ok().and_then(event_char),
    };
    key.map(Some).ok_or("DTMF body names no key")
}

#[derive(Debug, Default)]
pub struct DtmfDetector {
    /// Event in progress: (timestamp, code).
    current: Option<(u32, u8)>,
    /// Timestamp of the last reported event, to drop its repeated end packets.
    last_reported: Option<u32>,
    /// When the last event packet arrived.
    last_packet: Option<std::time::Instant>,
}

/// Repeated end packets follow each other at packet intervals; after this long
/// without an event packet, the same timestamp is a new key press (a sender that
/// replays one capture, as SIPp does, reuses its timestamps).
const REPEAT_WINDOW: std::time::Duration = std::time::Duration::from_millis(150);

impl DtmfDetector {
    /// Call before [`DtmfDetector::handle`] with the packet's arrival time.
    pub fn age(&mut self, now: std::time::Instant) {
        if self
            .last_packet
            .is_some_and(|t| now.saturating_duration_since(t) > REPEAT_WINDOW)
        {
            self.last_reported = None;
        }
        self.last_packet = Some(now);
    }

    /// Feed one telephone-event payload carried in an RTP packet with `timestamp`.
    pub fn handle(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        if payload.len() < 4 {
            return None;
        }
        let (code, end) = (payload[0], payload[1] & 0x80 != 0);
        if self.last_reported == Some(timestamp) {
            return None;
        }
        if let Some((ts, c)) = self.current
            && ts != timestamp
        {
            // A new event began without the old one's end (end packets lost): report
            // the old one now. One digit per packet: this packet's event becomes the
            // current one and is reported by its next (repeated) end packet.
            self.last_reported = Some(ts);
            self.current = Some((timestamp, code));
            return event_char(c);
        }
        if end {
            self.current = None;
            self.last_reported = Some(timestamp);
            return event_char(code);
        }
        self.current = Some((timestamp, code));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replayed_capture_with_the_same_timestamp_is_a_new_press_after_a_gap() {
        let ev = |code: u8, end: bool| vec![code, if end { 0x8a } else { 0x0a }, 0x01, 0x40];
        let mut d = DtmfDetector::default();
        let t0 = std::time::Instant::now();
        let ms = std::time::Duration::from_millis;
        for (at, end, want) in [
            (0, false, None),
            (20, true, Some('0')),
            (40, true, None),
            (60, true, None),
        ] {
            d.age(t0 + ms(at));
            assert_eq!(d.handle(7000, &ev(0, end)), want);
        }
        // The same capture again 200 ms after its last packet: a second 0.
        d.age(t0 + ms(260));
        assert_eq!(d.handle(7000, &ev(0, false)), None);
        d.age(t0 + ms(280));
        assert_eq!(d.handle(7000, &ev(0, true)), Some('0'));
    }

    #[test]
    fn info_bodies() {
        let relay = "application/dtmf-relay";
        assert_eq!(
            info_digit(relay, b"Signal=5\r\nDuration=160\r\n"),
            Ok(Some('5'))
        );
        assert_eq!(info_digit(relay, b"signal= #\nDuration=100"), Ok(Some('#')));
        assert_eq!(info_digit(relay, b"Signal=10\r\n"), Ok(Some('*')));
        assert_eq!(info_digit("application/dtmf", b"11"), Ok(Some('#')));
        assert_eq!(
            info_digit("Application/DTMF; x=y", b" 7 \r\n"),
            Ok(Some('7'))
        );
        assert_eq!(info_digit("application/dtmf", b"d"), Ok(Some('D')));
        assert!(info_digit(relay, b"Duration=160").is_err());
        assert!(info_digit(relay, b"Signal=Z").is_err());
        assert!(info_digit("application/dtmf", b"99").is_err());
        assert!(info_digit("application/dtmf", &[0xff, 0xfe]).is_err());
        assert_eq!(
            info_digit("application/media_control+xml", b"<x/>"),
            Ok(None)
        );
    }

    fn ev(code: u8, end: bool, dur: u16) -> [u8; 4] {
        let d = dur.to_be_bytes();
        [code, if end { 0x8a } else { 0x0a }, d[0], d[1]]
    }

    #[test]
    fn one_digit_reported_once_on_end_bit() {
        let mut d = DtmfDetector::default();
        assert_eq!(d.handle(1000, &ev(11, false, 160)), None);
        assert_eq!(d.handle(1000, &ev(11, false, 320)), None);
        assert_eq!(d.handle(1000, &ev(11, true, 480)), Some('#'));
        assert_eq!(d.handle(1000, &ev(11, true, 480)), None);
        assert_eq!(d.handle(1000, &ev(11, true, 480)), None);
        // Same key again later is a new event (new timestamp).
        assert_eq!(d.handle(5000, &ev(11, true, 480)), Some('#'));
    }

    #[test]
    fn lost_end_packets_still_report_the_digit() {
        let mut d = DtmfDetector::default();
        assert_eq!(d.handle(1000, &ev(1, false, 160)), None);
        assert_eq!(d.handle(2000, &ev(2, false, 160)), Some('1'));
        assert_eq!(d.handle(2000, &ev(2, true, 480)), Some('2'));
    }

    #[test]
    fn lost_end_then_an_end_only_event() {
        let mut d = DtmfDetector::default();
        assert_eq!(d.handle(1000, &ev(1, false, 160)), None);
        assert_eq!(d.handle(2000, &ev(2, true, 480)), Some('1'));
        assert_eq!(d.handle(2000, &ev(2, true, 480)), Some('2'));
        assert_eq!(d.handle(2000, &ev(2, true, 480)), None);
    }

    #[test]
    fn junk_is_ignored() {
        let mut d = DtmfDetector::default();
        assert_eq!(d.handle(1, &[1, 2]), None);
        assert_eq!(d.handle(1, &ev(200, true, 1)), None);
        assert_eq!(event_char(10), Some('*'));
        assert_eq!(event_char(15), Some('D'));
        assert_eq!(event_code('#'), Some(11));
        assert_eq!(event_code('7'), Some(7));
        assert_eq!(event_code('x'), None);
    }
}
