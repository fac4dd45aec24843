//! End to end: call control with real peers (SIPp) on loopback — two hunt groups on
//! one gateway route two pilots to two dial plans; gateway status changed at run
//! time (NoNewCalls lets the call in progress finish, Disabled refuses, both kept
//! across a restart); 100 concurrent calls spread over both worker arbiters; a call
//! actor killed by fault injection gets its call ended with BYE while 20 others
//! leave full messages; drain; and the router role redirecting to two mailbox-role
//! processes, one of which is killed.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SALES: &str = r#"
[[dial_plan]]
name = "Sales"
uri_type = "TelExtn"
extension_digits = 4
voip_security = "Unsecured"
access_numbers = ["4500"]
phone_context = "sales.demo.openum.local"
mailbox_policy = "Default"

[[hunt_group]]
name = "loopback-sales"
gateway = "loopback"
dial_plan = "Sales"
pilot = "4500"

[[mailbox]]
extension = "3101"
display_name = "Sam Sales"
dial_plan = "Sales"
"#;

/// One call held `hold_ms` with `expect_status.xml`; returns its outcome line.
fn status_call(server: &Server, number: &str, diversion: Option<&str>, hold_ms: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.txt");
    let mut s = Sipp::new(server, "expect_status.xml", number)
        .args(&["-m", "1", "-d", &hold_ms.to_string()])
        .key("outfile", out.to_str().unwrap());
    if let Some(d) = diversion {
        s = s.key("diversion", d);
    }
    let (rc, log) = s.run();
    assert_eq!(rc, 0, "{log}");
    outcomes(&out).join(",")
}

#[test]
fn two_hunt_groups_on_one_gateway_route_two_pilots_to_two_dial_plans() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "c.toml",
        &format!("{}{SALES}", openum::config::DEMO_TOML),
    );
    let server = Server::start(&["--config", cfg.to_str().unwrap()]);
    let sales = Some("Diversion: <sip:3101@pbx.example.com>;reason=no-answer");
    assert_eq!(status_call(&server, "4500", sales, 200), "200");
    server.wait_log(
        &["event=\"call_answered\"", "mailbox=3101", "dial_plan=Sales"],
        1,
        Duration::from_secs(5),
    );
    let demo = Some("Diversion: <sip:1001@pbx.example.com>");
    assert_eq!(status_call(&server, "4000", demo, 200), "200");
    server.wait_log(
        &["event=\"call_answered\"", "mailbox=1001", "dial_plan=Demo"],
        1,
        Duration::from_secs(5),
    );
    // A Demo mailbox diverted to the Sales pilot stays in Sales: its subscriber access.
    assert_eq!(status_call(&server, "4500", demo, 200), "200");
    server.wait_log(
        &["event=\"call_answered\"", "dial_plan=Sales"],
        1,
        Duration::from_secs(5),
    );
    // A pilot the gateway does not know.
    assert_eq!(status_call(&server, "4999", None, 200), "404");
    let r = server.wait_log(
        &["event=\"call_rejected\"", "status=404", "gateway=loopback"],
        1,
        Duration::from_secs(5),
    );
    assert!(r[0].contains("4999"), "{r:?}");
}

#[test]
fn gateway_status_no_new_calls_and_disabled_take_effect_at_run_time_and_persist() {
    let server = Server::start(&[]);
    // A call in progress (held 6 s) when the gateway goes NoNewCalls.
    let first = {
        let s = Sipp::new(&server, "expect_status.xml", "1001").args(&["-m", "1", "-d", "6000"]);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.txt");
        let s = s.key("outfile", out.to_str().unwrap());
        std::thread::spawn(move || {
            let r = s.run();
            (r, outcomes(&out), dir)
        })
    };
    server.wait_log(&["event=\"call_answered\""], 1, Duration::from_secs(10));
    let out = server.cli(&["gateway", "set", "loopback", "--status", "NoNewCalls"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("in effect now"));
    assert_eq!(
        status_call(&server, "1002", None, 100),
        "503 Retry-After: 5"
    );
    server.wait_log(
        &["event=\"call_rejected\"", "status=503", "NoNewCalls"],
        1,
        Duration::from_secs(5),
    );
    // The call in progress completes normally.
    let ((rc, log), lines, _dir) = first.join().unwrap();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(lines, ["200"]);

    let out = server.cli(&["gateway", "set", "loopback", "--status", "Disabled"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(status_call(&server, "1002", None, 100), "403");
    let list = server.cli(&["gateway", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v[0]["status"], "Disabled", "{v}");

    // Kept across a restart: the change is in the store's model, audited.
    let server = server.restart(&[]);
    assert_eq!(status_call(&server, "1002", None, 100), "403");
    let audit: serde_json::Value = server.get("/api/audit").into_json().unwrap();
    let changed = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "ip_gateway" && r["name"] == "loopback")
        .count();
    assert_eq!(changed, 2, "{audit}");
    let out = server.cli(&["gateway", "set", "loopback", "--status", "Enabled"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(status_call(&server, "1002", None, 100), "200");
}

#[test]
fn a_hundred_concurrent_calls_land_on_both_worker_arbiters() {
    let server = Server::start(&["--workers", "2", "--max-calls", "200"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.txt");
    let (rc, log) = Sipp::new(&server, "expect_status.xml", "1001")
        .args(&["-m", "100", "-l", "100", "-r", "100", "-d", "3000"])
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    assert_eq!(outcomes(&out), vec!["200".to_string(); 100]);
    let w0 = server.metric("openum_worker_calls_total{worker=\"0\"}");
    let w1 = server.metric("openum_worker_calls_total{worker=\"1\"}");
    assert_eq!(w0 + w1, 100.0);
    // Least-loaded placement alternates while calls are up.
    assert!(w0 >= 40.0 && w1 >= 40.0, "worker 0: {w0}, worker 1: {w1}");
    wait_for("the calls to end", Duration::from_secs(10), || {
        let st: serde_json::Value = server.get("/api/status").into_json().unwrap();
        (st["active_calls"] == 0 && st["worker_calls"] == serde_json::json!([0, 0])).then_some(())
    });
}

#[test]
fn a_call_actor_that_dies_gets_its_call_ended_with_bye_while_twenty_others_finish() {
    let server = Server::start_env(&["--workers", "2"], &[("OPENUM_FAULT_INJECTION", "1")]);
    let others = Sipp::new(&server, "voicemail.xml", "1001")
        .args(&[
            "-m",
            "20",
            "-l",
            "20",
            "-r",
            "20",
            "-d",
            &GREETING_MS.to_string(),
        ])
        .key("from_user", "5552020")
        .key("pcap", G711A_PCAP);
    let others = std::thread::spawn(move || others.run());
    server.wait_log(
        &["event=\"call_answered\"", "mailbox=1001"],
        20,
        Duration::from_secs(20),
    );
    // The faulty call lands on a worker that is running other calls.
    let (rc, log) = Sipp::new(&server, "fault_call.xml", "1002")
        .args(&["-m", "1"])
        .key("fault_ms", "3000")
        .run();
    assert_eq!(rc, 0, "the dead call must be hung up with BYE: {log}");
    let died = server.wait_log(&["event=\"call_actor_died\""], 1, Duration::from_secs(5));
    assert_eq!(died.len(), 1);
    // The panic is one structured event (no backtrace resolved on the worker).
    let p = server.wait_log(
        &["event=\"panic\"", "fault injection: call actor"],
        1,
        Duration::from_secs(2),
    );
    assert!(!p[0].contains("backtrace"), "{p:?}");
    let (rc, log) = others.join().unwrap();
    assert_eq!(rc, 0, "{log}");
    server.wait_log(
        &["event=\"message_stored\"", "mailbox=1001"],
        20,
        Duration::from_secs(10),
    );
    let msgs = server.messages("1001");
    assert_eq!(msgs.len(), 20);
    for m in &msgs {
        let d = m["duration_ms"].as_u64().unwrap();
        assert!(
            (7000..=7300).contains(&d),
            "a message was disturbed: {d} ms"
        );
    }
    assert!(server.messages("1002").is_empty());
    assert_eq!(server.metric("openum_call_actors_died_total"), 1.0);
    let st: serde_json::Value = server.get("/api/status").into_json().unwrap();
    assert_eq!(st["active_calls"], 0, "{st}");
}

#[test]
fn drain_refuses_new_calls_lets_the_call_in_progress_finish_then_exits() {
    let mut server = Server::start(&[]);
    let caller = Sipp::new(&server, "voicemail.xml", "1001")
        .args(&["-m", "1", "-d", &GREETING_MS.to_string()])
        .key("from_user", "5554444")
        .key("pcap", G711A_PCAP);
    let caller = std::thread::spawn(move || caller.run());
    server.wait_log(&["event=\"recording_started\""], 1, Duration::from_secs(40));
    let out = server.cli(&["service", "drain"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 call(s) in progress"),
        "{out:?}"
    );
    let r = udp_exchange(server.sip_port, OPTIONS.as_bytes()).expect("OPTIONS answered");
    assert!(r.starts_with("SIP/2.0 503"), "{r}");
    assert!(r.contains("Retry-After: 5"), "{r}");
    assert_eq!(
        status_call(&server, "1002", None, 100),
        "503 Retry-After: 5"
    );
    let (rc, log) = caller.join().unwrap();
    assert_eq!(rc, 0, "{log}");
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", server.log_text());
    server.wait_log(
        &["event=\"drain_complete\"", "calls_drained=1", "cut=false"],
        1,
        Duration::from_secs(1),
    );
    let out = server.cli(&["message", "list", "--mailbox", "1001", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let d = list[0]["duration_ms"].as_u64().unwrap();
    assert!((7000..=7300).contains(&d), "full message expected: {d} ms");
}

/// Run `n` calls through the router; returns the node host:port each went to.
fn via_router(router: &Server, n: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nodes.txt");
    let (rc, log) = Sipp::new(router, "redirected_call.xml", "4000")
        .args(&[
            "-m",
            &n.to_string(),
            "-l",
            &n.to_string(),
            "-r",
            "20",
            "-d",
            "1500",
        ])
        .key("diversion", "Diversion: <sip:1001@pbx.example.com>")
        .key("outfile", out.to_str().unwrap())
        .run();
    assert_eq!(rc, 0, "{log}");
    outcomes(&out)
}

#[test]
fn a_router_redirects_calls_to_healthy_mailbox_nodes() {
    let mut a = Server::start(&["--role", "mailbox"]);
    let b = Server::start(&["--role", "mailbox"]);
    let node = |name: &str, s: &Server| {
        format!(
            "[[mailbox_node]]\nname = \"{name}\"\naddress = \"127.0.0.1\"\nport = {}\ntls_port = {}\n",
            s.sip_port, s.sip_tls_port
        )
    };
    let demo = openum::config::DEMO_TOML;
    let local = &demo[demo.find("[[mailbox_node]]").unwrap()..];
    let local = &local[..local.find("tls_port = 5063\n").unwrap() + "tls_port = 5063\n".len()];
    let text = demo
        .replace(local, &format!("{}\n{}", node("a", &a), node("b", &b)))
        .replace("[service]\n", "[service]\nnode_probe_interval_ms = 300\n");
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "router.toml", &text);
    let router = Server::start(&["--role", "router", "--config", cfg.to_str().unwrap()]);
    router.wait_log(&["event=\"mailbox_node_up\""], 2, Duration::from_secs(10));

    let first = via_router(&router, 10);
    assert_eq!(first.len(), 10);
    let on = |s: &Server, v: &[String]| {
        v.iter()
            .filter(|x| x.ends_with(&format!(":{}", s.sip_port)))
            .count()
    };
    assert!(on(&a, &first) >= 3 && on(&b, &first) >= 3, "{first:?}");
    assert_eq!(on(&a, &first) + on(&b, &first), 10);
    a.wait_log(
        &["event=\"call_answered\""],
        on(&a, &first),
        Duration::from_secs(5),
    );
    b.wait_log(
        &["event=\"call_answered\""],
        on(&b, &first),
        Duration::from_secs(5),
    );

    // Node a dies: it leaves the rotation within a probe interval or two.
    a.signal("KILL");
    a.wait_exit(Duration::from_secs(5));
    let t = Instant::now();
    router.wait_log(
        &["event=\"mailbox_node_down\"", "node=\"a\""],
        1,
        Duration::from_secs(5),
    );
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let after = via_router(&router, 4);
    assert_eq!(on(&b, &after), 4, "{after:?}");
    let st: serde_json::Value = router.get("/api/status").into_json().unwrap();
    assert_eq!(st["role"], "router");
    assert_eq!(st["active_calls"], 0);
}

#[test]
fn startup_mode_is_set_per_role_like_set_umcallroutersettings() {
    let router = Server::start(&["--role", "router"]);
    let openum = |args: &[&str]| {
        let out = router.cli(args);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let said = openum(&["service", "set-startup-mode", "TLS", "--role", "router"]);
    assert!(
        said.contains("UMStartupMode TLS for the router role"),
        "{said}"
    );
    assert!(said.contains("restart it"), "{said}");
    openum(&["service", "set-startup-mode", "TCP"]);
    let shown = openum(&["service", "show"]);
    assert!(
        shown.contains("running: role router, Dual") && shown.contains("next start: TLS"),
        "{shown}"
    );
    // At the next start the router runs in its own mode: TLS only.
    let router = router.restart(&["--role", "router"]);
    let rt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(router.data_dir().join("runtime.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rt["startup_mode"], "TLS");
    assert_eq!(rt["role"], "router");
    assert_eq!(router.sip_port, 0);
}

#[test]
fn the_server_allocates_with_jemalloc_and_reports_its_heap() {
    let server = Server::start(&[]);
    // The prompt library alone is megabytes; were glibc the allocator, jemalloc
    // (linked for its statistics) would have served next to nothing.
    let allocated = server.metric("openum_heap_allocated_bytes");
    let resident = server.metric("openum_heap_resident_bytes");
    assert!(allocated > 4e6, "allocated {allocated}");
    assert!(
        resident >= allocated,
        "resident {resident} < allocated {allocated}"
    );
}
