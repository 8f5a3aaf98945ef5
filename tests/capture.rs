use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::BIN;

/// The tier-1 devices: ALSA's `file` plugin over `null` returns a raw file's samples exactly, in
/// whatever format the stream negotiated, as fast as they are read.
fn alsa_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alsa/file-devices.conf")
}

/// `rtc-assist ARGS` with the hermetic ALSA configuration (set before the process's first ALSA
/// call) and `mic` as the test microphone's raw samples.
fn with_test_devices(args: &[&str], mic: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ALSA_CONFIG_PATH", alsa_conf())
        .env("RTC_TEST_MIC_FILE", mic)
        .output()
        .unwrap()
}

/// 3 s of `hz` at `rate`, amplitude 0.5, as raw little-endian samples over `channels`.
fn raw_tone(path: &Path, hz: f64, rate: u32, channels: usize, sample: fn(f64) -> Vec<u8>) {
    let bytes: Vec<u8> = (0..rate * 3)
        .flat_map(|i| {
            let v = 0.5 * (std::f64::consts::TAU * hz * f64::from(i) / f64::from(rate)).sin();
            sample(v).repeat(channels)
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

fn f32le(v: f64) -> Vec<u8> {
    (v as f32).to_le_bytes().to_vec()
}

fn u16le(v: f64) -> Vec<u8> {
    ((v * 32767.0 + 32768.0) as u16).to_le_bytes().to_vec()
}

fn i16le(v: f64) -> Vec<u8> {
    ((v * 32767.0) as i16).to_le_bytes().to_vec()
}

fn check_input(mic: &Path, pin: &[&str]) -> Value {
    let mut args = vec!["devices", "--check-input", "--input-device", "test_mic", "--json"];
    args.extend_from_slice(pin);
    let out = with_test_devices(&args, mic);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The 440 Hz tone at -9 dBFS (amplitude 0.5), before and after the Opus round trip.
fn assert_tone(v: &Value) {
    for stage in ["captured", "after_opus"] {
        let m = &v["input_check"][stage];
        let hz = m["dominant_hz"].as_f64().unwrap_or_default();
        let db = m["level_dbfs"].as_f64().unwrap_or(-120.0);
        assert!((hz - 440.0).abs() <= 440.0 * 0.01, "{stage}: {hz} Hz in {v}");
        assert!((db + 9.03).abs() <= 1.0, "{stage}: {db} dBFS in {v}");
    }
    assert_eq!(v["input_check"]["captured_s"].as_f64(), Some(2.0), "{v}");
}

/// Capture in the device's negotiated formats (float, signed and unsigned integers, 48, 44.1
/// and 16 kHz, mono and stereo) → conversion and resampling → Opus → decode.
#[test]
fn capture_converts_every_negotiated_format_to_48k_mono_opus() {
    let dir = std::env::temp_dir().join(format!("rtc-assist-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // File, its rate, channels and sample encoding; the flags that pin it; what is negotiated.
    type Case =
        (&'static str, u32, usize, fn(f64) -> Vec<u8>, &'static [&'static str], (&'static str, u64, u64));
    let cases: [Case; 4] = [
        // cpal's default on this device: f32, stereo, 48 kHz.
        ("f32-stereo-48k.raw", 48_000, 2, f32le, &[], ("f32", 2, 48_000)),
        (
            "i16-mono-48k.raw",
            48_000,
            1,
            i16le,
            &["--input-format", "i16", "--input-channels", "1", "--input-rate", "48000"],
            ("i16", 1, 48_000),
        ),
        (
            "i16-mono-44k1.raw",
            44_100,
            1,
            i16le,
            &["--input-format", "i16", "--input-channels", "1", "--input-rate", "44100"],
            ("i16", 1, 44_100),
        ),
        (
            "u16-stereo-16k.raw",
            16_000,
            2,
            u16le,
            &["--input-format", "u16", "--input-channels", "2", "--input-rate", "16000"],
            ("u16", 2, 16_000),
        ),
    ];
    for (file, rate, channels, sample, pin, (format, ch, hz)) in cases {
        let mic = dir.join(file);
        raw_tone(&mic, 440.0, rate, channels, sample);
        let v = check_input(&mic, pin);
        let input = &v["input_check"]["input"];
        assert_eq!(
            (input["sample_format"].as_str(), input["channels"].as_u64(), input["rate"].as_u64()),
            (Some(format), Some(ch), Some(hz)),
            "{file}: {v}"
        );
        assert_tone(&v);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A device that does not exist: exit 2, one line that names the devices there are.
#[test]
fn a_wrong_device_name_is_exit_2_naming_the_devices_that_exist() {
    for args in [
        &["devices", "--check-input", "--input-device", "usb-headset"][..],
        &["join", "r", "--server", "ws://127.0.0.1:9/ws", "--source", "mic", "--input-device", "usb-headset"],
        &["join", "r", "--server", "ws://127.0.0.1:9/ws", "--input-device", "usb-headset"],
    ] {
        let out = with_test_devices(args, Path::new("/dev/zero"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let line = stderr.lines().last().unwrap_or_default();
        assert!(line.contains("\"usb-headset\"") && line.contains("test_mic"), "{args:?}: {stderr}");
    }
    let speaker =
        &["join", "r", "--server", "ws://127.0.0.1:9/ws", "--source", "tone", "--output-device", "hdmi"];
    let out = with_test_devices(speaker, Path::new("/dev/zero"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = stderr.lines().last().unwrap_or_default();
    assert!(line.contains("no output device named \"hdmi\"") && line.contains("test_spk"), "{stderr}");
}

/// A sample format nobody knows: exit 2, listing the ones there are.
#[test]
fn an_unknown_input_format_is_exit_2() {
    let out = with_test_devices(
        &["devices", "--check-input", "--input-device", "test_mic", "--input-format", "s16"],
        Path::new("/dev/zero"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected one of"));
}

/// `devices --json` lists the test devices with their default configuration.
#[test]
fn devices_lists_each_device_with_its_default_configuration() {
    let out = with_test_devices(&["devices", "--json"], Path::new("/dev/zero"));
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let inputs = v["hosts"][0]["inputs"].as_array().cloned().unwrap_or_default();
    let mic = inputs.iter().find(|d| d["name"] == "test_mic").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(mic["description"], "test mic");
    assert_eq!(
        mic["default_config"],
        serde_json::json!({"sample_format": "f32", "channels": 2, "rate": 48000})
    );
    assert!(mic["configs"].as_array().is_some_and(|c| c.iter().any(|c| c["sample_format"] == "i16")));
}
