use std::process::{Command, Stdio};

use crate::common::{BIN, Serve, finish};

/// A 44.1 kHz stereo WAV goes through serve; the other peer records it: same tone, most of it.
#[test]
fn a_wav_source_arrives_in_the_other_peers_recording() {
    let dir = std::env::temp_dir().join(format!("rtc-assist-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&input, spec).unwrap();
    for i in 0..44_100 * 6 {
        let v = (12_000.0 * (std::f64::consts::TAU * 523.25 * f64::from(i) / 44_100.0).sin()) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let serve = Serve::start(&[]);
    let join = |source: String, extra: &[&str]| {
        Command::new(BIN)
            .args([
                "join",
                "wav",
                "--server",
                &serve.url,
                "--source",
                &source,
                "--duration",
                "9",
                "--no-playback",
                "--json",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let record = dir.join("out.wav");
    let b = join("tone:300".into(), &["--record", record.to_str().unwrap()]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let a = join(format!("file:{}", input.display()), &[]);
    let (a, b) = (finish(a), finish(b));
    assert_eq!((a.code, b.code), (0, 0), "{} {}", a.stderr, b.stderr);
    assert!(b.heard_freq(523.25), "b heard {:?}", b.heard());
    let out = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("out-"));
    let out = out.expect("a recording per received stream: out-<peer8 or streamN>.wav");
    let reader = hound::WavReader::open(&out).unwrap();
    assert_eq!(reader.spec().sample_rate, 48_000);
    let samples: Vec<f32> = reader.into_samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect();
    let secs = samples.len() as f64 / 48_000.0;
    // Forwarding starts once the listener has renegotiated for the new track; the rest arrives.
    assert!(secs >= 4.0, "recording covers {secs:.1} s of 6 s");
    let mut meter = rtc_assist::media::analysis::Meter::new();
    meter.push(&samples[samples.len() / 2..]);
    let f = meter.dominant_hz().unwrap();
    assert!((f - 523.25).abs() <= 523.25 * 0.02, "recorded {f} Hz");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn devices_lists_hosts_even_without_a_sound_card() {
    let out = Command::new(BIN).args(["devices", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["hosts"].as_array().is_some_and(|h| !h.is_empty()), "{v}");
}

#[test]
fn a_missing_or_broken_wav_is_a_clear_error() {
    let serve = Serve::start(&[]);
    let out = Command::new(BIN)
        .args([
            "join",
            "x",
            "--server",
            &serve.url,
            "--source",
            "file:/nonexistent/in.wav",
            "--duration",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/in.wav"));
}
