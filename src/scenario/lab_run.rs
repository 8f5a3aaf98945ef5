//! Runs a scenario with a `[network]` table in the network lab: the real binary in each host's
//! namespace — `serve` (its signaling on TCP 443, gathering through the lab's TURN server
//! when there is one), every peer as `lab peer --json` (the `join`
//! peer with the probe's deviations) and `probe --json` — and coturn when TURN is asked for.
//! Peers' NDJSON becomes their timelines and the probe's JSON its findings, judged as on
//! loopback. The lab (and every process in it) is gone when this returns.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use super::expect::Observed;
use super::model::{OfferStyle, PeerPlan, Scenario};
use super::network::{LabSetup, SIGNALING_PORT, TurnTransport};
use crate::diagnose::timeline::{Stamped, Timeline};
use crate::lab::{self, Lab, coturn};

/// How long `serve` may take to listen.
const SERVE_READY: Duration = Duration::from_secs(10);
/// What a peer or the probe may take beyond its own duration before it is killed.
const GRACE: Duration = Duration::from_secs(30);

/// A timeline from `join --json` output: every line that is an event (the closing summary and
/// anything else are skipped).
pub fn timeline_from_ndjson(text: &str) -> Timeline {
    let mut t = Timeline::new();
    for line in text.lines() {
        if let Ok(s) = serde_json::from_str::<Stamped>(line) {
            t.push(s.t_ms, s.event);
        }
    }
    t
}

/// The finding codes of a `probe --json` report.
pub fn probe_codes(text: &str) -> anyhow::Result<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).context("probe output is not JSON")?;
    let findings = v["findings"].as_array().context("probe output has no findings array")?;
    Ok(findings.iter().filter_map(|f| f["code"].as_str().map(str::to_owned)).collect())
}

/// `serve`'s command line: the lab's TURN server (if any) is the deployment's, so the
/// server's own connections gather through it too (`--ice-server`, REST secret from the
/// environment) — what a server behind a NAT needs.
fn serve_args(s: &Scenario, addr: std::net::Ipv4Addr, turn: &[String]) -> Vec<String> {
    let mut args = vec!["serve".to_owned(), "--listen".into(), format!("{addr}:{SIGNALING_PORT}")];
    for u in turn {
        args.extend(["--ice-server".to_owned(), u.clone()]);
    }
    let codes: Vec<&str> = s.faults.iter().map(|f| f.code()).collect();
    if !codes.is_empty() {
        args.extend(["--fault".to_owned(), codes.join(",")]);
    }
    if s.turn {
        // Lab addresses are documentation ranges, which the relay deny-list covers.
        args.extend(
            ["--turn", "--turn-listen", &format!("{addr}:3478"), "--turn-allow-internal-peers"]
                .map(String::from),
        );
    }
    args
}

/// A peer's command line (after the binary).
fn peer_args(s: &Scenario, p: &PeerPlan, url: &str, turn: &[String]) -> Vec<String> {
    let mut args = ["lab", "peer", "--json", "--no-playback", "--server", url].map(String::from).to_vec();
    args.push(format!("scenario-{}", s.name));
    args.extend(["--source".to_owned(), p.source.to_string()]);
    args.extend(["--duration".to_owned(), format!("{}", p.duration.as_secs_f64())]);
    for u in turn {
        args.extend(["--turn".to_owned(), u.clone()]);
    }
    for (on, flag) in [
        (p.relay_only, "--relay-only"),
        (p.withhold_checks, "--withhold-checks"),
        (p.offer == OfferStyle::FullSdp, "--full-sdp-offer"),
    ] {
        if on {
            args.push(flag.to_owned());
        }
    }
    args
}

/// Runs `args` in host `host` to its end (killed after `limit`); its stdout.
async fn output(
    lab: &Lab,
    host: &str,
    exe: &Path,
    args: &[String],
    secret: Option<&str>,
    limit: Duration,
) -> anyhow::Result<String> {
    let mut cmd = lab.command(host, exe.as_os_str())?;
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(secret) = secret {
        cmd.env("RTC_ASSIST_TURN_SECRET", secret);
    }
    let child = cmd.spawn().with_context(|| format!("starting {host}"))?;
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .with_context(|| format!("{host} still running after {} s", limit.as_secs()))??;
    // Exit 2 is a usage or local error: its last stderr line says which.
    if out.status.code() == Some(i32::from(crate::EXIT_USAGE)) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("{host}: {}", stderr.lines().last().unwrap_or("exit 2"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts `serve` in the `server` host and waits until it listens.
async fn start_serve(
    lab: &Lab,
    exe: &Path,
    s: &Scenario,
    turn: &[String],
    secret: &str,
) -> anyhow::Result<tokio::process::Child> {
    let addr = lab.host("server")?.addr;
    let mut child = lab
        .command("server", exe.as_os_str())?
        .args(serve_args(s, addr, turn))
        .env("RTC_ASSIST_TURN_SECRET", secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting serve")?;
    let stdout = child.stdout.take().context("serve's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("signaling on") {
                return Ok(());
            }
        }
        bail!("serve exited before listening")
    };
    tokio::time::timeout(SERVE_READY, ready).await.context("serve did not listen in time")??;
    Ok(child)
}

pub async fn run(s: &Scenario, net: &LabSetup, shutdown: CancellationToken) -> anyhow::Result<Observed> {
    lab::check_privilege()?;
    lab::cancel_on_sigterm(&shutdown);
    let lab = Lab::up(&net.hosts(&crate::scenario::model::lab_peers(&s.peers)))?;
    let exe = std::env::current_exe().context("locating rtc-assist")?;
    let secret = format!("{:032x}", rand::random::<u128>());
    let (udp, tcp) = (net.turn.contains(&TurnTransport::Udp), net.turn.contains(&TurnTransport::Tcp));
    let turn = match net.turn.is_empty() {
        true => None,
        false => Some(coturn::start(&lab, "turn", udp, tcp, &secret).await?),
    };
    let turn_urls: Vec<String> = turn
        .iter()
        .flat_map(|t| {
            net.turn.iter().map(move |x| {
                let transport = if *x == TurnTransport::Tcp { "tcp" } else { "udp" };
                format!("turn:{}:{}?transport={transport}", t.addr, t.port)
            })
        })
        .collect();
    let _serve = start_serve(&lab, &exe, s, &turn_urls, &secret).await?;
    let url = format!("ws://{}:{SIGNALING_PORT}/ws", lab.host("server")?.public_addr);
    let lab_ref = &lab;
    let peers = s.peers.iter().map(|p| {
        let (args, exe, secret) = (
            peer_args(s, p, &url, &turn_urls),
            exe.clone(),
            (!turn_urls.is_empty()).then_some(secret.as_str()),
        );
        async move {
            tokio::time::sleep(p.join_delay).await;
            (p.name.clone(), output(lab_ref, &p.name, &exe, &args, secret, p.duration + GRACE).await)
        }
    });
    let mut observed = Observed::default();
    let results = tokio::select! {
        r = futures_util::future::join_all(peers) => r,
        () = shutdown.cancelled() => bail!("interrupted"),
    };
    for (name, r) in results {
        let text = r.with_context(|| format!("peer {name}"))?;
        observed.timelines.insert(name, timeline_from_ndjson(&text));
    }
    if s.expect_probe.is_some() {
        let args = ["probe".to_owned(), url.clone(), "--json".into()];
        let text = tokio::select! {
            r = output(&lab, "probe", &exe, &args, None, GRACE) => r?,
            () = shutdown.cancelled() => bail!("interrupted"),
        };
        observed.probe = Some(probe_codes(&text)?);
    }
    Ok(observed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::timeline::Event;

    #[test]
    fn peer_output_keeps_events_and_skips_everything_else() {
        let text = "{\"t_ms\":8,\"event\":\"connection_state\",\"state\":\"connected\"}\n\
                    note: sending tone:440\n{\"t_ms\":9,\"event\":\"no_such_event\"}\n{\"t_ms\":\n\
                    {\"event\":\"summary\",\"ever_connected\":true}\n\u{0}\u{ffff}\n";
        let t = timeline_from_ndjson(text);
        assert_eq!(t.events().len(), 1);
        assert_eq!(t.events()[0].event, Event::ConnectionState { state: "connected".into() });
        assert!(timeline_from_ndjson("").events().is_empty());
    }

    #[test]
    fn probe_output_gives_its_codes_or_a_plain_error() {
        let codes = probe_codes("{\"findings\":[{\"code\":\"F5\"},{\"code\":7},{}],\"turn\":[]}\n").unwrap();
        assert_eq!(codes, ["F5"]);
        for bad in ["", "error: cannot connect", "{\"findings\":3}", "[1,2]", "{\"findings\":[]"] {
            assert!(probe_codes(bad).is_err(), "{bad:?}");
        }
    }
}
