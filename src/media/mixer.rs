//! Mixing remote peers' decoded audio for one consumer (the speaker, or a mixed recording): a
//! small jitter queue per peer, summed sample by sample. A peer's queue starts playing once it
//! holds [`PRIME`] samples and stops (silence) when it runs dry, so bursty arrival does not
//! click; a queue longer than [`MAX_QUEUE`] drops its oldest samples, so latency stays bounded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use super::SAMPLE_RATE;

/// 60 ms buffered before a peer is heard.
pub const PRIME: usize = SAMPLE_RATE as usize * 60 / 1000;
/// At most 300 ms queued per peer.
pub const MAX_QUEUE: usize = SAMPLE_RATE as usize * 300 / 1000;

#[derive(Default)]
struct Queue {
    samples: VecDeque<f32>,
    playing: bool,
}

/// Shared between the receiving tasks (push) and one consumer (mix).
#[derive(Default)]
pub struct Mixer {
    queues: Mutex<BTreeMap<String, Queue>>,
}

impl Mixer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `samples` (48 kHz mono) from `peer`.
    pub fn push(&self, peer: &str, samples: &[f32]) {
        let mut queues = self.queues.lock().expect("mixer lock");
        let q = queues.entry(peer.to_owned()).or_default();
        q.samples.extend(samples);
        let excess = q.samples.len().saturating_sub(MAX_QUEUE);
        q.samples.drain(..excess);
    }

    /// Forgets `peer` (its track ended).
    pub fn remove(&self, peer: &str) {
        self.queues.lock().expect("mixer lock").remove(peer);
    }

    /// Fills `out` with the next samples of every playing peer, summed and clipped to ±1.
    pub fn mix(&self, out: &mut [f32]) {
        out.fill(0.0);
        let mut queues = self.queues.lock().expect("mixer lock");
        for q in queues.values_mut() {
            if !q.playing && q.samples.len() >= PRIME {
                q.playing = true;
            }
            if !q.playing {
                continue;
            }
            let n = out.len().min(q.samples.len());
            for (o, s) in out.iter_mut().zip(q.samples.drain(..n)) {
                *o += s;
            }
            if q.samples.is_empty() {
                q.playing = false;
            }
        }
        for o in out.iter_mut() {
            *o = o.clamp(-1.0, 1.0);
        }
    }

    /// Samples still queued, over all peers.
    pub fn queued(&self) -> usize {
        self.queues.lock().expect("mixer lock").values().map(|q| q.samples.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_primed_summed_clipped_and_bounded() {
        let m = Mixer::new();
        let mut out = vec![0.0; 960];
        m.push("a", &[0.25; 960]);
        m.mix(&mut out);
        assert!(out.iter().all(|&s| s == 0.0), "not primed yet: silence");
        m.push("a", &[0.25; PRIME]);
        m.push("b", &[0.5; PRIME + 960]);
        m.mix(&mut out);
        assert!(out.iter().all(|&s| (s - 0.75).abs() < 1e-6), "both peers summed");
        m.push("c", &[0.9; PRIME]);
        m.mix(&mut out);
        assert!(out.iter().all(|&s| s == 1.0), "clipped at full scale");
        m.remove("c");
        m.push("a", &vec![0.1; MAX_QUEUE * 3]);
        assert!(m.queued() <= 3 * MAX_QUEUE);
    }

    #[test]
    fn a_peer_that_runs_dry_waits_to_be_primed_again() {
        let m = Mixer::new();
        let mut out = vec![0.0; 960];
        m.push("a", &[0.5; PRIME]);
        for _ in 0..PRIME / 960 {
            m.mix(&mut out);
            assert!(out.iter().all(|&s| s == 0.5));
        }
        m.push("a", &[0.5; 480]);
        m.mix(&mut out);
        assert!(out.iter().all(|&s| s == 0.0), "dry: waits for a new prime");
    }
}
