//! The composed message, read back the way a mail client does.

use super::*;

fn paris(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> jiff::Zoned {
    jiff::civil::date(y, mo, d)
        .at(h, mi, 0, 0)
        .in_tz("Europe/Paris")
        .unwrap()
}

fn sample(lang: Lang, audio: bool) -> Voicemail {
    Voicemail {
        from: "Voicemail <voicemail@example.com>".into(),
        to: "elodie@example.com".into(),
        mailbox: "3001".into(),
        mailbox_name: "Élodie Fournier".into(),
        caller_number: "+33155551001".into(),
        caller_name: Some("Élodie Fournier".into()),
        received: paris(2026, 12, 7, 14, 32),
        lang,
        duration_ms: 62_400,
        message_id: "00000000000000a1".into(),
        audio: audio.then(|| Attachment {
            content_type: "audio/ogg; codecs=opus",
            filename: "Message vocal 3001.ogg".into(),
            bytes: (0..3000u32).map(|i| (i % 251) as u8).collect(),
        }),
        left_out: None,
        transcript: None,
        domain: "openum.example.com".into(),
    }
}

fn text(m: &[u8]) -> String {
    String::from_utf8(m.to_vec()).unwrap()
}

/// Every line ends CRLF and no line is longer than RFC 5322's 998.
fn crlf_only(s: &str) {
    for (i, b) in s.bytes().enumerate() {
        if b == b'\n' {
            assert_eq!(s.as_bytes()[i - 1], b'\r', "bare LF at {i}");
        }
    }
    assert!(s.split("\r\n").all(|l| l.len() <= 998));
}

fn decode_b_words(v: &str) -> String {
    v.split_whitespace()
        .map(|w| {
            let inner = w
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .unwrap();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(inner)
                    .unwrap(),
            )
            .unwrap()
        })
        .collect()
}

fn header(m: &str, name: &str) -> String {
    let head = m.split("\r\n\r\n").next().unwrap();
    let mut out = String::new();
    let mut on = false;
    for l in head.split("\r\n") {
        if let Some(v) = l.strip_prefix(&format!("{name}: ")) {
            out.push_str(v);
            on = true;
        } else if on && l.starts_with(' ') {
            out.push(' ');
            out.push_str(l.trim_start());
        } else {
            on = false;
        }
    }
    out
}

#[test]
fn a_french_voicemail_has_an_encoded_subject_exchange_headers_and_its_audio() {
    let m = text(&compose(&sample(Lang::FrFr, true), 7));
    crlf_only(&m);
    let subject = header(&m, "Subject");
    assert!(subject.starts_with("=?UTF-8?B?"), "{subject}");
    assert_eq!(decode_b_words(&subject), "Message vocal de Élodie Fournier");
    assert_eq!(header(&m, "Content-Duration"), "62");
    assert_eq!(header(&m, "X-VoiceMessageDuration"), "62");
    assert_eq!(header(&m, "X-CallingTelephoneNumber"), "+33155551001");
    assert_eq!(
        decode_b_words(&header(&m, "X-VoiceMessageSenderName")),
        "Élodie Fournier"
    );
    assert_eq!(header(&m, "Date"), "Mon, 07 Dec 2026 14:32:00 +0100");
    assert!(header(&m, "Content-Type").starts_with("multipart/mixed;"));
    assert!(m.contains("Content-Type: audio/ogg; codecs=opus\r\n"));
    assert!(
        m.contains("filename*=UTF-8''Message%20vocal%203001.ogg"),
        "{m}"
    );
    assert!(m.contains("filename=\"Message vocal 3001.ogg\""));
    // The text part, decoded, in French with the dial plan's zone.
    let b64: String = m
        .split(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        )
        .nth(1)
        .unwrap()
        .split("--")
        .next()
        .unwrap()
        .replace("\r\n", "");
    let body = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    assert!(
        body.contains("Reçu: lundi 7 décembre 2026, 14:32 (Europe/Paris)"),
        "{body}"
    );
    assert!(body.contains("Durée: 1:02"), "{body}");
    assert!(
        body.contains("De: Élodie Fournier (+33155551001)"),
        "{body}"
    );
    // The attachment decodes to the bytes given.
    let att: String = m
        .split("Content-Transfer-Encoding: base64\r\n\r\n")
        .nth(3)
        .unwrap()
        .split("--=_openum")
        .next()
        .unwrap()
        .replace("\r\n", "");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(att)
        .unwrap();
    assert_eq!(bytes, sample(Lang::FrFr, true).audio.unwrap().bytes);
    assert!(
        m.trim_end()
            .ends_with("--=_openum_mixed_0000000000000007--")
    );
}

#[test]
fn a_notice_without_audio_says_why_and_an_ascii_subject_stays_plain() {
    let mut v = sample(Lang::EnUs, false);
    v.caller_name = Some("Bob Durand".into());
    v.left_out = Some(12 * 1024 * 1024);
    let m = text(&compose(&v, 1));
    crlf_only(&m);
    assert_eq!(header(&m, "Subject"), "Voice message from Bob Durand");
    assert!(!m.contains("audio/"));
    let html_b64: String = m
        .split(
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        )
        .nth(1)
        .unwrap()
        .split("--")
        .next()
        .unwrap()
        .replace("\r\n", "");
    let html = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(html_b64)
            .unwrap(),
    )
    .unwrap();
    assert!(
        html.contains("(12.0 MB) is larger than email allows"),
        "{html}"
    );
    assert!(
        html.contains("Monday 7 December 2026, 14:32 (Europe/Paris)"),
        "{html}"
    );
}

#[test]
fn long_names_fold_into_several_encoded_words_of_at_most_75_characters() {
    let long = "Message vocal de Élodie-Anne-Françoise de la Tour d'Auvergne-Lauraguais";
    let e = encode_header(long);
    assert!(e.split("\r\n ").count() > 1, "{e}");
    assert!(e.split("\r\n ").all(|w| w.len() <= 75), "{e}");
    assert_eq!(decode_b_words(&e.replace("\r\n ", " ")), long);
    // An anonymous caller is named so.
    let mut v = sample(Lang::EnUs, false);
    v.caller_name = None;
    v.caller_number = String::new();
    let m = text(&compose(&v, 2));
    assert_eq!(
        header(&m, "Subject"),
        "Voice message from an anonymous caller"
    );
    assert_eq!(header(&m, "X-CallingTelephoneNumber"), "Anonymous");
}
