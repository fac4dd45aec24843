//! Subscriber access helpers: leave a message with SIPp, and call the subscriber
//! access number 4000 from a raw UA that sends digits by SIP INFO and waits on
//! `ova_menu` events.

use super::ua::*;
use super::*;
use std::net::UdpSocket;
use std::time::Duration;

/// Leave a message for `mailbox` (diverted to pilot 4000) from `from`, ended by
/// hanging up after the pcap.
pub fn deposit(server: &Server, mailbox: &str, from: &str) {
    deposit_at(server, "4000", mailbox, from)
}

/// As [`deposit`], through voicemail pilot `pilot`. Returns once the message is
/// stored (its `message_stored` event: encoding may outlast the call).
pub fn deposit_at(server: &Server, pilot: &str, mailbox: &str, from: &str) {
    let needle = format!("mailbox={mailbox} ");
    let stored = || {
        server
            .log_text()
            .lines()
            .filter(|l| l.contains("event=\"message_stored\"") && l.contains(&needle))
            .count()
    };
    let before = stored();
    let (rc, log) = Sipp::new(server, "voicemail.xml", pilot)
        .args(&["-m", "1", "-d", &GREETING_MS.to_string()])
        .key("from_user", from)
        .key("pcap", G711A_PCAP)
        .key(
            "diversion",
            &format!("Diversion: <sip:{mailbox}@pbx.example.com>"),
        )
        .run();
    assert_eq!(rc, 0, "deposit failed: {log}\n{}", server.log_text());
    wait_for("the message to be stored", Duration::from_secs(10), || {
        (stored() > before).then_some(())
    });
}

/// A subscriber access call from a raw UA: digits by SIP INFO.
pub struct Caller<'a> {
    pilot: String,
    server: &'a Server,
    ua: Ua,
    call: String,
    tag: String,
    cseq: u32,
    rtp: UdpSocket,
    media: std::net::SocketAddr,
}

impl<'a> Caller<'a> {
    pub fn call(server: &'a Server, from: &str, call: &str) -> Caller<'a> {
        Self::call_to(server, "4000", from, call)
    }

    /// Call subscriber access `pilot` from `from`.
    pub fn call_to(server: &'a Server, pilot: &str, from: &str, call: &str) -> Caller<'a> {
        let ua = Ua::new(server);
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let offer = sdp(
            rtp.local_addr().unwrap().port(),
            1,
            "0 101\r\na=rtpmap:101 telephone-event/8000",
        );
        let inv = ua
            .request("INVITE", 1, call, None, "i1", Some(&offer))
            .replace("sip:1001@", &format!("sip:{pilot}@"))
            .replace("sip:5550001@", &format!("sip:{from}@"));
        ua.send(&inv);
        let ok = ua.expect("SIP/2.0 200 OK");
        let tag = to_tag(&ok);
        let media = sdp_media(&ok);
        let ack = ua
            .request("ACK", 1, call, Some(&tag), "a1", None)
            .replace("sip:1001@", &format!("sip:{pilot}@"))
            .replace("sip:5550001@", &format!("sip:{from}@"));
        ua.send(&ack);
        Caller {
            pilot: pilot.to_string(),
            server,
            ua,
            call: call.to_string(),
            tag,
            cseq: 1,
            rtp,
            media,
        }
    }

    pub fn keys(&mut self, keys: &str) {
        for k in keys.chars() {
            self.cseq += 1;
            let info = self
                .ua
                .request_with(
                    "INFO",
                    self.cseq,
                    &self.call,
                    Some(&self.tag),
                    &format!("k{}", self.cseq),
                    Some((
                        "application/dtmf-relay",
                        &format!("Signal={k}\r\nDuration=160\r\n"),
                    )),
                )
                .replace("To: <sip:1001@", &format!("To: <sip:{}@", self.pilot));
            self.ua.send(&info);
            self.ua.expect("SIP/2.0 200 OK");
        }
    }

    /// After the welcome, enter `pin` and `#`, and wait for the logon.
    pub fn log_on(&mut self, pin: &str) {
        self.wait("welcome", 1);
        self.keys(&format!("{pin}#"));
        self.wait("logged_on", 1);
    }

    /// Wait until this call has logged `step` `n` times.
    pub fn wait(&self, step: &str, n: usize) {
        self.server.wait_log(
            &[
                "event=\"ova_menu\"",
                &format!("step={step} "),
                &format!("call_id={}", self.call),
            ],
            n,
            Duration::from_secs(10),
        );
    }

    pub fn speak(&self, ms: u32) {
        send_pcmu(&self.rtp, self.media, &voice_like(ms), 100);
    }

    /// Wait for our BYE and answer it.
    pub fn expect_bye(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let m = self
                .ua
                .recv(deadline.saturating_duration_since(std::time::Instant::now()))
                .expect("BYE from the server");
            if m.starts_with("BYE ") {
                self.ua.send(&ok_response(&m));
                return;
            }
        }
    }

    pub fn hang_up(&mut self) {
        self.cseq += 1;
        let bye = self
            .ua
            .request("BYE", self.cseq, &self.call, Some(&self.tag), "b1", None)
            .replace("To: <sip:1001@", &format!("To: <sip:{}@", self.pilot));
        self.ua.send(&bye);
        self.ua.expect("SIP/2.0 200 OK");
    }
}
