use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::pulse::{Pulse, read_wav, tone_wav};
use crate::common::{BIN, Serve, finish};

/// The recording's 20 ms blocks louder than -40 dBFS (a mixed recording and the speaker also
/// hold silence before and after the talker).
fn audible(samples: &[f32]) -> Vec<f32> {
    samples
        .chunks(960)
        .filter(|b| (b.iter().map(|s| s * s).sum::<f32>() / b.len() as f32).sqrt() > 0.01)
        .flatten()
        .copied()
        .collect()
}

fn dominant_hz(samples: &[f32]) -> Option<f64> {
    let mut meter = rtc_assist::media::analysis::Meter::new();
    meter.push(samples);
    meter.dominant_hz()
}

/// Clocked real devices end to end: a 440 Hz WAV played into PulseAudio's virtual microphone,
/// `join --source mic` captures it, serve forwards it, the other peer records it (mixed) and
/// plays it on the virtual speaker, whose monitor is recorded too.
#[test]
fn the_microphone_reaches_the_other_peers_recording_through_serve() {
    let pulse = Pulse::start("e2e");
    let tone = pulse.dir.join("tone.wav");
    tone_wav(&tone, 440.0, 20);
    let mut voice = pulse.play_into_mic(&tone);
    // An idle null sink delays the first capture callback by 1-2 s: let the voice start first.
    std::thread::sleep(Duration::from_secs(2));
    let serve = Serve::start(&[]);
    let record = pulse.dir.join("mix.wav");
    let speaker = pulse.dir.join("speaker.wav");
    let mut speaker_rec = pulse.record_speaker(&speaker);
    let listener = pulse
        .command(BIN)
        .args(["join", "mic", "--server", &serve.url, "--source", "tone:300", "--duration", "11"])
        .args(["--output-device", "default", "--json", "--record-mix", "--record"])
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
    let _ = voice.wait();
    // SIGINT lets parecord finish its WAV header.
    let _ = Command::new("kill").args(["-INT", &speaker_rec.id().to_string()]).status();
    let _ = speaker_rec.wait();
    assert_eq!(
        (talker.code, listener.code),
        (0, 0),
        "{}\n{}\nPulseAudio log:\n{}",
        talker.stderr,
        listener.stderr,
        pulse.log_tail()
    );
    let sent = talker.summary()["packets_sent"].as_u64().unwrap_or(0);
    // The device paced the sender: about 50 packets a second once the track was negotiated.
    assert!(sent >= 250, "the microphone sent only {sent} packets in 8 s");
    let opened = listener.events_named("audio_device");
    assert!(opened.iter().any(|e| e["role"] == "output"), "no output device in the timeline");
    assert!(talker.events_named("audio_device").iter().any(|e| e["role"] == "input"));
    let expected = sent as f64 * 0.02;
    for (what, path) in [("mixed recording", &record), ("speaker", &speaker)] {
        let (samples, _) = read_wav(path);
        let sound = audible(&samples);
        let secs = sound.len() as f64 / 48_000.0;
        assert!(secs >= 0.8 * expected, "{what}: {secs:.1} s of sound of {expected:.1} s sent");
        let hz = dominant_hz(&sound[sound.len() / 2..]).unwrap_or_default();
        assert!((hz - 440.0).abs() <= 440.0 * 0.02, "{what}: {hz} Hz");
    }
    let stats = listener.events_named("inbound_rtp");
    let last = stats.last().expect("RTP statistics every few seconds");
    assert!(last["packets"].as_u64().unwrap_or(0) > 100 && last["lost"].as_i64().is_some(), "{last}");
}

/// The sound server going away mid-call (an unplugged device): exit 2, the timeline and the
/// one-line error say which device failed, and the summary is still printed.
#[test]
fn a_device_that_fails_mid_call_ends_the_session_with_exit_2() {
    let mut pulse = Pulse::start("unplug");
    let tone = pulse.dir.join("tone.wav");
    tone_wav(&tone, 440.0, 20);
    let mut voice = pulse.play_into_mic(&tone);
    std::thread::sleep(Duration::from_secs(2));
    let serve = Serve::start(&[]);
    let talker = pulse
        .command(BIN)
        .args(["join", "unplug", "--server", &serve.url, "--source", "mic", "--duration", "30", "--json"])
        .args(["--output-device", "default"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let _ = voice.kill();
    let _ = voice.wait();
    pulse.kill();
    let started = std::time::Instant::now();
    let talker = finish(talker);
    assert_eq!(talker.code, 2, "{}", talker.stderr);
    assert!(started.elapsed() < Duration::from_secs(15), "noticed within the stall limit");
    let failure = talker.events_named("error");
    assert!(
        failure.iter().any(|e| e["message"].as_str().is_some_and(|m| m.contains("audio device failed"))),
        "{:?}",
        talker.events
    );
    let last = talker.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("device \"default\""), "{}", talker.stderr);
    assert!(talker.events_named("summary").len() == 1);
}
