//! All integration tests in one binary (one link, shared helpers). Every test talks to
//! 127.0.0.1 only, with real processes, sockets, webrtc-rs connections and Opus audio.

mod common;

/// `analyze` on join timelines, committed Chromium webrtc-internals dumps and one made live: each code, none when healthy, exit 2 for junk.
mod analyze;
/// WAV file source → serve → a recording peer; device listing; bad files.
mod audio;
/// Room tokens (401 before the upgrade, the room claim at join_room; the same for WHIP sessions), the Origin allow-list, no secrets in output.
mod auth;
/// Headless Chromium (chromedriver) against serve's page, with a CLI peer; fault switches as a browser sees them.
mod browser;

/// Capture through the ALSA file-over-null test devices: formats, resampling, Opus, device errors.
mod capture;
/// Command-line behaviour of the real binary: usage errors, exit codes, help.
mod cli;
/// `serve --redis`: three nodes and a redis-server; redirects, rooms spread by `load`, a killed node's room re-placed, drain, Redis restart.
mod cluster;
/// `probe` against `serve` with and without each `--fault`: exactly the right F-code.
mod diagnosis;
/// Dialect files: another app (the aiortc double) that offers first, joined through `dialects/example-app.toml`; the built-in protocol as a file gives the same timeline against serve; bad files are exit 2.
mod dialects;
/// Every ```console example in README.md and docs/*.md, run against the real binary and a loopback serve.
mod docs_examples;
/// The SFU's own counters agree with what listeners decode (a silent drop fails here).
mod forwarding;
/// Malformed WebSocket frames get `error` replies while another room's audio keeps flowing; the session limit.
mod hostile_frames;
/// Against the aiortc double of the guide's stack: probe codes, join through it, its clients through serve.
mod interop;
/// Debian's Janus Gateway: `join`/`probe --signal janus-…` through the echotest, audiobridge and videoroom; a missing room, a silent NAT mapping, a URL that is not Janus.
mod janus;
/// The network lab (root): NAT types' mapping and filtering (raw UDP and `probe --stun` RFC 5780), no namespace left, cleanup, exit 2 without CAP_NET_ADMIN.
mod lab;
/// Chromium and a join peer behind UDP-blocking firewalls over TURN/TCP 443 in the network lab (root).
mod lab_browser;
/// serve's limits with low settings: frame sizes, pings, join timeout, message and candidate floods, upgrades per address.
mod limits;
/// `load` against serve and the aiortc double: phases, failures by phase, forwarded = received, --pass.
mod load;
/// Clocked real devices (our own PulseAudio): microphone → serve → recording and speaker.
mod pulse_audio;
/// The pure-core rule on the source: no module outside `runtime_modules!` names tokio, webrtc, sockets, the clock or files.
mod purity;
/// Churn and abrupt departures: nothing left behind, others keep their audio.
mod resilience;
/// Two and three tone peers through `serve`: connection, decoded frequencies, renegotiation, leave.
mod rooms;
/// `scenario run`: a wrong expectation fails with what was observed; bad files are usage errors.
mod scenarios;
/// `serve --ice-server` with coturn: the server's own relay, REST credentials handed out per client, static ones kept (F8).
mod serve_ice_server;
/// serve's WHIP/WHEP endpoints against the aiortc WHIP publisher and WHEP viewer, with native peers; hostile requests get a 4xx.
mod serve_whip;
/// `serve --turn`: relay-only peers, the internal-peer guard, time-limited credentials, no leaks.
mod turn;
/// The embedded TURN server's limits: per-username and total allocation quotas (486), the
/// permission cap (508), credential expiry checked at Allocate only.
mod turn_limits;
/// `probe --turn` against Debian's coturn (UDP, TCP, TLS, REST) and our own TURN server.
mod turn_probe;
/// TURN over TCP and TLS for our own peers through the shim (coturn with UDP off).
mod turn_shim;
/// `join --signal whip` against the aiortc WHIP double: publish, DELETE, and each interop breaker named by analyze.
mod whip;
/// Signaling over TLS: join and probe over wss:// with --ca, each TLS failure named, the page over https.
mod wss;
