//! The catalogue's bugs as switches `serve --fault` turns on (failure-modes.md, F1…F8).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One reproducible bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Own candidates sent to everyone in the room except the owning peer.
    F1,
    /// Answer without relay candidates; late (trickled) candidates never sent.
    F2,
    /// `candidate:candidate:…`
    F3Prefix,
    /// `{candidate:{candidate:{candidate:"…"}}}`
    F3Nested,
    /// null `sdpMid` / `sdpMLineIndex`
    F3Null,
    /// Candidates sent before the answer.
    F4,
    /// Trickled client candidates never added to the server's connection (relayed to others).
    F5,
    /// No renegotiation when tracks change.
    F7,
    /// Static long-term TURN credentials handed to clients (needs the embedded TURN server).
    F8,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Self::F1,
        Self::F2,
        Self::F3Prefix,
        Self::F3Nested,
        Self::F3Null,
        Self::F4,
        Self::F5,
        Self::F7,
        Self::F8,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::F1 => "F1",
            Self::F2 => "F2",
            Self::F3Prefix => "F3-prefix",
            Self::F3Nested => "F3-nested",
            Self::F3Null => "F3-null",
            Self::F4 => "F4",
            Self::F5 => "F5",
            Self::F7 => "F7",
            Self::F8 => "F8",
        }
    }

    /// One line for `serve --help`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::F1 => "server candidates go to every other peer of the room, never to the owner",
            Self::F2 => "answer without relay candidates; late candidates never trickled",
            Self::F3Prefix => "server candidates carry a doubled `candidate:candidate:` prefix",
            Self::F3Nested => "server candidates nested three levels deep",
            Self::F3Null => "server candidates with null sdpMid and sdpMLineIndex",
            Self::F4 => "server candidates sent before the answer",
            Self::F5 => "trickled client candidates never added (only relayed to the others)",
            Self::F7 => "later audio added to negotiated connections without a renegotiation offer",
            Self::F8 => "static long-term TURN credentials in joined_room (needs --turn)",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL.into_iter().find(|f| f.code().eq_ignore_ascii_case(s)).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|f| f.code()).collect();
            format!("unknown fault {s:?}; known: {}", known.join(", "))
        })
    }
}

/// The faults a server runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(BTreeSet<Fault>);

impl Faults {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn has(&self, f: Fault) -> bool {
        self.0.contains(&f)
    }

    /// The one F3 variant on, if any (they are mutually exclusive).
    pub fn f3(&self) -> Option<Fault> {
        [Fault::F3Prefix, Fault::F3Nested, Fault::F3Null].into_iter().find(|f| self.has(*f))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Fault> for Faults {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// Parses `F1,F3-prefix,…`; two F3 variants at once are refused.
pub fn parse_faults(s: &str) -> Result<Faults, String> {
    let faults: Faults =
        s.split(',').filter(|p| !p.trim().is_empty()).map(str::parse).collect::<Result<_, _>>()?;
    if [Fault::F3Prefix, Fault::F3Nested, Fault::F3Null].iter().filter(|f| faults.has(**f)).count() > 1 {
        return Err("choose one F3 variant".into());
    }
    Ok(faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_lists_and_refuses_the_rest() {
        let f = parse_faults("F1, f3-null,F7").unwrap();
        assert!(f.has(Fault::F1) && f.has(Fault::F3Null) && f.has(Fault::F7) && !f.has(Fault::F5));
        assert_eq!(f.f3(), Some(Fault::F3Null));
        for bad in ["F9", "F3", "F3-prefix,F3-null", "x"] {
            assert!(parse_faults(bad).is_err(), "{bad}");
        }
        assert!(parse_faults("").unwrap().is_empty());
        for f in Fault::ALL {
            assert_eq!(f.code().parse::<Fault>().unwrap(), f);
        }
    }
}
