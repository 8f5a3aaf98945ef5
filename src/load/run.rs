//! `rtc-assist load`: many peers in one process against any signaling server. Joins are paced
//! by one token bucket; every peer is a real [client session](crate::client) whose media is
//! the cheap kind ([`Counted`]): publishers loop Opus frames encoded once, receivers count RTP
//! and never decode. Once a second the run samples itself and the server's `/stats`; at the
//! end each peer is judged from its own timeline ([`load_phases`]) and the run is summed up
//! ([`load_report`](crate::load::report)).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::server_view::{ServerView, stats_url_for};
use crate::client::counted::{self, Counted, PacingLag, StreamCounts};
use crate::client::{self, ClientOptions};
use crate::diagnose::recorder::Recorder;
use crate::diagnose::timeline::Event;
use crate::load::phases::{self, PeerEnd};
use crate::load::progress::{ProgressSink, Sample};
use crate::load::report::{Generator, PeerLine, PeerResult, ServerSample, Summary, server_window};
use crate::media::Source;
use crate::media::rtp_count::RtpFigures;
use crate::peer::PeerOptions;
use crate::serve::process_sample::ProcessSample;
use crate::serve::ratelimit::TokenBucket;
use crate::signal::janus_api::Plugin;
use crate::signal::kind::SignalKind;
use crate::signal::secret::Secret;

/// The tone every publisher sends.
const TONE_HZ: f64 = 440.0;
/// How long peers get to leave once the run is over.
const LEAVE_GRACE: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub url: String,
    pub rooms: u32,
    pub peers: u32,
    pub publishers: u32,
    pub rate: f64,
    pub duration: Duration,
    pub warmup: Duration,
    /// Slice `.0` (from 1) of `.1`.
    pub shard: (u32, u32),
    pub peer: PeerOptions,
    pub trust: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    pub token: Option<Secret>,
    pub stats_url: Option<String>,
    pub bitrate: i32,
    /// Room names are `<prefix>-<n>`.
    pub prefix: String,
    /// The signaling every peer speaks.
    pub signal: SignalKind,
    /// One room every peer joins instead of `<prefix>-<n>` (rooms that must exist, Janus').
    pub room: Option<String>,
}

/// The rooms of this shard: room `n` (from 0) belongs to shard `n % N + 1`.
pub fn shard_rooms(rooms: u32, (index, count): (u32, u32)) -> Vec<u32> {
    (0..rooms).filter(|n| n % count.max(1) + 1 == index).collect()
}

/// The quiet period before the last count: publishers have stopped and the queues drain. It
/// ends when the server's per-listener totals and the peers' own have not moved for one step
/// (a busy server may still be draining after a second), or after `QUIET_MAX`.
const QUIET_STEP: Duration = Duration::from_millis(500);
const QUIET_MAX: Duration = Duration::from_secs(5);

/// One peer of the run.
struct Slot {
    room: String,
    publishes: bool,
    expects_audio: bool,
    rec: Arc<Recorder>,
    streams: StreamCounts,
    sent: Arc<AtomicU64>,
    /// The session's error, once it has ended with one.
    error: Arc<Mutex<Option<String>>>,
    task: JoinHandle<()>,
    /// Stream figures when the measured window opened.
    baseline: Vec<RtpFigures>,
}

impl Slot {
    fn figures(&self) -> Vec<RtpFigures> {
        self.streams
            .lock()
            .expect("stream counts lock")
            .iter()
            .map(|c| c.lock().expect("count lock").figures())
            .collect()
    }

    fn judge(&self, stop_ms: u64) -> (phases::Phases, Option<phases::Failure>) {
        self.judge_in(&self.rec.timeline(), stop_ms)
    }

    fn judge_in(
        &self,
        timeline: &crate::diagnose::timeline::Timeline,
        stop_ms: u64,
    ) -> (phases::Phases, Option<phases::Failure>) {
        let error = self.error.lock().expect("error lock").clone();
        phases::judge(&PeerEnd {
            events: timeline.events(),
            error: error.as_deref(),
            stop_ms,
            expects_audio: self.expects_audio,
        })
    }

    /// The peer's totals since it joined, for its `peer` line.
    fn line(&self, stop_ms: u64, forwarded_to: Option<&BTreeMap<String, u64>>) -> PeerLine {
        let timeline = self.rec.timeline();
        let (phases, failure) = self.judge_in(&timeline, stop_ms);
        let peer_id = timeline.events().iter().find_map(|e| match &e.event {
            Event::JoinedRoom { peer_id, .. } => Some(peer_id.clone()),
            _ => None,
        });
        let node = timeline.events().iter().rev().find_map(|e| match &e.event {
            Event::SignalingConnected { url } => Some(url.clone()),
            _ => None,
        });
        let figures = self.figures();
        PeerLine {
            event: "peer",
            room: self.room.clone(),
            server_forwarded: forwarded_to
                .map(|m| peer_id.as_ref().and_then(|p| m.get(p)).copied().unwrap_or(0)),
            peer_id,
            node,
            publishes: self.publishes,
            connect_ms: phases.get(phases::Phase::Connected),
            failure,
            streams: figures.len(),
            received: figures.iter().map(|f| f.packets - f.duplicates).sum(),
            lost: figures.iter().map(|f| f.lost).sum(),
            duplicates: figures.iter().map(|f| f.duplicates).sum(),
        }
    }

    /// The peer's result over the measured window.
    fn result(&self, stop_ms: u64) -> PeerResult {
        let (phases, failure) = self.judge(stop_ms);
        let (mut expected, mut lost, mut received) = (0, 0, 0);
        let mut jitter: Option<f64> = None;
        for (i, f) in self.figures().iter().enumerate() {
            let base = self.baseline.get(i).copied();
            let unique = |f: &RtpFigures| f.packets - f.duplicates;
            let e = f.expected - base.map_or(0, |b| b.expected);
            let u = unique(f) - base.as_ref().map_or(0, unique);
            expected += e;
            lost += e.saturating_sub(u);
            received += u;
            jitter = Some(jitter.map_or(f.jitter_ms, |j: f64| j.max(f.jitter_ms)));
        }
        PeerResult {
            phases,
            failure,
            expected,
            lost,
            received,
            jitter_ms: jitter,
            sent: self.sent.load(Ordering::Relaxed),
        }
    }
}

fn ms_since(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

struct Run {
    opts: LoadOptions,
    start: Instant,
    slots: Vec<Slot>,
    stop: CancellationToken,
    quiet: CancellationToken,
    lag: Arc<PacingLag>,
    view: Option<ServerView>,
    progress: Box<dyn ProgressSink>,
    generator_start: Option<ProcessSample>,
}

impl Run {
    /// Samples the run and the server; prints a progress line or an NDJSON sample.
    async fn sample(&mut self) -> Option<(u64, ServerSample)> {
        let now = ms_since(self.start);
        let server = match &mut self.view {
            Some(v) => v.sample().await,
            None => None,
        };
        let (mut connected, mut failed) = (0, 0);
        for s in &self.slots {
            let (phases, failure) = s.judge(s.rec.elapsed_ms());
            connected += usize::from(phases.get(phases::Phase::Connected).is_some() && failure.is_none());
            failed += usize::from(failure.is_some());
        }
        self.progress.sample(&Sample {
            t_ms: now,
            started: self.slots.len(),
            connected,
            failed,
            server_forwarded: server.and_then(|s| s.forwarded_packets),
            server_cpu_seconds: server.and_then(|s| s.process).map(|p| p.cpu_seconds),
        });
        server.map(|s| (now, s))
    }

    fn spawn_peer(
        &mut self,
        room: &str,
        publishes: bool,
        expects_audio: bool,
        packets: &Arc<[bytes::Bytes]>,
    ) {
        let rec = Arc::new(Recorder::silent(Instant::now()));
        let media = Counted {
            packets: publishes.then(|| packets.clone()),
            streams: Arc::default(),
            sent: Arc::default(),
            lag: self.lag.clone(),
            quiet: self.quiet.clone(),
        };
        let mut opts = ClientOptions::new(
            self.opts.url.clone(),
            room.to_owned(),
            Source::Tone { hz: TONE_HZ },
            self.opts.peer.clone(),
        );
        opts.trust = self.opts.trust.clone();
        opts.token = self.opts.token.clone();
        opts.bitrate = self.opts.bitrate;
        opts.counted = Some(media.clone());
        opts.signal = self.opts.signal.clone();
        opts.behaviour.full_sdp_offer = !self.opts.signal.trickles();
        let error = Arc::new(Mutex::new(None));
        let task = {
            let (rec, error, stop) = (rec.clone(), error.clone(), self.stop.clone());
            tokio::spawn(async move {
                if let Err(e) = client::run(opts, rec, stop).await {
                    *error.lock().expect("error lock") = Some(e.to_string());
                }
            })
        };
        self.slots.push(Slot {
            room: room.to_owned(),
            publishes,
            expects_audio,
            rec,
            streams: media.streams,
            sent: media.sent,
            error,
            task,
            baseline: Vec::new(),
        });
    }

    /// Every peer's line once the counts have settled after the publishers stopped.
    async fn settled_lines(&mut self) -> Vec<PeerLine> {
        let deadline = Instant::now() + QUIET_MAX;
        let mut before: Option<Vec<(u64, Option<u64>)>> = None;
        loop {
            tokio::time::sleep(QUIET_STEP).await;
            let forwarded_to = match &mut self.view {
                Some(v) => v.forwarded_to_listeners().await,
                None => None,
            };
            let lines: Vec<PeerLine> =
                self.slots.iter().map(|s| s.line(s.rec.elapsed_ms(), forwarded_to.as_ref())).collect();
            let counts: Vec<_> = lines.iter().map(|l| (l.received, l.server_forwarded)).collect();
            if before.as_ref() == Some(&counts) || Instant::now() >= deadline {
                return lines;
            }
            before = Some(counts);
        }
    }

    /// Sleeps until `until` (or Ctrl-C), sampling every second; keeps the server's last sample.
    async fn wait(&mut self, until: Instant, last: &mut Option<(u64, ServerSample)>) {
        let mut next = Instant::now();
        while Instant::now() < until && !self.stop.is_cancelled() {
            if Instant::now() >= next {
                *last = self.sample().await.or(*last);
                next += SAMPLE_EVERY;
            }
            tokio::select! {
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(next.min(until))) => {}
                () = self.stop.cancelled() => {}
            }
        }
    }
}

/// Runs the load; returns its summary and one line per peer.
pub async fn run(
    opts: LoadOptions,
    progress: Box<dyn ProgressSink>,
    shutdown: CancellationToken,
) -> anyhow::Result<(Summary, Vec<PeerLine>)> {
    let packets = counted::encode_tone(TONE_HZ, opts.bitrate)?;
    // A signaling without rooms (WHIP, WHEP, echotest) has one "room": the endpoint.
    let name = |n: &u32| match (&opts.room, opts.signal.has_rooms()) {
        (Some(room), _) => room.clone(),
        (None, true) => format!("{}-{n}", opts.prefix),
        (None, false) => opts.signal.to_string(),
    };
    let rooms: Vec<String> = shard_rooms(opts.rooms, opts.shard).iter().map(name).collect();
    let planned = rooms.len() * opts.peers as usize;
    // /stats beside the WebSocket path is our own server's; another signaling names its own.
    let ours = opts.signal == SignalKind::RtcAssist;
    let stats_url = opts.stats_url.clone().or_else(|| ours.then(|| stats_url_for(&opts.url)).flatten());
    let view = stats_url.and_then(|u| ServerView::new(&u, opts.trust.clone()));
    let stop = shutdown.child_token();
    let mut run = Run {
        start: Instant::now(),
        slots: Vec::with_capacity(planned),
        stop: stop.clone(),
        quiet: stop.child_token(),
        lag: Arc::default(),
        view,
        progress,
        generator_start: crate::serve::proc_stats::sample(),
        opts,
    };
    let mut last = None;
    let mut bucket = TokenBucket::new(run.opts.rate, 1, 0);
    let mut next_sample = Instant::now();
    'joins: for room in &rooms {
        for i in 0..run.opts.peers {
            loop {
                if stop.is_cancelled() {
                    break 'joins;
                }
                if Instant::now() >= next_sample {
                    last = run.sample().await.or(last);
                    next_sample += SAMPLE_EVERY;
                }
                let wait = bucket.ms_until_token(ms_since(run.start));
                if wait == 0 && bucket.take(ms_since(run.start)) {
                    break;
                }
                let until = Instant::now() + Duration::from_millis(wait.clamp(1, 1000));
                tokio::time::sleep_until(tokio::time::Instant::from_std(until.min(next_sample))).await;
            }
            let publishes = i < run.opts.publishers;
            // A WHEP viewer expects the endpoint's audio; a WHIP publisher hears nothing back.
            let others_publish = match run.opts.signal.has_rooms() {
                true => run.opts.publishers.saturating_sub(u32::from(publishes)) > 0,
                false => !run.opts.signal.sends() || run.opts.signal == SignalKind::Janus(Plugin::EchoTest),
            };
            run.spawn_peer(room, publishes, others_publish, &packets);
        }
    }
    let joined = Instant::now();
    run.wait(joined + run.opts.warmup, &mut last).await;
    for s in &mut run.slots {
        s.baseline = s.figures();
    }
    let measure_start = Instant::now();
    let first = run.sample().await;
    run.wait(joined + run.opts.duration, &mut last).await;
    let measured_s = measure_start.elapsed().as_secs_f64();
    last = run.sample().await.or(last);
    let results: Vec<PeerResult> = run.slots.iter().map(|s| s.result(s.rec.elapsed_ms())).collect();
    let generator_end = crate::serve::proc_stats::sample();
    // Publishers stop; once the queues have drained, every receiver's totals can be held
    // against what the server says it forwarded to it.
    run.quiet.cancel();
    let lines = run.settled_lines().await;
    stop.cancel();
    for s in run.slots.drain(..) {
        let _ = tokio::time::timeout(LEAVE_GRACE, s.task).await;
    }
    let server = first.zip(last).and_then(|(a, b)| server_window(a, b));
    let generator = Generator {
        cpu_pct: match (run.generator_start, generator_end) {
            (Some(a), Some(b)) => {
                let secs = run.start.elapsed().as_secs_f64().max(0.001);
                ((b.cpu_seconds - a.cpu_seconds) * 100.0 / secs * 10.0).round() / 10.0
            }
            _ => 0.0,
        },
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        pacing_lag_ms: (run.lag.mean_ms() * 100.0).round() / 100.0,
    };
    run.progress.finish();
    let mut summary = Summary::new(&results, server, generator, measured_s);
    summary.note_peers(&lines);
    Ok((summary, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_rooms_without_overlap() {
        let all: Vec<u32> = (1..=3).flat_map(|i| shard_rooms(10, (i, 3))).collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(shard_rooms(10, (1, 1)).len(), 10);
        assert_eq!(shard_rooms(2, (3, 3)), Vec::<u32>::new());
    }
}
