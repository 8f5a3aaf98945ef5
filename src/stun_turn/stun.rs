//! `probe --stun`: a Binding request (RFC 8489) over UDP, or TLS for `stuns:` — mapped address,
//! round-trip time, retransmissions — and, when the server offers OTHER-ADDRESS, the RFC 5780
//! §4.3 mapping test (a second binding to the other address: same mapping or not).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use rtc_turn::client::Event;
use serde::Serialize;

use super::verdict::{self, Verdict};
use super::{Session, Step, Timer, Wait, open_session};
use crate::sansio::ice_url::IceUrl;

#[derive(Debug, Clone, Serialize)]
pub struct StunReport {
    pub url: String,
    pub steps: Vec<Step>,
    pub mapped: Option<String>,
    pub rtt_ms: Option<f64>,
    pub retransmissions: u32,
    pub other_address: Option<String>,
    /// RFC 5780 mapping behaviour, when the server supports the test.
    pub mapping: Option<String>,
    pub verdict: Verdict,
}

async fn bind_to(s: &mut Session, to: SocketAddr, limit: Duration) -> Result<(SocketAddr, f64), Verdict> {
    let started = Instant::now();
    s.client.send_binding_request_to(Instant::now(), to).map_err(|e| Verdict {
        ok: false,
        code: "error",
        message: format!("binding: {e}"),
    })?;
    match s
        .wait("binding", limit, |ev| match ev {
            Event::BindingResponse(_, mapped) => Some(Ok(mapped)),
            Event::BindingError(_, e) => {
                Some(Err(Verdict { ok: false, code: "error", message: e.to_string() }))
            }
            _ => None,
        })
        .await
    {
        Wait::Done(mapped) => Ok((mapped, started.elapsed().as_secs_f64() * 1000.0)),
        Wait::Failed(v) => Err(v),
    }
}

pub async fn probe_stun(url: &IceUrl, limit: Duration, bind: IpAddr, ca: Option<&Path>) -> StunReport {
    let mut timer = Timer::new();
    let mut report = StunReport {
        url: url.to_string(),
        steps: Vec::new(),
        mapped: None,
        rtt_ms: None,
        retransmissions: 0,
        other_address: None,
        mapping: None,
        verdict: verdict::ok(""),
    };
    let mut s = match open_session(url, "", "", limit, bind, ca, &mut timer).await {
        Ok(s) => s,
        Err(v) => {
            report.verdict = v;
            report.steps = timer.steps;
            return report;
        }
    };
    let server = s.server;
    match bind_to(&mut s, server, limit).await {
        Ok((mapped, rtt)) => {
            timer.done("binding", true, format!("mapped {mapped}"));
            report.mapped = Some(mapped.to_string());
            report.rtt_ms = Some(rtt);
            report.other_address = s.seen.other_address.map(|a| a.to_string());
            report.verdict = verdict::ok(format!("mapped address {mapped}, RTT {rtt:.1} ms"));
            if let Some(other) = s.seen.other_address {
                let probe = SocketAddr::new(other.ip(), server.port());
                report.mapping = Some(match bind_to(&mut s, probe, limit).await {
                    Ok((m2, _)) if m2 == mapped => "endpoint-independent mapping (RFC 5780 §4.3)".into(),
                    Ok((m2, _)) => format!("address-dependent mapping: {m2} towards the other address"),
                    Err(v) => format!("mapping test inconclusive: {}", v.message),
                });
                timer.done("mapping test", true, report.mapping.clone().unwrap_or_default());
            }
        }
        Err(v) => {
            timer.done("binding", false, "");
            report.verdict = v;
        }
    }
    report.retransmissions = s.sends.saturating_sub(1 + u32::from(report.mapping.is_some()));
    report.steps = timer.steps;
    report
}
