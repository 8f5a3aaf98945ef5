//! The TURN allocation probe: drives the sans-I/O TURN client of `rtc-turn` over our own UDP
//! socket or framed TCP stream, timing every step — resolve, connect, Allocate, the 401
//! challenge, the authenticated Allocate, CreatePermission, a data round trip through the relay
//! back to a second socket of ours, Refresh(0) — and maps any failure to a plain verdict.



use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtc_turn::client::Event;
use serde::Serialize;
use tokio::net::UdpSocket;

use crate::signal::ice_url::{IceUrl, Transport, rest_expiry};
use super::session::{Step, Timer, Wait, open_session};
use super::verdict::{self, Verdict};

/// One TURN server to test, with its credentials (never printed: `Debug` redacts them).
#[derive(Clone)]
pub struct TurnTarget {
    pub url: IceUrl,
    pub username: String,
    pub credential: String,
}

impl std::fmt::Debug for TurnTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnTarget").field("url", &self.url.to_string()).finish_non_exhaustive()
    }
}

/// What one URL × transport showed.
#[derive(Debug, Clone, Serialize)]
pub struct TurnReport {
    pub url: String,
    pub transport: &'static str,
    pub steps: Vec<Step>,
    pub relayed: Option<String>,
    pub mapped: Option<String>,
    pub lifetime_s: Option<u64>,
    pub verdict: Verdict,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Tests one TURN URL end to end with a per-step timeout; `bind` is the local address used.
pub async fn probe_turn(
    target: &TurnTarget,
    step_timeout: Duration,
    bind: IpAddr,
    ca: Option<&Path>,
) -> TurnReport {
    let transport = match (target.url.transport(), target.url.is_tls()) {
        (_, true) => "tls",
        (Transport::Tcp, false) => "tcp",
        (Transport::Udp, false) => "udp",
    };
    let mut report = TurnReport {
        url: target.url.to_string(),
        transport,
        steps: Vec::new(),
        relayed: None,
        mapped: None,
        lifetime_s: None,
        verdict: verdict::ok(""),
    };
    let mut timer = Timer::new();
    report.verdict = run_steps(target, step_timeout, bind, ca, &mut timer, &mut report).await;
    report.steps = timer.steps;
    report
}

async fn run_steps(
    target: &TurnTarget,
    limit: Duration,
    bind: IpAddr,
    ca: Option<&Path>,
    timer: &mut Timer,
    report: &mut TurnReport,
) -> Verdict {
    let mut s =
        match open_session(&target.url, &target.username, &target.credential, limit, bind, ca, timer).await {
            Ok(s) => s,
            Err(v) => return v,
        };
    if let Err(e) = s.client.allocate(Instant::now()) {
        return Verdict { ok: false, code: "error", message: format!("allocate: {e}") };
    }
    let allocated = s
        .wait("allocate", limit, |ev| match ev {
            Event::AllocateResponse(_, relayed) => Some(Ok(relayed)),
            Event::AllocateError(_, e) => {
                Some(Err(Verdict { ok: false, code: "error", message: e.to_string() }))
            }
            _ => None,
        })
        .await;
    match &s.seen.challenge {
        Some((realm, nonce)) => {
            let step = Step {
                name: "401 challenge",
                ms: 0.0,
                ok: *nonce,
                detail: format!("realm {realm:?}, nonce {}", if *nonce { "given" } else { "missing" }),
            };
            timer.steps.push(step);
        }
        None => {
            timer.steps.push(Step { name: "401 challenge", ms: 0.0, ok: false, detail: "none seen".into() })
        }
    }
    let relayed = match allocated {
        Wait::Done(r) => r,
        Wait::Failed(v) => {
            timer.done("authenticated allocate", false, "");
            return match s.seen.last_error.clone() {
                Some((code, reason)) => {
                    verdict::from_error_code(code, &reason, rest_expiry(&target.username), now_unix())
                }
                None => v,
            };
        }
    };
    report.relayed = Some(relayed.to_string());
    report.mapped = s.seen.mapped.map(|m| m.to_string());
    report.lifetime_s = s.seen.lifetime.map(|l| l.as_secs());
    timer.done("authenticated allocate", true, format!("relayed {relayed}"));

    let peer = match UdpSocket::bind(SocketAddr::new(s.local.ip(), 0)).await {
        Ok(p) => p,
        Err(e) => return verdict::from_io("peer socket", &e),
    };
    let peer_addr = match peer.local_addr() {
        Ok(a) => a,
        Err(e) => return verdict::from_io("peer socket", &e),
    };
    match s.client.relay(relayed).and_then(|mut r| r.create_permission(Instant::now(), peer_addr)) {
        Ok(_) => {}
        Err(e) => return Verdict { ok: false, code: "error", message: format!("create permission: {e}") },
    }
    let permitted = s
        .wait("create permission", limit, |ev| match ev {
            Event::CreatePermissionResponse(..) => Some(Ok(())),
            Event::CreatePermissionError(_, e) => {
                Some(Err(Verdict { ok: false, code: "error", message: e.to_string() }))
            }
            _ => None,
        })
        .await;
    if let Wait::Failed(v) = permitted {
        timer.done("create permission", false, "");
        return match s.seen.last_error.clone() {
            Some((code, reason)) => verdict::from_error_code(code, &reason, None, now_unix()),
            None => v,
        };
    }
    timer.done("create permission", true, peer_addr.to_string());

    // Round trip: us → relay → our peer socket → relay → us.
    let payload = b"rtc-assist relay check";
    if let Err(e) = s.client.relay(relayed).and_then(|mut r| r.send_to(Instant::now(), payload, peer_addr)) {
        return Verdict { ok: false, code: "error", message: format!("send through relay: {e}") };
    }
    let echo = async {
        let mut buf = [0u8; 512];
        let (n, from) = peer.recv_from(&mut buf).await?;
        peer.send_to(&buf[..n], from).await
    };
    let echoed = tokio::time::timeout(limit, async {
        tokio::join!(
            echo,
            s.wait("round trip", limit, |ev| match ev {
                Event::DataIndicationOrChannelData(_, from, data)
                    if from == peer_addr && data[..] == payload[..] =>
                    Some(Ok(())),
                _ => None,
            })
        )
    })
    .await;
    match echoed {
        Ok((Ok(_), Wait::Done(()))) => timer.done("round trip", true, format!("via {relayed}")),
        _ => {
            timer.done("round trip", false, "");
            return verdict::relay_blocked();
        }
    }
    if let Ok(mut r) = s.client.relay(relayed) {
        let _ = r.close(Instant::now());
    }
    let released = s.released(limit).await;
    timer.done("refresh(0)", released, if released { "allocation released" } else { "refresh refused" });
    verdict::ok(format!("relay {relayed} works"))
}
