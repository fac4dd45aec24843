//! The in-band DTMF detector against recorded speech (SIPp's g711a.pcap, a person
//! talking for 7 s) and against tones synthesised by sox, with added noise: reports
//! detections and false digits.

mod common;
use common::*;
use openum::media::g711::Law;
use openum::media::inband::InbandDetector;
use std::path::Path;
use std::process::Command;

fn detect(samples: &[i16]) -> String {
    let mut d = InbandDetector::new();
    let mut out = Vec::new();
    for chunk in samples.chunks(160) {
        d.push(chunk, &mut out);
    }
    out.into_iter().collect()
}

#[test]
fn recorded_speech_gives_no_digit() {
    assert!(
        Path::new(G711A_PCAP).exists(),
        "run tools/test: it installs sip-tester and its pcaps"
    );
    let speech: Vec<i16> = pcap_rtp_payloads(Path::new(G711A_PCAP))
        .concat()
        .iter()
        .map(|&b| Law::A.decode(b))
        .collect();
    assert!(speech.len() > 50_000);
    assert_eq!(detect(&speech), "", "false digits in speech");
}

#[test]
fn sox_synthesised_dtmf_with_noise_is_detected() {
    let have_sox = Command::new("sox").arg("--version").output().is_ok();
    assert!(have_sox, "sox is needed: tools/test installs it");
    let dir = tempfile::tempdir().unwrap();
    let (rows, cols) = ([697, 770, 852, 941], [1209, 1336, 1477]);
    let keys = ["123", "456", "789", "*0#"];
    let mut report = Vec::new();
    for noise in [0.0, 0.02, 0.05] {
        let mut expected = String::new();
        let mut parts = Vec::new();
        for (r, row) in keys.iter().enumerate() {
            for (c, k) in row.chars().enumerate() {
                let f = dir.path().join(format!("{k}{r}{c}-{noise}.wav"));
                // 70 ms of the pair, 70 ms of silence; white noise over the whole.
                let st = Command::new("sox")
                    .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
                    .arg(&f)
                    .args([
                        "synth",
                        "0.07",
                        "sine",
                        &rows[r].to_string(),
                        "sine",
                        &cols[c].to_string(),
                        "channels",
                        "1",
                        "vol",
                        "0.3",
                        "pad",
                        "0",
                        "0.07",
                    ])
                    .status()
                    .unwrap();
                assert!(st.success());
                parts.push(f);
                expected.push(k);
            }
        }
        let joined = dir.path().join(format!("all-{noise}.wav"));
        let st = Command::new("sox")
            .args(&parts)
            .arg(&joined)
            .status()
            .unwrap();
        assert!(st.success());
        let file = if noise > 0.0 {
            let n = dir.path().join(format!("noise-{noise}.wav"));
            let st = Command::new("sox")
                .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
                .arg(&n)
                .args(["synth", "1.68", "whitenoise", "vol", &noise.to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            let noisy = dir.path().join(format!("noisy-{noise}.wav"));
            let st = Command::new("sox")
                .arg("-m")
                .arg(&joined)
                .arg(&n)
                .arg(&noisy)
                .status()
                .unwrap();
            assert!(st.success());
            noisy
        } else {
            joined
        };
        let r = hound::WavReader::open(&file).unwrap();
        let s: Vec<i16> = r.into_samples::<i16>().map(|x| x.unwrap()).collect();
        let got = detect(&s);
        report.push((noise, got.clone()));
        assert_eq!(got, expected, "noise {noise}");
    }
    println!("sox DTMF detection by noise level: {report:?}");
}
