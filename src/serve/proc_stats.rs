//! What this process costs right now, from Linux's `/proc/self`: CPU seconds used (user +
//! system), resident memory and threads. `serve` reports its own in `/stats`, `load` its own
//! as the generator's self-check.

use procfs::WithCurrentSystemInfo;

use crate::serve::process_sample::ProcessSample;

/// This process's figures, or `None` where `/proc` cannot be read.
pub fn sample() -> Option<ProcessSample> {
    let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
    let ticks = procfs::ticks_per_second().max(1) as f64;
    Some(ProcessSample {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        rss_bytes: stat.rss_bytes().get(),
        threads: u64::try_from(stat.num_threads).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_memory_threads_and_spends_cpu() {
        let before = super::sample().expect("/proc/self readable");
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(60) {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(7));
        }
        std::hint::black_box(x);
        let after = super::sample().unwrap();
        assert!(after.rss_bytes > 1 << 20, "{after:?}");
        assert!(after.threads >= 1);
        assert!(after.cpu_seconds >= before.cpu_seconds);
    }
}
