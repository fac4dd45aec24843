//! The admin API against its own OpenAPI document, with schemathesis (PyPI,
//! installed by tools/test): generated requests on every operation (but the
//! drain, which would stop the server), no 5xx, every status, content type and
//! body as documented. Then the server must still answer calls.

mod common;
use common::*;
use std::process::Command;

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_mismatch() {
    let ok = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok();
    assert!(
        ok,
        "schemathesis is not installed: run tools/test, which installs it"
    );
    let server = Server::start(&[]);
    let out = Command::new("schemathesis")
        .current_dir(server.data.path())
        .args(["run", &format!("{}/api/openapi.json", server.admin_url)])
        .args(["-H", &format!("Authorization: Bearer {}", server.token)])
        .args([
            "-c",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--exclude-path", "/api/service/drain"])
        .args(["-n", "20", "--phases", "examples,coverage,fuzzing", "--seed", "7"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
    assert!(
        !server.log_text().contains("event=\"panic\""),
        "{}",
        server.log_text()
    );
    // Still serving: the OpenAPI document is public, the status is not.
    assert_eq!(
        ureq::get(&format!("{}/api/openapi.json", server.admin_url))
            .call()
            .unwrap()
            .status(),
        200
    );
    let st: serde_json::Value = server.get("/api/status").into_json().unwrap();
    assert_eq!(st["draining"], false);
}
