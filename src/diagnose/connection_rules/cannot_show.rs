//! What a file of each format cannot show, whatever it holds: the list `analyze` prints so a
//! clean report is not read as "nothing went wrong".

use crate::diagnose::connection::Connection;
use crate::diagnose::import::Format;

/// What a file of this format cannot show, whatever it holds.
pub fn cannot_show(format: Format, c: &Connection) -> Vec<String> {
    if format == Format::LoadJson {
        return vec![
            "each peer's timeline: why a phase failed beyond load's one-line reason (run `join --json` or \
             `rtc-assist probe` for one peer)"
                .into(),
            "what the server logged about the failed sessions".into(),
        ];
    }
    if format == Format::ServeRecord {
        return vec![
            "what the client did with the server's candidates and whether it heard anything (give analyze the client's file too)".into(),
            "the other sessions of the room (each has a record of its own)".into(),
        ];
    }
    let mut out = vec![
        "whether the server added this side's trickled candidates to its own connection (give analyze the server's \
         `serve --record` file too, or run `rtc-assist probe`)"
            .to_owned(),
    ];
    match format {
        Format::ServeRecord | Format::LoadJson => {}
        Format::WebrtcInternals | Format::Rtcstats => {
            out.push("candidate messages the page's JavaScript refused before the connection saw them (nested, or null sdpMid and sdpMLineIndex: `new RTCIceCandidate()` throws, the dump has no entry)".into());
            out.push("early candidates a page buffered itself: their early arrival leaves no trace".into());
            if format == Format::WebrtcInternals {
                out.push("stats before webrtc-internals was opened or after the tab was closed".into());
                out.push(if c.truncated_series > 0 {
                    format!(
                        "samples older than the last 1,000 of a stats series ({} series truncated here)",
                        c.truncated_series
                    )
                } else {
                    "samples older than the last 1,000 of a stats series".into()
                });
            } else {
                out.push("stats between two getStats polls, and after the last one".into());
            }
            out.push("addresses hidden behind mDNS `.local` names".into());
            out.push("who else was in the room, and the signaling messages themselves".into());
            out.push("TURN usernames and credentials (a dump holds neither)".into());
        }
        Format::RtcAssistNdjson | Format::ProbeJson => {
            out.push("what the other peers of the room received".into());
            out.push(
                "candidate ufrags and mids (a timeline keeps each candidate's type, address and port)".into(),
            );
        }
    }
    out
}
