//! The SDP of a request's body: `application/sdp` as is, or the SDP part of a
//! `multipart/alternative` or `multipart/mixed` body (RFC 2046 §5.1, RFC 5621).
//! Lync 2010/2013 and Skype for Business Front Ends offer two SDPs as
//! alternatives: one marked `Content-Disposition: session;
//! handling=optional; ms-proxy-2007fallback` for Office Communications Server
//! 2007 peers (Microsoft's [MS-SDPEXT] §3.1.5.30), and the current one; we take
//! a part that is not the 2007 fallback, else the first SDP part.
//!
//! Hand-written: no kept crate parses MIME multipart bodies from bytes without
//! an HTTP stack around it, and SIP needs only boundaries and part headers.
//! Depends on `sip::msg` only.

use crate::sip::msg::{self, Request};
use std::borrow::Cow;

/// The SDP to negotiate (empty for delayed offer), or why the body is refused
/// (415).
pub fn sdp_of(req: &Request) -> Result<Cow<'_, [u8]>, String> {
    if req.body.is_empty() {
        return Ok(Cow::Borrowed(&[]));
    }
    let ct = req.headers.get("Content-Type").unwrap_or("application/sdp");
    let lower = ct.to_ascii_lowercase();
    if lower.starts_with("application/sdp") {
        return Ok(Cow::Borrowed(&req.body));
    }
    if !lower.starts_with("multipart/") {
        return Err(format!(
            "only application/sdp bodies (alone or in multipart) are accepted, not {}",
            ct.split(';').next().unwrap_or(ct).trim()
        ));
    }
    let Some(boundary) = msg::header_param(ct, "boundary").filter(|b| !b.is_empty()) else {
        return Err("a multipart body without a boundary".into());
    };
    let parts = split(&req.body, boundary.as_bytes());
    let sdps: Vec<(bool, &[u8])> = parts
        .iter()
        .filter_map(|part| {
            let (headers, body) = part_headers(part);
            let ct = header(&headers, "content-type").unwrap_or("text/plain");
            if !ct.to_ascii_lowercase().starts_with("application/sdp") {
                return None;
            }
            let fallback = header(&headers, "content-disposition")
                .is_some_and(|d| d.to_ascii_lowercase().contains("ms-proxy-2007fallback"));
            Some((fallback, body))
        })
        .collect();
    sdps.iter()
        .find(|(fallback, _)| !fallback)
        .or(sdps.first())
        .map(|(_, b)| Cow::Owned(b.to_vec()))
        .ok_or_else(|| "the multipart body has no application/sdp part".into())
}

/// The parts between `--boundary` lines (without the CRLF before each delimiter,
/// RFC 2046 §5.1.1).
fn split<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut starts: Vec<(usize, usize)> = Vec::new(); // (delimiter at, after its line)
    let mut i = 0;
    while let Some(off) = find(&body[i..], &delim) {
        let at = i + off;
        // A delimiter begins a line.
        if at == 0 || body[at - 1] == b'\n' {
            let line_end = find(&body[at..], b"\n").map_or(body.len(), |e| at + e + 1);
            starts.push((at, line_end));
            i = line_end;
        } else {
            i = at + delim.len();
        }
    }
    for w in starts.windows(2) {
        let (from, to) = (w[0].1, w[1].0);
        let mut part = &body[from..to];
        part = part
            .strip_suffix(b"\r\n")
            .or(part.strip_suffix(b"\n"))
            .unwrap_or(part);
        parts.push(part);
    }
    parts
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A part's headers (lower-case names) and its body.
fn part_headers(part: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let (head, body) = match find(part, b"\r\n\r\n") {
        Some(i) => (&part[..i], &part[i + 4..]),
        None => match find(part, b"\n\n") {
            Some(i) => (&part[..i], &part[i + 2..]),
            // No blank line: no headers (RFC 2046 allows it), all body.
            None if part.starts_with(b"\r\n") => (&part[..0], &part[2..]),
            None => (&part[..0], part),
        },
    };
    let head = String::from_utf8_lossy(head);
    let headers = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (headers, body)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ct: &str, body: &str) -> Request {
        let text = format!(
            "INVITE sip:1001@x SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:1001@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match crate::sip::msg::parse(text.as_bytes()).unwrap() {
            crate::sip::msg::Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn plain_sdp_and_refusals() {
        assert_eq!(
            &*sdp_of(&req("application/sdp", "v=0\r\n")).unwrap(),
            b"v=0\r\n"
        );
        let e = sdp_of(&req("text/plain", "hello")).unwrap_err();
        assert!(e.contains("text/plain"), "{e}");
        let e = sdp_of(&req("multipart/mixed", "--x\r\n\r\nhi\r\n--x--\r\n")).unwrap_err();
        assert!(e.contains("boundary"), "{e}");
        let e = sdp_of(&req(
            "multipart/mixed;boundary=x",
            "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
        ))
        .unwrap_err();
        assert!(e.contains("no application/sdp part"), "{e}");
    }

    /// Shaped after the multipart/alternative INVITE of a Lync 2010 client or
    /// Front End as [MS-SDPEXT] §4 and [MS-ICE2] describe it: the 2007
    /// fallback SDP first (ICE draft 6 candidates), the current one second.
    #[test]
    fn lync_multipart_alternative_takes_the_current_sdp() {
        let body = "------=_NextPart_000_0021_01CB4A39.8C0B2C30\r\n\
Content-Type: application/sdp\r\n\
Content-Transfer-Encoding: 7bit\r\n\
Content-Disposition: session; handling=optional; ms-proxy-2007fallback\r\n\
\r\n\
v=0\r\no=- 0 0 IN IP4 10.1.1.5\r\ns=session\r\nc=IN IP4 10.1.1.5\r\nt=0 0\r\n\
m=audio 50010 RTP/AVP 114 9 112 111 0 8 116 115 4 97 13 118 101\r\n\
a=candidate:ZYt7AY4ZdbV3p2sWakR3qGsStBDvMOUSbjJT2KjL7iY 1 bH9XkjNcBbCLzUYfYy21cQ UDP 0.830 10.1.1.5 50010\r\n\
\r\n\
------=_NextPart_000_0021_01CB4A39.8C0B2C30\r\n\
Content-Type: application/sdp\r\n\
Content-Transfer-Encoding: 7bit\r\n\
Content-Disposition: session; handling=optional\r\n\
\r\n\
v=0\r\no=- 0 1 IN IP4 10.1.1.5\r\ns=session\r\nc=IN IP4 10.1.1.5\r\nt=0 0\r\n\
a=ice-ufrag:5lqD\r\na=ice-pwd:Yb5j3kPJd7lAAOR7yJ7K3Xn2\r\n\
m=audio 50020 RTP/AVP 114 9 112 111 0 8 116 115 4 97 13 118 101\r\n\
\r\n\
------=_NextPart_000_0021_01CB4A39.8C0B2C30--\r\n";
        let r = req(
            "multipart/alternative;boundary=\"----=_NextPart_000_0021_01CB4A39.8C0B2C30\"",
            body,
        );
        let sdp = sdp_of(&r).unwrap();
        let text = std::str::from_utf8(&sdp).unwrap();
        assert!(text.starts_with("v=0\r\no=- 0 1 "), "{text}");
        assert!(text.contains("m=audio 50020 "), "{text}");
        assert!(!text.contains("--"), "{text}");
        // Only the fallback part: it is taken.
        let only = body.split("------=_NextPart_000_0021_01CB4A39.8C0B2C30\r\nContent-Type: application/sdp\r\nContent-Transfer-Encoding: 7bit\r\nContent-Disposition: session; handling=optional\r\n").next().unwrap().to_string()
            + "------=_NextPart_000_0021_01CB4A39.8C0B2C30--\r\n";
        let r = req(
            "multipart/alternative; boundary=\"----=_NextPart_000_0021_01CB4A39.8C0B2C30\"",
            &only,
        );
        assert!(
            std::str::from_utf8(&sdp_of(&r).unwrap())
                .unwrap()
                .contains("m=audio 50010 ")
        );
    }
}
