//! Benchmark (not a test): `load` against `serve` and against the aiortc double, separate
//! processes on loopback. Prints, for the targets:
//! - server CPU per forwarded packet and forwarded pkt/s per busy core at 240 streams;
//! - offer → connected over 200 connects at 5 joins/s (the connect tail);
//! - server RSS per connected peer at 200 peers;
//! - CPU per delivered packet of `serve` against the aiortc SFU under the same small load.
//!
//! `cargo bench --bench load` (about three minutes, or one part: `-- forwarding|connect|memory|aiortc`; the aiortc part needs the interop venv
//! that `scripts/interop-venv.sh` builds, and is skipped without it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rtc-assist");
/// The steady-state window of the serve-against-aiortc comparison.
const WINDOW: Duration = Duration::from_secs(8);

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server process and reads its URL from the first stdout line that has one.
fn start(mut cmd: Command) -> Server {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("ws://")).map(str::to_owned))
        .expect("server URL");
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, url }
}

fn serve() -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    start(cmd)
}

fn aiortc() -> Option<Server> {
    let home = std::env::var_os("HOME")?;
    let python = PathBuf::from(home).join(".cache/rtc-assist-interop-venv/bin/python");
    if !python.exists() {
        return None;
    }
    let mut cmd = Command::new(python);
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/sfu_server.py"));
    cmd.args(["--host", "127.0.0.1", "--port", "0"]);
    Some(start(cmd))
}

/// CPU seconds a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = procfs::process::Process::new(pid as i32).and_then(|p| p.stat()).expect("stat");
    (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
}

/// Runs `load URL ARGS… --json` and returns its summary object.
fn load(url: &str, args: &[&str]) -> Value {
    let out = Command::new(BIN).args(["load", url, "--json"]).args(args).output().expect("run load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

fn f(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn main() {
    println!("load benchmark (release build, loopback, separate processes)");
    // `cargo bench --bench load -- NAME` runs one part: forwarding, connect, memory, aiortc.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);

    if part("forwarding") {
        let s = serve();
        let r = load(&s.url, &["--rooms", "20", "--peers", "4", "--rate", "20", "--duration", "15"]);
        let w = &r["server"];
        println!(
            "forwarding, 20 rooms x 4 peers (240 streams): {} pkt/s, {} µs server CPU per packet, {} pkt/s per busy core, loss p95 {} %, generator-bound {}",
            f(&w["forwarded_pps"]),
            f(&w["us_per_packet"]),
            f(&w["forwarded_pps_per_core"]),
            f(&r["loss_pct"]["p95"]),
            f(&r["generator_bound"]),
        );
        drop(s);

        let s = serve();
        let r = load(
            &s.url,
            &["--rooms", "100", "--peers", "2", "--rate", "5", "--duration", "3", "--warmup", "1"],
        );
        let t = &r["offer_to_connected_ms"];
        println!(
            "connect tail, 200 connects at 5 joins/s: offer -> connected p50 {} / p90 {} / p99 {} / max {} ms ({} connected, {} failed)",
            f(&t["p50"]),
            f(&t["p90"]),
            f(&t["p99"]),
            f(&t["max"]),
            f(&r["connected"]),
            f(&r["failed"]),
        );
        drop(s);
    }

    if part("memory") {
        let s = serve();
        let args = ["--rooms", "50", "--peers", "4", "--publishers", "1", "--rate", "20", "--duration", "8"];
        let r = load(&s.url, &args);
        println!(
            "memory, 200 peers (50 rooms x 4, one publisher each): {} bytes RSS per peer connection, {} bytes in all, {} threads",
            f(&r["server"]["rss_bytes_per_peer_connection"]),
            f(&r["server"]["rss_bytes"]),
            f(&r["server"]["threads"]),
        );
        drop(s);
    }

    if !part("aiortc") {
        return;
    }
    // Steady state only: the server's CPU over 8 s inside the measured window, against the
    // packets a second the clients received in that window.
    let small = ["--rooms", "2", "--peers", "3", "--rate", "10", "--duration", "16", "--json"];
    let mut per_packet = Vec::new();
    for (name, server) in [("serve", Some(serve())), ("aiortc", aiortc())] {
        let Some(server) = server else {
            println!("{name}: skipped (no interop venv: run scripts/interop-venv.sh)");
            continue;
        };
        let child = Command::new(BIN)
            .args(["load", &server.url])
            .args(small)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run load");
        std::thread::sleep(Duration::from_secs(5));
        let before = cpu_seconds(server.child.id());
        std::thread::sleep(WINDOW);
        let cpu = cpu_seconds(server.child.id()) - before;
        let out = child.wait_with_output().expect("load output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let r: Value = serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or(Value::Null);
        let pps =
            r["packets_received"].as_f64().unwrap_or(0.0) / r["measured_s"].as_f64().unwrap_or(1.0).max(0.1);
        let us = cpu * 1e6 / (pps * WINDOW.as_secs_f64()).max(1.0);
        println!(
            "{name}, 2 rooms x 3 peers, steady state: {:.0} % CPU for {pps:.0} delivered pkt/s = {us:.0} µs per packet",
            100.0 * cpu / WINDOW.as_secs_f64()
        );
        per_packet.push(us);
    }
    if let [ours, theirs] = per_packet[..] {
        println!("aiortc spends {:.0}x the CPU of serve per delivered packet", theirs / ours);
    }
}
