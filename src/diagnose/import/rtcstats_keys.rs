//! The static key tables of the rtcstats file format (version 3, "WebRTC domain specific
//! compression": importers must support it, clients may use it). A writer may replace a
//! method name by its number (`["6", …]` or `[6, …]` for `setLocalDescription`, `"g"` for
//! `getStats`), a getStats property by its number and a stats `type` by its number. The
//! tables are the format's, fixed ("numbers must not be reassigned"); a dump does not carry
//! them. Only the stats properties this importer reads are mapped; any other number stays
//! as it is (and is not read).

use serde_json::Value;

/// Method numbers (the format's method table, including the decompression-only 1 and 68).
const METHODS: &[(u16, &str)] = &[
    (1, "getStats"),
    (2, "createOffer"),
    (3, "createOfferOnSuccess"),
    (4, "createAnswer"),
    (5, "createAnswerOnSuccess"),
    (6, "setLocalDescription"),
    (7, "setLocalDescriptionOnSuccess"),
    (8, "setRemoteDescription"),
    (9, "setRemoteDescriptionOnSuccess"),
    (10, "addIceCandidate"),
    (11, "addIceCandidateOnSuccess"),
    (12, "createOfferOnFailure"),
    (13, "createAnswerOnFailure"),
    (14, "setLocalDescriptionOnFailure"),
    (15, "setRemoteDescriptionOnFailure"),
    (16, "addIceCandidateOnFailure"),
    (20, "onicecandidate"),
    (21, "onicecandidateerror"),
    (22, "ontrack"),
    (23, "onsignalingstatechange"),
    (24, "oniceconnectionstatechange"),
    (25, "onconnectionstatechange"),
    (26, "onicegatheringstatechange"),
    (27, "onnegotiationneeded"),
    (28, "ondatachannel"),
    (30, "addTrack"),
    (31, "addTrackOnSuccess"),
    (32, "addTransceiver"),
    (33, "addTransceiverOnSuccess"),
    (34, "removeTrack"),
    (35, "createDataChannel"),
    (36, "close"),
    (37, "restartIce"),
    (38, "setConfiguration"),
    (39, "create"),
    (40, "constraints"),
    (41, "setCodecPreferences"),
    (42, "setHeaderExtensionsToNegotiate"),
    (50, "setParameters"),
    (51, "replaceTrack"),
    (60, "navigator.mediaDevices.getUserMedia"),
    (61, "navigator.mediaDevices.getUserMediaOnSuccess"),
    (63, "navigator.mediaDevices.getDisplayMedia"),
    (64, "navigator.mediaDevices.getDisplayMediaOnSuccess"),
    (65, "navigator.mediaDevices.getUserMediaOnFailure"),
    (66, "navigator.mediaDevices.enumerateDevices"),
    (67, "navigator.mediaDevices.ondevicechange"),
    (68, "navigator.mediaDevices.getDisplayMediaOnFailure"),
    (70, "MediaStreamTrack.stop"),
    (71, "MediaStreamTrack.applyConstraints"),
    (72, "MediaStreamTrack.onended"),
    (73, "MediaStreamTrack.onmute"),
    (74, "MediaStreamTrack.onunmute"),
    (80, "HTMLMediaElement.resize"),
];

/// Stats types by number.
const TYPES: &[(u16, &str)] = &[
    (1, "inbound-rtp"),
    (2, "outbound-rtp"),
    (3, "remote-inbound-rtp"),
    (4, "remote-outbound-rtp"),
    (5, "transport"),
    (6, "candidate-pair"),
    (7, "local-candidate"),
    (8, "remote-candidate"),
    (9, "data-channel"),
    (10, "peer-connection"),
    (11, "certificate"),
    (12, "media-source"),
    (13, "media-playout"),
    (14, "codec"),
];

/// The stats properties the importer reads, by number.
const PROPERTIES: &[(u16, &str)] = &[
    (10, "ssrc"),
    (11, "kind"),
    (14, "packetsReceived"),
    (15, "packetsLost"),
    (16, "jitter"),
    (57, "audioLevel"),
    (79, "packetsSent"),
    (116, "protocol"),
    (118, "state"),
    (125, "selectedCandidatePairId"),
    (134, "address"),
    (135, "port"),
    (136, "candidateType"),
    (138, "url"),
    (148, "localCandidateId"),
    (149, "remoteCandidateId"),
    (152, "currentRoundTripTime"),
    (155, "requestsReceived"),
    (156, "requestsSent"),
    (157, "responsesReceived"),
];

fn lookup(table: &'static [(u16, &'static str)], key: &str) -> Option<&'static str> {
    let n: u16 = key.parse().ok()?;
    table.iter().find(|(k, _)| *k == n).map(|(_, name)| *name)
}

/// Why a line's method cannot be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodError {
    /// A number the format's table does not have (a newer writer).
    Unknown(String),
    /// Neither a string nor a number.
    NotAMethod,
}

/// A line's method: its name, or the name its number stands for.
pub fn method(v: &Value) -> Result<String, MethodError> {
    let key = match v {
        Value::String(s) if s == "g" => return Ok("getStats".into()),
        Value::String(s) if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() => return Ok(s.clone()),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(MethodError::NotAMethod),
    };
    lookup(METHODS, &key)
        .map(str::to_owned)
        .ok_or_else(|| MethodError::Unknown(key.chars().take(20).collect()))
}

/// A getStats property name, its number replaced by the name when the importer reads it
/// (`t` is the report's collapsed timestamp).
pub fn property(key: &str) -> String {
    match key {
        "t" => "timestamp".into(),
        _ => lookup(PROPERTIES, key).map_or_else(|| key.to_owned(), str::to_owned),
    }
}

/// A stats `type` value, its number replaced by the type's name.
pub fn stats_type(v: &Value) -> Value {
    let key = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return other.clone(),
    };
    lookup(TYPES, &key).map_or_else(|| v.clone(), |name| Value::String(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_name_methods_properties_and_types() {
        assert_eq!(method(&json!(6)).unwrap(), "setLocalDescription");
        assert_eq!(method(&json!("24")).unwrap(), "oniceconnectionstatechange");
        assert_eq!(method(&json!("g")).unwrap(), "getStats");
        assert_eq!(method(&json!(1)).unwrap(), "getStats");
        assert_eq!(method(&json!("setRemoteDescription")).unwrap(), "setRemoteDescription");
        assert_eq!(property("14"), "packetsReceived");
        assert_eq!(property("t"), "timestamp");
        assert_eq!(property("jitter"), "jitter");
        assert_eq!(stats_type(&json!(1)), json!("inbound-rtp"));
        assert_eq!(stats_type(&json!("6")), json!("candidate-pair"));
    }

    #[test]
    fn unknown_and_hostile_keys_are_errors_or_kept_never_a_panic() {
        assert_eq!(method(&json!(62)), Err(MethodError::Unknown("62".into())));
        assert_eq!(method(&json!(99999999)), Err(MethodError::Unknown("99999999".into())));
        assert_eq!(method(&json!(-6)), Err(MethodError::Unknown("-6".into())));
        assert_eq!(method(&json!(6.5)), Err(MethodError::Unknown("6.5".into())));
        assert_eq!(method(&json!("1".repeat(1000))).unwrap_err(), MethodError::Unknown("1".repeat(20)));
        assert_eq!(method(&json!(null)), Err(MethodError::NotAMethod));
        assert_eq!(method(&json!({"a": 1})), Err(MethodError::NotAMethod));
        assert_eq!(method(&json!("")).unwrap(), "");
        assert_eq!(property("70000"), "70000");
        assert_eq!(property("-1"), "-1");
        assert_eq!(stats_type(&json!(99)), json!(99));
        assert_eq!(stats_type(&json!([1])), json!([1]));
    }
}
