use std::process::Command;

use crate::common::BIN;

/// A scenario whose expectation is wrong on purpose must fail, naming the expectation and what
/// was observed; the JUnit report carries the same.
#[test]
fn a_wrong_expectation_fails_and_says_what_was_observed() {
    let dir = std::env::temp_dir().join(format!("rtc-assist-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.toml");
    std::fs::write(
        &file,
        r#"
name = "deliberately-wrong"
duration_s = 3
[[peer]]
name = "a"
source = "tone:440"
[[peer]]
name = "b"
source = "tone:660"
[expect.peers.a]
connected = true
not_hears = ["b"]
"#,
    )
    .unwrap();
    let junit = dir.join("junit.xml");
    let out = Command::new(BIN)
        .args(["scenario", "run", file.to_str().unwrap(), "--junit", junit.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL deliberately-wrong"), "{stdout}");
    assert!(stdout.contains("peer a: expected no audio from b; observed"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "0 passed, 1 failed"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"1\"") && xml.contains("expected no audio from b"), "{xml}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_invalid_scenario_file_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("rtc-assist-bad-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "name = \"x\"\n[server]\nfaults = [\"F9\"]\n[[peer]]\nname = \"a\"\n").unwrap();
    let out = Command::new(BIN).args(["scenario", "run", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.faults"));
    std::fs::remove_dir_all(&dir).unwrap();
}
