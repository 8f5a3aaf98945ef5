//! The little SDP reading rtc-assist needs (RFC 8866 lines): the first media section's mid,
//! the candidates carried inside a description (RFC 8839 §5.1 `a=candidate`) and what names
//! one end of a connection (ICE ufrag, DTLS fingerprint, `o=` session id; never `a=ice-pwd`).

use serde::{Deserialize, Serialize};

use crate::signal::candidate::{Candidate, CandidateType};

/// What names one end of a connection in its session description, for pairing two files of
/// one call: the ICE ufrag, the DTLS fingerprint and the `o=` session id (never the ICE
/// password). Each is absent when the SDP has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdpIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ufrag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// Longest identity value kept (an ufrag is at most 256 ice-chars, RFC 8839 §5.4).
const MAX_IDENTITY: usize = 256;

/// The `a=mid:` value of the first media section, if any.
pub fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines().find_map(|l| l.trim_end().strip_prefix("a=mid:")).map(str::to_owned)
}

/// Whether the offerer of `sdp` wants to receive audio: its first audio section is not
/// `a=sendonly` or `a=inactive` (no direction attribute means `sendrecv`). A WHIP publisher
/// (OBS, a browser) offers `sendonly`, and its answer must then be `recvonly`.
pub fn receives_audio(sdp: &str) -> bool {
    let mut in_audio = false;
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            if in_audio {
                break;
            }
            in_audio = line.starts_with("m=audio");
        } else if in_audio && matches!(line, "a=sendonly" | "a=inactive") {
            return false;
        }
    }
    true
}

/// Every parsable `a=candidate:` line, in order.
pub fn candidates(sdp: &str) -> Vec<Candidate> {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .filter_map(|l| Candidate::parse(l.trim_end()).ok())
        .collect()
}

/// The SDP without its `a=candidate` lines of type `typ` (a server that answers before its
/// relay candidates exist, F2); `None` drops every candidate line.
pub fn without_candidates(sdp: &str, typ: Option<CandidateType>) -> String {
    sdp.split_inclusive('\n')
        .filter(|l| {
            let drop = l.starts_with("a=candidate:")
                && typ.is_none_or(|t| Candidate::parse(l.trim_end()).is_ok_and(|c| c.typ == t));
            !drop
        })
        .collect()
}

/// The first value of an `a=<name>:` line (session or media level).
fn attribute<'a>(sdp: &'a str, name: &str) -> Option<&'a str> {
    sdp.lines().find_map(|l| l.trim_end().strip_prefix("a=")?.strip_prefix(name)?.strip_prefix(':'))
}

/// What names this end of the connection: the first `a=ice-ufrag` (RFC 8839 §5.4), the first
/// `a=fingerprint` (RFC 8122 §5, lowercased) and the `o=` line's session id (RFC 8866 §5.2). A value that
/// is empty, too long or not of its grammar is left out; the password is never read.
pub fn identity(sdp: &str) -> SdpIdentity {
    let ufrag = attribute(sdp, "ice-ufrag")
        .map(str::trim)
        .filter(|u| u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
    let fingerprint = attribute(sdp, "fingerprint").map(str::trim).filter(|f| {
        f.split_once(' ').is_some_and(|(hash, hex)| {
            !hash.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
        })
    });
    let session_id = sdp
        .lines()
        .find_map(|l| l.strip_prefix("o="))
        .and_then(|o| o.split_whitespace().nth(1))
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()));
    let keep = |v: Option<&str>| v.filter(|v| !v.is_empty() && v.len() <= MAX_IDENTITY).map(str::to_owned);
    SdpIdentity {
        ufrag: keep(ufrag),
        // Hex compares without case; lowercase also keeps `F4:…` from reading as a catalogue code.
        fingerprint: keep(fingerprint).map(|f| f.to_ascii_lowercase()),
        session_id: keep(session_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio0\r\n\
        a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n\
        a=candidate:broken\r\na=end-of-candidates\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n";

    #[test]
    fn reads_mid_and_candidates() {
        assert_eq!(first_mid(SDP).as_deref(), Some("audio0"));
        let c = candidates(SDP);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].port, 5000);
        assert_eq!(first_mid("v=0\r\n"), None);
    }

    #[test]
    fn strips_candidates_of_one_type_only() {
        let sdp = "v=0\r\na=candidate:1 1 udp 1 127.0.0.1 5 typ host\r\na=candidate:2 1 udp 1 10.0.0.1 6 typ relay raddr 1.1.1.1 rport 2\r\n";
        let out = without_candidates(sdp, Some(CandidateType::Relay));
        assert_eq!(without_candidates(sdp, None), "v=0\r\n");
        assert_eq!(out, "v=0\r\na=candidate:1 1 udp 1 127.0.0.1 5 typ host\r\n");
    }

    #[test]
    fn identity_names_the_end_and_never_the_password() {
        let sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
            a=fingerprint:sha-256 AB:CD:EF\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
            a=ice-ufrag:Ab+/9\r\na=ice-pwd:secretsecretsecretsecret\r\na=ice-ufrag:second\r\n";
        let id = identity(sdp);
        assert_eq!(id.ufrag.as_deref(), Some("Ab+/9"));
        assert_eq!(id.fingerprint.as_deref(), Some("sha-256 ab:cd:ef"));
        assert_eq!(id.session_id.as_deref(), Some("4611731400430051336"));
        assert!(!format!("{id:?}").contains("secret"));
    }

    #[test]
    fn hostile_identity_values_are_left_out() {
        assert_eq!(identity(""), SdpIdentity::default());
        let long = format!("a=ice-ufrag:{}\r\n", "a".repeat(300));
        assert_eq!(identity(&long).ufrag, None);
        let bad = "o=- not-a-number 1 IN IP4 x\r\na=ice-ufrag:has space\r\na=fingerprint:sha-256 zz\r\n\
            a=fingerprint:nohash\r\na=ice-ufrag:\r\n";
        assert_eq!(identity(bad), SdpIdentity::default());
        assert_eq!(identity("a=ice-ufrag-x:abcd\r\no=\r\n"), SdpIdentity::default());
    }

    #[test]
    fn an_offer_says_whether_it_receives_audio() {
        let offer = |dir: &str| {
            format!(
                "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n{dir}m=video 9 UDP 96\r\na=sendonly\r\n"
            )
        };
        assert!(receives_audio(&offer("a=sendrecv\r\n")));
        assert!(receives_audio(&offer("a=recvonly\r\n")));
        assert!(receives_audio(&offer("")), "no direction is sendrecv; video's sendonly is not audio's");
        assert!(!receives_audio(&offer("a=sendonly\r\n")));
        assert!(!receives_audio(&offer("a=inactive\r\n")));
        assert!(receives_audio(""));
    }
}
