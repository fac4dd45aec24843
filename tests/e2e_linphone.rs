//! Interop with a second real SIP client: Debian's linphone (linphonec 5.x, its
//! sound card replaced by files) preferring PCMA over PCMU calls the demo
//! mailbox 1001 over UDP and plays a 440 Hz tone. The answer must put PCMA
//! first (RFC 3264: the offer's order), and the stored message must be the tone
//! and as long as what was sent after the beep. linphone also sends STUN on
//! the RTP port (its ICE is on by default): that must not count as RTP.

mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn linphone_preferring_pcma_leaves_a_whole_message_of_its_tone() {
    assert!(
        Command::new("linphonec").arg("-v").output().is_ok(),
        "linphonec is not installed: run tools/test, which installs linphone-cli"
    );
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&tone, spec).unwrap();
    for i in 0..8000 * 60 {
        let v = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 8000.0).sin() * 12000.0;
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();
    let (sip, rtp) = (free_sip_listen_port(), free_media_port());
    let rc = dir.path().join("linphonerc");
    std::fs::write(
        &rc,
        format!(
            "[sip]\nsip_port={sip}\nsip_tcp_port=-1\nsip_tls_port=-1\n\
[rtp]\naudio_rtp_port={rtp}\n[sound]\nechocancellation=0\n[net]\nipv6=0\n\
[audio_codec_0]\nmime=PCMA\nrate=8000\nenabled=1\n\
[audio_codec_1]\nmime=PCMU\nrate=8000\nenabled=1\n\
[audio_codec_2]\nmime=opus\nrate=48000\nenabled=0\n"
        ),
    )
    .unwrap();
    let mut lp = Command::new("linphonec")
        .args(["-c", rc.to_str().unwrap(), "-d", "0"])
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run linphonec");
    let mut stdin = lp.stdin.take().unwrap();
    let mut say = |line: &str| {
        let _ = writeln!(stdin, "{line}");
        let _ = stdin.flush();
    };
    say("soundcard use files");
    say(&format!("play {}", tone.display()));
    say(&format!("ports sip {sip}"));
    say(&format!("call sip:1001@127.0.0.1:{}", server.sip_port));
    let answered = server.wait_log(
        &["event=\"call_answered\"", "mailbox=1001"],
        1,
        Duration::from_secs(20),
    );
    assert!(answered[0].contains("codec=\"PCMA\""), "{answered:?}");
    server.wait_log(&["event=\"recording_started\""], 1, Duration::from_secs(30));
    // 4 s of the caller's audio after the beep (200 packets of 20 ms).
    let rtp_in = |s: &Server| s.metric("openum_rtp_packets_received_total");
    let at = rtp_in(&server);
    wait_for("4 s of linphone's RTP", Duration::from_secs(20), || {
        (rtp_in(&server) >= at + 200.0).then_some(())
    });
    say("terminate");
    let stored = server.wait_log(
        &["event=\"message_stored\"", "mailbox=1001"],
        1,
        Duration::from_secs(15),
    );
    say("quit");
    drop(stdin);
    let _ = lp.wait();
    assert!(stored[0].contains("end=RemoteHangup"), "{stored:?}");
    let ended = server.wait_log(&["event=\"call_ended\""], 1, Duration::from_secs(5));
    assert!(
        ended[0].contains("rtp_malformed=0") && ended[0].contains("rtp_foreign_pt=0"),
        "{ended:?}"
    );
    let list = server.messages("1001");
    assert_eq!(list.len(), 1, "{list:?}");
    let d = list[0]["duration_ms"].as_u64().unwrap();
    assert!(d >= 3900, "only {d} ms kept of at least 4000 sent");
    let id = list[0]["id"].as_str().unwrap();
    let (rate, s) = server.message_audio(id);
    let body = &s[s.len() / 5..s.len() * 4 / 5];
    let f = frequency(body, rate);
    assert!(
        (430.0..=450.0).contains(&f),
        "the message is {f:.0} Hz, 440 Hz was sent"
    );
    assert!(
        rms(body) > 3000.0,
        "the message is quiet: rms {}",
        rms(body)
    );
}
