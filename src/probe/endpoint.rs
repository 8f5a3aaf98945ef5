//! `probe --signal whip|whep|janus-… URL`: one health check of a WHIP or WHEP endpoint or a
//! Janus deployment. A real peer publishes a tone (WHIP, Janus) or listens (WHEP) for a few
//! seconds through it, then the connection rules that `analyze` applies to any timeline judge
//! what happened: the HTTP exchange (`WHIP-*`), Janus' refusals and hangups (`JANUS-*`), ICE
//! (never connected, lost), unreachable or silent server addresses. Through Janus' echotest the
//! peer must hear its own tone come back (`ECHO-SILENT` otherwise).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Behaviour, ClientOptions};
use crate::diagnose::connection::Connection;
use crate::diagnose::connection_rules::diagnose_connection;
use crate::diagnose::recorder::Recorder;
use crate::diagnose::rules::Finding;
use crate::diagnose::summary::Summary;
use crate::diagnose::timeline::{Event, Stamped};
use crate::media::Source;
use crate::peer::PeerOptions;
use crate::signal::janus_api::Plugin;
use crate::signal::kind::SignalKind;
use crate::signal::secret::Secret;

/// How long the probe's peer stays in the session.
const HOLD: Duration = Duration::from_secs(3);

pub struct EndpointOptions {
    pub url: String,
    pub signal: SignalKind,
    /// The room to join where the signaling has rooms (Janus' audiobridge and videoroom).
    pub room: String,
    /// WHIP/WHEP: trickle candidates by PATCH instead of putting them in the offer.
    pub trickle: bool,
    pub peer: PeerOptions,
    pub trust: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    pub token: Option<Secret>,
}

#[derive(Debug, Serialize)]
pub struct EndpointReport {
    pub signal: &'static str,
    pub url: String,
    pub connected: bool,
    pub findings: Vec<Finding>,
    pub timeline: Vec<Stamped>,
}

/// Runs the check; an endpoint that cannot be reached is a finding, not an error.
pub async fn check(opts: EndpointOptions, shutdown: CancellationToken) -> EndpointReport {
    let rec = Arc::new(Recorder::silent(Instant::now()));
    let copts = ClientOptions {
        duration: Some(HOLD),
        trust: opts.trust,
        token: opts.token,
        signal: opts.signal.clone(),
        behaviour: Behaviour {
            full_sdp_offer: !opts.signal.trickles() && !opts.trickle,
            ..Behaviour::default()
        },
        ..ClientOptions::new(opts.url.clone(), opts.room, Source::Tone { hz: 440.0 }, opts.peer)
    };
    if let Err(e) = client::run(copts, rec.clone(), shutdown).await {
        rec.record(Event::Error { message: e.to_string() });
    }
    let timeline = rec.timeline();
    let connection = Connection::from_timeline(opts.signal.as_str(), &timeline);
    let summary = Summary::from_timeline(&timeline);
    let connected = summary.ever_connected;
    let mut findings = diagnose_connection(&connection);
    if connected
        && opts.signal == SignalKind::Janus(Plugin::EchoTest)
        && !summary.unheard_endpoint().peers.is_empty()
    {
        findings.push(Finding {
            code: "ECHO-SILENT".into(),
            title: "connected, but the echo never came back".into(),
            evidence: vec![format!("no audible stream within {} s of connecting through the echotest", HOLD.as_secs())],
            fix: "Janus received no media or sent none back: read its log for the handle (SRTP errors, a codec it refused) and the media events in the timeline".into(),
        });
    }
    if !connected && findings.is_empty() {
        findings.push(Finding {
            code: "NOT-CONNECTED".into(),
            title: "the peer never connected".into(),
            evidence: vec![match timeline.events().iter().find_map(|e| match &e.event {
                Event::Error { message } => Some(message.clone()),
                _ => None,
            }) {
                Some(why) => why,
                None => format!("no connection within {} s of the answer", HOLD.as_secs()),
            }],
            fix: "read the timeline: which candidates the answer carried and how far ICE got".into(),
        });
    }
    EndpointReport {
        signal: opts.signal.as_str(),
        url: crate::signal::token::redact_url(&opts.url),
        connected,
        findings,
        timeline: timeline.events().to_vec(),
    }
}

impl EndpointReport {
    /// Healthy: connected, and no rule found anything.
    pub fn healthy(&self) -> bool {
        self.connected && self.findings.is_empty()
    }
}
