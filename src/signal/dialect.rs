//! Dialect files (`--signal FILE.toml`): how an app that speaks JSON over WebSocket with its own
//! names says what rtc-assist's protocol says. Outgoing messages are JSON templates with
//! placeholders (`"{sdp}"`, `"{room}"`, …); incoming ones are told apart by the value at one
//! JSON pointer (`receive.type`) and read through JSON pointers (RFC 6901). The built-in protocol
//! is itself such a file (`dialects/rtc-assist.toml`). Pure: parsing, validation (a malformed
//! file names its line and key), encoding and decoding.
//!
//! ```toml
//! [send.offer]               # a template: placeholders are replaced, the rest sent as is
//! type = "offer"
//! data = { sdp = "{sdp}" }
//!
//! [receive]
//! type = "/type"             # where an incoming message says what it is
//! [receive.answer]
//! when = "answer"            # the value at /type that makes it an answer
//! sdp = "/data/sdp"          # where its SDP is
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use toml::Spanned;

use crate::signal::protocol::{
    CandidateInit, ClientMessage, DecodeError, ErrorCode, IceServer, MAX_FRAME_BYTES, ServerMessage,
    decode_candidate,
};

/// Longest dialect file read.
pub const MAX_DIALECT_BYTES: usize = 64 * 1024;
/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 6] = ["room", "token", "sdp", "candidate", "sdp_mid", "sdp_mline_index"];
/// Keepalive periods accepted, in seconds.
const KEEPALIVE_RANGE: std::ops::RangeInclusive<f64> = 0.5..=300.0;

/// Why a dialect file was refused: the line (from 1) and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectError {
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for DialectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, key `{}`: {}", self.line, self.key, self.message)
    }
}

impl std::error::Error for DialectError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    /// The server sends the first offer; the peer answers.
    #[serde(default)]
    server_offers: bool,
    /// A WebSocket subprotocol the server requires.
    subprotocol: Option<Spanned<String>>,
    send: SendSection,
    receive: ReceiveSection,
    keepalive: Option<Spanned<Keepalive>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendSection {
    join: Option<Spanned<toml::Table>>,
    offer: Option<Spanned<toml::Table>>,
    answer: Option<Spanned<toml::Table>>,
    candidate: Spanned<toml::Table>,
    end_of_candidates: Option<Spanned<toml::Table>>,
    leave: Option<Spanned<toml::Table>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiveSection {
    #[serde(rename = "type")]
    typ: Spanned<String>,
    #[serde(default)]
    ignore: Vec<String>,
    joined: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    peer_joined: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    peer_left: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    offer: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    answer: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    candidate: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    end_of_candidates: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    error: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keepalive {
    every_s: f64,
    send: toml::Table,
}

/// One kind of incoming message: the type value that names it and where its fields are.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Incoming {
    when: String,
    fields: BTreeMap<String, String>,
}

impl Incoming {
    fn field<'a>(&self, v: &'a Value, name: &str) -> Option<&'a Value> {
        v.pointer(self.fields.get(name)?)
    }

    fn text(&self, v: &Value, name: &str) -> Option<String> {
        match self.field(v, name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// A validated dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    pub name: String,
    pub server_offers: bool,
    pub subprotocol: Option<String>,
    /// Every `every` seconds, `send` (a template without placeholders).
    pub keepalive: Option<(std::time::Duration, Value)>,
    send: BTreeMap<&'static str, Value>,
    type_at: String,
    ignore: Vec<String>,
    receive: BTreeMap<&'static str, Incoming>,
}

/// Fields each incoming kind takes, the required ones first (`*`).
const RECEIVE_FIELDS: [(&str, &[&str]); 8] = [
    ("joined", &["*peer_id", "room", "peers", "ice_servers"]),
    ("peer_joined", &["*peer_id"]),
    ("peer_left", &["*peer_id"]),
    ("offer", &["*sdp"]),
    ("answer", &["*sdp"]),
    ("candidate", &["*candidate", "sdp_mid", "sdp_mline_index"]),
    ("end_of_candidates", &[]),
    ("error", &["message", "code"]),
];

/// The key a line of the file names: `key = …` or a `[table]` header (`-` when neither).
fn key_on_line(text: &str, line: usize) -> String {
    let l = text.lines().nth(line.saturating_sub(1)).unwrap_or_default().trim();
    let key = match l.strip_prefix('[') {
        Some(header) => header.trim_matches(|c| c == '[' || c == ']'),
        None => l.split_once('=').map_or("", |(k, _)| k),
    };
    let key: String = key.trim().chars().filter(|c| !c.is_control()).take(64).collect();
    if key.is_empty() { "-".into() } else { key }
}

/// The line (from 1) a byte offset of `text` is on.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

impl Dialect {
    /// Reads a dialect file; every refusal names the line and the key.
    pub fn parse(text: &str) -> Result<Self, DialectError> {
        if text.len() > MAX_DIALECT_BYTES {
            return Err(DialectError {
                line: 1,
                key: "-".into(),
                message: format!("file larger than {MAX_DIALECT_BYTES} bytes"),
            });
        }
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().trim().to_owned();
            let mut key = key_on_line(text, line);
            // A missing field is named after the table that lacks it (the whole file: top level).
            if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
                let whole = e
                    .span()
                    .is_none_or(|s| s.start == s.end || (s.start == 0 && s.end >= text.trim_end().len()));
                key = if whole || !text.lines().nth(line - 1).is_some_and(|l| l.trim_start().starts_with('['))
                {
                    field.to_owned()
                } else {
                    format!("{key}.{field}")
                };
            }
            DialectError { line, key, message }
        })?;
        let bad = |span: std::ops::Range<usize>, key: &str, message: String| DialectError {
            line: line_of(text, span.start),
            key: key.to_owned(),
            message,
        };
        let mut send = BTreeMap::new();
        let templates = [
            ("join", &file.send.join),
            ("offer", &file.send.offer),
            ("answer", &file.send.answer),
            ("end_of_candidates", &file.send.end_of_candidates),
            ("leave", &file.send.leave),
        ];
        for (name, t) in templates.into_iter().chain([("candidate", &Some(file.send.candidate.clone()))]) {
            let Some(t) = t else { continue };
            let key = format!("send.{name}");
            let value = serde_json::to_value(t.get_ref()).map_err(|e| bad(t.span(), &key, e.to_string()))?;
            if let Some(p) = unknown_placeholder(&value) {
                return Err(bad(
                    t.span(),
                    &key,
                    format!(
                        "unknown placeholder {{{p}}}: use {}",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                    ),
                ));
            }
            send.insert(name, value);
        }
        let type_at = pointer(&file.receive.typ, "receive.type").map_err(|(s, k, m)| bad(s, &k, m))?;
        let mut receive = BTreeMap::new();
        let sections = [
            ("joined", &file.receive.joined),
            ("peer_joined", &file.receive.peer_joined),
            ("peer_left", &file.receive.peer_left),
            ("offer", &file.receive.offer),
            ("answer", &file.receive.answer),
            ("candidate", &file.receive.candidate),
            ("end_of_candidates", &file.receive.end_of_candidates),
            ("error", &file.receive.error),
        ];
        for ((name, section), (_, allowed)) in sections.into_iter().zip(RECEIVE_FIELDS) {
            let Some(section) = section else { continue };
            let key = format!("receive.{name}");
            let map = section.get_ref();
            let when = map.get("when").ok_or_else(|| {
                bad(
                    section.span(),
                    &format!("{key}.when"),
                    "missing: the type value that names this message".into(),
                )
            })?;
            let mut fields = BTreeMap::new();
            for (field, at) in map.iter().filter(|(k, _)| k.as_str() != "when") {
                let fkey = format!("{key}.{field}");
                if !allowed.iter().any(|a| a.trim_start_matches('*') == field) {
                    let names: Vec<&str> = allowed.iter().map(|a| a.trim_start_matches('*')).collect();
                    return Err(bad(
                        at.span(),
                        &fkey,
                        format!("unknown field; {key} takes when, {}", names.join(", ")),
                    ));
                }
                fields.insert(field.clone(), pointer(at, &fkey).map_err(|(s, k, m)| bad(s, &k, m))?);
            }
            if let Some(missing) =
                allowed.iter().filter_map(|a| a.strip_prefix('*')).find(|r| !fields.contains_key(*r))
            {
                return Err(bad(
                    section.span(),
                    &format!("{key}.{missing}"),
                    "missing: a JSON pointer such as \"/data/…\"".into(),
                ));
            }
            receive.insert(name, Incoming { when: when.get_ref().clone(), fields });
        }
        // What a call needs, by who offers.
        let needs: &[(&str, bool)] = if file.server_offers {
            &[("send.answer", send.contains_key("answer")), ("receive.offer", receive.contains_key("offer"))]
        } else {
            &[("send.offer", send.contains_key("offer")), ("receive.answer", receive.contains_key("answer"))]
        };
        if let Some((key, _)) = needs.iter().find(|(_, present)| !present) {
            let who = if file.server_offers { "server_offers = true" } else { "the peer offers" };
            return Err(DialectError {
                line: 1,
                key: (*key).to_owned(),
                message: format!("missing: {who}, so the dialect needs it"),
            });
        }
        if send.contains_key("join") != receive.contains_key("joined") {
            return Err(DialectError {
                line: 1,
                key: if send.contains_key("join") { "receive.joined" } else { "send.join" }.into(),
                message: "send.join and receive.joined go together (a dialect without rooms has neither)"
                    .into(),
            });
        }
        let keepalive = match &file.keepalive {
            None => None,
            Some(k) => {
                let every = k.get_ref().every_s;
                if !KEEPALIVE_RANGE.contains(&every) {
                    return Err(bad(
                        k.span(),
                        "keepalive.every_s",
                        format!("between {} and {} seconds", KEEPALIVE_RANGE.start(), KEEPALIVE_RANGE.end()),
                    ));
                }
                let send = serde_json::to_value(&k.get_ref().send)
                    .map_err(|e| bad(k.span(), "keepalive.send", e.to_string()))?;
                Some((std::time::Duration::from_secs_f64(every), send))
            }
        };
        let subprotocol = match &file.subprotocol {
            Some(p)
                if p.get_ref().is_empty()
                    || !p.get_ref().chars().all(|c| c.is_ascii_graphic() && c != ',') =>
            {
                return Err(bad(
                    p.span(),
                    "subprotocol",
                    "a WebSocket subprotocol is one token of visible ASCII".into(),
                ));
            }
            p => p.as_ref().map(|p| p.get_ref().clone()),
        };
        Ok(Self {
            name: file.name.unwrap_or_else(|| "dialect".into()),
            server_offers: file.server_offers,
            subprotocol,
            keepalive,
            send,
            type_at,
            ignore: file.receive.ignore,
            receive,
        })
    }

    /// Whether the app has rooms to join.
    pub fn has_rooms(&self) -> bool {
        self.send.contains_key("join")
    }

    /// The frame for `msg`, or `None` when the dialect does not send that message.
    pub fn encode(&self, msg: &ClientMessage) -> Option<String> {
        let (name, values): (&str, Vec<(&str, Value)>) = match msg {
            ClientMessage::JoinRoom { room, token } => (
                "join",
                vec![
                    ("room", json!(room)),
                    ("token", token.as_ref().map_or(Value::Null, |t| json!(t.expose()))),
                ],
            ),
            ClientMessage::Offer { sdp } => ("offer", vec![("sdp", json!(sdp))]),
            ClientMessage::Answer { sdp } => ("answer", vec![("sdp", json!(sdp))]),
            ClientMessage::Candidate(c) => ("candidate", candidate_values(Some(c))),
            ClientMessage::EndOfCandidates => match self.send.contains_key("end_of_candidates") {
                true => ("end_of_candidates", Vec::new()),
                // Without its own message, the end is the empty candidate browsers send.
                false => ("candidate", candidate_values(None)),
            },
            ClientMessage::LeaveRoom => ("leave", Vec::new()),
        };
        let template = self.send.get(name)?;
        Some(fill(template, &values).to_string())
    }

    /// Reads one frame; an ignored type (`receive.ignore`, a keepalive's answer) is `Ok(None)`.
    pub fn decode(&self, text: &str) -> Result<Option<ServerMessage>, DecodeError> {
        let invalid = |message: String| DecodeError { code: ErrorCode::BadMessage, violation: None, message };
        if text.len() > MAX_FRAME_BYTES {
            return Err(DecodeError {
                code: ErrorCode::TooLarge,
                violation: None,
                message: format!("frame of {} bytes exceeds {MAX_FRAME_BYTES}", text.len()),
            });
        }
        let v: Value = serde_json::from_str(text).map_err(|e| DecodeError {
            code: ErrorCode::BadJson,
            violation: None,
            message: e.to_string(),
        })?;
        let typ = match v.pointer(&self.type_at) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(invalid(format!("no message type at {}", self.type_at))),
        };
        if self.ignore.contains(&typ) {
            return Ok(None);
        }
        let Some((name, m)) = self.receive.iter().find(|(_, m)| m.when == typ) else {
            let shown: String = typ.chars().filter(|c| !c.is_control()).take(48).collect();
            return Err(DecodeError {
                code: ErrorCode::UnknownType,
                violation: None,
                message: format!("unknown message type {shown:?}"),
            });
        };
        let required = |field: &str| {
            m.text(&v, field).ok_or_else(|| invalid(format!("{name}: no {field} at {}", m.fields[field])))
        };
        Ok(Some(match *name {
            "joined" => ServerMessage::JoinedRoom {
                room: m.text(&v, "room").unwrap_or_default(),
                peer_id: required("peer_id")?,
                peers: ids(m.field(&v, "peers")),
                ice_servers: m.field(&v, "ice_servers").map(ice_servers).unwrap_or_default(),
            },
            "peer_joined" => ServerMessage::PeerJoined { peer_id: required("peer_id")? },
            "peer_left" => ServerMessage::PeerLeft { peer_id: required("peer_id")? },
            "offer" => ServerMessage::Offer { sdp: sdp(required("sdp")?)? },
            "answer" => ServerMessage::Answer { sdp: sdp(required("sdp")?)? },
            "end_of_candidates" => ServerMessage::EndOfCandidates,
            "candidate" => {
                let mut holder = Map::new();
                for (field, key) in
                    [("candidate", "candidate"), ("sdp_mid", "sdpMid"), ("sdp_mline_index", "sdpMLineIndex")]
                {
                    if let Some(x) = m.field(&v, field) {
                        holder.insert(key.into(), x.clone());
                    }
                }
                if !holder.contains_key("candidate") {
                    return Err(invalid(format!("candidate: nothing at {}", m.fields["candidate"])));
                }
                match decode_candidate(&holder)? {
                    Some(c) => ServerMessage::Candidate(c),
                    None => ServerMessage::EndOfCandidates,
                }
            }
            _ => {
                // A code of rtc-assist's own protocol keeps its name; another is quoted.
                let (code, message) = (m.text(&v, "code"), m.text(&v, "message").unwrap_or_default());
                match code.as_deref().and_then(|c| ErrorCode::ALL.into_iter().find(|k| k.as_str() == c)) {
                    Some(code) => ServerMessage::Error { code, message },
                    None => ServerMessage::Error {
                        code: ErrorCode::Internal,
                        message: code
                            .into_iter()
                            .chain([message])
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(": "),
                    },
                }
            }
        }))
    }
}

/// A JSON pointer from the file: empty (the whole message) or starting with `/`.
fn pointer(at: &Spanned<String>, key: &str) -> Result<String, (std::ops::Range<usize>, String, String)> {
    let p = at.get_ref();
    if p.is_empty() || p.starts_with('/') {
        Ok(p.clone())
    } else {
        Err((at.span(), key.to_owned(), format!("{p:?} is not a JSON pointer (RFC 6901): start it with '/'")))
    }
}

/// The first `{name}` in a template that is not a placeholder.
fn unknown_placeholder(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                let close = after.find('}')?;
                let name = &after[..close];
                if !PLACEHOLDERS.contains(&name) {
                    return Some(name.chars().take(32).collect());
                }
                rest = &after[close + 1..];
            }
            None
        }
        Value::Array(a) => a.iter().find_map(unknown_placeholder),
        Value::Object(o) => o.values().find_map(unknown_placeholder),
        _ => None,
    }
}

fn candidate_values(c: Option<&CandidateInit>) -> Vec<(&'static str, Value)> {
    match c {
        Some(c) => vec![
            ("candidate", json!(c.candidate)),
            ("sdp_mid", json!(c.sdp_mid)),
            ("sdp_mline_index", json!(c.sdp_mline_index)),
        ],
        None => vec![("candidate", json!("")), ("sdp_mid", json!("0")), ("sdp_mline_index", json!(0))],
    }
}

/// The template with its placeholders replaced: a string that is one placeholder becomes the
/// value itself (a number stays a number); a key whose value is an absent placeholder
/// (`{token}` without a token) is left out.
fn fill(template: &Value, values: &[(&str, Value)]) -> Value {
    let lookup = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    match template {
        Value::String(s) => {
            if let Some(name) =
                s.strip_prefix('{').and_then(|r| r.strip_suffix('}')).filter(|n| PLACEHOLDERS.contains(n))
            {
                return lookup(name).unwrap_or(Value::Null);
            }
            let mut out = s.clone();
            for (name, v) in values {
                let text = match v {
                    Value::String(t) => t.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                out = out.replace(&format!("{{{name}}}"), &text);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, values)).collect()),
        Value::Object(o) => Value::Object(
            o.iter().map(|(k, x)| (k.clone(), fill(x, values))).filter(|(_, x)| !x.is_null()).collect(),
        ),
        other => other.clone(),
    }
}

fn sdp(text: String) -> Result<String, DecodeError> {
    if text.starts_with("v=0") && text.contains("\nm=") {
        Ok(text)
    } else {
        Err(DecodeError {
            code: ErrorCode::BadSdp,
            violation: None,
            message: "not an SDP with a media section".into(),
        })
    }
}

/// Peer ids from an array of strings, numbers, or objects with `id`/`peer_id`.
fn ids(v: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(list)) = v else { return Vec::new() };
    list.iter()
        .filter_map(|p| match p {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(o) => o.get("peer_id").or_else(|| o.get("id")).and_then(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
            _ => None,
        })
        .take(1000)
        .collect()
}

/// ICE servers in the browser's `RTCIceServer` form.
fn ice_servers(v: &Value) -> Vec<IceServer> {
    crate::signal::protocol::parse_ice_servers_json(&v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
