//! The interop test double (tests/interop/): an aiortc SFU of the guide's design
//! (`sfu_server.py`, healthy or with a catalogue `--fault`), its browser-like client
//! (`client.py`), a WHIP/WHEP server (`whip_server.py`, healthy or with `--fault` switches) and a
//! WHIP publisher / WHEP viewer (`whip_client.py`) and another app's signaling with its own JSON
//! names (`dialect_server.py`), run as processes on loopback from the virtualenv
//! `scripts/interop-venv.sh` makes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The virtualenv's python, made (once per process) by `scripts/interop-venv.sh`.
pub fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let made = PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo("scripts/interop-venv.sh"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run bash scripts/interop-venv.sh: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.lines().last().map(str::trim) {
            Some(path) if out.status.success() && !path.is_empty() => Ok(PathBuf::from(path)),
            _ => Err(format!(
                "scripts/interop-venv.sh failed ({}): {}{}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    });
    made.clone().unwrap_or_else(|e| panic!("interop virtualenv (aiortc) unavailable: {e}"))
}

fn python(script: &str) -> Command {
    let mut cmd = Command::new(venv_python());
    cmd.arg(repo("tests/interop").join(script))
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Collects everything a reader yields into a shared string, on its own thread (done at EOF).
fn drain(from: impl Read + Send + 'static) -> (Arc<Mutex<String>>, JoinHandle<()>) {
    let sink = Arc::new(Mutex::new(String::new()));
    let to = sink.clone();
    let done = std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let mut all = to.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    (sink, done)
}

/// A double server process: its stderr collected, killed on drop.
struct Listening {
    child: Child,
    logs: Arc<Mutex<String>>,
}

impl Listening {
    /// Spawns `cmd` (a `python(script)` command) and waits, bounded, for its first stdout line
    /// `listening URL`; returns the URL. Panics with what it logged when it does not start.
    fn start(mut cmd: Command, script: &str) -> (Self, String) {
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn tests/interop/{script}: {e}"));
        let (logs, _) = drain(child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            lines.for_each(drop);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) if line.starts_with("listening ") => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("{script} did not start ({other:?}):\n{}", logs.lock().unwrap());
            }
        };
        let url = line.split_whitespace().nth(1).expect("url in listening line").to_owned();
        (Self { child, logs }, url)
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
        self.logs()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `sfu_server.py`, killed on drop.
pub struct InteropServer {
    process: Listening,
    /// `ws://127.0.0.1:PORT/ws`, or `wss://localhost:PORT/ws` with TLS.
    pub url: String,
}

impl InteropServer {
    /// Starts the double server: `fault` is a catalogue switch ("F1", "F3-null", "F7", …) or
    /// None for the healthy server; `tls` is (certificate, key) for wss://.
    pub fn start(fault: Option<&str>, tls: Option<(&Path, &Path)>) -> Self {
        let mut cmd = python("sfu_server.py");
        cmd.args(["--host", "127.0.0.1", "--port", "0"]);
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        if let Some((cert, key)) = tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let (process, url) = Listening::start(cmd, "sfu_server.py");
        Self { process, url }
    }

    /// Everything the server logged so far (one line per milestone, 8-character peer ids).
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Stops the server and returns what it logged.
    pub fn stop(mut self) -> String {
        self.process.stop()
    }
}

/// A running `whip_server.py`: WHIP (`POST {base}/whip/ROOM`) and WHEP (`POST {base}/whep/ROOM`)
/// endpoints, sessions answering PATCH and DELETE; killed on drop.
pub struct WhipDouble {
    process: Listening,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl WhipDouble {
    /// Starts the WHIP/WHEP double: `faults` are its switches ("no-location",
    /// "wrong-content-type", "status-500", "patch-405", "no-delete", "etag-ignored",
    /// "no-candidates", "private-candidates", "ice-servers"); none for the healthy server.
    pub fn start(faults: &[&str]) -> Self {
        let mut cmd = python("whip_server.py");
        cmd.args(["--host", "127.0.0.1", "--port", "0"]);
        if !faults.is_empty() {
            cmd.args(["--fault", &faults.join(",")]);
        }
        let (process, base) = Listening::start(cmd, "whip_server.py");
        Self { process, base }
    }

    /// The WHIP endpoint of `room`: `{base}/whip/{room}`.
    pub fn whip_url(&self, room: &str) -> String {
        format!("{}/whip/{room}", self.base)
    }

    /// The WHEP endpoint of `room`: `{base}/whep/{room}`.
    pub fn whep_url(&self, room: &str) -> String {
        format!("{}/whep/{room}", self.base)
    }

    /// Everything the server logged so far (one line per request, `METHOD PATH -> STATUS (…)`,
    /// and per milestone, 8-character session ids).
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Stops the server and returns what it logged.
    pub fn stop(mut self) -> String {
        self.process.stop()
    }
}

/// A running client script (`client.py`, `whip_client.py`); `finish` waits for its JSON report.
pub struct InteropClient {
    script: &'static str,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    drains: Vec<JoinHandle<()>>,
    bound: Duration,
}

/// Starts the browser-like client: joins `room`, sends a `hz` tone for `secs` seconds after its
/// offer; `trickle` sends the offer without candidates and trickles them (nested form); `ca`
/// is the CA certificate for a wss:// url.
pub fn spawn_client(
    url: &str,
    room: &str,
    hz: f64,
    secs: f64,
    trickle: bool,
    ca: Option<&Path>,
) -> InteropClient {
    let mut cmd = python("client.py");
    cmd.args(["--url", url, "--room", room, "--tone", &hz.to_string(), "--duration", &secs.to_string()]);
    if trickle {
        cmd.arg("--trickle");
    }
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    InteropClient::spawn(cmd, "client.py", secs)
}

impl InteropClient {
    /// Spawns `cmd` (a `python(script)` command) whose run lasts about `secs` seconds; `finish`
    /// gives it a minute more.
    fn spawn(mut cmd: Command, script: &'static str, secs: f64) -> Self {
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn tests/interop/{script}: {e}"));
        let (stdout, out_done) = drain(child.stdout.take().unwrap());
        let (stderr, err_done) = drain(child.stderr.take().unwrap());
        let bound = Duration::from_secs_f64(secs + 60.0);
        Self { script, child, stdout, stderr, drains: vec![out_done, err_done], bound }
    }

    /// Waits (up to `within`) for a stderr line starting with `prefix`; returns the rest of it.
    /// None when it does not come in time or the process exits without it.
    pub fn stderr_line(&mut self, prefix: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            // Whether all its stderr is in, looked at before searching it.
            let ended = self.child.try_wait().ok().flatten().is_some()
                && self.drains.iter().all(JoinHandle::is_finished);
            let found =
                self.stderr.lock().unwrap().lines().find_map(|l| l.strip_prefix(prefix).map(str::to_owned));
            if found.is_some() || ended || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the client wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) and returns the client's JSON report with `exit_code` added (0, or 2 when
    /// its server was unreachable). Panics when it hangs, crashes or prints no JSON.
    pub fn finish(mut self) -> Value {
        let deadline = Instant::now() + self.bound;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the client") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} still running after {:?}:\n{}",
                    self.script,
                    self.bound,
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for done in std::mem::take(&mut self.drains) {
            let _ = done.join(); // its pipes are at EOF once it exited
        }
        let (stdout, stderr) = (self.stdout.lock().unwrap().clone(), self.stderr.lock().unwrap().clone());
        let code = status.code().unwrap_or(-1);
        let json = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        let mut report: Value = match serde_json::from_str(json) {
            Ok(v) if code == 0 || code == 2 => v,
            _ => panic!("{} exited {code} without a JSON report:\n{stdout}\n{stderr}", self.script),
        };
        report["exit_code"] = code.into();
        report
    }
}

impl Drop for InteropClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spawn_client(…).finish()`: runs one client to the end. Run several at once with `spawn_client`.
pub fn run_client(url: &str, room: &str, hz: f64, secs: f64, trickle: bool, ca: Option<&Path>) -> Value {
    spawn_client(url, room, hz, secs, trickle, ca).finish()
}

/// Whether a client report heard `hz` (within 2 %) on any received track.
pub fn client_heard(report: &Value, hz: f64) -> bool {
    report["tracks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["freq_hz"].as_f64().is_some_and(|f| (f - hz).abs() <= hz * 0.02))
}

/// Starts `whip_client.py` (an aiortc WHIP publisher or WHEP viewer) with `args`:
/// `--whip URL [--hz HZ]` or `--whep URL`, `[--seconds S] [--trickle]`. Once its POST is
/// answered it writes a stderr line `created {"post_status", "location", "etag"}` (see
/// [`InteropClient::stderr_line`]).
pub fn spawn_whip_client(args: &[&str]) -> InteropClient {
    let secs = args
        .iter()
        .position(|a| *a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(8.0);
    let mut cmd = python("whip_client.py");
    cmd.args(args);
    InteropClient::spawn(cmd, "whip_client.py", secs)
}

/// `spawn_whip_client(args).finish()`: its JSON report (`post_status`, `location`, `etag`,
/// `patch_status`, `delete_status`, `connected`, `heard_hz`, `rms_dbfs`, `packets`, …) with
/// `exit_code` added.
pub fn run_whip_client(args: &[&str]) -> Value {
    spawn_whip_client(args).finish()
}

/// A running `dialect_server.py`: "another app" with its own JSON names over WebSocket, where
/// the server sends the first offer (aiortc, a sine) and requires the subprotocol
/// `example-app.v1`; `dialects/example-app.toml` speaks it. Killed on drop.
pub struct DialectDouble {
    process: Listening,
    /// `ws://127.0.0.1:PORT`.
    pub url: String,
}

impl DialectDouble {
    /// Starts the double sending a `hz` tone; `split` offers a `sendonly` m-line (the tone) and
    /// a `recvonly` one instead of one `sendrecv`.
    pub fn start(hz: f64, split: bool) -> Self {
        let mut cmd = python("dialect_server.py");
        cmd.args(["--host", "127.0.0.1", "--port", "0", "--tone", &hz.to_string()]);
        cmd.args(["--offer", if split { "split" } else { "sendrecv" }]);
        let (process, url) = Listening::start(cmd, "dialect_server.py");
        Self { process, url }
    }

    /// Waits (up to `within`) until `count` sessions have ended and returns their `report {json}`
    /// lines, parsed, in the order they ended (fewer when they do not come in time): what the
    /// double heard from each peer (`packets`, `freq_hz`, `rms_dbfs`), `connected`,
    /// `answer_direction`, `candidates_added`, `end_of_candidates`, `pings`, `received` (the ops
    /// in order), `errors`.
    pub fn reports(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let reports: Vec<Value> = self
                .logs()
                .lines()
                .filter_map(|l| l.strip_prefix("report "))
                .map(|j| {
                    serde_json::from_str(j).unwrap_or_else(|e| panic!("report line not JSON ({e}): {j}"))
                })
                .collect();
            if reports.len() >= count || Instant::now() > deadline {
                return reports;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the double logged so far (one line per milestone, the `report` lines).
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Stops the double and returns what it logged.
    pub fn stop(mut self) -> String {
        self.process.stop()
    }
}
