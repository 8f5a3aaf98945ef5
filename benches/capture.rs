//! Benchmark (not a test): capture-to-packet latency with a clocked device, and Opus encode
//! time per second of audio.
//!
//! Starts its own PulseAudio (null sinks, as the tests do), plays a 440 Hz tone into the virtual
//! microphone, and re-runs itself with ALSA pointed at that PulseAudio (ALSA reads its
//! configuration once, at the first call). The child captures from the default input exactly
//! as `join --source mic` does; for every 20 ms frame, the latency is from the capture time of
//! its first sample (cpal's capture timestamp) to the Opus packet being ready.
//!
//! `cargo bench --bench capture [-- SECONDS]` (default 10 s of audio).

use std::time::{Duration, Instant};

use rtc_assist::media::capture::{Capture, InputChoice};
use rtc_assist::media::codec::{DEFAULT_BITRATE, OpusEncoder};
use rtc_assist::media::{FRAME, FRAME_SAMPLES};

#[allow(dead_code)]
#[path = "../tests/common/pulse.rs"]
mod pulse;

/// Set in the child run, which measures.
const CHILD: &str = "RTC_ASSIST_BENCH_CAPTURE_CHILD";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(seconds: f64) {
    let mut capture = Capture::open(&InputChoice::default()).expect("open the default input");
    let n = &capture.negotiated;
    println!("input: {} ({} {} ch {} Hz)", n.device, n.sample_format, n.channels, n.rate);
    let mut encoder = OpusEncoder::new(DEFAULT_BITRATE).expect("opus encoder");
    let mut frame = vec![0.0f32; FRAME_SAMPLES];
    // The first second settles the device and the resampler; it is not measured.
    let warmup = (1.0 / FRAME.as_secs_f64()) as usize;
    let frames = (seconds / FRAME.as_secs_f64()) as usize;
    let (mut latency_ms, mut encode) = (Vec::with_capacity(frames), Duration::ZERO);
    for i in 0..warmup + frames {
        let captured = capture.next_frame(&mut frame).await.expect("capture");
        let t = Instant::now();
        let packet = encoder.encode(&frame).expect("encode");
        let ready = Instant::now();
        assert!(!packet.is_empty());
        if i >= warmup {
            encode += ready - t;
            latency_ms.push((ready - captured).as_secs_f64() * 1000.0);
        }
    }
    latency_ms.sort_by(f64::total_cmp);
    let audio = frames as f64 * FRAME.as_secs_f64();
    println!(
        "frames: {frames} ({audio:.1} s of audio), dropped device callbacks: {}",
        capture.dropped_blocks()
    );
    println!(
        "capture-to-packet latency: median {:.1} ms, p95 {:.1} ms (min {:.1}, max {:.1})",
        percentile(&latency_ms, 0.5),
        percentile(&latency_ms, 0.95),
        latency_ms[0],
        latency_ms[latency_ms.len() - 1]
    );
    println!(
        "Opus encode (32 kbit/s, VoIP, FEC): {:.2} ms per second of audio ({:.3} % of one core)",
        encode.as_secs_f64() * 1000.0 / audio,
        encode.as_secs_f64() * 100.0 / audio
    );
}

fn main() {
    let seconds: f64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10.0);
    if std::env::var_os(CHILD).is_some() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(measure(seconds));
        return;
    }
    let pulse = pulse::Pulse::start("bench");
    let tone = pulse.dir.join("tone.wav");
    pulse::tone_wav(&tone, 440.0, (seconds as u32) + 10);
    let mut voice = pulse.play_into_mic(&tone);
    // An idle null sink delays the first capture callback by 1-2 s.
    std::thread::sleep(Duration::from_secs(2));
    let me = std::env::current_exe().expect("own path");
    let status = pulse
        .command(me.to_str().expect("utf-8 path"))
        .arg(seconds.to_string())
        .env(CHILD, "1")
        .status()
        .expect("run the measuring child");
    let _ = voice.kill();
    let _ = voice.wait();
    assert!(status.success(), "the measuring run failed");
}
