//! openum-loadgen: a load client for `tools/load`. SIPp has no TLS, so SRTP calls at
//! scale need this: N calls over one shared SIP connection (UDP, or TLS with a
//! gateway client certificate), each INVITE → 200 → ACK, listen to the greeting,
//! then stream a 440 Hz tone (RTP, or SRTP keyed by SDES) for `--talk` seconds,
//! then BYE. Prints one JSON object: outcomes, INVITE→200 and first-prompt-packet
//! latencies, and the server's RTP send jitter as seen by the receiver. `--codec
//! opus` offers only Opus and sends a pre-encoded Opus tone (48 kHz RTP clock).
//!
//! Reuses openum's own SIP parser, SDP crypto and SRTP code (the peer is real: the
//! server process; only the client side is ours).

use openum::media::g711::Law;
use openum::media::srtp::SrtpSession;
use openum::sdp::crypto::{self, SrtpKey};
use openum::sip::msg::{self, Message};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// N recorded voicemail calls against an openum server (see tools/load).
#[derive(Clone, clap::Parser)]
#[command(name = "openum-loadgen", version)]
struct Args {
    /// The server's SIP address (UDP, or TLS with --tls).
    #[arg(long, default_value = "127.0.0.1:5060")]
    server: SocketAddr,
    /// Mutual TLS and SDES-SRTP: CA.pem,CERT.pem,KEY.pem of a gateway client.
    #[arg(long, value_parser = parse_tls)]
    tls: Option<(String, String, String)>,
    /// The number called (a mailbox or pilot).
    #[arg(long, default_value = "1001")]
    number: String,
    #[arg(long, default_value_t = 10)]
    calls: usize,
    /// New calls per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// How long to listen before talking (the greeting and beep), ms.
    #[arg(long = "greeting-ms", default_value_t = 13_000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    greeting_ms: u64,
    /// Seconds of caller audio.
    #[arg(long, default_value_t = 7.0)]
    talk: f64,
    /// The codec offered and sent: pcmu (G.711 µ-law) or opus (RFC 7587).
    #[arg(long, default_value = "pcmu", value_parser = ["pcmu", "opus"])]
    codec: String,
}

fn parse_tls(v: &str) -> Result<(String, String, String), String> {
    let p: Vec<&str> = v.split(',').collect();
    match p[..] {
        [ca, cert, key] => Ok((ca.into(), cert.into(), key.into())),
        _ => Err("expected CA.pem,CERT.pem,KEY.pem".into()),
    }
}

impl Args {
    fn greeting(&self) -> Duration {
        Duration::from_millis(self.greeting_ms)
    }
    fn talk(&self) -> Duration {
        Duration::from_secs_f64(self.talk.clamp(0.0, 3600.0))
    }
    fn opus(&self) -> bool {
        self.codec == "opus"
    }
}

/// The shared SIP transport: send bytes; responses are routed by Call-ID.
#[derive(Clone)]
struct Sip {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    routes: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<msg::Response>>>>,
    via: String,
    transport: &'static str,
}

impl Sip {
    fn route(&self, call_id: &str) -> mpsc::UnboundedReceiver<msg::Response> {
        let (t, r) = mpsc::unbounded_channel();
        self.routes.lock().unwrap().insert(call_id.to_string(), t);
        r
    }
    fn dispatch(&self, m: Message) -> Option<Vec<u8>> {
        match m {
            Message::Response(r) => {
                let call = r.headers.get("Call-ID").unwrap_or("").to_string();
                if let Some(t) = self.routes.lock().unwrap().get(&call) {
                    let _ = t.send(r);
                }
                None
            }
            // A request from the server (BYE, OPTIONS probe): answer 200.
            Message::Request(req) if req.method != msg::Method::Ack => {
                Some(msg::response_to(&req, 200, Some("lg")).to_bytes())
            }
            Message::Request(_) => None,
        }
    }
}

async fn connect(a: &Args) -> Sip {
    let routes = Arc::new(Mutex::new(HashMap::new()));
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    match &a.tls {
        None => {
            let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            sock.connect(a.server).await.unwrap();
            let via = sock.local_addr().unwrap().to_string();
            let sip = Sip {
                tx,
                routes,
                via,
                transport: "UDP",
            };
            let s2 = sock.clone();
            tokio::spawn(async move {
                while let Some(b) = rx.recv().await {
                    let _ = s2.send(&b).await;
                }
            });
            let sip2 = sip.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sock.recv(&mut buf).await {
                    if let Ok(m) = msg::parse(&buf[..n])
                        && let Some(reply) = sip2.dispatch(m)
                    {
                        let _ = sip2.tx.send(reply);
                    }
                }
            });
            sip
        }
        Some((ca, cert, key)) => {
            let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut roots = rustls::RootCertStore::empty();
            for c in openum::tls::certs::parse_chain(&read(ca)).unwrap() {
                roots.add(c).unwrap();
            }
            let cfg = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_client_auth_cert(
                    openum::tls::certs::parse_chain(&read(cert)).unwrap(),
                    openum::tls::certs::parse_key(&read(key)).unwrap(),
                )
                .unwrap();
            let tcp = tokio::net::TcpStream::connect(a.server).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let via = tcp.local_addr().unwrap().to_string();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
                .connect(name, tcp)
                .await
                .expect("TLS handshake");
            let (mut rd, mut wr) = tokio::io::split(tls);
            let sip = Sip {
                tx,
                routes,
                via,
                transport: "TLS",
            };
            tokio::spawn(async move {
                while let Some(b) = rx.recv().await {
                    if wr.write_all(&b).await.is_err() {
                        break;
                    }
                }
            });
            let sip2 = sip.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 65536];
                while let Ok(n) = rd.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Ok(Some(len)) = msg::frame_stream(&buf) {
                        let frame: Vec<u8> = buf.drain(..len).collect();
                        if let Ok(m) = msg::parse(&frame)
                            && let Some(reply) = sip2.dispatch(m)
                        {
                            let _ = sip2.tx.send(reply);
                        }
                    }
                }
            });
            sip
        }
    }
}

#[derive(Default, Debug)]
struct CallResult {
    status: u16,
    completed: bool,
    invite_ms: f64,
    first_packet_ms: Option<f64>,
    rx_packets: u64,
    /// Deviation of each packet's arrival from the 20 ms grid set by the first, ms.
    jitter_ms: Vec<f64>,
    srtp_failures: u64,
    tx_packets: u64,
    dtmf_sent: u64,
}

fn request(
    sip: &Sip,
    method: &str,
    a: &Args,
    call: &str,
    cseq: u32,
    to_tag: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let ctype = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} sip:{n}@{s} SIP/2.0\r\nVia: SIP/2.0/{t} {v};branch=z9hG4bK{call}{cseq}{m}\r\nFrom: <sip:5550500@localhost>;tag=lgf\r\n\
To: <sip:{n}@{s}>{to_tag}\r\nCall-ID: {call}\r\nCSeq: {cseq} {method}\r\nContact: <sip:5550500@{v};transport={tl}>\r\n\
Max-Forwards: 70\r\n{ctype}Content-Length: {len}\r\n\r\n{body}",
        n = a.number,
        s = a.server,
        t = sip.transport,
        v = sip.via,
        m = method.len(),
        tl = sip.transport.to_ascii_lowercase(),
        len = body.len()
    )
    .into_bytes()
}

async fn call(a: Args, sip: Sip, idx: usize, tone: Arc<Tone>) -> CallResult {
    let mut res = CallResult::default();
    let call_id = format!("lg-{}-{idx}", std::process::id());
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtp_port = rtp.local_addr().unwrap().port();
    let srtp_key: Option<Vec<u8>> = a
        .tls
        .as_ref()
        .map(|_| (0..30).map(|i| (i as u8) ^ (idx as u8)).collect());
    let (proto, crypto_line) = match &srtp_key {
        Some(k) => ("RTP/SAVP", crypto::offer_line(k)),
        None => ("RTP/AVP", String::new()),
    };
    let (fmt, rtpmap) = if a.opus() {
        (
            111,
            "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1;stereo=0\r\na=rtpmap:101 telephone-event/48000\r\n",
        )
    } else {
        (
            0,
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        )
    };
    let sdp = format!(
        "v=0\r\no=lg 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {rtp_port} {proto} {fmt} 101\r\n\
{rtpmap}{crypto_line}a=ptime:20\r\n"
    );
    let mut rx = sip.route(&call_id);
    let t0 = Instant::now();
    let _ = sip
        .tx
        .send(request(&sip, "INVITE", &a, &call_id, 1, None, &sdp));
    let ok = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(r)) if r.status < 200 => continue,
            Ok(Some(r)) => break r,
            _ => return res,
        }
    };
    res.status = ok.status;
    res.invite_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let to_tag = ok.to_tag().unwrap_or("").to_string();
    if ok.status != 200 {
        let _ = sip
            .tx
            .send(request(&sip, "ACK", &a, &call_id, 1, Some(&to_tag), ""));
        return res;
    }
    let answered = Instant::now();
    let _ = sip
        .tx
        .send(request(&sip, "ACK", &a, &call_id, 1, Some(&to_tag), ""));
    let answer = openum::sdp::parse(&ok.body).ok();
    let audio = answer.as_ref().and_then(|s| s.media.first().cloned());
    let Some(audio) = audio else { return res };
    let remote = SocketAddr::new(
        answer
            .as_ref()
            .and_then(|s| s.connection)
            .unwrap_or(a.server.ip()),
        audio.port,
    );
    let mut srtp = match (
        &srtp_key,
        audio.cryptos.first().and_then(|c| crypto::parse(c).ok()),
    ) {
        (Some(k), Some(theirs)) => {
            Some(SrtpSession::new(theirs.suite, &SrtpKey(k.clone()), &theirs.key).unwrap())
        }
        (Some(_), None) => return res,
        _ => None,
    };

    // Listen through the greeting, then talk while still listening.
    let talk_at = answered + a.greeting();
    let end_at = talk_at + a.talk();
    let mut buf = vec![0u8; 2048];
    let mut first: Option<Instant> = None;
    let mut in_spurt: u64 = 0;
    let mut seq: u16 = 1;
    let mut ts: u32 = 0;
    let mut pos = 0usize;
    let mut next_send = talk_at;
    // Halfway through the talk, press '5' (RFC 4733, PT 101 as offered): three end
    // packets with the event's own timestamp, as senders do (§2.5.1.4).
    let dtmf_at = talk_at + a.talk() / 2;
    let mut dtmf_done = false;
    loop {
        let now = Instant::now();
        // The talk is a fixed amount of audio: a generator that fell behind (its
        // own process starved) still sends every packet, late, before its BYE, so
        // a short message is the server's doing, never the caller's. Ending at the
        // wall-clock end instead cut the calls of one soak wave by up to 1.5 s,
        // each by how far its end fell into the generator's stall.
        if now >= talk_at && next_send >= end_at {
            break;
        }
        let wake = if now >= talk_at { next_send } else { talk_at };
        tokio::select! {
            r = rtp.recv(&mut buf) => {
                let Ok(n) = r else { break };
                let now = Instant::now();
                let marker = match srtp.as_mut() {
                    Some(s) => match s.unprotect(&buf[..n]) {
                        Ok(p) => p.get(1).is_some_and(|b| b & 0x80 != 0),
                        Err(_) => {
                            res.srtp_failures += 1;
                            continue;
                        }
                    },
                    None => n > 1 && buf[1] & 0x80 != 0,
                };
                if res.rx_packets == 0 {
                    res.first_packet_ms = Some(now.duration_since(answered).as_secs_f64() * 1000.0);
                }
                // Within a talkspurt (from a marker packet on) packet k should arrive at
                // origin + k*20 ms; record how far each one is off that grid.
                if marker || first.is_none() {
                    first = Some(now);
                    in_spurt = 0;
                }
                if let Some(f) = first {
                    let expect = in_spurt as f64 * 20.0;
                    res.jitter_ms.push((now.duration_since(f).as_secs_f64() * 1000.0 - expect).abs());
                }
                in_spurt += 1;
                res.rx_packets += 1;
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                if Instant::now() >= talk_at {
                    let mut pkt = vec![0x80u8, fmt, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
                    pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                    pkt[4..8].copy_from_slice(&ts.to_be_bytes());
                    pkt[8..12].copy_from_slice(&(idx as u32).to_be_bytes());
                    match tone.as_ref() {
                        Tone::G711(t) => {
                            pkt.extend_from_slice(&t[pos..pos + 160]);
                            pos = (pos + 160) % (t.len() - 160);
                        }
                        Tone::Opus(p) => {
                            pkt.extend_from_slice(&p[pos % p.len()]);
                            pos += 1;
                        }
                    }
                    let out = match srtp.as_mut() {
                        Some(s) => s.protect(&pkt).map(|b| b.to_vec()).unwrap_or_default(),
                        None => pkt,
                    };
                    if rtp.send_to(&out, remote).await.is_ok() {
                        res.tx_packets += 1;
                    }
                    if !dtmf_done && Instant::now() >= dtmf_at {
                        dtmf_done = true;
                        for _ in 0..3 {
                            let mut ev = vec![0x80u8, 101, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
                            seq = seq.wrapping_add(1);
                            ev[2..4].copy_from_slice(&seq.to_be_bytes());
                            ev[4..8].copy_from_slice(&ts.to_be_bytes());
                            ev[8..12].copy_from_slice(&(idx as u32).to_be_bytes());
                            ev.extend_from_slice(&[5, 0x8a, 0x03, 0x20]);
                            let out = match srtp.as_mut() {
                                Some(s) => s.protect(&ev).map(|b| b.to_vec()).unwrap_or_default(),
                                None => ev,
                            };
                            if rtp.send_to(&out, remote).await.is_ok() {
                                res.tx_packets += 1;
                            }
                        }
                        res.dtmf_sent += 1;
                    }
                    seq = seq.wrapping_add(1);
                    ts = ts.wrapping_add(if a.opus() { 960 } else { 160 });
                    next_send += Duration::from_millis(20);
                }
            }
        }
    }
    let _ = sip
        .tx
        .send(request(&sip, "BYE", &a, &call_id, 2, Some(&to_tag), ""));
    if let Ok(Some(r)) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        res.completed = r.status == 200;
    }
    res
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((p / 100.0) * (v.len() - 1) as f64).round() as usize]
}

/// The caller's audio, ready to send: a 440 Hz tone of one second.
enum Tone {
    G711(Vec<u8>),
    Opus(Vec<Box<[u8]>>),
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = <Args as clap::Parser>::parse();
    let pcm: Vec<i16> = (0..8000)
        .map(|i| ((2.0 * std::f64::consts::PI * 440.0 * i as f64 / 8000.0).sin() * 10000.0) as i16)
        .collect();
    let tone = Arc::new(if a.opus() {
        Tone::Opus(openum::media::codec::encode_packets(&pcm))
    } else {
        Tone::G711(pcm.iter().map(|&s| Law::Mu.encode(s)).collect())
    });
    let sip = connect(&a).await;
    let mut tasks = Vec::new();
    let gap = Duration::from_secs_f64(1.0 / a.rate);
    for i in 0..a.calls {
        tasks.push(tokio::spawn(call(a.clone(), sip.clone(), i, tone.clone())));
        tokio::time::sleep(gap).await;
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap_or_default());
    }
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for r in &results {
        *by_status.entry(r.status).or_default() += 1;
    }
    let mut inv: Vec<f64> = results
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.invite_ms)
        .collect();
    let mut firsts: Vec<f64> = results.iter().filter_map(|r| r.first_packet_ms).collect();
    let mut jit: Vec<f64> = results
        .iter()
        .flat_map(|r| r.jitter_ms.iter().copied())
        .collect();
    let out = serde_json::json!({
        "mode": if a.tls.is_some() { "srtp" } else { "rtp" },
        "codec": a.codec,
        "calls_attempted": a.calls,
        "calls_answered": by_status.get(&200).copied().unwrap_or(0),
        "calls_completed": results.iter().filter(|r| r.completed).count(),
        "calls_failed": results.iter().filter(|r| !r.completed).count(),
        "by_status": by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<HashMap<_, _>>(),
        "invite_200_ms": {"p50": pct(&mut inv, 50.0), "p99": pct(&mut inv, 99.0), "max": pct(&mut inv, 100.0)},
        "first_prompt_packet_ms": {"p50": pct(&mut firsts, 50.0), "p95": pct(&mut firsts, 95.0), "p99": pct(&mut firsts, 99.0)},
        "rx_grid_deviation_ms": {"p99": pct(&mut jit, 99.0), "max": pct(&mut jit, 100.0)},
        "rx_packets": results.iter().map(|r| r.rx_packets).sum::<u64>(),
        "tx_packets": results.iter().map(|r| r.tx_packets).sum::<u64>(),
        "dtmf_sent": results.iter().map(|r| r.dtmf_sent).sum::<u64>(),
        "srtp_failures": results.iter().map(|r| r.srtp_failures).sum::<u64>(),
    });
    println!("{out}");
}
