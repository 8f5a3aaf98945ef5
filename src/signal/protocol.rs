//! The signaling wire protocol (`shared/reference/signaling-protocol.md`): every frame is
//! `{"type": T, "data": D}` JSON text. Decoding is tolerant where real clients differ (the
//! browser's nested candidate, `room`/`roomName` aliases, end-of-candidates) and names the
//! catalogue rule (F3-…) a malformed candidate breaks; encoding is strict (flat candidates,
//! exactly one `candidate:` prefix, non-null `sdpMid`/`sdpMLineIndex`).
//!
//! This is the only module that knows the JSON wire format, which is why it is one file of
//! ~630 lines rather than several: every message, both directions, its aliases and its limits.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::signal::candidate::Candidate;
use crate::signal::secret::Secret;

/// Frames larger than this are refused with `too_large` (an SDP offer is ~5 KiB).
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Longest SDP accepted inside a frame.
pub const MAX_SDP_BYTES: usize = 128 * 1024;
/// Longest room name accepted.
pub const MAX_ROOM_NAME: usize = 64;
/// Longest peer id accepted from a server.
const MAX_PEER_ID: usize = 128;
/// Longest server error message kept.
const MAX_ERROR_MESSAGE: usize = 200;
/// Longest redirect URL accepted.
const MAX_REDIRECT_URL: usize = 512;
/// How much of an offending value an error message quotes.
const QUOTE_LEN: usize = 48;

/// A trickled candidate in its strict, flat form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateInit {
    /// The attribute with exactly one `candidate:` prefix.
    pub candidate: String,
    pub sdp_mid: String,
    pub sdp_mline_index: u16,
}

/// An ICE server entry shaped like the browser's `RTCIceServer`. Its `Debug` hides the credential.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

impl fmt::Debug for IceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username.as_ref().map(|_| "<redacted>"))
            .field("credential", &self.credential.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Messages a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// `token`: a room token, where the server requires one (its `Debug` hides it).
    JoinRoom {
        room: String,
        token: Option<Secret>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate(CandidateInit),
    EndOfCandidates,
    LeaveRoom,
}

/// Messages the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    JoinedRoom {
        room: String,
        peer_id: String,
        peers: Vec<String>,
        ice_servers: Vec<IceServer>,
    },
    PeerJoined {
        peer_id: String,
    },
    PeerLeft {
        peer_id: String,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate(CandidateInit),
    EndOfCandidates,
    Error {
        code: ErrorCode,
        message: String,
    },
    /// The room lives on another node of a cluster: reconnect to `url` (`ws://` or `wss://`) and
    /// join there. The server closes the socket after sending it.
    Redirect {
        url: String,
    },
}

/// The `code` of an `error` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    BadMessage,
    UnknownType,
    BadRoom,
    BadSdp,
    BadCandidate,
    TooLarge,
    NotInRoom,
    AlreadyInRoom,
    /// Too many messages: the client must slow down.
    RateLimited,
    /// A step of the call did not happen in time (an offer after joining, a connection).
    Timeout,
    /// The room token does not admit to this room (or is not valid).
    Unauthorized,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadJson => "bad_json",
            Self::BadMessage => "bad_message",
            Self::UnknownType => "unknown_type",
            Self::BadRoom => "bad_room",
            Self::BadSdp => "bad_sdp",
            Self::BadCandidate => "bad_candidate",
            Self::TooLarge => "too_large",
            Self::NotInRoom => "not_in_room",
            Self::AlreadyInRoom => "already_in_room",
            Self::RateLimited => "rate_limited",
            Self::Timeout => "timeout",
            Self::Unauthorized => "unauthorized",
            Self::Internal => "internal",
        }
    }

    /// Every code, `Internal` last (what an unknown code decodes to).
    pub const ALL: [Self; 13] = [
        Self::BadJson,
        Self::BadMessage,
        Self::UnknownType,
        Self::BadRoom,
        Self::BadSdp,
        Self::BadCandidate,
        Self::TooLarge,
        Self::NotInRoom,
        Self::AlreadyInRoom,
        Self::RateLimited,
        Self::Timeout,
        Self::Unauthorized,
        Self::Internal,
    ];

    fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|c| c.as_str() == s).unwrap_or(Self::Internal)
    }
}

/// A catalogue rule a candidate message breaks (`failure-modes.md`, F3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Violation {
    /// `candidate:candidate:…`
    #[serde(rename = "F3-prefix")]
    F3Prefix,
    /// `{candidate:{candidate:{…}}}`: nested more than the browser's one level.
    #[serde(rename = "F3-nested")]
    F3Nested,
    /// Both `sdpMid` and `sdpMLineIndex` null or missing.
    #[serde(rename = "F3-null")]
    F3Null,
    /// The attribute does not follow RFC 8839 §5.1.
    #[serde(rename = "F3-grammar")]
    F3Grammar,
}

impl Violation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F3Prefix => "F3-prefix",
            Self::F3Nested => "F3-nested",
            Self::F3Null => "F3-null",
            Self::F3Grammar => "F3-grammar",
        }
    }
}

/// Why a frame could not be decoded: the reply code, the catalogue rule if one applies, and a
/// message that quotes at most a short prefix of the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub code: ErrorCode,
    pub violation: Option<Violation>,
    pub message: String,
}

fn err(code: ErrorCode, message: impl Into<String>) -> DecodeError {
    DecodeError { code, violation: None, message: message.into() }
}

fn violation(v: Violation, message: impl Into<String>) -> DecodeError {
    DecodeError { code: ErrorCode::BadCandidate, violation: Some(v), message: message.into() }
}

/// Shortens outside input before it goes into an error message or a log.
pub fn quote(s: &str) -> String {
    let mut out: String = s.chars().take(QUOTE_LEN).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

/// Splits a frame into its `type` and `data` object (missing `data` reads as `{}`).
fn envelope(text: &str) -> Result<(String, Map<String, Value>), DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(err(
            ErrorCode::TooLarge,
            format!("frame of {} bytes exceeds {MAX_FRAME_BYTES}", text.len()),
        ));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| err(ErrorCode::BadJson, format!("not valid JSON: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err(err(ErrorCode::BadMessage, "frame must be a JSON object"));
    };
    let typ = match obj.remove("type") {
        Some(Value::String(t)) => t,
        Some(_) => return Err(err(ErrorCode::BadMessage, "`type` must be a string")),
        None => return Err(err(ErrorCode::BadMessage, "missing `type`")),
    };
    let data = match obj.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => d,
        Some(_) => {
            return Err(err(ErrorCode::BadMessage, format!("`data` of {} must be an object", quote(&typ))));
        }
    };
    Ok((typ, data))
}

fn unknown_type(typ: &str) -> DecodeError {
    err(ErrorCode::UnknownType, format!("unknown message type {}", quote(typ)))
}

fn string_field(data: &Map<String, Value>, names: &[&str]) -> Option<Result<String, String>> {
    names.iter().find_map(|n| data.get(*n)).map(|v| match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string, found {}", kind_of(other))),
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A room name: 1–64 characters, no control characters.
pub fn validate_room(name: &str) -> Result<(), DecodeError> {
    if name.is_empty() {
        return Err(err(ErrorCode::BadRoom, "room name is empty"));
    }
    if name.chars().count() > MAX_ROOM_NAME {
        return Err(err(ErrorCode::BadRoom, format!("room name longer than {MAX_ROOM_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(err(ErrorCode::BadRoom, "room name contains control characters"));
    }
    Ok(())
}

/// A redirect target: a `ws://` or `wss://` URL with a host, short, without spaces or control
/// characters.
pub fn validate_redirect_url(url: &str) -> Result<(), DecodeError> {
    if url.len() > MAX_REDIRECT_URL {
        return Err(err(ErrorCode::BadMessage, format!("redirect URL longer than {MAX_REDIRECT_URL} bytes")));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(err(ErrorCode::BadMessage, "redirect URL contains spaces or control characters"));
    }
    let rest = url.strip_prefix("ws://").or_else(|| url.strip_prefix("wss://"));
    let host = rest.and_then(|r| r.split(['/', '?', '#']).next()).unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(err(
            ErrorCode::BadMessage,
            format!("redirect URL {} is not ws://HOST… or wss://HOST…", quote(url)),
        ));
    }
    Ok(())
}

/// `{"sdp": "...", "type": expected?}` with a plausible SDP body (RFC 8866: `v=0` first, a media section).
fn session_description(data: &Map<String, Value>, expected: &str) -> Result<String, DecodeError> {
    let sdp = match string_field(data, &["sdp"]) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(err(ErrorCode::BadSdp, format!("`sdp`: {e}"))),
        None => return Err(err(ErrorCode::BadSdp, "missing `sdp`")),
    };
    if let Some(t) = data.get("type")
        && t.as_str() != Some(expected)
    {
        return Err(err(ErrorCode::BadSdp, format!("`type` inside {expected} must be {expected:?}")));
    }
    if sdp.len() > MAX_SDP_BYTES {
        return Err(err(ErrorCode::TooLarge, format!("SDP larger than {MAX_SDP_BYTES} bytes")));
    }
    if !sdp.starts_with("v=0") {
        return Err(err(ErrorCode::BadSdp, "SDP must start with v=0"));
    }
    if !sdp.contains("\nm=") {
        return Err(err(ErrorCode::BadSdp, "SDP has no media section"));
    }
    Ok(sdp)
}

/// The candidate payload in the flat form or the browser's one-level nesting.
/// `Ok(None)` is end-of-candidates (`"candidate": ""`).
pub fn decode_candidate(data: &Map<String, Value>) -> Result<Option<CandidateInit>, DecodeError> {
    let mut holder = data;
    let mut depth = 0;
    let attribute = loop {
        match holder.get("candidate") {
            Some(Value::Object(inner)) => {
                depth += 1;
                if depth > 1 {
                    return Err(violation(
                        Violation::F3Nested,
                        "candidate nested more than one level ({candidate:{candidate:{…}}})",
                    ));
                }
                holder = inner;
            }
            Some(Value::String(s)) => break s.as_str(),
            Some(other) => {
                return Err(err(
                    ErrorCode::BadCandidate,
                    format!("`candidate` must be a string, found {}", kind_of(other)),
                ));
            }
            None => return Err(err(ErrorCode::BadCandidate, "missing `candidate`")),
        }
    };
    if attribute.is_empty() {
        return Ok(None);
    }
    if attribute.trim_start().starts_with("candidate:candidate:") {
        return Err(violation(Violation::F3Prefix, "`candidate:` prefix doubled"));
    }
    let mid = match holder.get("sdpMid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 32 => Some(s.clone()),
        Some(_) => return Err(err(ErrorCode::BadCandidate, "`sdpMid` must be a short string")),
    };
    let mline = match holder.get("sdpMLineIndex") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| err(ErrorCode::BadCandidate, "`sdpMLineIndex` must be 0-65535"))?,
        ),
    };
    let (sdp_mid, sdp_mline_index) = match (mid, mline) {
        (None, None) => {
            return Err(violation(Violation::F3Null, "sdpMid and sdpMLineIndex are both null"));
        }
        (Some(mid), Some(idx)) => (mid, idx),
        (Some(mid), None) => (mid, 0),
        (None, Some(idx)) => (idx.to_string(), idx),
    };
    let parsed = Candidate::parse(attribute)
        .map_err(|e| violation(Violation::F3Grammar, format!("candidate attribute: {e}")))?;
    Ok(Some(CandidateInit { candidate: parsed.to_string(), sdp_mid, sdp_mline_index }))
}

impl ClientMessage {
    /// Tolerant decoding of a client frame.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let (typ, data) = envelope(text)?;
        match typ.as_str() {
            "join_room" => {
                let room = match string_field(&data, &["room_name", "room", "roomName"]) {
                    Some(Ok(r)) => r,
                    Some(Err(e)) => return Err(err(ErrorCode::BadRoom, format!("room name: {e}"))),
                    None => return Err(err(ErrorCode::BadRoom, "missing `room_name`")),
                };
                validate_room(&room)?;
                let token = match string_field(&data, &["token"]) {
                    None => None,
                    Some(Ok(t)) => Some(Secret::new(t)),
                    Some(Err(e)) => return Err(err(ErrorCode::BadMessage, format!("token: {e}"))),
                };
                Ok(Self::JoinRoom { room, token })
            }
            "offer" => Ok(Self::Offer { sdp: session_description(&data, "offer")? }),
            "answer" => Ok(Self::Answer { sdp: session_description(&data, "answer")? }),
            "ice_candidate" => Ok(match decode_candidate(&data)? {
                Some(c) => Self::Candidate(c),
                None => Self::EndOfCandidates,
            }),
            "leave_room" => Ok(Self::LeaveRoom),
            other => Err(unknown_type(other)),
        }
    }

    /// Encodes as a browser client does (candidates in the nested `toJSON()` form).
    pub fn encode(&self) -> String {
        let (typ, data) = match self {
            Self::JoinRoom { room, token } => {
                let mut d = json!({ "room_name": room });
                if let Some(t) = token {
                    d["token"] = json!(t.expose());
                }
                ("join_room", d)
            }
            Self::Offer { sdp } => ("offer", json!({ "sdp": sdp, "type": "offer" })),
            Self::Answer { sdp } => ("answer", json!({ "sdp": sdp, "type": "answer" })),
            Self::Candidate(c) => ("ice_candidate", json!({ "candidate": flat_candidate(c) })),
            Self::EndOfCandidates => ("ice_candidate", json!({ "candidate": "" })),
            Self::LeaveRoom => ("leave_room", json!({})),
        };
        json!({ "type": typ, "data": data }).to_string()
    }
}

fn flat_candidate(c: &CandidateInit) -> Value {
    json!({ "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index })
}

fn peer_id_field(data: &Map<String, Value>) -> Result<String, DecodeError> {
    match string_field(data, &["peer_id"]) {
        Some(Ok(p)) if !p.is_empty() && p.len() <= MAX_PEER_ID => Ok(p),
        _ => Err(err(ErrorCode::BadMessage, "`peer_id` must be a non-empty short string")),
    }
}

fn ice_servers(v: Option<&Value>) -> Vec<IceServer> {
    let Some(Value::Array(list)) = v else { return Vec::new() };
    list.iter()
        .filter_map(|s| {
            let urls = match s.get("urls").or_else(|| s.get("url"))? {
                Value::String(u) => vec![u.clone()],
                Value::Array(us) => us.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect(),
                _ => return None,
            };
            let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(IceServer { urls, username: text("username"), credential: text("credential") })
        })
        .collect()
}

/// Parses the `iceServers` array a browser app configures (`[{urls, username?, credential?}]`),
/// as copied from JavaScript.
pub fn parse_ice_servers_json(text: &str) -> Result<Vec<IceServer>, String> {
    if text.len() > MAX_FRAME_BYTES {
        return Err("ICE server list larger than 256 KiB".into());
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Array(list) = &v else { return Err("expected a JSON array of ICE servers".into()) };
    let servers = ice_servers(Some(&v));
    if servers.len() != list.len() || servers.iter().any(|s| s.urls.is_empty()) {
        return Err("every ICE server needs `urls` (a string or an array of strings)".into());
    }
    Ok(servers)
}

impl ServerMessage {
    /// Tolerant decoding of a server frame (the client side of `join` and `probe`).
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let (typ, data) = envelope(text)?;
        match typ.as_str() {
            "joined_room" => {
                let room = match string_field(&data, &["room_name", "room", "roomName"]) {
                    Some(Ok(r)) => r,
                    _ => String::new(),
                };
                let peers = match data.get("peers") {
                    Some(Value::Array(ps)) => {
                        ps.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect()
                    }
                    _ => Vec::new(),
                };
                Ok(Self::JoinedRoom {
                    room,
                    peer_id: peer_id_field(&data)?,
                    peers,
                    ice_servers: ice_servers(data.get("ice_servers")),
                })
            }
            "peer_joined" => Ok(Self::PeerJoined { peer_id: peer_id_field(&data)? }),
            "peer_left" => Ok(Self::PeerLeft { peer_id: peer_id_field(&data)? }),
            "offer" => Ok(Self::Offer { sdp: session_description(&data, "offer")? }),
            "answer" => Ok(Self::Answer { sdp: session_description(&data, "answer")? }),
            "ice_candidate" => Ok(match decode_candidate(&data)? {
                Some(c) => Self::Candidate(c),
                None => Self::EndOfCandidates,
            }),
            "error" => {
                let text = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default();
                Ok(Self::Error {
                    code: ErrorCode::parse(text("code")),
                    message: text("message").chars().take(MAX_ERROR_MESSAGE).collect(),
                })
            }
            "redirect" => {
                let url = match string_field(&data, &["url"]) {
                    Some(Ok(u)) => u,
                    Some(Err(e)) => return Err(err(ErrorCode::BadMessage, format!("`url`: {e}"))),
                    None => return Err(err(ErrorCode::BadMessage, "redirect without `url`")),
                };
                validate_redirect_url(&url)?;
                Ok(Self::Redirect { url })
            }
            other => Err(unknown_type(other)),
        }
    }

    /// Strict encoding: flat candidates with one prefix and non-null mid/mline.
    pub fn encode(&self) -> String {
        let (typ, data) = match self {
            Self::JoinedRoom { room, peer_id, peers, ice_servers } => {
                let mut d = json!({ "room_name": room, "peer_id": peer_id, "peers": peers });
                if !ice_servers.is_empty() {
                    d["ice_servers"] = ice_servers
                        .iter()
                        .map(|s| {
                            let mut o = json!({ "urls": s.urls });
                            if let Some(u) = &s.username {
                                o["username"] = json!(u);
                            }
                            if let Some(c) = &s.credential {
                                o["credential"] = json!(c);
                            }
                            o
                        })
                        .collect();
                }
                ("joined_room", d)
            }
            Self::PeerJoined { peer_id } => ("peer_joined", json!({ "peer_id": peer_id })),
            Self::PeerLeft { peer_id } => ("peer_left", json!({ "peer_id": peer_id })),
            Self::Offer { sdp } => ("offer", json!({ "sdp": sdp, "type": "offer" })),
            Self::Answer { sdp } => ("answer", json!({ "sdp": sdp, "type": "answer" })),
            Self::Candidate(c) => ("ice_candidate", flat_candidate(c)),
            Self::EndOfCandidates => {
                ("ice_candidate", json!({ "candidate": "", "sdpMid": "0", "sdpMLineIndex": 0 }))
            }
            Self::Error { code, message } => ("error", json!({ "code": code.as_str(), "message": message })),
            Self::Redirect { url } => ("redirect", json!({ "url": url })),
        };
        json!({ "type": typ, "data": data }).to_string()
    }

    /// The wire `type` of this message (for timelines).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::JoinedRoom { .. } => "joined_room",
            Self::PeerJoined { .. } => "peer_joined",
            Self::PeerLeft { .. } => "peer_left",
            Self::Offer { .. } => "offer",
            Self::Answer { .. } => "answer",
            Self::Candidate(_) | Self::EndOfCandidates => "ice_candidate",
            Self::Error { .. } => "error",
            Self::Redirect { .. } => "redirect",
        }
    }

    /// A candidate message broken the way `violation` describes: what a buggy server sends
    /// (`serve --fault F3-…`). `F3-grammar` garbles the attribute itself.
    pub fn encode_violating(c: &CandidateInit, violation: Violation) -> String {
        let data = match violation {
            Violation::F3Prefix => json!({
                "candidate": format!("candidate:{}", c.candidate),
                "sdpMid": c.sdp_mid,
                "sdpMLineIndex": c.sdp_mline_index,
            }),
            Violation::F3Nested => {
                json!({ "candidate": { "candidate": { "candidate": flat_candidate(c) } } })
            }
            Violation::F3Null => json!({ "candidate": c.candidate, "sdpMid": null, "sdpMLineIndex": null }),
            Violation::F3Grammar => json!({
                "candidate": c.candidate.replace(" typ ", " type "),
                "sdpMid": c.sdp_mid,
                "sdpMLineIndex": c.sdp_mline_index,
            }),
        };
        json!({ "type": "ice_candidate", "data": data }).to_string()
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error { code, message: message.into() }
    }
}

impl ClientMessage {
    /// The wire `type` of this message (for timelines).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::JoinRoom { .. } => "join_room",
            Self::Offer { .. } => "offer",
            Self::Answer { .. } => "answer",
            Self::Candidate(_) | Self::EndOfCandidates => "ice_candidate",
            Self::LeaveRoom => "leave_room",
        }
    }
}

/// The first 8 characters of a peer id, as logs and timelines show it (F6).
pub fn short_id(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(i, _)| &id[..i])
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests;
