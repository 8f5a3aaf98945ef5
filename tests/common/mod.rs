//! Helpers: start the real `serve`, run real `join` peers with `--json`, read their output.

#![allow(dead_code)]

pub mod certs;
pub mod coturn;
pub mod interop;
pub mod janus;
pub mod pulse;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rtc-assist");

/// A running `serve`, killed on drop.
pub struct Serve {
    child: Child,
    /// `ws://ADDR/ws`, or `wss://ADDR/ws` when serve runs with --tls-cert.
    pub url: String,
    /// ADDR (host:port).
    pub http: String,
    /// The embedded TURN server's URL when serve runs with --turn.
    pub turn_url: Option<String>,
    /// What serve printed on stdout when it started: its banner line, and the TURN line with --turn.
    pub banner: String,
    /// Everything serve wrote to stderr, drained by a thread so logging never blocks it.
    logs: Arc<Mutex<String>>,
}

impl Serve {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with_env(extra, &[])
    }

    /// Starts serve with extra environment variables (secrets travel this way).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_at("127.0.0.1:0", extra, env)
    }

    /// Starts serve listening on `listen` (a cluster node must know its port to advertise it).
    pub fn start_at(listen: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_in(None, listen, extra, env)
    }

    /// Starts serve inside network namespace `netns` (a lab host), or here when `None`.
    pub fn start_in(netns: Option<&str>, listen: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = in_netns(netns, BIN);
        cmd.args(["serve", "--listen", listen]).args(extra).envs(env.iter().copied());
        Self::spawn(cmd, extra.contains(&"--turn"))
    }

    /// Starts serve on 127.0.0.1:0 with working directory `dir`, so relative paths in `extra`
    /// (`--record rec`, `--tls-cert localhost.pem`) are the directory's.
    pub fn start_in_dir(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir).args(["serve", "--listen", "127.0.0.1:0"]).args(extra).envs(env.iter().copied());
        Self::spawn(cmd, extra.contains(&"--turn"))
    }

    /// Spawns `cmd` (a `serve` command line) and reads its banner: one line, two with `--turn`.
    fn spawn(mut cmd: Command, turn: bool) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn serve");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).expect("serve banner");
        let mut banner = line.clone();
        let turn_url = if turn {
            let mut t = String::new();
            out.read_line(&mut t).expect("TURN banner");
            banner.push_str(&t);
            t.split_whitespace().find(|w| w.starts_with("turn:")).map(str::to_owned)
        } else {
            None
        };
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("ws://") || w.starts_with("wss://"))
            .expect("ws:// or wss:// url in banner")
            .to_owned();
        let http = url.split_once("://").unwrap().1.trim_end_matches("/ws").to_owned();
        let logs = Arc::new(Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), logs.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        Self { child, url, http, turn_url, banner, logs }
    }

    /// The server process's id (for /proc figures).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// GET /stats as JSON.
    pub fn stats(&self) -> Value {
        self.stats_query("")
    }

    /// GET /stats?QUERY as JSON.
    pub fn stats_query(&self, query: &str) -> Value {
        let mut s = TcpStream::connect(&self.http).expect("connect stats");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let host = &self.http;
        write!(s, "GET /stats?{query} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        let json = &body[body.find("\r\n\r\n").expect("http body") + 4..];
        serde_json::from_str(json).unwrap_or_else(|e| panic!("stats not JSON ({e}): {json}"))
    }
}

impl Serve {
    /// Waits (up to 5 s) until `settled` holds, then stops the server and returns its log.
    pub fn stop_after(self, settled: impl Fn(&Self) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !settled(&self) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop()
    }

    /// Stops the server (SIGKILL: nothing of it is cleaned up) and returns what it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `join ROOM --server URL --source tone:HZ --duration SECS --json --expect-audio`.
pub fn join(url: &str, room: &str, hz: u32, secs: f64) -> Child {
    join_with(url, room, hz, secs, &[])
}

/// [`join`] with extra arguments.
pub fn join_with(url: &str, room: &str, hz: u32, secs: f64, extra: &[&str]) -> Child {
    Command::new(BIN)
        .args([
            "join",
            room,
            "--server",
            url,
            "--source",
            &format!("tone:{hz}"),
            "--duration",
            &secs.to_string(),
        ])
        .args(["--json", "--expect-audio"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn join")
}

/// What a finished `join` printed.
pub struct Finished {
    pub code: i32,
    pub events: Vec<Value>,
    pub stderr: String,
}

impl Finished {
    pub fn summary(&self) -> &Value {
        self.events.iter().rev().find(|e| e["event"] == "summary").expect("summary line")
    }

    /// (the peer its stream id names, packets, frequency) of every received stream in the summary.
    pub fn heard(&self) -> Vec<(Option<String>, u64, Option<f64>)> {
        let streams = self.summary()["streams"].as_array().cloned().unwrap_or_default();
        streams
            .into_iter()
            .map(|s| {
                let from = s["from_peer"].as_str().map(str::to_owned);
                (from, s["packets"].as_u64().unwrap_or(0), s["freq_hz"].as_f64())
            })
            .collect()
    }

    pub fn heard_freq(&self, hz: f64) -> bool {
        self.packets_at(hz) > 0
    }

    /// Packets of the streams whose dominant frequency is `hz` (±2 %): a tone names its sender
    /// whatever the server called the stream.
    pub fn packets_at(&self, hz: f64) -> u64 {
        self.heard()
            .iter()
            .filter(|(_, _, f)| f.is_some_and(|f| (f - hz).abs() <= hz * 0.02))
            .map(|(_, p, _)| *p)
            .sum()
    }

    pub fn my_id(&self) -> String {
        self.summary()["peer_id"].as_str().unwrap().to_owned()
    }

    pub fn events_named(&self, name: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == name).collect()
    }
}

/// A command running `program` inside network namespace `netns` (`ip netns exec`, which execs
/// it: the child's pid is the program's), or here when `None`.
pub fn in_netns(netns: Option<&str>, program: &str) -> Command {
    match netns {
        None => Command::new(program),
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
    }
}

pub fn finish(child: Child) -> Finished {
    let out = child.wait_with_output().expect("join output");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect();
    Finished {
        code: out.status.code().unwrap_or(-1),
        events,
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}
