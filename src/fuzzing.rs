//! Properties of the parsers of outside input, one function per fuzz target (`fuzz/`): each
//! takes arbitrary bytes, feeds them to one parser and panics when something the parser
//! promises does not hold — a panic inside the parser is a failure too. Built only for tests and
//! under `cfg(fuzzing)` (cargo-fuzz sets it); the unit test below replays every file under
//! `fuzz/regressions/TARGET/` and `fuzz/seeds/TARGET/` through the same functions, so a found
//! bug stays caught by `cargo test` without cargo-fuzz.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::scenario::model::Scenario;
use crate::signal::candidate::Candidate;
use crate::signal::ice_url::{IceUrl, Transport};
use crate::signal::protocol::{ClientMessage, DecodeError, ErrorCode, ServerMessage};
use crate::stun_turn::framing::{MAX_MESSAGE, next_frame_len, padded, unpadded};

/// Signaling frames. Both decoders return a message or a coded error; a decoded message
/// re-encodes to a frame that decodes to the same message, on its own side and — for the kinds
/// both sides send — on the other side too (client candidates are nested, server ones flat).
pub fn protocol(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match ClientMessage::decode(&text) {
        Ok(m) => {
            let wire = m.encode();
            assert_eq!(ClientMessage::decode(&wire).as_ref(), Ok(&m), "client re-encoding {wire}");
            let as_server = match &m {
                ClientMessage::Offer { sdp } => Some(ServerMessage::Offer { sdp: sdp.clone() }),
                ClientMessage::Answer { sdp } => Some(ServerMessage::Answer { sdp: sdp.clone() }),
                ClientMessage::Candidate(c) => Some(ServerMessage::Candidate(c.clone())),
                ClientMessage::EndOfCandidates => Some(ServerMessage::EndOfCandidates),
                ClientMessage::JoinRoom { .. } | ClientMessage::LeaveRoom => None,
            };
            if let Some(s) = as_server {
                assert_eq!(ServerMessage::decode(&wire), Ok(s), "client frame read by a client: {wire}");
            }
        }
        Err(e) => coded(&e),
    }
    match ServerMessage::decode(&text) {
        Ok(m) => {
            let wire = m.encode();
            assert_eq!(ServerMessage::decode(&wire).as_ref(), Ok(&m), "server re-encoding {wire}");
            assert!(wire.contains(&format!(r#""type":"{}""#, m.kind())), "kind of {wire}");
        }
        Err(e) => coded(&e),
    }
}

fn coded(e: &DecodeError) {
    if e.violation.is_some() {
        assert_eq!(e.code, ErrorCode::BadCandidate, "a catalogue violation is a bad candidate: {e:?}");
    }
}

/// Candidate attributes: what parses prints with exactly one `candidate:` prefix, and the
/// printed form parses to the same candidate and prints the same again.
pub fn candidate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(c) = Candidate::parse(&text) else { return };
    let printed = c.to_string();
    assert!(printed.starts_with("candidate:"), "{printed:?}");
    let again = Candidate::parse(&printed);
    assert_eq!(again.as_ref(), Ok(&c), "printed {printed:?} of {text:?}");
    assert_eq!(again.map(|c| c.to_string()), Ok(printed));
}

/// ICE/TURN URLs: what parses displays as a URL that parses to the same value; the port is
/// never 0 and TLS schemes always mean TCP.
pub fn ice_url(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(u) = IceUrl::parse(&text) else { return };
    let shown = u.to_string();
    assert_eq!(IceUrl::parse(&shown).as_ref(), Ok(&u), "displayed {shown:?} of {text:?}");
    assert_ne!(u.port, 0, "{text:?}");
    if u.is_tls() {
        assert_eq!(u.transport(), Transport::Tcp, "{text:?}");
    }
}

/// Scenario files: a loaded scenario keeps the limits the loader promises (1-8 uniquely named
/// peers or a probe expectation, durations within 60 s, relay-only peers with a TURN server
/// (ours or the lab's), expectations naming known peers).
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(s) = Scenario::parse(&text) else { return };
    assert!(s.peers.len() <= 8, "{text:?}");
    assert!(!s.peers.is_empty() || s.expect_probe.is_some(), "{text:?}");
    let names: BTreeSet<&str> = s.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), s.peers.len(), "duplicate peer names in {text:?}");
    let max = Duration::from_secs(60);
    let lab_turn = s.network.as_ref().is_some_and(|n| !n.turn.is_empty());
    for p in &s.peers {
        assert!(!p.duration.is_zero() && p.duration <= max, "{text:?}");
        assert!(p.network.is_none() || p.relay_only || s.network.is_some(), "{text:?}");
        assert!(!p.relay_only || s.turn || lab_turn, "{text:?}");
    }
    assert!(s.max_wall.is_none_or(|w| !w.is_zero() && w <= max), "{text:?}");
    for (name, e) in &s.expect_peers {
        for n in std::iter::once(name).chain(&e.hears).chain(&e.not_hears) {
            assert!(names.contains(n.as_str()), "unknown peer {n:?} in {text:?}");
        }
    }
}

/// A byte stream split into frames: each frame length is within the buffer and the limit,
/// one byte less is "need more", STUN messages are at least their header and pass unpadded,
/// ChannelData frames are padded to 4 and unpad/pad back to the same length; an error is
/// decided by the 4-byte header alone.
pub fn stun_framing(data: &[u8]) {
    let mut rest = data;
    loop {
        match next_frame_len(rest) {
            Ok(None) => break,
            Ok(Some(n)) => {
                assert!(n >= 4 && n <= rest.len() && n <= MAX_MESSAGE, "frame of {n} in {}", rest.len());
                assert_eq!(next_frame_len(&rest[..n - 1]), Ok(None));
                let frame = &rest[..n];
                let datagram = unpadded(frame);
                if frame[0] >> 6 == 1 {
                    assert_eq!(n % 4, 0);
                    assert!(datagram.len() >= 4 && n - datagram.len() < 4);
                    let repadded = padded(datagram);
                    assert_eq!(repadded.len(), n);
                    assert_eq!(&repadded[..datagram.len()], datagram);
                } else {
                    assert!(n >= 20);
                    assert_eq!(datagram, frame);
                    assert_eq!(padded(frame), frame);
                }
                rest = &rest[n..];
            }
            Err(e) => {
                assert_eq!(next_frame_len(&rest[..4]), Err(e));
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// A fuzz target's properties.
    type Check = fn(&[u8]);

    /// Every fuzz target's name and its properties.
    const TARGETS: [(&str, Check); 5] = [
        ("protocol", super::protocol),
        ("candidate", super::candidate),
        ("ice_url", super::ice_url),
        ("scenario", super::scenario),
        ("stun_framing", super::stun_framing),
    ];

    /// The folders `scripts/fuzz.sh` feeds `target` from besides its corpus, and its regressions.
    fn input_dirs(target: &str) -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<PathBuf> =
            ["regressions", "seeds"].iter().map(|kind| root.join("fuzz").join(kind).join(target)).collect();
        if target == "scenario" {
            dirs.extend([root.join("scenarios"), root.join("scenarios/lab")]);
        }
        dirs
    }

    #[test]
    fn every_regression_seed_and_shipped_scenario_keeps_its_targets_properties() {
        let mut replayed = 0;
        let mut failed = Vec::new();
        for (target, check) in TARGETS {
            for dir in input_dirs(target) {
                let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                for entry in entries {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        continue;
                    }
                    let bytes = std::fs::read(&path).unwrap();
                    if std::panic::catch_unwind(|| check(&bytes)).is_err() {
                        failed.push(path.display().to_string());
                    }
                    replayed += 1;
                }
            }
        }
        assert!(failed.is_empty(), "inputs breaking their target's properties: {failed:?}");
        assert!(replayed >= TARGETS.len() + 20, "only {replayed} inputs replayed");
    }
}
