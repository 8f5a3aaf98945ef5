//! Debian's Janus WebRTC Gateway (1.1) for the Janus signalling tests: the WebSockets transport
//! only, on ws://127.0.0.1:PORT, with the echotest, audiobridge (room 1234, 48 kHz) and videoroom
//! (room 1234, six publishers, opus) plugins, from a temporary configuration folder (the same
//! setup as /work/shared/acceptance/lib/janus.sh). Janus never gathers ICE candidates on
//! loopback, so its ICE is pinned to this machine's own non-loopback IPv4 address ([`Janus::ice_ip`]):
//! clients `--bind` to it and every packet stays on this host.

use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::coturn::free_port;

/// What differs between the tests' Janus instances.
#[derive(Clone, Debug)]
pub struct JanusOptions {
    /// Seconds without a request before Janus times a session out (`general.session_timeout`).
    pub session_timeout: u32,
    /// `nat.nat_1_1_mapping`: the address Janus advertises in its candidates instead of its own.
    /// A wrong one alone does not make ICE fail while Janus can reach the client's candidates:
    /// the client learns Janus' real address as a peer-reflexive candidate from its checks.
    pub nat_1_1_mapping: Option<String>,
    /// `nat.full_trickle`: Janus trickles its own candidates instead of putting them in the SDP.
    pub full_trickle: bool,
}

impl Default for JanusOptions {
    fn default() -> Self {
        Self { session_timeout: 60, nat_1_1_mapping: None, full_trickle: false }
    }
}

/// A running Janus, killed (and its configuration folder removed) on drop.
pub struct Janus {
    child: Child,
    port: u16,
    ice_ip: String,
    dir: PathBuf,
}

impl Janus {
    /// Janus with the default options.
    pub fn start() -> Self {
        Self::start_with(JanusOptions::default())
    }

    /// Writes the configuration, starts Janus and waits (up to 10 s) until its WebSocket port
    /// listens; panics with the end of its log when it does not.
    pub fn start_with(opts: JanusOptions) -> Self {
        let lib = plugins_lib().expect("Janus' plugins folder (apt-get install janus; scripts/deps.sh does)");
        let ice_ip = own_ipv4().expect("a non-loopback IPv4 address for Janus' ICE");
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("rtc-assist-janus-{}-{port}", std::process::id()));
        for sub in ["plugins", "transports", "events", "loggers"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for p in ["echotest", "audiobridge", "videoroom"] {
            let so = format!("libjanus_{p}.so");
            std::os::unix::fs::symlink(lib.join("plugins").join(&so), dir.join("plugins").join(&so)).unwrap();
        }
        let ws = "libjanus_websockets.so";
        std::os::unix::fs::symlink(lib.join("transports").join(ws), dir.join("transports").join(ws)).unwrap();

        let d = dir.display();
        let mut nat = format!("ice_tcp = false ignore_mdns = true ice_enforce_list = \"{ice_ip}\"");
        if let Some(addr) = &opts.nat_1_1_mapping {
            write!(nat, " nat_1_1_mapping = \"{addr}\"").unwrap();
        }
        if opts.full_trickle {
            nat.push_str(" full_trickle = true");
        }
        let files = [
            (
                "janus.jcfg",
                format!(
                    "general: {{ configs_folder = \"{d}\" plugins_folder = \"{d}/plugins\" \
                     transports_folder = \"{d}/transports\" events_folder = \"{d}/events\" \
                     loggers_folder = \"{d}/loggers\" debug_level = 4 session_timeout = {} \
                     event_handlers = false }}\nmedia: {{ ipv6 = false }}\nnat: {{ {nat} }}\n",
                    opts.session_timeout
                ),
            ),
            (
                "janus.transport.websockets.jcfg",
                format!(
                    "general: {{ ws = true ws_port = {port} ws_ip = \"127.0.0.1\" wss = false }}\n\
                     admin: {{ admin_ws = false admin_wss = false }}\n"
                ),
            ),
            ("janus.plugin.echotest.jcfg", "general: { }\n".into()),
            (
                "janus.plugin.audiobridge.jcfg",
                "general: { }\nroom-1234: { description = \"test\" sampling_rate = 48000 }\n".into(),
            ),
            (
                "janus.plugin.videoroom.jcfg",
                "general: { }\nroom-1234: { description = \"test\" publishers = 6 audiocodec = \"opus\" }\n"
                    .into(),
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }

        let log = std::fs::File::create(dir.join("janus.log")).unwrap();
        let child = Command::new("janus")
            .arg("-F")
            .arg(&dir)
            .arg("-C")
            .arg(dir.join("janus.jcfg"))
            .arg("-P")
            .arg(dir.join("plugins"))
            .arg("--disable-colors")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("janus is installed by scripts/deps.sh");
        let mut janus = Self { child, port, ice_ip, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = janus.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                panic!("janus did not listen on {port} ({exited:?}):\n{}", tail(&janus.log(), 20));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        janus
    }

    /// `ws://127.0.0.1:PORT` (subprotocol `janus-protocol`).
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The only address Janus gathers candidates on: clients must `--bind` to it.
    pub fn ice_ip(&self) -> &str {
        &self.ice_ip
    }

    /// Everything Janus has printed so far (stdout and stderr), for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("janus.log")).unwrap_or_default()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian's multiarch folder of Janus' plugins and transports, or the plain one.
fn plugins_lib() -> Option<PathBuf> {
    let multiarch = format!("/usr/lib/{}-linux-gnu/janus", std::env::consts::ARCH);
    [multiarch.as_str(), "/usr/lib/janus"].into_iter().map(PathBuf::from).find(|d| d.join("plugins").is_dir())
}

/// This machine's own IPv4 address: the source of the route to a TEST-NET address (nothing is
/// sent), else the first non-loopback one `hostname -I` lists.
fn own_ipv4() -> Option<String> {
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let is_v4 = |w: &&str| w.parse::<std::net::Ipv4Addr>().is_ok_and(|a| !a.is_loopback());
    let route = run("ip", &["-4", "route", "get", "192.0.2.123"]);
    let mut words = route.split_whitespace();
    let src = words.by_ref().find(|w| *w == "src").and_then(|_| words.next()).filter(is_v4);
    src.map(str::to_owned)
        .or_else(|| run("hostname", &["-I"]).split_whitespace().find(is_v4).map(str::to_owned))
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
