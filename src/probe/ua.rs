//! The test call itself: a blocking SIP user agent over UDP (with RFC 3261
//! retransmissions), TCP or TLS (rustls, with a client certificate for mutual
//! TLS), RTP or SDES-SRTP media sending µ-law silence every 20 ms and DTMF as
//! RFC 4733 events, and the [`super::Ear`] listening. A shell: sockets and
//! the clock live here; what counts as heard is decided in [`super`].
//!
//! Hand-written rather than a SIP stack crate: it uses openum's own message
//! parser and SRTP, and needs one dialog, one way.

use super::{Ear, Report};
use crate::ivr::prompts::PromptLibrary;
use crate::media::srtp::SrtpSession;
use crate::sdp::crypto::{self, SrtpKey};
use crate::sip::msg::{self, Message, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn parse(s: &str) -> Option<Transport> {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// TLS: whom to trust, our certificate (mutual TLS), the name to check.
pub struct TlsClient {
    pub roots: Vec<CertificateDer<'static>>,
    pub client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    pub server_name: String,
}

impl TlsClient {
    /// From PEM files: the trust anchors, and our certificate and key.
    pub fn from_files(
        ca: &std::path::Path,
        client: Option<(&std::path::Path, &std::path::Path)>,
        server_name: String,
    ) -> Result<TlsClient, String> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
        };
        let named =
            |p: &std::path::Path, e: crate::tls::certs::CertError| format!("{}: {e}", p.display());
        let roots = crate::tls::certs::parse_chain(&read(ca)?).map_err(|e| named(ca, e))?;
        let client = match client {
            Some((c, k)) => Some((
                crate::tls::certs::parse_chain(&read(c)?).map_err(|e| named(c, e))?,
                crate::tls::certs::parse_key(&read(k)?).map_err(|e| named(k, e))?,
            )),
            None => None,
        };
        Ok(TlsClient {
            roots,
            client,
            server_name,
        })
    }
}

pub struct Options {
    pub target: SocketAddr,
    pub transport: Transport,
    pub pilot: String,
    /// Our number (the From user): the mailbox when logging on.
    pub from: String,
    pub pin: Option<String>,
    pub tls: Option<TlsClient>,
    /// How much of the first prompt to hear before sending DTMF.
    pub listen: Duration,
}

enum Conn {
    Udp(UdpSocket),
    /// The stream, what was read of it, and the socket (a clone: its read
    /// timeout is the stream's).
    Stream(Box<dyn ReadWrite>, Vec<u8>, TcpStream),
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

impl Conn {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Udp(s) => s.send(bytes).map(|_| ()),
            Conn::Stream(s, _, _) => s.write_all(bytes).and_then(|_| s.flush()),
        }
    }

    /// The next message before `until` (None: nothing came).
    fn recv(&mut self, until: Instant) -> std::io::Result<Option<Message>> {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let left = left.max(Duration::from_millis(1));
            match self {
                Conn::Udp(s) => {
                    s.set_read_timeout(Some(left))?;
                    let mut buf = [0u8; 65536];
                    match s.recv(&mut buf) {
                        Ok(n) => {
                            if let Ok(m) = msg::parse(&buf[..n]) {
                                return Ok(Some(m));
                            }
                        }
                        Err(e) if is_timeout(&e) => return Ok(None),
                        Err(e) => return Err(e),
                    }
                }
                Conn::Stream(s, buf, sock) => {
                    if let Ok(Some(len)) = msg::frame_stream(buf) {
                        let frame: Vec<u8> = buf.drain(..len).collect();
                        if let Ok(m) = msg::parse(&frame) {
                            return Ok(Some(m));
                        }
                        continue;
                    }
                    sock.set_read_timeout(Some(left))?;
                    let mut chunk = [0u8; 16384];
                    match s.read(&mut chunk) {
                        Ok(0) => {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::ConnectionReset,
                                "the server closed the connection",
                            ));
                        }
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        Err(e) if is_timeout(&e) => return Ok(None),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The dialog being tested.
struct Call {
    conn: Conn,
    local: SocketAddr,
    opts_target: SocketAddr,
    transport: Transport,
    pilot: String,
    from: String,
    call_id: String,
    from_tag: String,
    to_tag: String,
    /// The server hung up.
    ended_by_server: bool,
}

impl Call {
    fn request(&self, method: &str, cseq: u32, branch: &str, body: &str, ctype: &str) -> String {
        let t = self.transport.name();
        let to_tag = match self.to_tag.is_empty() {
            true => String::new(),
            false => format!(";tag={}", self.to_tag),
        };
        let ct = match body.is_empty() {
            true => String::new(),
            false => format!("Content-Type: {ctype}\r\n"),
        };
        format!(
            "{method} sip:{p}@{s};transport={tl} SIP/2.0\r\nVia: SIP/2.0/{t} {l};branch=z9hG4bK{branch};rport\r\n\
Max-Forwards: 70\r\nFrom: \"openum test\" <sip:{f}@{li}>;tag={ft}\r\nTo: <sip:{p}@{si}>{to_tag}\r\n\
Call-ID: {c}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{f}@{l};transport={tl}>\r\n\
User-Agent: openum-test-connectivity/{v}\r\n{ct}Content-Length: {n}\r\n\r\n{body}",
            p = self.pilot,
            s = self.opts_target,
            si = self.opts_target.ip(),
            tl = t.to_ascii_lowercase(),
            l = self.local,
            li = self.local.ip(),
            f = self.from,
            ft = self.from_tag,
            c = self.call_id,
            v = env!("CARGO_PKG_VERSION"),
            n = body.len(),
        )
    }

    /// Wait for the final response to (method, cseq), resending `resend` on
    /// UDP (Timer A/E doubling from 500 ms); answers the server's requests.
    fn transact(
        &mut self,
        method: &str,
        cseq: u32,
        resend: &[u8],
        limit: Duration,
    ) -> Result<(Response, Option<f64>), String> {
        let start = Instant::now();
        let end = start + limit;
        let mut next_resend = start + Duration::from_millis(500);
        let mut gap = Duration::from_millis(500);
        let mut provisional = false;
        let mut first_ms = None;
        loop {
            let until = match (&self.conn, provisional) {
                (Conn::Udp(_), false) => next_resend.min(end),
                _ => end,
            };
            let got = self.conn.recv(until);
            match got {
                Ok(Some(Message::Response(r))) => {
                    let cs = r.headers.get("CSeq").unwrap_or("");
                    if r.headers.get("Call-ID") != Some(self.call_id.as_str())
                        || !cs.ends_with(method)
                        || !cs.starts_with(&cseq.to_string())
                    {
                        continue;
                    }
                    if r.status < 200 {
                        provisional = true;
                        continue;
                    }
                    first_ms.get_or_insert(start.elapsed().as_secs_f64() * 1000.0);
                    return Ok((r, first_ms));
                }
                Ok(Some(Message::Request(req))) => self.answer(&req),
                Ok(None) => {
                    let now = Instant::now();
                    if now >= end {
                        return Err(format!(
                            "no answer to {method} from {} within {:.0} s",
                            self.opts_target,
                            limit.as_secs_f64()
                        ));
                    }
                    if matches!(self.conn, Conn::Udp(_)) && !provisional && now >= next_resend {
                        let _ = self.conn.send(resend);
                        gap = (gap * 2).min(Duration::from_secs(4));
                        next_resend = now + gap;
                    }
                }
                Err(e) => return Err(format!("{method} to {}: {e}", self.opts_target)),
            }
        }
    }

    /// A request from the server (BYE, INFO, OPTIONS, a re-INVITE): 200.
    fn answer(&mut self, req: &msg::Request) {
        if req.method == msg::Method::Ack {
            return;
        }
        if req.method == msg::Method::Bye {
            self.ended_by_server = true;
        }
        let r = msg::response_to(req, 200, None);
        let _ = self.conn.send(&r.to_bytes());
    }

    /// Answer whatever the server sent meanwhile, without waiting.
    fn drain_signalling(&mut self) {
        while let Ok(Some(m)) = self.conn.recv(Instant::now() + Duration::from_millis(1)) {
            if let Message::Request(req) = m {
                self.answer(&req);
            }
        }
    }
}

fn connect(o: &Options) -> Result<Conn, String> {
    let target = o.target;
    match o.transport {
        Transport::Udp => {
            let bind: SocketAddr = match target {
                SocketAddr::V4(_) => "0.0.0.0:0".parse().map_err(|e| format!("{e}"))?,
                SocketAddr::V6(_) => "[::]:0".parse().map_err(|e| format!("{e}"))?,
            };
            let s = UdpSocket::bind(bind).map_err(|e| format!("UDP socket: {e}"))?;
            s.connect(target)
                .map_err(|e| format!("UDP to {target}: {e}"))?;
            Ok(Conn::Udp(s))
        }
        Transport::Tcp | Transport::Tls => {
            let tcp = TcpStream::connect_timeout(&target, Duration::from_secs(5))
                .map_err(|e| format!("TCP connect to {target}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let sock = tcp.try_clone().map_err(|e| e.to_string())?;
            if o.transport == Transport::Tcp {
                return Ok(Conn::Stream(Box::new(tcp), Vec::new(), sock));
            }
            let t = o.tls.as_ref().ok_or("TLS needs trust anchors")?;
            let mut roots = rustls::RootCertStore::empty();
            for c in &t.roots {
                roots
                    .add(c.clone())
                    .map_err(|e| format!("trust anchor: {e}"))?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let b = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots);
            let cfg = match &t.client {
                Some((chain, key)) => b
                    .with_client_auth_cert(chain.clone(), key.clone_key())
                    .map_err(|e| format!("client certificate: {e}"))?,
                None => b.with_no_client_auth(),
            };
            let name = ServerName::try_from(t.server_name.clone())
                .map_err(|e| format!("server name {:?}: {e}", t.server_name))?;
            let conn = rustls::ClientConnection::new(Arc::new(cfg), name)
                .map_err(|e| format!("TLS: {e}"))?;
            let mut s = rustls::StreamOwned::new(conn, tcp);
            // Complete the handshake now, so its failure is named as such.
            s.sock
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            while s.conn.is_handshaking() {
                s.conn
                    .complete_io(&mut s.sock)
                    .map_err(|e| format!("TLS handshake with {target}: {e}"))?;
            }
            Ok(Conn::Stream(Box::new(s), Vec::new(), sock))
        }
    }
}

/// The media side: RTP out every 20 ms, RTP in to the ear.
struct Media {
    sock: UdpSocket,
    remote: SocketAddr,
    srtp: Option<SrtpSession>,
    seq: u16,
    ts: u32,
    ssrc: u32,
    next: Instant,
    dtmf_pt: Option<u8>,
    answered: Instant,
}

impl Media {
    fn packet(&mut self, pt: u8, marker: bool, payload: &[u8], ts: u32) -> Vec<u8> {
        let mut p = vec![0x80u8, pt | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        match self.srtp.as_mut() {
            Some(s) => s.protect(&p).map(|b| b.to_vec()).unwrap_or_default(),
            None => p,
        }
    }

    /// Send silence on the 20 ms grid and hear what comes, until `until`.
    fn run(&mut self, ear: &mut Ear, until: Instant) {
        self.pump(ear, until, true)
    }

    /// Hear what comes until `until`, sending silence on the grid when `talk`
    /// (not while a DTMF event holds the grid).
    fn pump(&mut self, ear: &mut Ear, until: Instant, talk: bool) {
        loop {
            let now = Instant::now();
            if now >= until {
                return;
            }
            if talk && now >= self.next {
                let ts = self.ts;
                let p = self.packet(0, false, &[0xFF; 160], ts);
                let _ = self.sock.send_to(&p, self.remote);
                self.ts = self.ts.wrapping_add(160);
                self.next += Duration::from_millis(20);
                continue;
            }
            let wake = if talk { self.next.min(until) } else { until };
            let wait = wake.saturating_duration_since(now);
            let _ = self
                .sock
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))));
            let mut buf = [0u8; 2048];
            if let Ok(n) = self.sock.recv(&mut buf) {
                let clear = match self.srtp.as_mut() {
                    Some(s) => match s.unprotect(&buf[..n]) {
                        Ok(p) => p.to_vec(),
                        Err(_) => continue,
                    },
                    None => buf[..n].to_vec(),
                };
                // PCMU only (what we offered first); telephone-event and CN aside.
                if let Ok((h, payload)) = crate::media::rtp::parse_header(&clear)
                    && h.payload_type == 0
                    && !payload.is_empty()
                {
                    ear.hear(payload, self.answered.elapsed());
                }
            }
        }
    }

    /// One key as RFC 4733 events: 100 ms of tone, three end packets, then
    /// 100 ms of silence; audio keeps flowing in between.
    fn key(&mut self, ear: &mut Ear, digit: char) {
        let Some(pt) = self.dtmf_pt else { return };
        let Some(event) = crate::media::dtmf::event_code(digit) else {
            return;
        };
        let start_ts = self.ts;
        for i in 0..5u16 {
            let dur = (i + 1) * 160;
            let end = i == 4;
            let payload = [
                event,
                if end { 0x8a } else { 0x0a },
                (dur >> 8) as u8,
                dur as u8,
            ];
            for _ in 0..if end { 3 } else { 1 } {
                let p = self.packet(pt, i == 0, &payload, start_ts);
                let _ = self.sock.send_to(&p, self.remote);
            }
            self.ts = self.ts.wrapping_add(160);
            self.next += Duration::from_millis(20);
            let until = self.next;
            self.pump(ear, until, false);
        }
        let until = Instant::now() + Duration::from_millis(100);
        self.run(ear, until);
    }
}

fn offer(rtp: SocketAddr, srtp_key: Option<&[u8]>) -> String {
    let (proto, crypto_line) = match srtp_key {
        Some(k) => ("RTP/SAVP", crypto::offer_line(k)),
        None => ("RTP/AVP", String::new()),
    };
    let ip = rtp.ip();
    let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=openum-test 1 1 IN {fam} {ip}\r\ns=openum test-connectivity\r\nc=IN {fam} {ip}\r\nt=0 0\r\n\
m=audio {} {proto} 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
{crypto_line}a=ptime:20\r\na=sendrecv\r\n",
        rtp.port()
    )
}

/// Place the test call and return what passed and failed.
pub fn run(o: &Options, lib: &PromptLibrary) -> Report {
    let mut r = Report {
        target: o.target.to_string(),
        transport: o.transport.name().to_string(),
        pilot: o.pilot.clone(),
        steps: Vec::new(),
    };
    let conn = match connect(o) {
        Ok(c) => c,
        Err(e) => {
            r.fail("connect", e);
            return r;
        }
    };
    if o.transport != Transport::Udp {
        r.pass(
            "connect",
            format!("{} connection to {}", o.transport.name(), o.target),
            None,
        );
    }
    // Our address as the server sees it: the local end of the signalling.
    let local = match &conn {
        Conn::Udp(s) => s.local_addr().ok(),
        Conn::Stream(..) => None,
    }
    .or_else(|| {
        // A stream's local address: ask the OS which address routes to the target.
        let probe = UdpSocket::bind(if o.target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        })
        .ok()?;
        probe.connect(o.target).ok()?;
        probe.local_addr().ok()
    });
    let Some(local) = local else {
        r.fail("connect", "no local address towards the target");
        return r;
    };
    let rtp = match UdpSocket::bind(SocketAddr::new(local.ip(), 0)) {
        Ok(s) => s,
        Err(e) => {
            r.fail("connect", format!("RTP socket: {e}"));
            return r;
        }
    };
    let Ok(rtp_addr) = rtp.local_addr() else {
        r.fail("connect", "RTP socket has no address");
        return r;
    };
    let srtp_key: Option<Vec<u8>> =
        (o.transport == Transport::Tls).then(|| (0..30).map(|_| rand::random::<u8>()).collect());
    let mut call = Call {
        conn,
        local,
        opts_target: o.target,
        transport: o.transport,
        pilot: o.pilot.clone(),
        from: o.from.clone(),
        call_id: format!("{}@openum-test", token()),
        from_tag: token(),
        to_tag: String::new(),
        ended_by_server: false,
    };
    let invite_branch = token();
    let invite = call.request(
        "INVITE",
        1,
        &invite_branch,
        &offer(rtp_addr, srtp_key.as_deref()),
        "application/sdp",
    );
    if let Err(e) = call.conn.send(invite.as_bytes()) {
        r.fail("invite", format!("cannot send to {}: {e}", o.target));
        return r;
    }
    let (ok, ms) = match call.transact("INVITE", 1, invite.as_bytes(), Duration::from_secs(8)) {
        Ok(x) => x,
        Err(e) => {
            r.fail("invite", e);
            return r;
        }
    };
    call.to_tag = ok.to_tag().unwrap_or("").to_string();
    if ok.status != 200 {
        // ACK the refusal in its own transaction (RFC 3261 17.1.1.3).
        let ack = call.request("ACK", 1, &invite_branch, "", "");
        let _ = call.conn.send(ack.as_bytes());
        r.fail("invite", format!("{} {}", ok.status, ok.reason));
        return r;
    }
    r.pass("invite", "INVITE → 200 OK", ms);
    let answered = Instant::now();
    let ack = call.request("ACK", 1, &token(), "", "");
    let _ = call.conn.send(ack.as_bytes());

    let answer = crate::sdp::parse(&ok.body).ok();
    let audio = answer.as_ref().and_then(|s| s.media.first().cloned());
    let Some(audio) = audio else {
        r.fail("media", "the 200 has no audio in its SDP");
        return hang_up(call, r);
    };
    let remote_ip = audio
        .connection
        .or(answer.as_ref().and_then(|s| s.connection))
        .unwrap_or(o.target.ip());
    let srtp = match (
        &srtp_key,
        audio.cryptos.first().and_then(|c| crypto::parse(c).ok()),
    ) {
        (Some(k), Some(theirs)) => {
            match SrtpSession::new(theirs.suite, &SrtpKey(k.clone()), &theirs.key) {
                Ok(s) => Some(s),
                Err(e) => {
                    r.fail("media", format!("SRTP: {e}"));
                    return hang_up(call, r);
                }
            }
        }
        _ => None,
    };
    let dtmf_pt = audio
        .rtpmaps
        .iter()
        .find(|(_, name, _)| name.eq_ignore_ascii_case("telephone-event"))
        .map(|(pt, _, _)| *pt);
    let mut media = Media {
        sock: rtp,
        remote: SocketAddr::new(remote_ip, audio.port),
        srtp,
        seq: rand::random(),
        ts: rand::random(),
        ssrc: rand::random(),
        next: Instant::now(),
        dtmf_pt,
        answered,
    };
    let mut ear = Ear::new(lib);

    // First audio within 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ear.first_audio.is_none() && Instant::now() < deadline {
        let step = (Instant::now() + Duration::from_millis(100)).min(deadline);
        media.run(&mut ear, step);
        call.drain_signalling();
    }
    match ear.first_audio {
        Some(t) => r.pass(
            "first_audio",
            format!(
                "RTP from {}{}",
                media.remote,
                if media.srtp.is_some() { " (SRTP)" } else { "" }
            ),
            Some(t.as_secs_f64() * 1000.0),
        ),
        None => {
            r.fail(
                "first_audio",
                format!("no audio from {} within 5 s of the 200", media.remote),
            );
            return hang_up(call, r);
        }
    }
    let until = Instant::now() + o.listen;
    while Instant::now() < until && !call.ended_by_server {
        let step = (Instant::now() + Duration::from_millis(200)).min(until);
        media.run(&mut ear, step);
        call.drain_signalling();
    }
    let secs = ear.seconds_from(0);
    let rms = ear.rms_from(0);
    let heard = ear.prompts_from(0);
    let what = format!(
        "{secs:.1} s received, RMS {rms:.0}, prompts: {}",
        if heard.is_empty() {
            "none recognised".to_string()
        } else {
            heard.join(" ")
        }
    );
    if secs >= o.listen.as_secs_f64() * 0.8 && rms > 100.0 {
        r.pass("audio", what, None);
    } else {
        r.fail("audio", format!("too little or silent audio: {what}"));
        return hang_up(call, r);
    }

    // DTMF: the PIN and # (a logon), or # alone; a new prompt must follow.
    if media.dtmf_pt.is_none() {
        r.fail("dtmf", "the answer offers no telephone-event (RFC 4733)");
        return hang_up(call, r);
    }
    // A caller the plan does not know by number is asked for the extension
    // first (another dial plan, an E.164 caller): give it, then the PIN.
    if o.pin.is_some() && !heard.iter().any(|p| p == "enter_pin") {
        let mark = ear.audio.len();
        for k in format!("{}#", o.from).chars() {
            media.key(&mut ear, k);
            call.drain_signalling();
        }
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline && !call.ended_by_server {
            let step = (Instant::now() + Duration::from_millis(250)).min(deadline);
            media.run(&mut ear, step);
            call.drain_signalling();
            if ear
                .prompts_from(mark)
                .iter()
                .any(|p| p == "enter_pin" || p == "extension_not_valid")
            {
                break;
            }
        }
        let then = ear.prompts_from(mark);
        if !then.iter().any(|p| p == "enter_pin") {
            r.fail(
                "extension",
                format!(
                    "asked for the extension; {} was not taken (heard: {})",
                    o.from,
                    if then.is_empty() {
                        "nothing recognised".to_string()
                    } else {
                        then.join(" ")
                    }
                ),
            );
            return hang_up(call, r);
        }
        r.pass(
            "extension",
            format!("entered {}; asked for the PIN", o.from),
            None,
        );
    }
    let before = ear.prompts_from(0);
    let mark = ear.audio.len();
    let keys = match &o.pin {
        Some(p) => format!("{p}#"),
        None => "#".to_string(),
    };
    for k in keys.chars() {
        media.key(&mut ear, k);
        call.drain_signalling();
    }
    let deadline = Instant::now() + Duration::from_secs(12);
    let after = loop {
        let step = (Instant::now() + Duration::from_millis(250)).min(deadline);
        media.run(&mut ear, step);
        call.drain_signalling();
        let after = ear.prompts_from(mark);
        let done = match &o.pin {
            Some(_) => after.iter().any(|p| {
                [
                    "main_menu",
                    "pin_wrong",
                    "mailbox_locked",
                    "pin_not_set",
                    "pin_expired",
                ]
                .contains(&p.as_str())
            }),
            None => after.iter().any(|p| !before.contains(p)),
        };
        if done || Instant::now() >= deadline || call.ended_by_server {
            break after;
        }
    };
    let sent = format!(
        "sent {} as RFC 4733 events (PT {})",
        if o.pin.is_some() {
            "the PIN and #".to_string()
        } else {
            "#".to_string()
        },
        media.dtmf_pt.unwrap_or(0)
    );
    match &o.pin {
        None => {
            let new: Vec<&String> = after.iter().filter(|p| !before.contains(p)).collect();
            if new.is_empty() {
                r.fail("dtmf", format!("{sent}; no new prompt followed"));
            } else {
                r.pass(
                    "dtmf",
                    format!(
                        "{sent}; then heard {}",
                        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
                    ),
                    None,
                );
            }
        }
        Some(_) => {
            r.pass("dtmf", sent, None);
            let said = after.join(" ");
            if after.iter().any(|p| p == "you_have") {
                r.pass("logon", format!("heard: {said}"), None);
            } else if let Some(bad) = after.iter().find(|p| {
                ["pin_wrong", "mailbox_locked", "pin_not_set", "pin_expired"].contains(&p.as_str())
            }) {
                r.fail("logon", format!("refused: heard {bad} ({said})"));
            } else {
                r.fail(
                    "logon",
                    format!(
                        "no \"you have N messages\" within 12 s (heard: {})",
                        if said.is_empty() {
                            "nothing recognised"
                        } else {
                            &said
                        }
                    ),
                );
            }
        }
    }
    hang_up(call, r)
}

fn hang_up(mut call: Call, mut r: Report) -> Report {
    if call.ended_by_server {
        r.fail("bye", "the server hung up first");
        return r;
    }
    let bye = call.request("BYE", 2, &token(), "", "");
    if let Err(e) = call.conn.send(bye.as_bytes()) {
        r.fail("bye", format!("cannot send: {e}"));
        return r;
    }
    match call.transact("BYE", 2, bye.as_bytes(), Duration::from_secs(8)) {
        Ok((resp, ms)) if resp.status == 200 => r.pass("bye", "BYE → 200 OK", ms),
        Ok((resp, _)) => r.fail("bye", format!("{} {}", resp.status, resp.reason)),
        Err(e) => r.fail("bye", e),
    }
    r
}
