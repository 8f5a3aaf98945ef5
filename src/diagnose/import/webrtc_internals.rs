//! The file `chrome://webrtc-internals` downloads, in every dialect seen: old (string values,
//! a locale `time` only, goog stats), M142-style and current (`on…` event names, JSON values,
//! a numeric `timestamp`). `PeerConnections` is keyed `"<rid>-<lid>"`; each has an `updateLog`
//! of `{time|timestamp, type, value}` and `stats` keyed `"<stat id>-<property>"` whose `values`
//! is a JSON array (usually inside a string) of at most the last 1,000 samples.
//!
//! Candidate and SDP strings are the ones Chromium logged (rewritten by it: ` generation 0`
//! appended, no `a=end-of-candidates`), so grammar is judged on what the page passed, not on
//! Chromium's rewrite.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Format, Import, ImportError};
use crate::diagnose::connection::{
    AddedCandidate, CandidateError, Connection, Description, PairChecks, Record, RemoteDescription,
};
use crate::diagnose::timeline::{CandidateInfo, Direction, Event, Stamped, StreamRef, Via};
use crate::signal::candidate::{Candidate, CandidateType};
use crate::signal::sdp;
use crate::signal::token::redact_url;

/// A stats series at this length has lost its older samples.
const SERIES_LIMIT: usize = 1000;

fn malformed(origin: &str, reason: &str) -> ImportError {
    ImportError::Malformed {
        format: Format::WebrtcInternals.as_str(),
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    }
}

/// RFC 6901 escaping of one pointer segment.
fn segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

pub fn parse(doc: &Map<String, Value>) -> Result<Import, ImportError> {
    let pcs = doc
        .get("PeerConnections")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("/PeerConnections", "not an object"))?;
    let mut skipped = Vec::new();
    let mut connections = Vec::new();
    for (key, pc) in pcs {
        let base = format!("/PeerConnections/{}", segment(key));
        match pc.as_object() {
            Some(pc) => connections.push(connection(key, &base, pc, &mut skipped)),
            None => skipped.push(format!("{base}: not an object")),
        }
    }
    let writer = doc.get("UserAgent").and_then(Value::as_str).map(|s| s.chars().take(200).collect());
    Ok(Import { format: Format::WebrtcInternals, connections, probe_runs: None, load: None, skipped, writer })
}

/// Milliseconds of an entry: the numeric `timestamp` (ms since the epoch) or the clock time
/// inside the locale `time` string (`12/2/2026, 1:37:50 PM`, `13:37:50.123`, ISO 8601).
fn entry_ms(e: &Map<String, Value>) -> Option<f64> {
    if let Some(t) = e.get("timestamp").and_then(Value::as_f64).filter(|t| t.is_finite() && *t >= 0.0) {
        return Some(t);
    }
    clock_ms(e.get("time")?.as_str()?)
}

/// The first `H:MM:SS[.fff]` in `s` with an optional AM/PM after it, as ms of the day.
pub(super) fn clock_ms(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let colon = s.find(':')?;
    let start = b[..colon].iter().rposition(|c| !c.is_ascii_digit()).map_or(0, |p| p + 1);
    let hours: u32 = s.get(start..colon)?.parse().ok()?;
    let rest = &s[colon + 1..];
    let minutes: u32 = rest.get(..2)?.parse().ok()?;
    let rest = rest.get(2..)?.strip_prefix(':')?;
    let seconds: u32 = rest.get(..2)?.parse().ok()?;
    let mut rest = rest.get(2..)?;
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(char::is_ascii_digit).take(6).collect();
        if !digits.is_empty() {
            frac = format!("0.{digits}").parse::<f64>().unwrap_or(0.0);
        }
        rest = &r[r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len()..];
    }
    if hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let ampm = rest.trim_start().get(..2).map(str::to_ascii_uppercase);
    let hours = match ampm.as_deref() {
        Some("PM") if hours < 12 => hours + 12,
        Some("AM") if hours == 12 => 0,
        _ => hours,
    };
    Some(((hours * 3600 + minutes * 60 + seconds) as f64 + frac) * 1000.0)
}

/// An entry's value as fields: a JSON object (current dialect, possibly inside a string) or
/// the older `key: value, key: value` text, whose last field (`candidate`, `sdp`) runs to the end.
fn fields(v: &Value, last: &str) -> BTreeMap<String, String> {
    let text = match v {
        Value::Object(m) => return object_fields(m),
        Value::String(s) => s.as_str(),
        _ => return BTreeMap::new(),
    };
    if text.trim_start().starts_with('{')
        && let Ok(Value::Object(m)) = serde_json::from_str(text)
    {
        return object_fields(&m);
    }
    let mut out = BTreeMap::new();
    let marker = format!("{last}: ");
    let (head, tail) = match text.find(&format!(", {marker}")) {
        Some(i) => (&text[..i], Some(&text[i + 2 + marker.len()..])),
        None if text.starts_with(&marker) => ("", Some(&text[marker.len()..])),
        None => (text, None),
    };
    for part in head.split(", ") {
        if let Some((k, v)) = part.split_once(": ") {
            out.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    if let Some(t) = tail {
        out.insert(last.to_owned(), t.to_owned());
    }
    out
}

fn object_fields(m: &Map<String, Value>) -> BTreeMap<String, String> {
    m.iter()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some((k.clone(), s))
        })
        .collect()
}

/// `null` or an empty string is no value.
fn present(m: &BTreeMap<String, String>, k: &str) -> Option<String> {
    m.get(k).filter(|v| !v.is_empty() && *v != "null").cloned()
}

/// `iceConnectionStateChange` → `iceconnectionstatechange`; `onicecandidate` → `icecandidate`.
fn kind(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    match t.strip_prefix("on") {
        Some(rest) if rest.starts_with("ice") || rest.ends_with("statechange") || rest == "track" => {
            rest.to_owned()
        }
        _ => t,
    }
}

/// `ICEConnectionStateConnected`, `kICEConnectionStateConnected`, `SignalingStateHaveLocalOffer`
/// → `connected`, `have-local-offer`; current values pass through.
fn state(v: &Value) -> String {
    let s = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let s = s.trim().trim_matches('"');
    let s = s.strip_prefix('k').filter(|r| r.starts_with(|c: char| c.is_ascii_uppercase())).unwrap_or(s);
    let stripped = [
        "ICEConnectionState",
        "IceConnectionState",
        "PeerConnectionState",
        "SignalingState",
        "ICEGatheringState",
        "IceGatheringState",
    ]
    .iter()
    .find_map(|p| s.strip_prefix(p))
    .unwrap_or(s);
    let mut out = String::new();
    for (i, c) in stripped.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The ICE servers of a configuration object (an app's own dump may keep `username`; Chromium
/// drops it) whose username carries no TURN REST expiry (`<unix time>:<user>`).
pub(super) fn static_turn(config: Option<&Value>) -> Vec<Vec<String>> {
    let servers = config
        .and_then(|c| c.get("iceServers"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    servers
        .iter()
        .filter(|s| {
            s.get("username").and_then(Value::as_str).is_some_and(|u| {
                !u.split_once(':')
                    .is_some_and(|(e, _)| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .map(|s| match s.get("urls") {
            Some(Value::String(u)) => vec![u.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => vec![],
        })
        .collect()
}

/// Every ICE server URL in the configuration (string or object form): `stun:`, `turn:`, `turns:`.
pub(super) fn ice_urls(config: Option<&Value>) -> Vec<String> {
    let text = match config {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => return vec![],
    };
    let mut out: Vec<String> = Vec::new();
    for scheme in ["stun:", "turn:", "turns:"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(scheme) {
            let at = from + i;
            from = at + scheme.len();
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            let url: String = text[at..]
                .chars()
                .take_while(|c| !matches!(c, ' ' | ',' | ']' | '"' | '\'' | '}' | '\\'))
                .collect();
            if !out.contains(&url) {
                out.push(url);
            }
        }
    }
    out
}

fn connection(key: &str, base: &str, pc: &Map<String, Value>, skipped: &mut Vec<String>) -> Connection {
    let mut c = Connection {
        id: key.to_owned(),
        // The page's own `?token=` is a secret (serve --token-secret): never shown.
        page: pc.get("url").and_then(Value::as_str).map(redact_url),
        ice_servers: ice_urls(pc.get("rtcConfiguration")),
        static_turn: static_turn(pc.get("rtcConfiguration"))
            .into_iter()
            .map(|urls| (format!("{base}/rtcConfiguration"), urls))
            .collect(),
        ..Connection::default()
    };
    let log = pc.get("updateLog").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut t0: Option<f64> = None;
    let mut last_t = 0u64;
    let mut remote_set = false;
    for (j, entry) in log.iter().enumerate() {
        let origin = format!("{base}/updateLog/{j}");
        let Some(e) = entry.as_object() else {
            skipped.push(format!("{origin}: not an object"));
            continue;
        };
        // A clock that goes backwards (midnight, a locale time without date) keeps the order.
        let t = match entry_ms(e) {
            Some(ms) => {
                if t0.is_none() && e.get("timestamp").is_some_and(Value::is_number) {
                    c.epoch_ms = Some(ms as u64);
                }
                let t0 = *t0.get_or_insert(ms);
                ((ms - t0).max(0.0) as u64).max(last_t)
            }
            None => last_t,
        };
        last_t = t;
        let raw = e.get("type").and_then(Value::as_str).unwrap_or_default();
        apply(&mut c, &mut remote_set, origin, t, raw, e.get("value").unwrap_or(&Value::Null));
    }
    if let Some(stats) = pc.get("stats").and_then(Value::as_object) {
        let end = t0.and_then(|t0| stats_end(stats, t0)).unwrap_or(last_t).max(last_t);
        read_stats(&mut c, base, stats, end);
    }
    c
}

/// One logged call or event of a peer connection (an `updateLog` entry, or an rtcstats line:
/// the same stream of Chromium's tracker) applied to the connection's model.
pub(super) fn apply(
    c: &mut Connection,
    remote_set: &mut bool,
    origin: String,
    t: u64,
    raw_type: &str,
    value: &Value,
) {
    let typ = kind(raw_type);
    let mut push =
        |event: Event| c.records.push(Record { origin: origin.clone(), stamped: Stamped { t_ms: t, event } });
    match typ.as_str() {
        "icecandidate" => {
            let f = fields(value, "candidate");
            if let Some(cand) = present(&f, "candidate").and_then(|s| Candidate::parse(&s).ok()) {
                let mut candidate = CandidateInfo::from(&cand);
                candidate.url = present(&f, "url");
                push(Event::LocalCandidate { candidate, via: Via::Trickle });
            }
        }
        "addicecandidate" => {
            let f = fields(value, "candidate");
            let raw = present(&f, "candidate").unwrap_or_default();
            let parsed = Candidate::parse(&raw).ok();
            if let Some(p) = &parsed {
                push(Event::RemoteCandidate {
                    candidate: CandidateInfo::from(p),
                    via: Via::Trickle,
                    buffered: false,
                });
            }
            let ufrag = present(&f, "usernameFragment").or_else(|| {
                parsed.as_ref()?.extensions.iter().find(|(k, _)| k == "ufrag").map(|(_, v)| v.clone())
            });
            c.added.push(AddedCandidate {
                t_ms: t,
                origin: origin.clone(),
                candidate: raw,
                sdp_mid: present(&f, "sdpMid"),
                ufrag,
                error: None,
                after_remote_description: *remote_set,
            });
        }
        "addicecandidatefailed" | "addicecandidateonfailure" => {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            if let Some(a) = c.added.last_mut() {
                a.error = Some(text.clone());
            }
            push(Event::SignalRejected { code: "addIceCandidate".into(), violation: None, message: text });
        }
        "setlocaldescription" | "setremotedescription" => {
            let f = fields(value, "sdp");
            let sdp_text = present(&f, "sdp").unwrap_or_default();
            let kind = present(&f, "type").unwrap_or_else(|| "description".into());
            let found = sdp::candidates(&sdp_text);
            let local = typ == "setlocaldescription";
            let direction = if local { Direction::Sent } else { Direction::Received };
            c.descriptions.push(Description {
                t_ms: t,
                origin: origin.clone(),
                direction,
                kind: kind.clone(),
                identity: sdp::identity(&sdp_text),
                unix_ms: None,
            });
            let mut push = |event: Event| {
                c.records.push(Record { origin: origin.clone(), stamped: Stamped { t_ms: t, event } })
            };
            push(Event::Signal {
                direction,
                kind: kind.clone(),
                detail: Some(format!("{} candidate(s) in SDP", found.len())),
            });
            for cand in &found {
                let candidate = CandidateInfo::from(cand);
                push(if local {
                    Event::LocalCandidate { candidate, via: Via::Sdp }
                } else {
                    Event::RemoteCandidate { candidate, via: Via::Sdp, buffered: false }
                });
            }
            if !local {
                *remote_set = true;
                let attr = |name: &str| -> Vec<String> {
                    let mut v: Vec<String> = sdp_text
                        .lines()
                        .filter_map(|l| l.trim_end().strip_prefix(name).map(str::to_owned))
                        .collect();
                    v.dedup();
                    v
                };
                c.remote_descriptions.push(RemoteDescription {
                    t_ms: t,
                    origin: origin.clone(),
                    kind,
                    ufrags: attr("a=ice-ufrag:"),
                    mids: attr("a=mid:"),
                });
            }
        }
        "iceconnectionstatechange" => push(Event::IceState { state: state(value) }),
        "connectionstatechange" => push(Event::ConnectionState { state: state(value) }),
        "signalingstatechange" => push(Event::SignalingState { state: state(value) }),
        "icegatheringstatechange" => push(Event::GatheringState { state: state(value) }),
        "icecandidateerror" => {
            let f = fields(value, "error_text");
            let get = |a: &str, b: &str| present(&f, a).or_else(|| present(&f, b));
            let url = get("url", "url").unwrap_or_default();
            let code = get("error_code", "errorCode").and_then(|s| s.trim().parse().ok()).unwrap_or(0);
            let text = get("error_text", "errorText").unwrap_or_default();
            push(Event::Error { message: format!("ICE candidate error {code} from {url}: {text}") });
            c.candidate_errors.push(CandidateError { t_ms: t, origin: origin.clone(), url, code, text });
        }
        t if t.ends_with("onfailure") || t.ends_with("failed") => {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            push(Event::Error { message: format!("{}: {text}", raw_type) });
        }
        _ => {}
    }
}

/// When the stats series end, on the update log's clock: their `endTime` (ISO 8601, UTC) is
/// a clock time, the log's `t0` an epoch or a clock time. `None` when they do not fit (another
/// time zone in an old dump, or a call over midnight).
fn stats_end(stats: &Map<String, Value>, t0: f64) -> Option<u64> {
    const DAY_MS: f64 = 86_400_000.0;
    let end = stats
        .values()
        .filter_map(|s| clock_ms(s.get("endTime")?.as_str()?))
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))?;
    let since = end - t0 % DAY_MS;
    (0.0..DAY_MS / 2.0).contains(&since).then_some(since as u64)
}

/// One stats object's last sample of each property.
#[derive(Default)]
struct Stat {
    typ: String,
    props: BTreeMap<String, Value>,
}

impl Stat {
    fn str(&self, k: &str) -> Option<String> {
        self.props.get(k).and_then(|v| v.as_str().map(str::to_owned))
    }
    /// A number, also when the old dialect wrote it as a string.
    fn num(&self, k: &str) -> Option<f64> {
        match self.props.get(k)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    /// A received audio stream's figures (both dialects name packets and loss alike; jitter
    /// comes in seconds now, in milliseconds as `googJitterReceived` in the old one).
    fn inbound_rtp(&self, stream: u32, jitter_ms: f64) -> Event {
        Event::InboundRtp {
            source: StreamRef { stream, from_peer: None },
            packets: self.count("packetsReceived"),
            lost: self.num("packetsLost").map_or(0, |n| n as i64),
            jitter_ms,
        }
    }

    fn count(&self, k: &str) -> u64 {
        self.num(k).filter(|n| *n >= 0.0).map_or(0, |n| n as u64)
    }
    fn candidate(&self) -> Option<CandidateInfo> {
        let typ = CandidateType::from_name(&self.str("candidateType")?)?;
        Some(CandidateInfo {
            typ,
            protocol: self.str("protocol").unwrap_or_default(),
            address: self.str("address").or_else(|| self.str("ip")).unwrap_or_default(),
            port: self.num("port").filter(|p| (0.0..=65535.0).contains(p)).map_or(0, |p| p as u16),
            related: None,
            url: self.str("url"),
        })
    }
}

/// The stats series: the selected pair, every pair's checks, audio in and out.
pub(super) fn read_stats(c: &mut Connection, base: &str, stats: &Map<String, Value>, t: u64) {
    let mut by_id: BTreeMap<String, Stat> = BTreeMap::new();
    for (key, series) in stats {
        let Some((id, prop)) = key.rsplit_once('-') else { continue };
        let Some(series) = series.as_object() else { continue };
        let values = match series.get("values") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).unwrap_or_default(),
            Some(v) => v.clone(),
            None => continue,
        };
        let Some(values) = values.as_array() else { continue };
        if values.len() >= SERIES_LIMIT {
            c.truncated_series += 1;
        }
        let stat = by_id.entry(id.to_owned()).or_default();
        if let Some(typ) = series.get("statsType").and_then(Value::as_str) {
            stat.typ = typ.to_owned();
        }
        if let Some(last) = values.last() {
            stat.props.insert(prop.to_owned(), last.clone());
        }
    }
    let mut push =
        |origin: String, event: Event| c.records.push(Record { origin, stamped: Stamped { t_ms: t, event } });
    let origin = |id: &str, prop: &str| format!("{base}/stats/{}", segment(&format!("{id}-{prop}")));
    let mut stream = 0;
    for (id, s) in &by_id {
        let audio = s.str("kind").or_else(|| s.str("mediaType")).is_none_or(|k| k == "audio");
        match s.typ.as_str() {
            "transport" => {
                let Some(pair) = s.str("selectedCandidatePairId").and_then(|p| by_id.get(&p)) else {
                    continue;
                };
                let end = |k: &str| pair.str(k).and_then(|id| by_id.get(&id)?.candidate());
                if let (Some(local), Some(remote)) = (end("localCandidateId"), end("remoteCandidateId")) {
                    let rtt_ms = pair.num("currentRoundTripTime").map(|r| r * 1000.0);
                    push(
                        origin(id, "selectedCandidatePairId"),
                        Event::SelectedPair { local, remote, rtt_ms },
                    );
                }
            }
            "candidate-pair" | "googCandidatePair" => c.pairs.push(PairChecks {
                origin: origin(id, "requestsSent"),
                state: s.str("state").unwrap_or_default(),
                requests_sent: s.count("requestsSent"),
                responses_received: s.count("responsesReceived"),
                requests_received: s.count("requestsReceived"),
            }),
            "inbound-rtp" if audio => {
                stream += 1;
                push(
                    origin(id, "packetsReceived"),
                    s.inbound_rtp(stream, s.num("jitter").map_or(0.0, |j| j * 1000.0)),
                );
                // Chromium's audioLevel is linear 0..1 (RFC 6464 derived): as dBFS, the
                // summary's audio level; no frequency is measured by a browser.
                if let Some(level) = s.num("audioLevel").filter(|l| l.is_finite() && *l >= 0.0) {
                    push(
                        origin(id, "audioLevel"),
                        Event::AudioLevel {
                            source: StreamRef { stream, from_peer: None },
                            packets: s.count("packetsReceived"),
                            rms_dbfs: 20.0 * level.max(1e-5).log10(),
                            freq_hz: None,
                        },
                    );
                }
            }
            "outbound-rtp" if audio => {
                push(origin(id, "packetsSent"), Event::MediaSent { packets: s.count("packetsSent") })
            }
            "ssrc" if audio && s.props.contains_key("packetsReceived") => {
                stream += 1;
                push(
                    origin(id, "packetsReceived"),
                    s.inbound_rtp(stream, s.num("googJitterReceived").unwrap_or(0.0)),
                );
            }
            "ssrc" if audio && s.props.contains_key("packetsSent") => {
                push(origin(id, "packetsSent"), Event::MediaSent { packets: s.count("packetsSent") })
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
