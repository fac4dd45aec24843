//! Shared end-to-end harness: a real `openum serve` process on loopback with its own
//! ports and temp data dir, SIPp runs with their own ports, and waits on conditions
//! with deadlines (never bare sleeps).

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod mwi;
pub mod ova;
pub mod ua;

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const G711A_PCAP: &str = "/usr/share/sip-tester/g711a.pcap";
pub const POUND_PCAP: &str = "/usr/share/sip-tester/dtmf_2833_pound.pcap";
/// Demo greeting ("The person at extension …" + digits + "is not available …") plus
/// the beep lasts about 12.4 s; callers start talking after this.
pub const GREETING_MS: u32 = 13_000;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario(name: &str) -> PathBuf {
    repo().join("tools/sipp").join(name)
}

/// Poll `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A UDP+TCP port free right now (both bound at once, then released).
pub fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = u.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// A port p with UDP and TCP p and TCP p+1 free: baresip listens for SIP over
/// UDP and TCP at `sip_listen`'s port and over TLS at the next one, so a busy
/// p+1 fails its start ("SIP/TLS transport failed: Address already in use").
pub fn free_sip_listen_port() -> u16 {
    loop {
        let p = free_port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

/// A UDP port p with p..p+3 free (SIPp's RTP/RTCP and its spare pair).
pub fn free_media_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = u.local_addr().unwrap().port();
        drop(u);
        if p < 65000 && (0..4).all(|i| UdpSocket::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
    }
}

pub fn have_sipp() {
    let ok = Command::new("sipp").arg("-v").output().is_ok();
    assert!(
        ok,
        "sipp is not installed: run tools/test, which installs sip-tester"
    );
}

pub struct Server {
    pub child: Child,
    pub data: tempfile::TempDir,
    pub sip_port: u16,
    pub sip_tls_port: u16,
    pub admin_url: String,
    /// The local admin credential the server wrote (`DATA/admin.token`).
    pub token: String,
    pub log: PathBuf,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Self::spawn(tempfile::tempdir().unwrap(), extra, &[])
    }

    /// As [`Server::start`], with the data directory `data/d` (which the caller
    /// may have prepared, e.g. mounted a small filesystem on).
    pub fn start_at(data: tempfile::TempDir, extra: &[&str]) -> Server {
        Self::spawn(data, extra, &[])
    }

    /// Kill -9 (no shutdown at all) and hand back the data directory.
    pub fn crash(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed server leaves its runtime file: the next start is awaited by
        // that file, so it must not be the dead one's.
        let _ = std::fs::remove_file(self.data_dir().join("runtime.json"));
        std::mem::replace(&mut self.data, tempfile::tempdir().unwrap())
    }

    /// As [`Server::start`], with environment variables (e.g. fault injection).
    pub fn start_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
        Self::spawn(tempfile::tempdir().unwrap(), extra, env)
    }

    /// Stop (SIGTERM) and start again on the same data dir.
    pub fn restart(mut self, extra: &[&str]) -> Server {
        assert!(self.stop().success(), "{}", self.log_text());
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().unwrap());
        Self::spawn(data, extra, &[])
    }

    fn spawn(data: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Self::spawn_logging_to(data, extra, env, None)
    }

    /// As [`Server::start`], with the server's stderr (its log) going to `stderr`
    /// instead of the log file (which then stays empty).
    pub fn start_logging_to(extra: &[&str], stderr: Stdio) -> Server {
        Self::spawn_logging_to(tempfile::tempdir().unwrap(), extra, &[], Some(stderr))
    }

    fn spawn_logging_to(
        data: tempfile::TempDir,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: Option<Stdio>,
    ) -> Server {
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = data.path().join(format!("server-{n}.log"));
        let logf = std::fs::File::create(&log).unwrap();
        let stderr = stderr.unwrap_or_else(|| logf.into());
        // A wide RTP range started at a random place per server; the allocator skips
        // ports another test's server holds.
        let child = Command::new(env!("CARGO_BIN_EXE_openum"))
            .args([
                "serve",
                "--sip-port",
                "0",
                "--sip-tls-port",
                "0",
                "--admin",
                "127.0.0.1:0",
                "--rtp-ports",
                "20000-29999",
                "--data",
            ])
            .arg(data.path().join("d"))
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start openum");
        let mut s = Server {
            child,
            data,
            sip_port: 0,
            sip_tls_port: 0,
            admin_url: String::new(),
            token: String::new(),
            log,
        };
        let rt = s.data_dir().join("runtime.json");
        let v: serde_json::Value = wait_for("runtime.json", Duration::from_secs(30), || {
            if let Ok(Some(st)) = s.child.try_wait() {
                panic!("server exited early ({st}):\n{}", s.log_text());
            }
            std::fs::read_to_string(&rt)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
        });
        s.sip_port = v["sip_port"].as_u64().unwrap() as u16;
        s.sip_tls_port = v["sip_tls_port"].as_u64().unwrap() as u16;
        s.admin_url = v["admin_url"].as_str().unwrap().to_string();
        s.token = std::fs::read_to_string(s.data_dir().join("admin.token"))
            .expect("the server writes admin.token before runtime.json")
            .trim()
            .to_string();
        s
    }

    /// An admin API request with the local admin credential.
    pub fn api(&self, method: &str, path: &str) -> ureq::Request {
        ureq::request(method, &format!("{}{path}", self.admin_url))
            .set("Authorization", &format!("Bearer {}", self.token))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.path().join("d")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the server log has `n` lines containing every one of `needles`.
    /// On timeout, the panic shows the log's last lines.
    pub fn wait_log(&self, needles: &[&str], n: usize, limit: Duration) -> Vec<String> {
        let end = Instant::now() + limit;
        loop {
            let text = self.log_text();
            let lines: Vec<String> = text
                .lines()
                .filter(|l| needles.iter().all(|x| l.contains(x)))
                .map(str::to_string)
                .collect();
            if lines.len() >= n {
                return lines;
            }
            if Instant::now() >= end {
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!(
                    "timed out after {limit:?} waiting for {n} log line(s) with {needles:?} \
                     ({} found); log tail:\n{}",
                    lines.len(),
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn get(&self, path: &str) -> ureq::Response {
        self.api("GET", path).call().expect("admin API")
    }

    /// A stored message's audio as the API serves it (WAV): its rate and samples.
    pub fn message_audio(&self, id: &str) -> (u32, Vec<i16>) {
        let mut bytes = Vec::new();
        self.get(&format!("/api/messages/{id}/audio.wav"))
            .into_reader()
            .read_to_end(&mut bytes)
            .unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        let rate = r.spec().sample_rate;
        (rate, r.into_samples::<i16>().map(|x| x.unwrap()).collect())
    }

    pub fn messages(&self, mailbox: &str) -> Vec<serde_json::Value> {
        self.get(&format!("/api/mailboxes/{mailbox}/messages"))
            .into_json()
            .unwrap()
    }

    /// SIGTERM and wait for the exit (a drain: calls in progress end first).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(30))
    }

    /// Send a signal (`TERM`, `INT`, `KILL`) without waiting.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status();
    }

    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        wait_for("server exit", limit, || {
            self.child.try_wait().ok().flatten()
        })
    }

    /// The value of a Prometheus metric line that starts with `name` (summed over
    /// the lines that match, e.g. all label sets).
    pub fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").into_string().unwrap();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
            .sum()
    }

    /// Run the CLI against this server's data dir.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_openum"))
            .args(args)
            .arg("--data")
            .arg(self.data_dir())
            .output()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OPTIONS to the demo pilot from 127.0.0.1 (the demo's trusted gateway).
pub const OPTIONS: &str = "OPTIONS sip:4000@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKopt1\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\n\
To: <sip:4000@127.0.0.1>\r\nCall-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

/// Send one datagram to the server's SIP port and return the first answer.
pub fn udp_exchange(port: u16, msg: &[u8]) -> Option<String> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    s.send_to(msg, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4096];
    s.recv(&mut buf)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).to_string())
}

/// The sorted lines of an outcome file written by a SIPp scenario.
pub fn outcomes(file: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    v.sort();
    v
}

pub struct Sipp {
    args: Vec<String>,
    /// Scenarios with a `[diversion]` header line get a harmless one unless given.
    diversion: bool,
}

impl Sipp {
    /// A SIPp client for `scenario`, calling `service` (Request-URI user).
    pub fn new(server: &Server, scenario_name: &str, service: &str) -> Self {
        have_sipp();
        let args = vec![
            format!("127.0.0.1:{}", server.sip_port),
            "-sf".into(),
            scenario(scenario_name).display().to_string(),
            "-s".into(),
            service.into(),
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            free_port().to_string(),
            "-mi".into(),
            "127.0.0.1".into(),
            "-mp".into(),
            free_media_port().to_string(),
            "-nostdin".into(),
            "-timeout".into(),
            "90s".into(),
            "-timeout_error".into(),
        ];
        Sipp {
            args,
            diversion: false,
        }
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| s.to_string()));
        self
    }

    pub fn key(mut self, k: &str, v: &str) -> Self {
        self.diversion |= k == "diversion";
        self.arg("-key").arg(k).arg(v)
    }

    /// Run to completion; returns the exit code and SIPp's stderr + error log.
    pub fn run(mut self) -> (i32, String) {
        if !self.diversion {
            self = self.key("diversion", "X-Test: none");
        }
        let err = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new("sipp")
            .args(&self.args)
            .arg("-trace_err")
            .arg("-error_file")
            .arg(err.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sipp");
        let status = wait_for("sipp to finish", Duration::from_secs(150), || {
            child.try_wait().ok().flatten()
        });
        let mut out = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut out);
        let errors = std::fs::read_to_string(err.path()).unwrap_or_default();
        (status.code().unwrap_or(-1), format!("{out}\n{errors}"))
    }
}

/// G.711 payloads of every RTP packet in a pcap (Ethernet/IPv4/UDP), in order.
pub fn pcap_rtp_payloads(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian pcap expected"
    );
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        let pkt = &b[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ihl = ((pkt[14] & 0x0f) as usize) * 4;
        let rtp = &pkt[14 + ihl + 8..];
        let cc = (rtp[0] & 0x0f) as usize;
        out.push(rtp[12 + 4 * cc..].to_vec());
    }
    out
}

/// 16-bit samples of a WAV file.
pub fn wav_samples(bytes: &[u8]) -> Vec<i16> {
    let r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(r.spec().sample_rate, 8000);
    r.into_samples::<i16>().map(|s| s.unwrap()).collect()
}

pub fn rms(s: &[i16]) -> f64 {
    (s.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
}

/// SIPp scenario lines sending `keys` as RFC 4733 events (sip-tester's pcaps),
/// each followed by `gap_ms`.
pub fn sipp_keys(keys: &str, gap_ms: u32) -> String {
    let mut out = String::new();
    for d in keys.chars() {
        let name = match d {
            '#' => "pound".to_string(),
            '*' => "star".to_string(),
            d => d.to_string(),
        };
        out.push_str(&format!(
            "  <nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_{name}.pcap\"/></action></nop>\n  <pause milliseconds=\"{gap_ms}\"/>\n"
        ));
    }
    out
}

/// Run a generated SIPp scenario once against `server` (own ports); on failure,
/// panic with SIPp's stderr and the server log.
pub fn run_scenario(server: &Server, sf: &Path) {
    have_sipp();
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip_port))
        .args(["-sf", sf.to_str().unwrap(), "-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &free_media_port().to_string()])
        .args(["-nostdin", "-timeout", "90s", "-timeout_error"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "SIPp failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
}

/// The start of a SIPp UAC scenario: INVITE `to` (PCMA + telephone-event) from
/// `from`, the 200 (its To tag kept as `$totag`), the ACK.
pub fn sipp_uac_start(name: &str, to: &str, from: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="{name}">
  <send retrans="500">
    <![CDATA[
      INVITE sip:{to}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "SIPp Caller" <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag03[call_number]
      To: <sip:{to}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{from}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp=";tag=[^;> ]+" search_in="hdr" header="To:" check_it="true" assign_to="totag"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:{to}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "SIPp Caller" <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag03[call_number]
      To: <sip:{to}@[remote_ip]:[remote_port]>[$totag]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0
    ]]>
  </send>
"#
    )
}

/// The caller's BYE (CSeq `cseq`) in a scenario begun by [`sipp_uac_start`],
/// and its 200.
pub fn sipp_uac_bye(to: &str, from: &str, cseq: u32) -> String {
    format!(
        r#"  <send retrans="500">
    <![CDATA[
      BYE sip:{to}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "SIPp Caller" <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag03[call_number]
      To: <sip:{to}@[remote_ip]:[remote_port]>[$totag]
      Call-ID: [call_id]
      CSeq: {cseq} BYE
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"#
    )
}

/// A 200 OK to the request `req` (its Via, From, To, Call-ID and CSeq lines), as
/// a peer of the server answers its BYE, NOTIFY or OPTIONS.
pub fn ok_response(req: &str) -> String {
    let head: Vec<&str> = req
        .lines()
        .filter(|l| {
            ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                .iter()
                .any(|h| l.starts_with(h))
        })
        .collect();
    format!(
        "SIP/2.0 200 OK\r\n{}\r\nContent-Length: 0\r\n\r\n",
        head.join("\r\n")
    )
}

/// Frequency of a clean tone by zero crossings.
pub fn frequency(samples: &[i16], rate: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / rate as f64)
}
