//! A voicemail as an email, done where others get it wrong:
//! - `multipart/mixed`: a `multipart/alternative` (text and HTML) giving the
//!   caller's name and number, the mailbox, date and time in the dial plan's
//!   zone and language, the duration (and the transcript, when there is one);
//!   then the audio as an attachment with its own type (`audio/ogg;
//!   codecs=opus`, `audio/wav`) and an RFC 2231 filename;
//! - CRLF line ends throughout, base64 bodies in 76-column lines;
//! - RFC 2047 encoded words for a non-ASCII subject and sender name ("Message
//!   vocal de Élodie Fournier");
//! - `Content-Duration` (RFC 3803) and Exchange's `X-CallingTelephoneNumber`,
//!   `X-VoiceMessageDuration`, `X-VoiceMessageSenderName`;
//! - audio above the policy's size cap is left out and the body says so.
//!
//! Pure: the caller gives the time (as a zoned date-time) and the boundary seed.

use crate::directory::lang::Lang;
use base64::Engine;

/// The audio to attach.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// `audio/ogg; codecs=opus` or `audio/wav`.
    pub content_type: &'static str,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// What the email says.
#[derive(Debug, Clone)]
pub struct Voicemail {
    /// `Name <addr>` or `addr`.
    pub from: String,
    pub to: String,
    pub mailbox: String,
    pub mailbox_name: String,
    pub caller_number: String,
    pub caller_name: Option<String>,
    /// When it was received, in the dial plan's zone.
    pub received: jiff::Zoned,
    pub lang: Lang,
    pub duration_ms: u64,
    pub message_id: String,
    /// The audio, when attached.
    pub audio: Option<Attachment>,
    /// The audio's size when it was left out for the size cap.
    pub left_out: Option<u64>,
    pub transcript: Option<String>,
    /// The domain of the Message-ID (the service FQDN).
    pub domain: String,
}

const CRLF: &str = "\r\n";

/// RFC 2047 `B` encoded words for a header value that is not plain ASCII, each
/// word at most 75 characters, on folded lines.
pub fn encode_header(v: &str) -> String {
    if v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return v.to_string();
    }
    // 75 - len("=?UTF-8?B??=") = 63 base64 chars → 45 bytes, cut on a char boundary.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in v.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// RFC 2231 `filename*=UTF-8''…` (with a plain ASCII `filename=` beside it).
pub fn filename_params(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            // Mail clients that read only `filename=` (Python's email package
            // among them) see spaces kept and anything else plain.
            if c.is_ascii_alphanumeric() || "._- ()+,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let pct: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    format!("filename=\"{ascii}\";\r\n filename*=UTF-8''{pct}")
}

fn base64_lines(bytes: &[u8]) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(b.len() + b.len() / 76 * 2 + 2);
    for chunk in b.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str(CRLF);
    }
    out
}

/// "1:02": minutes and seconds, rounded.
pub fn duration_words(ms: u64) -> String {
    let s = (ms + 500) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

const DAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "Monday 7 December 2026, 14:32 (Europe/Paris)" / "lundi 7 décembre 2026, 14:32".
pub fn when(z: &jiff::Zoned, lang: Lang) -> String {
    let zone = z.time_zone().iana_name().unwrap_or("UTC");
    match lang {
        Lang::FrFr => format!(
            "{} {} {} {}, {:02}:{:02} ({zone})",
            DAYS_FR[z.weekday().to_monday_zero_offset() as usize],
            z.day(),
            MONTHS_FR[(z.month() - 1) as usize],
            z.year(),
            z.hour(),
            z.minute()
        ),
        Lang::EnUs => format!("{} ({zone})", z.strftime("%A %-d %B %Y, %H:%M")),
    }
}

/// How a caller is named: the name when it has one, else the number; None
/// for an anonymous caller (each place words that its own way).
pub fn caller_label<'a>(name: Option<&'a str>, number: &'a str) -> Option<&'a str> {
    name.filter(|n| !n.trim().is_empty())
        .or((!number.is_empty()).then_some(number))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Words {
    subject: String,
    lines: Vec<(String, String)>,
    left_out: Option<String>,
    transcript_title: &'static str,
}

fn words(v: &Voicemail) -> Words {
    let who = caller_label(v.caller_name.as_deref(), &v.caller_number)
        .unwrap_or(match v.lang {
            Lang::FrFr => "un correspondant anonyme",
            Lang::EnUs => "an anonymous caller",
        })
        .to_string();
    let number = if v.caller_number.is_empty() {
        "-".to_string()
    } else {
        v.caller_number.clone()
    };
    let mb = format!("{} ({})", v.mailbox_name, v.mailbox);
    let mib = |b: u64| format!("{:.1}", b as f64 / (1024.0 * 1024.0));
    match v.lang {
        Lang::FrFr => Words {
            subject: format!("Message vocal de {who}"),
            lines: vec![
                ("De".into(), format!("{who} ({number})")),
                ("Boîte vocale".into(), mb),
                ("Reçu".into(), when(&v.received, v.lang)),
                ("Durée".into(), duration_words(v.duration_ms)),
            ],
            left_out: v.left_out.map(|b| {
                format!("L'enregistrement ({} Mo) dépasse la taille permise par courriel : il reste sur le serveur.", mib(b))
            }),
            transcript_title: "Transcription",
        },
        Lang::EnUs => Words {
            subject: format!("Voice message from {who}"),
            lines: vec![
                ("From".into(), format!("{who} ({number})")),
                ("Mailbox".into(), mb),
                ("Received".into(), when(&v.received, v.lang)),
                ("Duration".into(), duration_words(v.duration_ms)),
            ],
            left_out: v.left_out.map(|b| {
                format!("The recording ({} MB) is larger than email allows: it stays on the server.", mib(b))
            }),
            transcript_title: "Transcript",
        },
    }
}

/// The whole message, CRLF throughout. `seed` makes the MIME boundaries.
pub fn compose(v: &Voicemail, seed: u64) -> Vec<u8> {
    let w = words(v);
    let outer = format!("=_openum_mixed_{seed:016x}");
    let inner = format!("=_openum_alt_{seed:016x}");
    let secs = (v.duration_ms + 500) / 1000;
    let mut text = String::new();
    for (k, val) in &w.lines {
        text.push_str(&format!("{k}: {val}\r\n"));
    }
    if let Some(l) = &w.left_out {
        text.push_str(&format!("\r\n{l}\r\n"));
    }
    if let Some(t) = &v.transcript {
        text.push_str(&format!("\r\n{}:\r\n{t}\r\n", w.transcript_title));
    }
    let mut html = String::from("<html><body><table>");
    for (k, val) in &w.lines {
        html.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            html_escape(k),
            html_escape(val)
        ));
    }
    html.push_str("</table>");
    if let Some(l) = &w.left_out {
        html.push_str(&format!("<p>{}</p>", html_escape(l)));
    }
    if let Some(t) = &v.transcript {
        html.push_str(&format!(
            "<h3>{}</h3><p>{}</p>",
            w.transcript_title,
            html_escape(t)
        ));
    }
    html.push_str("</body></html>");

    let sender = v
        .caller_name
        .clone()
        .unwrap_or_else(|| v.caller_number.clone());
    let mut m = String::new();
    let mut h = |name: &str, value: &str| {
        m.push_str(name);
        m.push_str(": ");
        m.push_str(value);
        m.push_str(CRLF);
    };
    h("From", &v.from);
    h("To", &v.to);
    h("Subject", &encode_header(&w.subject));
    h(
        "Date",
        &v.received.strftime("%a, %d %b %Y %H:%M:%S %z").to_string(),
    );
    h(
        "Message-ID",
        &format!("<{}.voicemail@{}>", v.message_id, v.domain),
    );
    h("MIME-Version", "1.0");
    h("Content-Duration", &secs.to_string());
    h(
        "X-CallingTelephoneNumber",
        if v.caller_number.is_empty() {
            "Anonymous"
        } else {
            &v.caller_number
        },
    );
    h("X-VoiceMessageDuration", &secs.to_string());
    h("X-VoiceMessageSenderName", &encode_header(&sender));
    h("X-Openum-Message-Id", &v.message_id);
    h(
        "Content-Type",
        &format!("multipart/mixed;\r\n boundary=\"{outer}\""),
    );
    m.push_str(CRLF);
    m.push_str(&format!("--{outer}\r\n"));
    m.push_str(&format!(
        "Content-Type: multipart/alternative;\r\n boundary=\"{inner}\"\r\n\r\n"
    ));
    for (ctype, body) in [("text/plain", &text), ("text/html", &html)] {
        m.push_str(&format!("--{inner}\r\n"));
        m.push_str(&format!("Content-Type: {ctype}; charset=utf-8\r\n"));
        m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        m.push_str(&base64_lines(body.as_bytes()));
    }
    m.push_str(&format!("--{inner}--\r\n"));
    if let Some(a) = &v.audio {
        m.push_str(&format!("--{outer}\r\n"));
        m.push_str(&format!("Content-Type: {}\r\n", a.content_type));
        m.push_str(&format!(
            "Content-Disposition: attachment;\r\n {}\r\n",
            filename_params(&a.filename)
        ));
        m.push_str(&format!("Content-Duration: {secs}\r\n"));
        m.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        m.push_str(&base64_lines(&a.bytes));
    }
    m.push_str(&format!("--{outer}--\r\n"));
    m.into_bytes()
}

#[cfg(test)]
#[path = "email_tests.rs"]
mod tests;
