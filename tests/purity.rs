//! The pure-core rule, checked on the source: every module a capability folder declares outside
//! `runtime_modules!` (and without `cfg(feature = "runtime")`) builds without the drivers, and
//! must not name tokio, webrtc-rs, sockets, the clock, files, threads, processes, audio devices
//! or HTTP/Redis clients. Address types come from `core::net`, so `std::net` (which also holds
//! the sockets) is refused outright. Tests inside a module (`#[cfg(test)]` onwards) may do I/O.

use std::path::{Path, PathBuf};

/// Paths a pure module must not use.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "webrtc::",
    "rtc::",
    "rtc_turn",
    "rtc_stun",
    "std::net",
    "std::fs",
    "std::thread",
    "std::process",
    "std::env",
    "Instant::now",
    "SystemTime::now",
    "cpal::",
    "opus::",
    "axum::",
    "hyper::",
    "redis::",
    "procfs::",
    "UdpSocket",
    "TcpStream",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module declarations of a file that are not drivers: `mod x;` lines outside the
/// `runtime_modules!(…)` list and not under a `cfg` naming the runtime feature or tests.
fn core_children(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut gated = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[cfg(") {
            gated = line.contains("runtime") || line.contains("test") || line.contains("fuzzing");
            continue;
        }
        let decl = line.strip_prefix("pub ").unwrap_or(line);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            if !gated {
                out.push(name.trim().to_owned());
            }
        }
        gated = false;
    }
    out
}

/// Every pure module file, from `lib.rs` down.
fn core_files() -> Vec<PathBuf> {
    fn walk(file: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for name in core_children(&text) {
            let (child, child_dir) = if dir.join(&name).join("mod.rs").exists() {
                (dir.join(&name).join("mod.rs"), dir.join(&name))
            } else {
                (dir.join(format!("{name}.rs")), dir.join(&name))
            };
            out.push(child.clone());
            walk(&child, &child_dir, out);
        }
    }
    let mut out = Vec::new();
    walk(&src().join("lib.rs"), &src(), &mut out);
    out
}

/// The code of a module without comments, string literals and its tests.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = String::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

fn violations(text: &str) -> Vec<&'static str> {
    let code = code(text);
    FORBIDDEN.iter().copied().filter(|f| code.contains(f)).collect()
}

#[test]
fn pure_modules_do_no_io() {
    let files = core_files();
    for expected in
        ["signal/protocol.rs", "diagnose/rules.rs", "serve/room.rs", "load/report.rs", "lab/plan.rs"]
    {
        assert!(files.iter().any(|f| f.ends_with(expected)), "{expected} is not seen as a pure module");
    }
    let bad: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let v = violations(&std::fs::read_to_string(f).ok()?);
            (!v.is_empty()).then(|| format!("{}: {v:?}", f.strip_prefix(src()).unwrap_or(f).display()))
        })
        .collect();
    assert!(bad.is_empty(), "pure modules doing I/O:\n{}", bad.join("\n"));
}

#[test]
fn the_check_sees_io_and_ignores_comments_strings_and_tests() {
    assert_eq!(violations("use tokio::net::UdpSocket;"), ["tokio", "UdpSocket"]);
    assert_eq!(violations("use webrtc::api::API;"), ["webrtc::", "rtc::"]);
    assert!(violations("pub mod webrtc_internals;").is_empty());
    assert_eq!(violations("let t = std::time::Instant::now();"), ["Instant::now"]);
    assert!(
        violations("// tokio\nlet s = \"webrtc-internals\";\n#[cfg(test)]\nmod tests { use std::fs; }")
            .is_empty()
    );
    assert_eq!(
        core_children(
            "pub mod a;\nruntime_modules!(b, c);\n#[cfg(feature = \"runtime\")]\npub mod d;\nmod e;"
        ),
        ["a", "e"]
    );
}
