use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::pulse::{Pulse, read_wav, tone_wav};
use crate::common::{BIN, Serve, finish};

fn dominant_hz(samples: &[f32]) -> Option<f64> {
    let mut meter = rtc_assist::media::analysis::Meter::new();
    meter.push(samples);
    meter.dominant_hz()
}

/// Clocked real devices end to end: a 440 Hz WAV played into PulseAudio's virtual microphone,
/// `join --source mic` captures it, serve forwards it, the other peer records it.
#[test]
fn the_microphone_reaches_the_other_peers_recording_through_serve() {
    let pulse = Pulse::start("e2e");
    let tone = pulse.dir.join("tone.wav");
    tone_wav(&tone, 440.0, 20);
    let mut voice = pulse.play_into_mic(&tone);
    // An idle null sink delays the first capture callback by 1-2 s: let the voice start first.
    std::thread::sleep(Duration::from_secs(2));
    let serve = Serve::start(&[]);
    let record = pulse.dir.join("out.wav");
    let listener = Command::new(BIN)
        .args(["join", "mic", "--server", &serve.url, "--source", "tone:300", "--duration", "11"])
        .args(["--no-playback", "--json", "--record"])
        .arg(&record)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let talker = pulse
        .command(BIN)
        .args(["join", "mic", "--server", &serve.url, "--source", "mic", "--duration", "8", "--json"])
        .args(["--no-playback"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (talker, listener) = (finish(talker), finish(listener));
    let _ = voice.kill();
    assert_eq!((talker.code, listener.code), (0, 0), "{}\n{}", talker.stderr, listener.stderr);
    let sent = talker.summary()["packets_sent"].as_u64().unwrap_or(0);
    // The device paced the sender: about 50 packets a second once the track was negotiated.
    assert!(sent >= 250, "the microphone sent only {sent} packets in 8 s");
    let out = std::fs::read_dir(&pulse.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("out-"))
        .expect("a recording per remote peer");
    let (samples, secs) = read_wav(&out);
    let expected = sent as f64 * 0.02;
    assert!(secs >= 0.8 * expected, "recording covers {secs:.1} s of {expected:.1} s sent");
    let hz = dominant_hz(&samples[samples.len() / 2..]).unwrap_or_default();
    assert!((hz - 440.0).abs() <= 440.0 * 0.02, "recorded {hz} Hz");
}
