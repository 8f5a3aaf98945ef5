//! Janus Gateway's WebSocket API (subprotocol `janus-protocol`) as pure data: the requests a
//! client sends (create a session, attach a plugin, plugin messages with a JSEP offer or answer,
//! trickle, keepalive, hangup, detach, destroy), the replies and events Janus sends back decoded
//! into [`Reply`], what the echotest, audiobridge and videoroom plugins say inside an event
//! ([`PluginEvent`]), and each frame as the timeline keeps it ([`JanusStep`]: the `janus` verb,
//! its transaction, the plugin request or event, error codes and reasons).
//!
//! Janus' own facts this encodes: a request is acknowledged (`ack`) and a plugin's answer comes
//! later as an `event` with the same transaction (sometimes before the ack); core errors are
//! `{"janus": "error", "error": {"code", "reason"}}`, plugin errors sit inside an ordinary event as
//! `error_code` and `error`; session and handle ids are numbers, room and participant ids numbers
//! unless the plugin runs with `string_ids`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::signal::protocol::{CandidateInit, MAX_FRAME_BYTES, decode_candidate};

/// The WebSocket subprotocol Janus requires.
pub const SUBPROTOCOL: &str = "janus-protocol";
/// Longest error reason or hangup reason kept.
const MAX_REASON: usize = 200;

/// The Janus plugins rtc-assist speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// Sends every packet back: a peer hears itself.
    EchoTest,
    /// Mixes a room's audio: each participant hears the others.
    AudioBridge,
    /// An SFU: publishers publish, subscribers get each publisher's streams.
    VideoRoom,
}

impl Plugin {
    /// The package name `attach` takes.
    pub fn package(self) -> &'static str {
        match self {
            Self::EchoTest => "janus.plugin.echotest",
            Self::AudioBridge => "janus.plugin.audiobridge",
            Self::VideoRoom => "janus.plugin.videoroom",
        }
    }

    /// The key the plugin's event data is under (`{"audiobridge": "joined", …}`).
    fn key(self) -> &'static str {
        match self {
            Self::EchoTest => "echotest",
            Self::AudioBridge => "audiobridge",
            Self::VideoRoom => "videoroom",
        }
    }

    /// Whether the plugin has rooms to join before offering.
    pub fn has_rooms(self) -> bool {
        self != Self::EchoTest
    }

    /// The body of the message that carries our offer.
    pub fn offer_body(self) -> Value {
        match self {
            Self::EchoTest => json!({"audio": true, "video": false}),
            Self::AudioBridge => json!({"request": "configure", "muted": false}),
            Self::VideoRoom => json!({"request": "configure", "audio": true, "video": false}),
        }
    }

    /// The body of the message that carries our answer to an offer Janus made.
    pub fn answer_body(self) -> Value {
        match self {
            Self::EchoTest => json!({"audio": true}),
            Self::AudioBridge => json!({"request": "configure"}),
            Self::VideoRoom => json!({"request": "start"}),
        }
    }

    /// The body of the message that joins `room` (`None`: the plugin has no rooms).
    pub fn join_body(self, room: &str, display: &str) -> Option<Value> {
        let room = room_id(room);
        match self {
            Self::EchoTest => None,
            Self::AudioBridge => Some(json!({"request": "join", "room": room, "display": display})),
            Self::VideoRoom => {
                Some(json!({"request": "join", "ptype": "publisher", "room": room, "display": display}))
            }
        }
    }
}

/// A room name as the plugins want it: a number unless it is not one (`string_ids`).
fn room_id(room: &str) -> Value {
    match room.parse::<u64>() {
        Ok(n) if !room.starts_with('0') || room == "0" => json!(n),
        _ => json!(room),
    }
}

/// The frame every request starts from.
fn request(janus: &str, transaction: &str, session: Option<u64>, handle: Option<u64>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("janus".into(), json!(janus));
    m.insert("transaction".into(), json!(transaction));
    if let Some(s) = session {
        m.insert("session_id".into(), json!(s));
    }
    if let Some(h) = handle {
        m.insert("handle_id".into(), json!(h));
    }
    m
}

/// `create` a session, `info`, `keepalive` or `destroy`: requests with no handle.
pub fn session_request(janus: &str, transaction: &str, session: Option<u64>) -> Value {
    Value::Object(request(janus, transaction, session, None))
}

/// `attach` a plugin to the session.
pub fn attach(transaction: &str, session: u64, plugin: Plugin) -> Value {
    let mut m = request("attach", transaction, Some(session), None);
    m.insert("plugin".into(), json!(plugin.package()));
    Value::Object(m)
}

/// `hangup` or `detach` a handle.
pub fn handle_request(janus: &str, transaction: &str, session: u64, handle: u64) -> Value {
    Value::Object(request(janus, transaction, Some(session), Some(handle)))
}

/// A plugin `message` with its body and, when there is one, a JSEP (`offer` or `answer`).
pub fn message(
    transaction: &str,
    session: u64,
    handle: u64,
    body: Value,
    jsep: Option<(&str, &str)>,
) -> Value {
    let mut m = request("message", transaction, Some(session), Some(handle));
    m.insert("body".into(), body);
    if let Some((typ, sdp)) = jsep {
        m.insert("jsep".into(), json!({"type": typ, "sdp": sdp}));
    }
    Value::Object(m)
}

/// A `trickle` of one candidate, or `{"completed": true}` when `candidate` is `None`.
pub fn trickle(transaction: &str, session: u64, handle: u64, candidate: Option<&CandidateInit>) -> Value {
    let mut m = request("trickle", transaction, Some(session), Some(handle));
    let c = match candidate {
        Some(c) => json!({"candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index}),
        None => json!({"completed": true}),
    };
    m.insert("candidate".into(), c);
    Value::Object(m)
}

/// A session description Janus sent or answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jsep {
    /// `offer` or `answer`.
    pub typ: String,
    pub sdp: String,
}

/// What a plugin said inside an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginEvent {
    /// We are in the room: our id there and who was already present (audiobridge participants,
    /// videoroom publishers).
    Joined { room: String, id: String, present: Vec<String> },
    /// Others arrived (audiobridge participants, videoroom publishers).
    Arrived(Vec<String>),
    /// Someone left (`leaving`, `unpublished`, `kicked`).
    Left(String),
    /// The plugin refused a request: `error_code` and `error`.
    Error { code: i64, reason: String },
    /// Anything else (`result: ok`, `configured`, `talking`, …): recorded, nothing to do.
    Other,
}

/// A frame from Janus, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A request succeeded; `id` is `data.id` (a session or a handle).
    Success { transaction: String, id: Option<u64>, data: Value },
    /// A request was received; its answer comes as an event.
    Ack { transaction: String },
    /// A core error (`458 No such session`, …).
    Error { transaction: Option<String>, code: i64, reason: String },
    /// A plugin event, with a JSEP when the plugin answers or offers.
    Event { transaction: Option<String>, plugin: PluginEvent, jsep: Option<Jsep> },
    /// One of Janus' own candidates, or `None` once it has no more (`completed`).
    Trickle(Option<CandidateInit>),
    /// The PeerConnection is up (ICE and DTLS done).
    WebrtcUp,
    /// Janus started or stopped receiving a kind of media.
    Media { kind: String, receiving: bool },
    /// Janus closed the PeerConnection, with why ("ICE failed", "DTLS alert", …).
    Hangup { reason: String },
    /// The session expired: no request within `session_timeout`.
    Timeout,
    /// The answer to `info`: the server's `session-timeout` in seconds (0: never).
    ServerInfo { session_timeout: Option<u64> },
    /// Anything else Janus says (`slowlink`, `detached`, `server_info` …).
    Other { janus: String },
}

/// Why a frame from Janus could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JanusDecodeError(pub String);

/// The first `max` characters of `s`, without control characters.
fn printable(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A number or a string id, as text.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(printable(s, 128)),
        _ => None,
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Reply {
    pub fn decode(text: &str) -> Result<Self, JanusDecodeError> {
        if text.len() > MAX_FRAME_BYTES {
            return Err(JanusDecodeError(format!("frame of {} bytes exceeds {MAX_FRAME_BYTES}", text.len())));
        }
        let v: Value = serde_json::from_str(text).map_err(|e| JanusDecodeError(format!("not JSON: {e}")))?;
        Self::from_value(&v)
    }

    fn from_value(v: &Value) -> Result<Self, JanusDecodeError> {
        let Some(janus) = str_field(v, "janus") else {
            return Err(JanusDecodeError("no \"janus\" field".into()));
        };
        let transaction = str_field(v, "transaction").map(|t| printable(t, 64));
        let needs_tx =
            || transaction.clone().ok_or_else(|| JanusDecodeError(format!("{janus} without a transaction")));
        Ok(match janus {
            "success" => {
                let data = v.get("data").cloned().unwrap_or(Value::Null);
                let id = data.get("id").and_then(Value::as_u64);
                let plugindata = v.get("plugindata");
                match plugindata {
                    // A synchronous plugin answer comes as `success` with plugindata.
                    Some(p) => Self::Event { transaction, plugin: plugin_event(p)?, jsep: jsep(v)? },
                    None => Self::Success { transaction: needs_tx()?, id, data },
                }
            }
            "ack" => Self::Ack { transaction: needs_tx()? },
            "error" => {
                let e = v.get("error").unwrap_or(&Value::Null);
                Self::Error {
                    transaction,
                    code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                    reason: printable(str_field(e, "reason").unwrap_or(""), MAX_REASON),
                }
            }
            "event" => {
                let p =
                    v.get("plugindata").ok_or_else(|| JanusDecodeError("event without plugindata".into()))?;
                Self::Event { transaction, plugin: plugin_event(p)?, jsep: jsep(v)? }
            }
            "trickle" => Self::Trickle(trickled(v.get("candidate").unwrap_or(&Value::Null))?),
            "webrtcup" => Self::WebrtcUp,
            "media" => Self::Media {
                kind: printable(str_field(v, "type").unwrap_or("?"), 16),
                receiving: v.get("receiving").and_then(Value::as_bool).unwrap_or(false),
            },
            "hangup" => Self::Hangup { reason: printable(str_field(v, "reason").unwrap_or(""), MAX_REASON) },
            "timeout" => Self::Timeout,
            "server_info" => {
                Self::ServerInfo { session_timeout: v.get("session-timeout").and_then(Value::as_u64) }
            }
            other => Self::Other { janus: printable(other, 32) },
        })
    }
}

/// The JSEP of a frame, when it has one.
fn jsep(v: &Value) -> Result<Option<Jsep>, JanusDecodeError> {
    let Some(j) = v.get("jsep") else { return Ok(None) };
    let typ = str_field(j, "type").ok_or_else(|| JanusDecodeError("jsep without a type".into()))?;
    let sdp = str_field(j, "sdp").ok_or_else(|| JanusDecodeError("jsep without an sdp".into()))?;
    if typ != "offer" && typ != "answer" {
        return Err(JanusDecodeError(format!("jsep of type {:?}", printable(typ, 16))));
    }
    Ok(Some(Jsep { typ: typ.to_owned(), sdp: sdp.to_owned() }))
}

/// A candidate Janus trickled: `{"completed": true}` is `None`.
fn trickled(c: &Value) -> Result<Option<CandidateInit>, JanusDecodeError> {
    if c.get("completed").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let Value::Object(c) = c else { return Err(JanusDecodeError("trickle without a candidate".into())) };
    match decode_candidate(c) {
        Ok(Some(c)) => Ok(Some(c)),
        Ok(None) => Ok(None),
        Err(e) => Err(JanusDecodeError(format!("trickled candidate: {}", e.message))),
    }
}

/// What a plugin's data says.
fn plugin_event(p: &Value) -> Result<PluginEvent, JanusDecodeError> {
    let data = p.get("data").ok_or_else(|| JanusDecodeError("plugindata without data".into()))?;
    if let Some(code) = data.get("error_code").and_then(Value::as_i64) {
        let reason = printable(str_field(data, "error").unwrap_or(""), MAX_REASON);
        return Ok(PluginEvent::Error { code, reason });
    }
    let ids = |key: &str| -> Vec<String> {
        data.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| p.get("id").and_then(id_text)).collect())
            .unwrap_or_default()
    };
    let what = [Plugin::AudioBridge, Plugin::VideoRoom, Plugin::EchoTest]
        .into_iter()
        .find_map(|plugin| str_field(data, plugin.key()).map(|w| (plugin, w)));
    let Some((plugin, what)) = what else { return Ok(PluginEvent::Other) };
    let others = match plugin {
        Plugin::VideoRoom => "publishers",
        _ => "participants",
    };
    Ok(match what {
        // Our own join names our id; another's (audiobridge) has none and lists the newcomer.
        "joined" => match data.get("id").and_then(id_text) {
            Some(id) => PluginEvent::Joined {
                room: data.get("room").and_then(id_text).unwrap_or_default(),
                id,
                present: ids(others),
            },
            None if !ids(others).is_empty() => PluginEvent::Arrived(ids(others)),
            None => return Err(JanusDecodeError(format!("{} joined without an id", plugin.key()))),
        },
        _ => {
            let left =
                ["leaving", "unpublished", "kicked"].into_iter().find_map(|k| data.get(k).and_then(id_text));
            match left {
                // `unpublished: "ok"` answers our own unpublish; `leaving: "ok"` our own leave.
                Some(id) if id != "ok" => PluginEvent::Left(id),
                _ if !ids(others).is_empty() => PluginEvent::Arrived(ids(others)),
                _ => PluginEvent::Other,
            }
        }
    })
}

/// One frame of a Janus session as the timeline keeps it. SDP bodies and candidates are not
/// repeated here (the `signal` and candidate events carry them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JanusStep {
    /// `sent` or `received`.
    pub direction: String,
    /// The frame's `janus` verb: `create`, `attach`, `message`, `ack`, `event`, `error`, …
    pub janus: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// The plugin request (`join`, `configure`) or the plugin's event (`audiobridge: joined`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// For a reply: milliseconds since the request with its transaction went out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// An error's code (core `error.code` or a plugin's `error_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// An error's reason or a hangup's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `offer` or `answer` when the frame carried a JSEP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsep: Option<String>,
}

impl JanusStep {
    /// A frame as it went out or came in (`elapsed_ms` is the caller's to fill).
    pub fn of(direction: &str, frame: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| printable(s, 64));
        let data = frame.pointer("/plugindata/data");
        let what = text(frame.pointer("/body/request")).or_else(|| {
            let data = data?;
            [Plugin::AudioBridge, Plugin::VideoRoom, Plugin::EchoTest]
                .into_iter()
                .find_map(|p| text(data.get(p.key())).map(|w| format!("{}: {w}", p.key())))
        });
        let error = frame.get("error");
        let code = error
            .and_then(|e| e.get("code"))
            .or_else(|| data.and_then(|d| d.get("error_code")))
            .and_then(Value::as_i64);
        let reason = error
            .and_then(|e| e.get("reason"))
            .or_else(|| data.and_then(|d| d.get("error")))
            .or_else(|| frame.get("reason"))
            .and_then(Value::as_str)
            .map(|r| printable(r, MAX_REASON));
        Self {
            direction: direction.to_owned(),
            janus: text(frame.get("janus")).unwrap_or_else(|| "?".into()),
            transaction: text(frame.get("transaction")),
            what,
            elapsed_ms: None,
            code,
            reason,
            jsep: text(frame.pointer("/jsep/type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(v: Value) -> Reply {
        Reply::decode(&v.to_string()).unwrap()
    }

    #[test]
    fn requests_have_the_shape_janus_reads() {
        assert_eq!(session_request("create", "t1", None), json!({"janus": "create", "transaction": "t1"}));
        assert_eq!(
            attach("t2", 7, Plugin::AudioBridge),
            json!({"janus": "attach", "transaction": "t2", "session_id": 7, "plugin": "janus.plugin.audiobridge"})
        );
        let m = message("t3", 7, 9, Plugin::EchoTest.offer_body(), Some(("offer", "v=0\r\n")));
        assert_eq!(m["jsep"], json!({"type": "offer", "sdp": "v=0\r\n"}));
        assert_eq!(m["handle_id"], json!(9));
        assert_eq!(trickle("t4", 7, 9, None)["candidate"], json!({"completed": true}));
        let c = CandidateInit {
            candidate: "candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host".into(),
            sdp_mid: "0".into(),
            sdp_mline_index: 0,
        };
        assert_eq!(trickle("t5", 7, 9, Some(&c))["candidate"]["sdpMid"], json!("0"));
    }

    #[test]
    fn rooms_are_numbers_unless_they_cannot_be() {
        assert_eq!(Plugin::AudioBridge.join_body("1234", "x").unwrap()["room"], json!(1234));
        assert_eq!(Plugin::VideoRoom.join_body("lobby", "x").unwrap()["room"], json!("lobby"));
        assert_eq!(Plugin::AudioBridge.join_body("0012", "x").unwrap()["room"], json!("0012"));
        assert_eq!(
            Plugin::AudioBridge.join_body("99999999999999999999999", "x").unwrap()["room"],
            json!("99999999999999999999999")
        );
        assert!(Plugin::EchoTest.join_body("1", "x").is_none());
    }

    #[test]
    fn replies_and_events_decode() {
        assert_eq!(
            decode(json!({"janus": "success", "transaction": "t", "data": {"id": 42}})),
            Reply::Success { transaction: "t".into(), id: Some(42), data: json!({"id": 42}) }
        );
        assert_eq!(
            decode(json!({"janus": "ack", "transaction": "t"})),
            Reply::Ack { transaction: "t".into() }
        );
        assert_eq!(
            decode(
                json!({"janus": "error", "transaction": "t", "error": {"code": 458, "reason": "No such session 1"}})
            ),
            Reply::Error { transaction: Some("t".into()), code: 458, reason: "No such session 1".into() }
        );
        let ev = decode(json!({"janus": "event", "sender": 9, "transaction": "t",
            "plugindata": {"plugin": "janus.plugin.echotest", "data": {"echotest": "event", "result": "ok"}},
            "jsep": {"type": "answer", "sdp": "v=0\r\n"}}));
        assert_eq!(
            ev,
            Reply::Event {
                transaction: Some("t".into()),
                plugin: PluginEvent::Other,
                jsep: Some(Jsep { typ: "answer".into(), sdp: "v=0\r\n".into() })
            }
        );
        assert_eq!(
            decode(json!({"janus": "hangup", "sender": 9, "reason": "ICE failed"})),
            Reply::Hangup { reason: "ICE failed".into() }
        );
        assert_eq!(decode(json!({"janus": "timeout", "session_id": 1})), Reply::Timeout);
        assert_eq!(
            decode(json!({"janus": "server_info", "transaction": "t", "session-timeout": 60})),
            Reply::ServerInfo { session_timeout: Some(60) }
        );
        assert_eq!(
            decode(json!({"janus": "media", "type": "audio", "receiving": true})),
            Reply::Media { kind: "audio".into(), receiving: true }
        );
        assert_eq!(
            decode(json!({"janus": "trickle", "candidate": {"completed": true}})),
            Reply::Trickle(None)
        );
        let Reply::Trickle(Some(c)) = decode(json!({"janus": "trickle", "candidate":
            {"sdpMid": "0", "sdpMLineIndex": 0, "candidate": "candidate:1 1 udp 2015363327 10.1.2.3 4000 typ host"}}))
        else {
            panic!("a candidate")
        };
        assert_eq!((c.sdp_mid.as_str(), c.sdp_mline_index), ("0", 0));
    }

    #[test]
    fn plugin_events_name_rooms_people_and_errors() {
        let joined = |data: Value| match decode(json!({"janus": "event", "plugindata": {"data": data}})) {
            Reply::Event { plugin, .. } => plugin,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            joined(
                json!({"audiobridge": "joined", "room": 1234, "id": 77, "participants": [{"id": 5, "display": "a"}]})
            ),
            PluginEvent::Joined { room: "1234".into(), id: "77".into(), present: vec!["5".into()] }
        );
        assert_eq!(
            joined(
                json!({"videoroom": "joined", "room": 1234, "id": 8, "publishers": [{"id": 3}, {"id": "x"}]})
            ),
            PluginEvent::Joined {
                room: "1234".into(),
                id: "8".into(),
                present: vec!["3".into(), "x".into()]
            }
        );
        assert_eq!(
            joined(
                json!({"audiobridge": "joined", "room": 1234, "participants": [{"id": 6, "setup": false}]})
            ),
            PluginEvent::Arrived(vec!["6".into()])
        );
        assert_eq!(
            joined(json!({"audiobridge": "event", "room": 1234, "participants": [{"id": 6}]})),
            PluginEvent::Arrived(vec!["6".into()])
        );
        assert_eq!(
            joined(json!({"audiobridge": "event", "room": 1234, "leaving": 6})),
            PluginEvent::Left("6".into())
        );
        assert_eq!(joined(json!({"videoroom": "event", "unpublished": "ok"})), PluginEvent::Other);
        assert_eq!(
            joined(json!({"audiobridge": "event", "error_code": 485, "error": "No such room (9999)"})),
            PluginEvent::Error { code: 485, reason: "No such room (9999)".into() }
        );
    }

    #[test]
    fn hostile_frames_are_errors_not_panics() {
        for bad in [
            "",
            "[]",
            "null",
            "{\"janus\": 5}",
            "{\"janus\": \"ack\"}",
            "{\"janus\": \"event\"}",
            "{\"janus\": \"event\", \"plugindata\": {}}",
            "{\"janus\": \"event\", \"plugindata\": {\"data\": {\"audiobridge\": \"joined\"}}}",
            "{\"janus\": \"event\", \"plugindata\": {\"data\": {}}, \"jsep\": {\"type\": \"pranswer\", \"sdp\": \"\"}}",
            "{\"janus\": \"event\", \"plugindata\": {\"data\": {}}, \"jsep\": {\"type\": \"answer\"}}",
            "{\"janus\": \"trickle\", \"candidate\": {\"candidate\": \"garbage\"}}",
            "{\"janus\": \"trickle\"}",
            &format!("{{\"janus\": \"ack\", \"transaction\": \"{}\"}}", "x".repeat(MAX_FRAME_BYTES)),
        ] {
            assert!(Reply::decode(bad).is_err(), "{bad:.80}");
        }
        // Odd but harmless frames decode to something to record.
        let long = "r".repeat(10_000);
        let Reply::Hangup { reason } = decode(json!({"janus": "hangup", "reason": long})) else { panic!() };
        assert_eq!(reason.len(), MAX_REASON);
        assert_eq!(decode(json!({"janus": "\u{0}weird"})), Reply::Other { janus: "weird".into() });
        assert_eq!(
            decode(json!({"janus": "error", "error": "not an object"})),
            Reply::Error { transaction: None, code: 0, reason: String::new() }
        );
    }

    #[test]
    fn steps_keep_verbs_transactions_and_errors_not_bodies() {
        let sent = JanusStep::of("sent", &message("t9", 1, 2, json!({"request": "join", "room": 1}), None));
        assert_eq!((sent.janus.as_str(), sent.what.as_deref()), ("message", Some("join")));
        let got = JanusStep::of(
            "received",
            &json!({"janus": "event", "transaction": "t9", "plugindata":
                {"data": {"audiobridge": "event", "error_code": 485, "error": "No such room (9999)"}}}),
        );
        assert_eq!(got.what.as_deref(), Some("audiobridge: event"));
        assert_eq!((got.code, got.reason.as_deref()), (Some(485), Some("No such room (9999)")));
        let offer =
            JanusStep::of("sent", &message("t", 1, 2, json!({}), Some(("offer", "v=0 secret-ish sdp"))));
        assert_eq!(offer.jsep.as_deref(), Some("offer"));
        assert!(!serde_json::to_string(&offer).unwrap().contains("v=0"));
        let hangup = JanusStep::of("received", &json!({"janus": "hangup", "reason": "ICE failed"}));
        assert_eq!(hangup.reason.as_deref(), Some("ICE failed"));
    }
}
