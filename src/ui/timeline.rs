//! One coloured text line per timeline event.

use colored::Colorize;

use crate::diagnose::summary::stream_label;
use crate::diagnose::timeline::{CandidateInfo, Direction, Event, Stamped, Via};
use crate::signal::candidate::CandidateType;
use crate::signal::http_step::HttpStep;
use crate::signal::janus_api::JanusStep;
use crate::signal::protocol::short_id;

fn state_colour(state: &str) -> colored::ColoredString {
    match state {
        "connected" | "completed" | "complete" | "stable" => state.green(),
        "failed" | "closed" | "disconnected" => state.red(),
        _ => state.yellow(),
    }
}

fn candidate(c: &CandidateInfo) -> String {
    let typ = match c.typ {
        CandidateType::Host => c.typ.as_str().cyan(),
        CandidateType::Srflx => c.typ.as_str().blue(),
        CandidateType::Prflx => c.typ.as_str().magenta(),
        CandidateType::Relay => c.typ.as_str().green(),
    };
    let related = c.related.as_ref().map(|r| format!(" (from {r})")).unwrap_or_default();
    let url = c.url.as_ref().map(|u| format!(" via {u}")).unwrap_or_default();
    format!("{typ:<5} {} {}:{}{related}{url}", c.protocol, c.address, c.port)
}

fn via(v: Via) -> &'static str {
    match v {
        Via::Sdp => "in SDP",
        Via::Trickle => "trickled",
    }
}

pub fn human_line(s: &Stamped, label: Option<&str>) -> String {
    let text = match &s.event {
        Event::SignalingConnected { url } => format!("signaling connected to {url}"),
        Event::Redirected { from, to } => format!("{} from {from} to {to}", "redirected".yellow()),
        Event::Signal { direction, kind, detail } => {
            let arrow = match direction {
                Direction::Sent => "→".normal(),
                Direction::Received => "←".normal(),
            };
            let detail = detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{arrow} {}{detail}", kind.bold())
        }
        Event::Http(HttpStep { method, url, status, elapsed_ms, location, body, ice_servers, .. }) => {
            let answer = match status {
                Some(s) if *s < 400 => s.to_string().green(),
                Some(s) => s.to_string().red().bold(),
                None => "no answer".red().bold(),
            };
            let at = location.as_ref().map(|l| format!(", Location {l}")).unwrap_or_default();
            let why = body.as_ref().map(|b| format!(": {b}")).unwrap_or_default();
            let links = if ice_servers.is_empty() {
                String::new()
            } else {
                format!(", Link ice-servers {}", ice_servers.join(" "))
            };
            format!("→ {} {url} {answer} in {elapsed_ms} ms{at}{links}{why}", method.bold())
        }
        Event::Janus(step) => janus_line(step),
        Event::Description { direction, kind, identity, .. } => {
            let side = match direction {
                Direction::Sent => "local",
                Direction::Received => "remote",
            };
            let names: Vec<String> = [
                identity.ufrag.as_ref().map(|u| format!("ufrag {u}")),
                identity
                    .fingerprint
                    .as_ref()
                    .map(|f| format!("fingerprint {}", f.chars().take(23).collect::<String>())),
                identity.session_id.as_ref().map(|s| format!("session {s}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            format!(
                "{side} {kind}: {}",
                if names.is_empty() { "no identity".into() } else { names.join(", ") }
            )
        }
        Event::SignalRejected { code, violation, message } => {
            let v = violation.as_ref().map(|v| format!(" [{v}]")).unwrap_or_default();
            format!("{} {code}{v}: {message}", "rejected frame".red().bold())
        }
        Event::ServerError { code, message } => format!("{} {code}: {message}", "server error".red()),
        Event::JoinedRoom { room, peer_id, peers } => {
            let others: Vec<&str> = peers.iter().map(|p| short_id(p)).collect();
            format!("joined room {} as {} with {:?}", room.bold(), short_id(peer_id), others)
        }
        Event::IceServersOffered { servers } => {
            let list: Vec<String> = servers
                .iter()
                .map(|s| {
                    let cred = match (s.credential, s.expires_in_s) {
                        (false, _) => "no credential".to_owned(),
                        (true, Some(e)) => format!("credential expires in {e} s"),
                        (true, None) => "static credential".yellow().to_string(),
                    };
                    format!("{} ({cred})", s.urls.join(" "))
                })
                .collect();
            format!("ICE servers offered: {}", if list.is_empty() { "none".into() } else { list.join(", ") })
        }
        Event::TurnShim { url, state, detail } => {
            let detail = detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default();
            format!("TURN shim for {url} {state}{detail}")
        }
        Event::PeerJoined { peer_id } => format!("peer {} joined", short_id(peer_id)),
        Event::PeerLeft { peer_id } => format!("peer {} left", short_id(peer_id)),
        Event::GatheringState { state } => format!("gathering {}", state_colour(state)),
        Event::SignalingState { state } => format!("signaling {}", state_colour(state)),
        Event::LocalCandidate { candidate: c, via: v } => {
            format!("local  candidate {} {}", candidate(c), via(*v))
        }
        Event::RemoteCandidate { candidate: c, via: v, buffered } => {
            let b = if *buffered {
                " — buffered until the remote description is set".yellow().to_string()
            } else {
                String::new()
            };
            format!("remote candidate {} {}{b}", candidate(c), via(*v))
        }
        Event::CandidatesFlushed { count } => format!("applied {count} buffered remote candidate(s)"),
        Event::EndOfCandidates { direction } => match direction {
            Direction::Sent => "→ end-of-candidates".to_owned(),
            Direction::Received => "← end-of-candidates".to_owned(),
        },
        Event::IceState { state } => format!("ICE {}", state_colour(state)),
        Event::ConnectionState { state } => format!("connection {}", state_colour(state).bold()),
        Event::SelectedPair { local, remote, rtt_ms } => {
            let rtt = rtt_ms.map(|r| format!(", RTT {r:.1} ms")).unwrap_or_default();
            format!("selected pair {} ⇄ {}{rtt}", candidate(local), candidate(remote))
        }
        Event::TrackReceived { source, stream_id, codec } => format!(
            "track {} ({codec}, stream id {})",
            stream_label(source.stream, source.from_peer.as_deref()),
            short_id(stream_id)
        ),
        Event::AudioLevel { source, packets, rms_dbfs, freq_hz } => {
            let f = freq_hz.map(|f| format!(", {f:.1} Hz")).unwrap_or_default();
            format!(
                "audio {}: {packets} packets, {rms_dbfs:.1} dBFS{f}",
                stream_label(source.stream, source.from_peer.as_deref())
            )
        }
        Event::MediaSent { packets } => format!("sent {packets} audio packets"),
        Event::AudioDevice { role, device, sample_format, channels, rate } => {
            format!("{role} device {device}: {sample_format}, {channels} ch, {rate} Hz")
        }
        Event::InboundRtp { source, packets, lost, jitter_ms } => format!(
            "rtp {}: {packets} packets, {lost} lost, jitter {jitter_ms:.1} ms",
            stream_label(source.stream, source.from_peer.as_deref())
        ),
        Event::OutboundRtp { packets, remote_lost, remote_jitter_ms, rtt_ms } => {
            let far = match (remote_lost, remote_jitter_ms) {
                (Some(l), Some(j)) => format!(", far end: {l} lost, jitter {j:.1} ms"),
                _ => ", no receiver report yet".to_owned(),
            };
            let rtt = rtt_ms.map(|r| format!(", RTT {r:.1} ms")).unwrap_or_default();
            format!("rtp sent: {packets} packets{far}{rtt}")
        }
        Event::Error { message } => format!("{} {message}", "error".red().bold()),
    };
    let stamp = format!("{:>7.3}s", s.t_ms as f64 / 1000.0).dimmed();
    match label {
        Some(l) => format!("{stamp} {} {text}", format!("[{l}]").bold()),
        None => format!("{stamp} {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_short_peer_ids_and_candidate_types() {
        colored::control::set_override(false);
        let s = Stamped { t_ms: 1500, event: Event::PeerJoined { peer_id: "0123456789abcdef".into() } };
        assert_eq!(human_line(&s, Some("A")), "  1.500s [A] peer 01234567 joined");
        let c = CandidateInfo {
            typ: CandidateType::Relay,
            protocol: "udp".into(),
            address: "127.0.0.1".into(),
            port: 9,
            related: None,
            url: None,
        };
        let s = Stamped {
            t_ms: 0,
            event: Event::RemoteCandidate { candidate: c, via: Via::Trickle, buffered: true },
        };
        let line = human_line(&s, None);
        assert!(line.contains("relay") && line.contains("buffered"), "{line}");
    }
}

/// `→ janus message join [t3]`, `← janus event audiobridge: joined [t3] in 12 ms`, errors in red.
fn janus_line(s: &JanusStep) -> String {
    let arrow = if s.direction == "sent" { "→" } else { "←" };
    let verb = match (&s.code, s.janus.as_str()) {
        (Some(_), _) | (None, "error" | "hangup" | "timeout") => s.janus.red().bold(),
        _ => s.janus.bold(),
    };
    let mut line = format!("{arrow} janus {verb}");
    for part in [s.what.as_deref(), s.jsep.as_deref()].into_iter().flatten() {
        line.push_str(&format!(" {part}"));
    }
    if let Some(t) = &s.transaction {
        line.push_str(&format!(" [{t}]"));
    }
    if let Some(ms) = s.elapsed_ms {
        line.push_str(&format!(" in {ms} ms"));
    }
    match (&s.code, &s.reason) {
        (Some(c), r) => {
            line.push_str(&format!(": {} {}", c.to_string().red().bold(), r.as_deref().unwrap_or("")))
        }
        (None, Some(r)) => line.push_str(&format!(": {r}")),
        _ => {}
    }
    line
}
