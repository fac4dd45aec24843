//! A hand-driven UA on a raw UDP socket, for dialog behaviour SIPp scenarios
//! express poorly.

use super::Server;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

pub struct Ua {
    pub sock: UdpSocket,
    pub port: u16,
    pub server_port: u16,
}

impl Ua {
    pub fn new(server: &Server) -> Ua {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        Ua {
            sock,
            port,
            server_port: server.sip_port,
        }
    }

    pub fn send(&self, text: &str) {
        self.sock
            .send_to(text.as_bytes(), ("127.0.0.1", self.server_port))
            .unwrap();
    }

    /// Next message within `limit`, skipping 100 Trying.
    pub fn recv(&self, limit: Duration) -> Option<String> {
        let end = Instant::now() + limit;
        let mut buf = [0u8; 8192];
        loop {
            let left = end.checked_duration_since(Instant::now())?;
            self.sock
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let n = self.sock.recv(&mut buf).ok()?;
            let m = String::from_utf8_lossy(&buf[..n]).to_string();
            if !m.starts_with("SIP/2.0 100 ") {
                return Some(m);
            }
        }
    }

    pub fn expect(&self, start: &str) -> String {
        let m = self
            .recv(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no {start}"));
        assert!(m.starts_with(start), "expected {start}, got:\n{m}");
        m
    }

    pub fn request(
        &self,
        method: &str,
        cseq: u32,
        call: &str,
        to_tag: Option<&str>,
        branch: &str,
        sdp: Option<&str>,
    ) -> String {
        let body = sdp.map(|s| ("application/sdp", s));
        self.request_with(method, cseq, call, to_tag, branch, body)
    }

    /// As [`Ua::request`] with any body: (content type, text).
    pub fn request_with(
        &self,
        method: &str,
        cseq: u32,
        call: &str,
        to_tag: Option<&str>,
        branch: &str,
        body: Option<(&str, &str)>,
    ) -> String {
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        let (ctype, body) = match body {
            Some((t, b)) => (format!("Content-Type: {t}\r\n"), b),
            None => (String::new(), ""),
        };
        format!(
            "{method} sip:1001@127.0.0.1:{sp} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{branch}\r\n\
From: \"Raw UA\" <sip:5550001@127.0.0.1>;tag=ua1\r\nTo: <sip:1001@127.0.0.1>{to_tag}\r\nCall-ID: {call}\r\n\
CSeq: {cseq} {method}\r\nContact: <sip:5550001@127.0.0.1:{p}>\r\nMax-Forwards: 70\r\n{ctype}Content-Length: {len}\r\n\r\n{body}",
            sp = self.server_port,
            p = self.port,
            len = body.len(),
        )
    }
}

pub fn sdp(rtp_port: u16, version: u32, pts: &str) -> String {
    format!(
        "v=0\r\no=ua 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {rtp_port} RTP/AVP {pts}\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    )
}

pub fn to_tag(resp: &str) -> String {
    let to = resp.lines().find(|l| l.starts_with("To:")).unwrap();
    to.split("tag=").nth(1).unwrap().trim().to_string()
}

/// The RTP address a 200 OK's SDP names (c= and m=audio).
pub fn sdp_media(resp: &str) -> std::net::SocketAddr {
    let ip = resp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .unwrap()
        .trim();
    let port = resp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    format!("{ip}:{port}").parse().unwrap()
}

/// Send 8 kHz samples as PCMU RTP (PT 0) in 20 ms packets, paced in real time.
pub fn send_pcmu(sock: &UdpSocket, to: std::net::SocketAddr, samples: &[i16], seq0: u16) {
    let mut seq = seq0;
    let start = Instant::now();
    for (i, chunk) in samples.chunks(160).enumerate() {
        let mut pkt = vec![0x80, 0x00];
        pkt.extend_from_slice(&seq.to_be_bytes());
        pkt.extend_from_slice(&((i as u32 * 160).wrapping_add(seq0 as u32 * 160)).to_be_bytes());
        pkt.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        pkt.extend(
            chunk
                .iter()
                .map(|&x| openum::media::g711::Law::Mu.encode(x)),
        );
        let _ = sock.send_to(&pkt, to);
        seq = seq.wrapping_add(1);
        let due = start + Duration::from_millis(20 * (i as u64 + 1));
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d); // pacing the stream, not waiting on a condition
        }
    }
}

/// A DTMF key as a pair of sines at `amp`, for `ms` milliseconds (8 kHz).
pub fn dtmf_tone(key: char, ms: u32, amp: f32) -> Vec<i16> {
    let (r, c) = match key {
        '1' => (697.0, 1209.0),
        '2' => (697.0, 1336.0),
        '3' => (697.0, 1477.0),
        '4' => (770.0, 1209.0),
        '5' => (770.0, 1336.0),
        '6' => (770.0, 1477.0),
        '7' => (852.0, 1209.0),
        '8' => (852.0, 1336.0),
        '9' => (852.0, 1477.0),
        '*' => (941.0, 1209.0),
        '0' => (941.0, 1336.0),
        '#' => (941.0, 1477.0),
        k => panic!("no key {k}"),
    };
    (0..ms * 8)
        .map(|t| {
            let x = t as f32 / 8000.0;
            let s = |f: f32| (2.0 * std::f32::consts::PI * f * x).sin();
            (amp * (s(r) + s(c))) as i16
        })
        .collect()
}

/// Something like a voice: a 200 Hz tone with harmonics and some noise.
pub fn voice_like(ms: u32) -> Vec<i16> {
    let mut seed = 12345u32;
    (0..ms * 8)
        .map(|t| {
            let x = t as f32 / 8000.0;
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            let noise = ((seed >> 16) as f32 / 65536.0 - 0.5) * 600.0;
            let s = |f: f32| (2.0 * std::f32::consts::PI * f * x).sin();
            (3000.0 * s(200.0) + 1500.0 * s(400.0) + 800.0 * s(600.0) + noise) as i16
        })
        .collect()
}
