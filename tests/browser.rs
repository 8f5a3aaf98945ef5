use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::common::coturn::free_port;
use crate::common::{BIN, Serve, finish, in_netns};

/// chromedriver driving Debian's headless Chromium with fake media and no network but loopback.
pub(crate) struct Browser {
    driver: Child,
    pub(crate) client: Client,
    profile: std::path::PathBuf,
}

impl Browser {
    pub(crate) async fn start() -> Self {
        Self::start_in(None, &[]).await
    }

    /// chromedriver (and so Chromium, with `extra` arguments) inside network namespace `netns`:
    /// the calling thread must be in it too (`Lab::enter`), since chromedriver listens on that
    /// namespace's loopback.
    pub(crate) async fn start_in(netns: Option<&str>, extra: &[String]) -> Self {
        // fantoccini talks plain HTTP to chromedriver, but its TLS stack wants a provider chosen.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let driver = in_netns(netns, "chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed by scripts/deps.sh");
        let profile = std::env::temp_dir().join(format!("rtc-assist-chromium-{port}"));
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend_from_slice(extra);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": args,
                // Downloads (webrtc-internals dumps, tests/analyze.rs) land in the profile.
                "prefs": {
                    "download.default_directory": profile.join("downloads"),
                    "download.prompt_for_download": false,
                }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(15);
        let client = loop {
            match ClientBuilder::rustls().unwrap().capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("chromedriver: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Self { driver, client, profile }
    }

    pub(crate) async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or(Value::Null)
    }

    /// Polls the page log until it contains `needle`.
    pub(crate) async fn log_contains(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let log = self.eval("return window.rtcAssist ? window.rtcAssist.log() : ''").await;
            let log = log.as_str().unwrap_or_default().to_owned();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub(crate) async fn inbound(&self) -> (u64, f64) {
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.rtcAssist.pc().getStats().then((s) => {
                   let packets = 0, level = 0;
                   s.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') {
                     packets += r.packetsReceived || 0; level = Math.max(level, r.audioLevel || 0); } });
                   done([packets, level]);
                 });",
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        (v[0].as_u64().unwrap_or(0), v[1].as_f64().unwrap_or(0.0))
    }

    /// Where the browser saves downloads.
    pub(crate) fn downloads(&self) -> std::path::PathBuf {
        self.profile.join("downloads")
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub(crate) fn page(serve: &Serve, room: &str) -> String {
    format!("http://{}/?room={room}&autojoin=1", serve.http)
}

#[test]
fn chromium_and_a_cli_peer_hear_each_other_through_serve() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let serve = Serve::start(&[]);
        let browser = Browser::start().await;
        let cli = Command::new(BIN)
            .args([
                "join",
                "web",
                "--server",
                &serve.url,
                "--source",
                "tone:660",
                "--duration",
                "14",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        browser.client.goto(&page(&serve, "web")).await.unwrap();
        let log = browser.log_contains("connection connected", Duration::from_secs(15)).await;
        assert!(log.contains("connection connected"), "page log:\n{log}");
        browser.log_contains("track from", Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (p1, _) = browser.inbound().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (p2, level) = browser.inbound().await;
        assert!(p2 > p1 && p1 > 0, "inbound packets from the CLI peer grow: {p1} → {p2}");
        assert!(level > 0.0, "non-zero audio level in getStats: {level}");
        let png = browser.client.screenshot().await.unwrap();
        std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/browser-page.png"), png).unwrap();
        let cli = finish(cli);
        browser.stop().await;
        assert_eq!(cli.summary()["ever_connected"], true, "{}", cli.stderr);
        let loudest = cli
            .events_named("audio_level")
            .iter()
            .filter_map(|e| e["rms_dbfs"].as_f64())
            .fold(f64::MIN, f64::max);
        let packets = cli.heard().iter().map(|(_, p, _)| *p).max().unwrap_or(0);
        assert!(
            packets > 100 && loudest > -50.0,
            "CLI decoded the browser's audio: {packets} packets, {loudest} dBFS"
        );
    });
}

/// Chromium as an independent WHIP client: `fetch()` POSTs its offer (fake microphone) to
/// serve's `/whip/ROOM`, a native `join ROOM` hears it, and a DELETE on the Location ends it.
#[test]
fn chromium_publishes_by_whip_with_fetch_and_a_cli_peer_hears_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let serve = Serve::start(&[]);
        let browser = Browser::start().await;
        // Same origin as the endpoint: no CORS in the way.
        browser.client.goto(&format!("http://{}/", serve.http)).await.unwrap();
        let published = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 (async () => {
                   const mic = await navigator.mediaDevices.getUserMedia({audio: true});
                   const pc = new RTCPeerConnection();
                   window.whipPc = pc;
                   pc.addTransceiver(mic.getAudioTracks()[0], {direction: 'sendonly'});
                   await pc.setLocalDescription(await pc.createOffer());
                   await new Promise((ok) => {
                     const check = () => pc.iceGatheringState === 'complete' && ok();
                     pc.addEventListener('icegatheringstatechange', check);
                     check();
                   });
                   const res = await fetch('/whip/web', {method: 'POST',
                     headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
                   const answer = await res.text();
                   window.whipLocation = res.headers.get('Location');
                   if (res.status === 201) await pc.setRemoteDescription({type: 'answer', sdp: answer});
                   done({status: res.status, location: window.whipLocation, etag: res.headers.get('ETag'),
                         type: res.headers.get('Content-Type')});
                 })().catch((e) => done({error: String(e)}));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(published["status"], 201, "{published}");
        assert!(published["location"].as_str().is_some_and(|l| l.starts_with("/whip/web/")), "{published}");
        assert!(published["etag"].is_string(), "{published}");
        let cli = Command::new(BIN)
            .args(["join", "web", "--server", &serve.url, "--source", "tone:660", "--duration", "6"])
            .args(["--no-playback", "--expect-audio", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let cli = finish(cli);
        let state = browser.eval("return window.whipPc.connectionState").await;
        let deleted = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(window.whipLocation, {method: 'DELETE'}).then((r) => done(r.status), (e) => done(String(e)));",
                vec![],
            )
            .await
            .unwrap();
        browser.stop().await;
        assert_eq!(state, "connected", "the browser's WHIP session connected");
        assert_eq!(cli.code, 0, "the CLI peer heard the browser's publisher: {}", cli.stderr);
        assert!(cli.heard().iter().any(|(_, packets, _)| *packets > 100), "{:?}", cli.heard());
        assert_eq!(deleted, 200, "DELETE on the Location ends the session");
    });
}

#[test]
fn chromium_shows_the_catalogued_errors_and_survives_early_candidates() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let browser = Browser::start().await;
        for (fault, needle) in [
            ("F3-null", "sdpMid and sdpMLineIndex are both null"),
            // Chromium 156 accepts a doubled prefix (it lands in the foundation); the page flags it.
            ("F3-prefix", "doubled candidate: prefix"),
            ("F4", "connection connected"),
        ] {
            let serve = Serve::start(&["--fault", fault]);
            browser.client.goto(&page(&serve, fault)).await.unwrap();
            let log = browser.log_contains(needle, Duration::from_secs(15)).await;
            assert!(log.contains(needle), "--fault {fault}: page log lacks {needle:?}:\n{log}");
            if fault == "F4" {
                assert!(log.contains("buffered until the remote description is set"), "{log}");
            }
        }
        browser.stop().await;
    });
}
