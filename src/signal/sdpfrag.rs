//! What WHIP/WHEP put into SDP beyond an offer and an answer: the server's trickled candidates
//! folded into its answer (RFC 9725 §4.3.1: a WHIP server cannot trickle, so every candidate
//! goes in the answer, then `a=end-of-candidates`), and the candidates of an SDP fragment a
//! client PATCHes (RFC 8840 `application/trickle-ice-sdpfrag`), each with the mid of its media
//! section.

use crate::signal::candidate::Candidate;
use crate::signal::protocol::CandidateInit;

/// Largest fragment read (a few dozen candidates).
pub const MAX_FRAGMENT: usize = 16 << 10;

/// `answer` with `candidates` added to the media section each names (by mid), then
/// `a=end-of-candidates` in every media section; candidates for an unknown mid are left out.
pub fn with_candidates(answer: &str, candidates: &[CandidateInit]) -> String {
    let mut out = String::with_capacity(answer.len() + candidates.len() * 100);
    let sections: Vec<&str> = split_sections(answer);
    for (i, section) in sections.iter().enumerate() {
        out.push_str(section);
        if i == 0 {
            continue; // the session part
        }
        if !section.ends_with('\n') {
            out.push_str("\r\n");
        }
        let mid = section.lines().find_map(|l| l.trim_end().strip_prefix("a=mid:"));
        for c in candidates.iter().filter(|c| Some(c.sdp_mid.as_str()) == mid) {
            let line = format!("a={}\r\n", c.candidate);
            if !section.contains(line.trim_end()) {
                out.push_str(&line);
            }
        }
        if !section.lines().any(|l| l.trim_end() == "a=end-of-candidates") {
            out.push_str("a=end-of-candidates\r\n");
        }
    }
    out
}

/// The session part, then one slice per `m=` section, each with its line endings.
fn split_sections(sdp: &str) -> Vec<&str> {
    let mut starts = vec![0];
    let mut at = 0;
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("m=") && at > 0 {
            starts.push(at);
        }
        at += line.len();
    }
    starts.push(sdp.len());
    starts.windows(2).map(|w| &sdp[w[0]..w[1]]).collect()
}

/// Why a fragment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    #[error("the fragment is larger than {MAX_FRAGMENT} bytes")]
    TooLarge,
    #[error("line {0}: a candidate outside a media section (no m= line before it)")]
    NoSection(usize),
    #[error("line {0}: a media section without a=mid")]
    NoMid(usize),
    #[error("line {line}: not a candidate: {reason}")]
    BadCandidate { line: usize, reason: String },
}

/// The ICE credentials of a local description and the mid of each media section, in order:
/// what a trickle fragment must repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceSession {
    pub ufrag: String,
    pub pwd: String,
    pub mids: Vec<String>,
}

impl IceSession {
    /// Read from an SDP; `None` without ufrag and password.
    pub fn of(sdp: &str) -> Option<Self> {
        let attr = |name: &str| sdp.lines().find_map(|l| l.trim_end().strip_prefix(name).map(str::to_owned));
        let mids =
            sdp.lines().filter_map(|l| l.trim_end().strip_prefix("a=mid:").map(str::to_owned)).collect();
        Some(Self { ufrag: attr("a=ice-ufrag:")?, pwd: attr("a=ice-pwd:")?, mids })
    }

    /// An RFC 8840 fragment (`application/trickle-ice-sdpfrag`) carrying `candidates` under
    /// their media sections, and `a=end-of-candidates` in each section when `end`.
    pub fn fragment(&self, candidates: &[CandidateInit], end: bool) -> String {
        let mut out = format!("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", self.ufrag, self.pwd);
        for (i, mid) in self.mids.iter().enumerate() {
            let here: Vec<&CandidateInit> = candidates
                .iter()
                .filter(|c| {
                    c.sdp_mid == *mid || (c.sdp_mid.is_empty() && usize::from(c.sdp_mline_index) == i)
                })
                .collect();
            if here.is_empty() && !end {
                continue;
            }
            out.push_str(&format!("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:{mid}\r\n"));
            for c in here {
                out.push_str(&format!("a={}\r\n", c.candidate));
            }
            if end {
                out.push_str("a=end-of-candidates\r\n");
            }
        }
        out
    }
}

/// What one PATCHed fragment holds: its candidates (with their mid and m-line index), whether it
/// ends the candidates, and its ICE ufrag (a new one is an ICE restart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fragment {
    pub candidates: Vec<CandidateInit>,
    pub end_of_candidates: bool,
    pub ufrag: Option<String>,
}

/// Parses an RFC 8840 fragment: `a=ice-ufrag`/`a=ice-pwd` (session level or per section), then
/// per `m=` section its `a=mid` and `a=candidate` lines, and `a=end-of-candidates`.
pub fn parse_fragment(text: &str) -> Result<Fragment, FragmentError> {
    if text.len() > MAX_FRAGMENT {
        return Err(FragmentError::TooLarge);
    }
    let mut frag = Fragment::default();
    // (m-line index, mid) of the current section; its candidates wait for its mid.
    let mut section: Option<(u16, Option<String>)> = None;
    let mut pending: Vec<(usize, String)> = Vec::new();
    let mut index: u16 = 0;
    let flush = |section: &Option<(u16, Option<String>)>,
                 pending: &mut Vec<(usize, String)>,
                 out: &mut Vec<CandidateInit>|
     -> Result<(), FragmentError> {
        let Some((i, mid)) = section else { return Ok(()) };
        if let Some(&(line, _)) = pending.first() {
            let mid = mid.as_ref().ok_or(FragmentError::NoMid(line))?;
            for (_, c) in pending.drain(..) {
                out.push(CandidateInit { candidate: c, sdp_mid: mid.clone(), sdp_mline_index: *i });
            }
        }
        Ok(())
    };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let number = n + 1;
        if line.starts_with("m=") {
            flush(&section, &mut pending, &mut frag.candidates)?;
            section = Some((index, None));
            index = index.saturating_add(1);
        } else if let Some(mid) = line.strip_prefix("a=mid:") {
            if let Some((_, m)) = section.as_mut() {
                *m = Some(mid.to_owned());
            }
        } else if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
            frag.ufrag = Some(u.to_owned());
        } else if line == "a=end-of-candidates" {
            frag.end_of_candidates = true;
        } else if let Some(attr) = line.strip_prefix("a=") {
            if attr.starts_with("candidate:") {
                if section.is_none() {
                    return Err(FragmentError::NoSection(number));
                }
                Candidate::parse(attr)
                    .map_err(|e| FragmentError::BadCandidate { line: number, reason: e.to_string() })?;
                pending.push((number, attr.to_owned()));
            }
        }
    }
    flush(&section, &mut pending, &mut frag.candidates)?;
    Ok(frag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n";
    const HOST: &str = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host";

    fn init(mid: &str) -> CandidateInit {
        CandidateInit { candidate: HOST.into(), sdp_mid: mid.into(), sdp_mline_index: 0 }
    }

    #[test]
    fn the_fragments_a_client_writes_are_the_ones_serve_reads() {
        let offer = format!("{ANSWER}a=ice-pwd:secretpwd\r\n");
        let ice = IceSession::of(&offer).expect("ufrag and pwd");
        assert_eq!((ice.ufrag.as_str(), ice.mids.as_slice()), ("abcd", &["0".to_owned()][..]));
        let one = ice.fragment(&[init("0")], false);
        let parsed = parse_fragment(&one).unwrap();
        assert_eq!(
            parsed,
            Fragment { candidates: vec![init("0")], end_of_candidates: false, ufrag: Some("abcd".into()) }
        );
        let end = parse_fragment(&ice.fragment(&[], true)).unwrap();
        assert!(end.end_of_candidates && end.candidates.is_empty());
        // A candidate for a mid the offer does not have is not written.
        assert!(!ice.fragment(&[init("7")], false).contains("candidate"));
        assert_eq!(IceSession::of("v=0\r\na=ice-ufrag:x\r\n"), None);
    }

    #[test]
    fn trickled_candidates_fold_into_their_section() {
        let out = with_candidates(ANSWER, &[init("0"), init("7")]);
        assert!(
            out.contains(&format!("a=mid:0\r\na=ice-ufrag:abcd\r\na={HOST}\r\na=end-of-candidates\r\n")),
            "{out}"
        );
        assert_eq!(out.matches("a=candidate").count(), 1, "unknown mid left out");
        assert_eq!(with_candidates(&out, &[init("0")]), out, "nothing doubled");
        assert_eq!(with_candidates("v=0\r\n", &[init("0")]), "v=0\r\n", "no media: nothing to add");
    }

    #[test]
    fn fragments_give_candidates_with_their_mid() {
        let frag = format!(
            "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na={HOST}\r\na=end-of-candidates\r\n"
        );
        let f = parse_fragment(&frag).unwrap();
        assert_eq!(f.candidates, vec![init("0")]);
        assert!(f.end_of_candidates);
        assert_eq!(f.ufrag.as_deref(), Some("EsAw"));
    }

    #[test]
    fn hostile_fragments_are_refused_with_the_line() {
        assert_eq!(parse_fragment(&format!("a={HOST}\r\n")), Err(FragmentError::NoSection(1)));
        assert_eq!(
            parse_fragment(&format!("m=audio 9 RTP/AVP 0\r\na={HOST}\r\n")),
            Err(FragmentError::NoMid(2))
        );
        assert!(matches!(
            parse_fragment("m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:x\r\n"),
            Err(FragmentError::BadCandidate { line: 3, .. })
        ));
        assert_eq!(parse_fragment(&"a".repeat(MAX_FRAGMENT + 1)), Err(FragmentError::TooLarge));
        assert_eq!(parse_fragment(""), Ok(Fragment::default()));
        assert!(parse_fragment("\u{0}\u{1}\r\n\r\nm=\r\n").is_ok());
    }
}
