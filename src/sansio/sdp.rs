//! The little SDP reading rtc-assist needs (RFC 8866 lines): the first media section's mid and
//! the candidates carried inside a description (RFC 8839 §5.1 `a=candidate`).

use super::candidate::{Candidate, CandidateType};

/// The `a=mid:` value of the first media section, if any.
pub fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines().find_map(|l| l.trim_end().strip_prefix("a=mid:")).map(str::to_owned)
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
}
