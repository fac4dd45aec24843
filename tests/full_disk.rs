//! A full disk during deposits: the data directory is a 24 MiB tmpfs (mounted by
//! the test: tools/test runs as root), filled up by a file while the server runs.
//! A caller who ends with `#` then hears "your message could not be saved", the
//! failure is logged, nothing partial is listed, the server keeps serving, and
//! once space is freed the next deposit is saved.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

/// Unmounts on drop (also when the test fails), before the temp dir goes.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn pound_call(server: &Server, from: &str) -> (i32, String) {
    Sipp::new(server, "voicemail_pound.xml", "1001")
        .args(&["-m", "1", "-d", &GREETING_MS.to_string()])
        .key("from_user", from)
        .key("diversion", "X-Test: none")
        .key("pcap", G711A_PCAP)
        .key("dtmf_pcap", POUND_PCAP)
        .run()
}

/// Fill the filesystem of `dir` with one file; returns it.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_fails_the_deposit_cleanly_and_freeing_space_heals_it() {
    have_sipp();
    let data = tempfile::tempdir().unwrap();
    let d = data.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&d)
        .status()
        .expect("run mount");
    assert!(
        st.success(),
        "mounting a tmpfs needs root (tools/test and CI run as root)"
    );
    let _mount = Mount(d.clone());
    let server = Server::start_at(data, &[]);
    // One message saved while there is room.
    let (rc, log) = pound_call(&server, "5551111");
    assert_eq!(rc, 0, "{log}");
    server.wait_log(
        &["event=\"message_stored\"", "caller=5551111"],
        1,
        Duration::from_secs(10),
    );

    let filler = fill(&d);
    let (rc, log) = pound_call(&server, "5552222");
    assert_eq!(
        rc, 0,
        "the caller must still be answered and hung up: {log}"
    );
    let failed = server.wait_log(
        &["event=\"message_store_failed\""],
        1,
        Duration::from_secs(10),
    );
    assert!(failed[0].contains("mailbox=1001"), "{failed:?}");
    let bye = server.wait_log(
        &["event=\"deposit_goodbye\"", "message_not_saved"],
        1,
        Duration::from_secs(5),
    );
    assert_eq!(bye.len(), 1);
    // The store is consistent: the first message only, whole.
    let r = server.api("GET", "/api/mailboxes/1001/messages").call();
    assert!(r.is_ok(), "{:?}\n{}", r.err(), server.log_text());
    let msgs = server.messages("1001");
    assert_eq!(msgs.len(), 1, "{msgs:?}\n{}", server.log_text());
    assert_eq!(msgs[0]["caller_id"], "5551111");

    // Space again: the next caller is saved.
    std::fs::remove_file(&filler).unwrap();
    let (rc, log) = pound_call(&server, "5553333");
    assert_eq!(rc, 0, "{log}");
    server.wait_log(
        &["event=\"message_stored\"", "caller=5553333"],
        1,
        Duration::from_secs(10),
    );
    server.wait_log(
        &["event=\"deposit_goodbye\"", "message_saved_goodbye"],
        2,
        Duration::from_secs(5),
    );
    let msgs = server.messages("1001");
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let id = msgs[1]["id"].as_str().unwrap();
    let wav = server.get(&format!("/api/messages/{id}/audio.wav"));
    assert_eq!(wav.status(), 200);
}
