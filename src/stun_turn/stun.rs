//! `probe --stun`: a Binding request (RFC 8489) over UDP, or TLS for `stuns:` — mapped address,
//! round-trip time, retransmissions — and, when a UDP server offers OTHER-ADDRESS, the RFC 5780
//! NAT behaviour tests from a socket of their own: mapping (§4.3: bindings to the other address,
//! then to the other address and port) and filtering (§4.4: CHANGE-REQUEST asking the answer to
//! come from the other address and port, then from the other port only).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use rtc_stun::attributes::ATTR_CHANGE_REQUEST;
use rtc_stun::message::{BINDING_REQUEST, CLASS_SUCCESS_RESPONSE, Getter, Message, Setter, TransactionId};
use rtc_stun::xoraddr::XorMappedAddress;
use rtc_turn::client::Event;
use serde::Serialize;
use tokio::net::UdpSocket;

use crate::signal::ice_url::{IceUrl, Transport};
use super::session::{Session, Step, Timer, Wait, open_session};
use super::verdict::{self, Verdict};

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
    /// RFC 5780 filtering behaviour, likewise.
    pub filtering: Option<String>,
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
        filtering: None,
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
            if let Some(other) = s.seen.other_address.filter(|_| matches!(url.transport(), Transport::Udp)) {
                let (mapping, filtering) = behaviour(bind, server, other, limit).await;
                timer.done("mapping test", true, mapping.clone());
                timer.done("filtering test", true, filtering.clone());
                (report.mapping, report.filtering) = (Some(mapping), Some(filtering));
            }
        }
        Err(v) => {
            timer.done("binding", false, "");
            report.verdict = v;
        }
    }
    report.retransmissions = s.sends.saturating_sub(1);
    report.steps = timer.steps;
    report
}

/// CHANGE-REQUEST flags (RFC 5780 §7.2).
const CHANGE_IP: u8 = 0x04;
const CHANGE_PORT: u8 = 0x02;
/// How long one behaviour test waits (a filtered answer never comes).
const BEHAVIOUR_WAIT: Duration = Duration::from_millis(1500);

/// One Binding from `socket` to `to` (asking for the answer from elsewhere with `change`
/// flags), retransmitted until `wait` passes; the mapped address it reports.
async fn binding_from(socket: &UdpSocket, to: SocketAddr, change: u8, wait: Duration) -> Option<SocketAddr> {
    let mut m = Message::new();
    {
        let setters: [Box<dyn Setter>; 2] = [Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)];
        m.build(&setters).ok()?;
    }
    if change != 0 {
        m.add(ATTR_CHANGE_REQUEST, &[0, 0, 0, change]);
        m.write_length();
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 1500];
    let mut resend = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= resend {
            socket.send_to(&m.raw, to).await.ok()?;
            resend += Duration::from_millis(300);
        }
        // Answers may come from any address: that is what the filtering tests look for.
        let Ok(Ok((n, _))) = tokio::time::timeout_at(resend.min(deadline), socket.recv_from(&mut buf)).await
        else {
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            continue;
        };
        let mut r = Message::new();
        if r.unmarshal_binary(&buf[..n]).is_err()
            || r.transaction_id != m.transaction_id
            || r.typ.class != CLASS_SUCCESS_RESPONSE
        {
            continue;
        }
        let mut x = XorMappedAddress::default();
        return x.get_from(&r).is_ok().then(|| SocketAddr::new(x.ip, x.port));
    }
}

/// The RFC 5780 §4.3 mapping and §4.4 filtering behaviour, as plain words.
async fn behaviour(bind: IpAddr, server: SocketAddr, other: SocketAddr, limit: Duration) -> (String, String) {
    let wait = limit.min(BEHAVIOUR_WAIT);
    let Ok(socket) = UdpSocket::bind(SocketAddr::new(bind, 0)).await else {
        return ("mapping test inconclusive: no local socket".into(), "filtering test not run".into());
    };
    let Some(m1) = binding_from(&socket, server, 0, wait).await else {
        return ("mapping test inconclusive: no answer".into(), "filtering test not run".into());
    };
    let other_ip = SocketAddr::new(other.ip(), server.port());
    let mapping = match binding_from(&socket, other_ip, 0, wait).await {
        None => "mapping test inconclusive: the other address did not answer".to_owned(),
        Some(m2) if m2 == m1 => "endpoint-independent mapping (RFC 5780 §4.3)".to_owned(),
        Some(m2) => match binding_from(&socket, other, 0, wait).await {
            Some(m3) if m3 == m2 => format!("address-dependent mapping: {m2} towards the other address"),
            _ => format!(
                "address-and-port-dependent mapping (symmetric NAT): {m1}, then {m2} towards the other address"
            ),
        },
    };
    // Filtering from a fresh mapping that has sent to the primary address only (the mapping
    // test's has sent to the other address too, which would open an address-restricted NAT).
    let Ok(socket) = UdpSocket::bind(SocketAddr::new(bind, 0)).await else {
        return (mapping, "filtering test inconclusive: no local socket".into());
    };
    if binding_from(&socket, server, 0, wait).await.is_none() {
        return (mapping, "filtering test inconclusive: no answer".into());
    }
    let filtering = if binding_from(&socket, server, CHANGE_IP | CHANGE_PORT, wait).await.is_some() {
        "endpoint-independent filtering: anyone may send to the mapping (RFC 5780 §4.4)"
    } else if binding_from(&socket, server, CHANGE_PORT, wait).await.is_some() {
        "address-dependent filtering: only addresses the mapping has sent to"
    } else {
        "address-and-port-dependent filtering: only address:port pairs the mapping has sent to"
    };
    (mapping, filtering.to_owned())
}
