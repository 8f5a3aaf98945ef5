//! The guide's fix for F2 with a real browser (root; CI is root): Chromium and a `join` peer,
//! each behind its own UDP-blocking office firewall, relay-only, reach `serve` through Debian's
//! coturn on TURN/TCP 443 — the only way out — and hear each other. The server hands the
//! browser its TURN server and REST credentials in `joined_room` (`serve --ice-server`), as a
//! deployment would; the browser's selected pair is a relay it reached over TCP.

use std::process::Stdio;
use std::time::Duration;

use rtc_assist::lab::plan::{HostSpec, Placement};
use rtc_assist::lab::{Lab, coturn};
use serde_json::Value;

use crate::browser::Browser;
use crate::common::{BIN, Serve, finish, in_netns};
use crate::lab::is_root;

/// The type and relay protocol of the browser's local candidate in its selected pair.
const SELECTED_LOCAL: &str = "const done = arguments[arguments.length - 1];
    window.rtcAssist.pc().getStats().then((s) => {
      let pair = null, local = {};
      s.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = s.get(r.selectedCandidatePairId); });
      if (pair) local = s.get(pair.localCandidateId) || {};
      done([local.candidateType || null, local.relayProtocol || null]);
    });";

#[test]
fn chromium_and_a_join_peer_behind_udp_blocking_firewalls_talk_over_turn_tcp_443() {
    if !is_root() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hosts = [
        HostSpec::new("server", Placement::Public),
        HostSpec::new("turn", Placement::Public),
        HostSpec::new("cli", Placement::UdpBlocked),
        HostSpec::new("web", Placement::UdpBlocked),
    ];
    let lab = Lab::up(&hosts).expect("lab up");
    let secret = format!("{:032x}", rand::random::<u128>());
    let turn = rt.block_on(coturn::start(&lab, "turn", false, true, &secret)).expect("coturn");
    let turn_url = format!("turn:{}:{}?transport=tcp", turn.addr, turn.port);
    let server = lab.host("server").unwrap();
    let serve = Serve::start_in(
        Some(&server.ns),
        &format!("{}:443", server.addr),
        &["--ice-server", &turn_url],
        &[("RTC_ASSIST_TURN_SECRET", &secret)],
    );
    let cli = in_netns(Some(&lab.host("cli").unwrap().ns), BIN)
        .args(["join", "office", "--server", &serve.url, "--relay-only", "--turn", &turn_url])
        .args(["--source", "tone:660", "--duration", "20", "--json", "--no-playback"])
        .env("RTC_ASSIST_TURN_SECRET", &secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let page = format!("http://{}/?room=office&autojoin=1&relay_only=1", serve.http);
    // The microphone needs a secure context: loopback is one, a lab address over http is not.
    let secure = [format!("--unsafely-treat-insecure-origin-as-secure=http://{}", serve.http)];
    let web_ns = lab.host("web").unwrap().ns.clone();
    // The WebDriver client runs on a thread moved into the browser's host, where chromedriver
    // listens; everything else of this test stays outside the lab.
    let (log, packets, selected) = std::thread::scope(|s| {
        s.spawn(|| {
            let _inside = lab.enter("web").expect("enter the browser's host");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let browser = Browser::start_in(Some(&web_ns), &secure).await;
                browser.client.goto(&page).await.unwrap();
                let log = browser.log_contains("connection connected", Duration::from_secs(30)).await;
                browser.log_contains("track from", Duration::from_secs(15)).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                let (packets, _) = browser.inbound().await;
                let selected =
                    browser.client.execute_async(SELECTED_LOCAL, vec![]).await.unwrap_or(Value::Null);
                browser.stop().await;
                (log, packets, selected)
            })
        })
        .join()
        .expect("browser thread")
    });
    let cli = finish(cli);
    let serve_log = serve.stop();
    drop(turn);
    assert!(log.contains("relay candidates only"), "page log:\n{log}");
    assert!(log.contains("connection connected"), "page log:\n{log}\nserve:\n{serve_log}");
    assert_eq!(selected, serde_json::json!(["relay", "tcp"]), "browser's selected local candidate");
    assert!(packets > 50, "the browser received the CLI peer's audio: {packets} packets");
    assert_eq!(cli.summary()["ever_connected"], true, "{}", cli.stderr);
    let heard = cli.heard().iter().map(|(_, p, _)| *p).max().unwrap_or(0);
    assert!(heard > 100, "the CLI peer decoded the browser's audio: {heard} packets\n{}", cli.stderr);
}
