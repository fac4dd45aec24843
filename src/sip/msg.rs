//! SIP message parsing and printing (RFC 3261 §7, §18.3 framing, §7.3.3 compact forms).
//!
//! Hand-written rather than taken from a crate: the kept SIP crates either pull a whole
//! async stack with them or reject the sloppy-but-legal input real PBXs send (folded
//! headers, compact forms, bare LF line ends). This parser is total: every input yields
//! either a message or a [`ParseError`], never a panic, and it is fuzzed
//! (`fuzz/fuzz_targets/sip_parse.rs`).
//!
//! Depends on nothing but `std`.

use std::fmt::Write as _;

/// Largest message we accept; bigger datagrams/streams are refused (RFC 3261 §18.1.1
/// only requires 1300 bytes for UDP, a stream peer sending megabytes is misbehaving).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Header fields in one message, and bytes in one (unfolded) header field: far
/// above what any PBX sends, low enough that a hostile message costs little.
pub const MAX_HEADERS: usize = 256;
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// Why a message could not be parsed. The text goes into a 400 reason phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message is empty")]
    Empty,
    #[error("message is larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("message is not UTF-8 in its header part")]
    NotUtf8,
    #[error("start line is malformed")]
    StartLine,
    #[error("header line without a colon")]
    HeaderLine,
    #[error("bad Content-Length")]
    ContentLength,
    #[error("body is shorter than Content-Length")]
    Truncated,
    #[error("missing mandatory header {0}")]
    Missing(&'static str),
    #[error("bad CSeq")]
    CSeq,
    #[error("bad Via")]
    Via,
    #[error("SIP version {0} is not supported")]
    Version(String),
    #[error("header {0} appears more than once")]
    Duplicate(&'static str),
    #[error("CSeq method does not match the request method")]
    CSeqMethod,
    #[error("bad Max-Forwards")]
    MaxForwards,
    #[error("Max-Forwards is 0")]
    TooManyHops,
    #[error("malformed address in {0}")]
    Address(&'static str),
    #[error("malformed Request-URI")]
    RequestUri,
    #[error("more than {MAX_HEADERS} header fields")]
    TooManyHeaders,
    #[error("a header field is longer than {MAX_HEADER_LEN} bytes")]
    HeaderTooLong,
}

fn name_of(n: &str) -> &'static str {
    match n {
        "From" => "From",
        "To" => "To",
        _ => "Contact",
    }
}

/// Does a header value leave a double quote open (backslash escapes honoured)?
fn unbalanced_quotes(v: &str) -> bool {
    let mut open = false;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if open => {
                chars.next();
            }
            '"' => open = !open,
            _ => {}
        }
    }
    open
}

impl ParseError {
    /// The status a request failing this way is answered with (when it can be
    /// addressed): 505 for another SIP version, 483 for Max-Forwards 0, 513 for
    /// an oversized message, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::Version(_) => 505,
            ParseError::TooManyHops => 483,
            ParseError::TooLarge | ParseError::TooManyHeaders | ParseError::HeaderTooLong => 513,
            _ => 400,
        }
    }
}

/// SIP request methods we know by name; anything else is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Info,
    Notify,
    Subscribe,
    Update,
    Prack,
    Refer,
    Message,
    Other(String),
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            o => Method::Other(o.to_string()),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Other(s) => s,
        }
    }
}

/// Header list in arrival order. Names are stored in their canonical long form so
/// lookups need not know about compact forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

/// RFC 3261 §7.3.3 compact forms (plus the common extension ones).
fn canonical_name(name: &str) -> String {
    let long = match name.to_ascii_lowercase().as_str() {
        "i" | "call-id" => "Call-ID",
        "m" | "contact" => "Contact",
        "e" | "content-encoding" => "Content-Encoding",
        "l" | "content-length" => "Content-Length",
        "c" | "content-type" => "Content-Type",
        "f" | "from" => "From",
        "s" | "subject" => "Subject",
        "k" | "supported" => "Supported",
        "t" | "to" => "To",
        "v" | "via" => "Via",
        "o" | "event" => "Event",
        "u" | "allow-events" => "Allow-Events",
        "r" | "refer-to" => "Refer-To",
        "x" | "session-expires" => "Session-Expires",
        "min-se" => "Min-SE",
        "require" => "Require",
        "cseq" => "CSeq",
        "max-forwards" => "Max-Forwards",
        "diversion" => "Diversion",
        "history-info" => "History-Info",
        "user-agent" => "User-Agent",
        "allow" => "Allow",
        "accept" => "Accept",
        "record-route" => "Record-Route",
        "route" => "Route",
        "www-authenticate" => "WWW-Authenticate",
        "retry-after" => "Retry-After",
        "reason" => "Reason",
        "warning" => "Warning",
        "server" => "Server",
        _ => return name.to_string(),
    };
    long.to_string()
}

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    /// First value of a header (case-insensitive name, canonical or compact).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// All values of a header, each comma-separated element on its own, in order.
    /// Used for Via / Record-Route / Diversion which may be folded into one line.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| split_commas(v))
    }
    /// Raw header lines with this name (not split at commas), for copying verbatim.
    pub fn raw_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((canonical_name(name), value.into()));
    }
    /// Replace all values of `name` with one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.push(name, value);
    }
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Split a header value at commas that are not inside quotes or angle brackets.
pub fn split_commas(v: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let bytes = v.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => {
                parts.push(v[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(v[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
}

/// The parts of a CSeq header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(v: &str) -> Result<CSeq, ParseError> {
        let mut it = v.split_whitespace();
        let seq = it
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or(ParseError::CSeq)?;
        let method = it.next().map(Method::parse).ok_or(ParseError::CSeq)?;
        Ok(CSeq { seq, method })
    }
}

/// The top Via's fields needed for transaction matching and response routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub sent_by: String,
    pub branch: Option<String>,
}

impl Via {
    pub fn parse(v: &str) -> Result<Via, ParseError> {
        // "SIP/2.0/UDP host:port;branch=z9hG4bK...;rport"
        let v = v.trim();
        let (proto, rest) = v.split_once(char::is_whitespace).ok_or(ParseError::Via)?;
        let transport = proto.rsplit('/').next().ok_or(ParseError::Via)?;
        let mut parts = rest.trim().split(';');
        let sent_by = parts.next().unwrap_or("").trim();
        if sent_by.is_empty() {
            return Err(ParseError::Via);
        }
        // Empty parameters (`;;`, a trailing `;`): RFC 4475 §3.1.2.1.
        if rest.trim().split(';').skip(1).any(|p| p.trim().is_empty()) {
            return Err(ParseError::Via);
        }
        let branch = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("branch"))
            .map(|(_, v)| v.trim().to_string());
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            sent_by: sent_by.to_string(),
            branch,
        })
    }
}

/// Value of a `;name=value` parameter in a header (outside the `<…>` part).
pub fn header_param<'a>(v: &'a str, name: &str) -> Option<&'a str> {
    let after = match v.rfind('>') {
        Some(i) => &v[i + 1..],
        None => v,
    };
    after
        .split(';')
        .skip(usize::from(!v.contains('>')))
        .map(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((k, val)) => (k.trim(), val.trim()),
                None => (p, ""),
            }
        })
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_matches('"'))
}

/// The URI inside a name-addr (`"Name" <sip:x@y>;tag=…`) or an addr-spec (`sip:x@y;tag=`).
pub fn addr_uri(v: &str) -> &str {
    if let (Some(a), Some(b)) = (v.find('<'), v.rfind('>'))
        && a < b
    {
        return &v[a + 1..b];
    }
    v.split(';').next().unwrap_or("").trim()
}

/// The display name of a name-addr, without quotes, if any.
pub fn addr_display(v: &str) -> Option<&str> {
    let a = v.find('<')?;
    let d = v[..a].trim().trim_matches('"').trim();
    (!d.is_empty()).then_some(d)
}

/// User part of a `sip:`/`sips:`/`tel:` URI, without parameters.
pub fn uri_user(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))
        .or_else(|| uri.strip_prefix("tel:"))
        .or_else(|| uri.strip_prefix("SIP:"))?;
    let user = match rest.split_once('@') {
        Some((u, _)) => u,
        None if uri.starts_with("tel:") => rest,
        None => return None,
    };
    let user = user.split([';', ':', '?']).next()?;
    (!user.is_empty()).then_some(user)
}

fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    // Returns (end of header block, start of body).
    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some((i, i + 4));
    }
    buf.windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2))
}

/// Stream framing (RFC 3261 §18.3): the length of the first complete message in `buf`,
/// `Ok(None)` if more bytes are needed. Leading CRLF keep-alives (RFC 5626 §4.4.1) are
/// reported as a message of their length with no content, so callers can skip them.
pub fn frame_stream(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let ws = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if ws > 0 {
        return Ok(Some(ws));
    }
    let Some((head_end, body_start)) = find_head_end(buf) else {
        return if buf.len() > MAX_MESSAGE {
            Err(ParseError::TooLarge)
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ParseError::NotUtf8)?;
    let mut len = None;
    for line in head.lines().skip(1) {
        if let Some((n, v)) = line.split_once(':')
            && canonical_name(n.trim()) == "Content-Length"
        {
            len = Some(
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| ParseError::ContentLength)?,
            );
        }
    }
    // On a stream Content-Length is mandatory (§18.3); without it the message has no body.
    // Bound it before adding: a peer may send any number (found by fuzzing).
    let len = len.unwrap_or(0);
    if len > MAX_MESSAGE {
        return Err(ParseError::TooLarge);
    }
    let total = body_start + len;
    if total > MAX_MESSAGE {
        return Err(ParseError::TooLarge);
    }
    Ok((buf.len() >= total).then_some(total))
}

/// Parse one complete message (a datagram, or a frame cut by [`frame_stream`]).
pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
    parse_inner(buf, true)
}

/// The response owed to a request that failed to parse (400, or the status the
/// error names: 505, 483, 513), when enough of it is readable to address one: a
/// start line and a Via to send it back on (RFC 4475 §3.3.1: a request without
/// Call-ID, From or To still deserves its 400). `None` means: drop it.
pub fn bad_request(buf: &[u8], err: &ParseError) -> Option<Response> {
    let Ok(Message::Request(req)) = parse_inner(buf, false) else {
        return None;
    };
    req.headers.get("Via")?;
    let status = err.status();
    let mut r = response_to(&req, status, None);
    r.reason = format!("{} ({err})", reason_phrase(status));
    Some(r)
}

fn parse_inner(buf: &[u8], strict: bool) -> Result<Message, ParseError> {
    if buf.len() > MAX_MESSAGE {
        return Err(ParseError::TooLarge);
    }
    // Tolerate leading CRLFs (§7.5).
    let start = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .ok_or(ParseError::Empty)?;
    let buf = &buf[start..];
    let (head_end, body_start) = find_head_end(buf).unwrap_or((buf.len(), buf.len()));
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().ok_or(ParseError::StartLine)?;

    let mut headers = Headers::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Folded continuation (§7.3.1).
            let last = headers.0.last_mut().ok_or(ParseError::HeaderLine)?;
            let more = line.trim();
            if !last.1.is_empty() && !more.is_empty() {
                last.1.push(' ');
            }
            last.1.push_str(more);
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let (n, v) = line.split_once(':').ok_or(ParseError::HeaderLine)?;
        let n = n.trim();
        if n.is_empty() || n.contains(char::is_whitespace) {
            return Err(ParseError::HeaderLine);
        }
        if strict && headers.0.len() >= MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        headers.push(n, v.trim());
    }

    if strict && headers.0.iter().any(|(_, v)| v.len() > MAX_HEADER_LEN) {
        return Err(ParseError::HeaderTooLong);
    }
    let rest = &buf[body_start.min(buf.len())..];
    let body = match headers.get("Content-Length") {
        Some(cl) => match cl.trim().parse::<usize>() {
            Ok(n) if n <= rest.len() => rest[..n].to_vec(),
            Ok(_) if strict => return Err(ParseError::Truncated),
            Err(_) if strict => return Err(ParseError::ContentLength),
            _ => Vec::new(),
        },
        // §18.3: on datagrams the body runs to the end of the packet.
        None => rest.to_vec(),
    };

    // Strictly one SP between the elements (RFC 4475 §3.1.2.9); leniently any
    // run of whitespace, so that a 400 can still be addressed.
    let (a, b, c) = if strict {
        let mut parts = start_line.splitn(3, ' ');
        (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        )
    } else {
        // First and last tokens; whatever lies between is the (broken) URI.
        let t = start_line.trim();
        let a = t.split_whitespace().next().unwrap_or("");
        let c = t.split_whitespace().last().unwrap_or("");
        let b = t
            .get(a.len()..t.len().saturating_sub(c.len()))
            .unwrap_or("")
            .trim();
        (a, b, c)
    };
    let msg = if a == "SIP/2.0" {
        let status: u16 = b.parse().map_err(|_| ParseError::StartLine)?;
        if !(100..700).contains(&status) {
            return Err(ParseError::StartLine);
        }
        Message::Response(Response {
            status,
            reason: c.to_string(),
            headers,
            body,
        })
    } else {
        // Strictly, nothing may follow the version (RFC 4475 §3.1.2.10); a
        // lenient read (to address a 400) trims.
        let version = if strict { c } else { c.trim() };
        // `get`, not indexing: the start line may hold any UTF-8.
        let sip_like = version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
        if strict && version != "SIP/2.0" && version.trim() == "SIP/2.0" {
            // Trailing whitespace after the version (RFC 4475 §3.1.2.10).
            return Err(ParseError::StartLine);
        }
        if strict && sip_like && version != "SIP/2.0" && version.len() > 4 {
            return Err(ParseError::Version(version.to_string()));
        }
        if !sip_like
            || (strict && version != "SIP/2.0")
            || b.is_empty()
            || a.is_empty()
            || !a
                .bytes()
                .all(|x| x.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&x))
        {
            return Err(ParseError::StartLine);
        }
        Message::Request(Request {
            method: Method::parse(a),
            uri: b.to_string(),
            headers,
            body,
        })
    };
    if strict {
        validate(&msg)?;
    }
    Ok(msg)
}

/// §8.1.1: the headers every request/response must carry for us to answer it.
fn validate(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if h.get(name).is_none() {
            return Err(ParseError::Missing(match name {
                "Via" => "Via",
                "From" => "From",
                "To" => "To",
                "Call-ID" => "Call-ID",
                _ => "CSeq",
            }));
        }
    }
    // Single-value headers given twice (RFC 4475 §3.1.2.19: two Call-IDs etc.).
    for name in [
        "Call-ID",
        "CSeq",
        "From",
        "To",
        "Max-Forwards",
        "Content-Length",
    ] {
        if h.get_all(name).nth(1).is_some() {
            return Err(ParseError::Duplicate(match name {
                "Call-ID" => "Call-ID",
                "CSeq" => "CSeq",
                "From" => "From",
                "To" => "To",
                "Max-Forwards" => "Max-Forwards",
                _ => "Content-Length",
            }));
        }
    }
    // Addresses: balanced quotes (§3.1.2.6), no spaces inside <…> (§3.1.2.14).
    for name in ["From", "To", "Contact"] {
        for v in h.raw_all(name) {
            if unbalanced_quotes(v) {
                return Err(ParseError::Address(name_of(name)));
            }
            if let (Some(a), Some(b)) = (v.find('<'), v.find('>'))
                && a < b
                && v[a + 1..b].contains(char::is_whitespace)
            {
                return Err(ParseError::Address(name_of(name)));
            }
        }
    }
    // unwrap-free: presence checked just above.
    let cseq = CSeq::parse(h.get("CSeq").unwrap_or(""))?;
    for line in h.raw_all("Via") {
        for v in line.split(',') {
            if v.trim().is_empty() {
                return Err(ParseError::Via);
            }
            Via::parse(v)?;
        }
    }
    if let Message::Request(r) = msg {
        // The Request-URI: not in <>, and no headers part in a SIP URI (§19.1.5,
        // RFC 4475 §3.1.2.7 and §3.1.2.11).
        let sip = r.uri.starts_with("sip:") || r.uri.starts_with("sips:");
        // Headers follow the host part; the user part may hold a '?'.
        let host_part = r.uri.rsplit_once('@').map_or(r.uri.as_str(), |(_, h)| h);
        if r.uri.starts_with('<') || (sip && host_part.contains('?')) {
            return Err(ParseError::RequestUri);
        }
    }
    if let Message::Request(r) = msg {
        // §8.2.6 / RFC 4475 §3.1.2.10: the CSeq method is the request's.
        if cseq.method != r.method {
            return Err(ParseError::CSeqMethod);
        }
        if let Some(mf) = h.get("Max-Forwards") {
            let mf: u32 = mf.trim().parse().map_err(|_| ParseError::MaxForwards)?;
            // An OPTIONS with Max-Forwards 0 is for us to answer (§11).
            if mf == 0 && r.method != Method::Options {
                return Err(ParseError::TooManyHops);
            }
        }
    }
    Ok(())
}

fn print_headers(out: &mut String, headers: &Headers, body: &[u8]) {
    for (n, v) in headers.iter() {
        if n == "Content-Length" {
            continue;
        }
        let _ = write!(out, "{n}: {v}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
}

/// Print a start line, headers (with a fresh Content-Length) and body.
fn print(start: std::fmt::Arguments<'_>, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = String::with_capacity(512 + body.len());
    let _ = out.write_fmt(start);
    out.push_str("\r\n");
    print_headers(&mut out, headers, body);
    let mut v = out.into_bytes();
    v.extend_from_slice(body);
    v
}

impl Headers {
    pub fn cseq(&self) -> Option<CSeq> {
        self.get("CSeq").and_then(|v| CSeq::parse(v).ok())
    }
    pub fn top_via(&self) -> Option<Via> {
        self.get_all("Via").next().and_then(|v| Via::parse(v).ok())
    }
}

impl Request {
    pub fn to_bytes(&self) -> Vec<u8> {
        print(
            format_args!("{} {} SIP/2.0", self.method.as_str(), self.uri),
            &self.headers,
            &self.body,
        )
    }
    pub fn cseq(&self) -> Option<CSeq> {
        self.headers.cseq()
    }
    pub fn top_via(&self) -> Option<Via> {
        self.headers.top_via()
    }
    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or("")
    }
    pub fn from_tag(&self) -> Option<&str> {
        self.headers
            .get("From")
            .and_then(|v| header_param(v, "tag"))
    }
    pub fn to_tag(&self) -> Option<&str> {
        self.headers.get("To").and_then(|v| header_param(v, "tag"))
    }
}

impl Response {
    /// The dialog's remote tag, as the answer gives it.
    pub fn to_tag(&self) -> Option<&str> {
        self.headers.get("To").and_then(|v| header_param(v, "tag"))
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        print(
            format_args!("SIP/2.0 {} {}", self.status, self.reason),
            &self.headers,
            &self.body,
        )
    }
}

/// Standard reason phrase for the status codes we send.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        420 => "Bad Extension",
        422 => "Session Interval Too Small",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Build a response to `req` per §8.2.6: copies Via (all), From, To, Call-ID, CSeq;
/// adds `to_tag` to To when given and To has none.
pub fn response_to(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    let mut h = Headers::new();
    for v in req.headers.raw_all("Via") {
        h.push("Via", v);
    }
    if let Some(f) = req.headers.get("From") {
        h.push("From", f);
    }
    if let Some(t) = req.headers.get("To") {
        match to_tag {
            Some(tag) if header_param(t, "tag").is_none() && status != 100 => {
                h.push("To", format!("{t};tag={tag}"))
            }
            _ => h.push("To", t),
        }
    }
    h.push("Call-ID", req.call_id());
    if let Some(c) = req.headers.get("CSeq") {
        h.push("CSeq", c);
    }
    Response {
        status,
        reason: reason_phrase(status).to_string(),
        headers: h,
        body: Vec::new(),
    }
}

#[cfg(test)]
#[path = "msg_tests.rs"]
mod tests;
