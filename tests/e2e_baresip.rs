//! Interop end to end with a real SIP client: baresip (Debian) calls the Secured demo
//! dial plan's mailbox 2001 over mutual TLS with mandatory SRTP (SDES), streams a
//! 440 Hz tone, hangs up; the stored message must be that tone (frequency measured,
//! not just "not silence"), and the call must have had no SRTP failures. Once with
//! G.711 (PCMU) and once with Opus (RFC 7587, baresip's opus module): the Opus
//! message must be kept wideband (16 kHz) and still be the tone.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

const TONE_HZ: f64 = 440.0;

fn have_baresip() {
    assert!(
        Command::new("baresip").arg("-h").output().is_ok(),
        "baresip is not installed: run tools/test, which installs it"
    );
}

#[test]
fn baresip_over_tls_and_srtp_leaves_a_message_that_is_the_tone_it_sent() {
    tone_call("PCMU", "PCMU", "g711.so", 8000);
}

#[test]
fn baresip_with_opus_over_srtp_leaves_a_wideband_message_of_its_tone() {
    tone_call("opus", "opus/48000/1", "opus.so", 16_000);
}

/// baresip preferring A-law (offer `8 0`) sends PCMA: answered PCMA first
/// (RFC 3264 order), its message is kept whole.
#[test]
fn baresip_preferring_pcma_over_pcmu_leaves_a_whole_message() {
    tone_call("PCMA", "PCMA,PCMU", "g711.so", 8000);
}

/// baresip calls 2001 offering `offer` (its account's audio_codecs, from
/// `module`); the call must be answered with `codec` first, and the message be
/// kept at `rate` and be the tone.
fn tone_call(codec: &str, offer: &str, module: &str, rate: u32) {
    have_baresip();
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let tls = openum::tls::TlsFiles::new(&server.data_dir());
    let client = tls.load("clients/loopback").unwrap();
    let client_pem = dir.path().join("client.pem");
    std::fs::write(&client_pem, format!("{}{}", client.cert, client.key)).unwrap();
    let ca = tls.pair_paths("ca").0;

    // 40 s of tone: longer than the call, so baresip never runs out.
    let tone = dir.path().join("tone.wav");
    // baresip's aufile plays at the codec's own rate only.
    let src_rate = if codec == "opus" { 48_000 } else { 8000 };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: src_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&tone, spec).unwrap();
    for i in 0..src_rate * 40 {
        let v = (2.0 * std::f64::consts::PI * TONE_HZ * i as f64 / src_rate as f64).sin() * 12000.0;
        w.write_sample(v as i16).unwrap();
    }
    w.finalize().unwrap();

    let sip_port = free_sip_listen_port();
    let rtp = free_media_port(); // rtp..rtp+3 are free
    std::fs::write(
        dir.path().join("config"),
        format!(
            "sip_listen 127.0.0.1:{sip_port}\nsip_certificate {}\nsip_cafile {}\n\
audio_source aufile,{}\naudio_player alsa,null\naudio_alert alsa,null\n\
rtp_ports {}-{}\nmodule_path /usr/lib/baresip/modules\nmodule {module}\nmodule srtp.so\n\
module aufile.so\nmodule alsa.so\nmodule_app account.so\nmodule_app menu.so\n\
opus_bitrate 32000\nopus_stereo no\nopus_sprop_stereo no\n",
            client_pem.display(),
            ca.display(),
            tone.display(),
            rtp,
            rtp + 3,
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("accounts"),
        format!(
            "<sip:5550400@localhost;transport=tls>;regint=0;mediaenc=srtp-mand;audio_codecs={offer}\n"
        ),
    )
    .unwrap();
    // baresip resolves names with its own DNS client (no /etc/hosts), so dial the IP;
    // the demo server certificate carries 127.0.0.1 as well as localhost.
    let out = Command::new("baresip")
        .arg("-4")
        .arg("-f")
        .arg(dir.path())
        .arg("-e")
        .arg(format!("/dial sip:2001@127.0.0.1:{}", server.sip_tls_port))
        .args(["-t", "22"])
        .output()
        .expect("run baresip");
    let bs =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        bs.contains("Call established"),
        "baresip output:\n{bs}\nserver log:\n{}",
        server.log_text()
    );

    let stored = server.wait_log(
        &["event=\"message_stored\"", "mailbox=2001"],
        1,
        Duration::from_secs(10),
    );
    assert!(stored[0].contains("end=RemoteHangup"), "{stored:?}");
    let ended = server.wait_log(
        &["event=\"call_ended\"", "srtp=true"],
        1,
        Duration::from_secs(5),
    );
    assert!(
        ended[0].contains("srtp_auth_failures=0") && ended[0].contains("srtp_replays=0"),
        "{ended:?}"
    );
    let answered = server.wait_log(
        &["event=\"call_answered\"", "mailbox=2001"],
        1,
        Duration::from_secs(1),
    );
    assert!(answered[0].contains("transport=\"TLS\""), "{answered:?}");
    assert!(
        answered[0].contains(&format!("codec=\"{codec}\""))
            || answered[0].contains(&format!("codec={codec}")),
        "{answered:?}"
    );

    let list = server.messages("2001");
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_str().unwrap();
    let (stored_rate, samples) = server.message_audio(id);
    assert_eq!(stored_rate, rate, "stored at the wrong rate");
    let per_ms = rate as usize / 1000;
    assert!(
        samples.len() >= per_ms * 4000,
        "only {} ms recorded",
        samples.len() / per_ms
    );
    // Skip the first and last 200 ms (call set-up and hang-up edges).
    let edge = per_ms * 200;
    let body = &samples[edge..samples.len() - edge];
    let f = frequency(body, rate);
    assert!(
        (TONE_HZ - 10.0..=TONE_HZ + 10.0).contains(&f),
        "recorded tone is {f:.1} Hz, sent {TONE_HZ} Hz"
    );
    assert!(
        rms(body) > 3000.0,
        "recorded tone is too quiet: rms {}",
        rms(body)
    );
}
