//! A PulseAudio of our own for the clocked-device tests: null sinks `mic` (its monitor is the
//! default source) and `spk`, state in a temporary directory, ALSA's default routed to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// One PulseAudio test at a time: a daemon killed by one test must not be in doubt as the
/// cause of another's device error.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A running PulseAudio daemon, killed on drop.
pub struct Pulse {
    child: Child,
    pub dir: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Pulse {
    pub fn start(name: &str) -> Self {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = std::env::temp_dir().join(format!("rtc-assist-pulse-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut pulse = Command::new("pulseaudio");
        pulse
            .args(["--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit"])
            .arg("-F")
            .arg(fixture("pulse/test.pa"))
            .arg(format!("--log-target=file:{}", dir.join("pulse.log").display()))
            .arg("--log-level=info")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = Self::env(&dir, &mut pulse).spawn().expect("pulseaudio (scripts/deps.sh installs it)");
        let me = Self { child, dir, _turn: turn };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !me
            .command("pactl")
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "PulseAudio did not start: see {}", me.dir.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        me
    }

    fn env<'a>(dir: &Path, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir)
            .env("ALSA_CONFIG_PATH", fixture("alsa/pulse.conf"))
            .env_remove("PULSE_SERVER")
    }

    /// `program` set up to talk to this PulseAudio (and through ALSA's default device).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        Self::env(&self.dir, &mut cmd);
        cmd
    }

    /// Plays `wav` into the `mic` sink with a short latency (the "voice" in the microphone).
    pub fn play_into_mic(&self, wav: &Path) -> Child {
        self.command("paplay")
            .args(["--device=mic", "--latency-msec=20"])
            .arg(wav)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("paplay")
    }

    /// Records what is played on the `spk` sink into `wav`; stop it with SIGINT.
    pub fn record_speaker(&self, wav: &Path) -> Child {
        self.command("parecord")
            .args([
                "--device=spk.monitor",
                "--rate=48000",
                "--channels=1",
                "--format=s16le",
                "--file-format=wav",
            ])
            .arg(wav)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("parecord")
    }
}

impl Pulse {
    /// The end of the daemon's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("pulse.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Kills the daemon: every device it provides goes away (an unplugged sound card).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test keeps the daemon's log for the report.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Writes `secs` of `hz` (amplitude 0.4) as a 48 kHz mono 16-bit WAV.
pub fn tone_wav(path: &Path, hz: f64, secs: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..48_000 * secs {
        w.write_sample((13_000.0 * (std::f64::consts::TAU * hz * f64::from(i) / 48_000.0).sin()) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// A 16-bit WAV's samples as f32 and its length in seconds (channel 0).
pub fn read_wav(path: &Path) -> (Vec<f32>, f64) {
    let r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let ch = usize::from(spec.channels);
    let all: Vec<f32> = r.into_samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect();
    let mono: Vec<f32> = all.chunks(ch).map(|f| f[0]).collect();
    let secs = mono.len() as f64 / f64::from(spec.sample_rate);
    (mono, secs)
}
