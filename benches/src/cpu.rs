//! CPU time of this process (every thread, user + system), from `/proc/self/stat` (Linux).
//!
//! On a shared, busy VM wall-clock rates move by 1.3-1.5× between runs; the CPU a process
//! burns per message moves far less, so the runner reports it next to every rate. The kernel
//! counts it in clock ticks (`USER_HZ`, 100 on every Linux ABI), so one reading is good to
//! 10 ms: about 1% of a one-second cell.

use anyhow::{anyhow, Context as _, Result};

/// `USER_HZ`: the unit of `utime`/`stime` in `/proc/<pid>/stat`, fixed at 100 by the Linux ABI.
const TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds used so far by every thread of this process (exited ones too).
pub fn process_cpu_secs() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    parse_stat(&stat)
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in seconds.
fn parse_stat(stat: &str) -> Result<f64> {
    // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| anyhow!("malformed /proc/self/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let tick = |i: usize| -> Result<f64> {
        let f = fields.get(i).ok_or_else(|| anyhow!("/proc/self/stat has no field {}", i + 3))?;
        Ok(f.parse::<u64>()? as f64)
    };
    Ok((tick(11)? + tick(12)?) / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime() {
        let line = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 5 0 0";
        assert!((parse_stat(line).unwrap() - 3.0).abs() < 1e-9);
        assert!(parse_stat("42 (x").is_err());
    }

    #[test]
    fn own_cpu_time_grows() {
        // Spin until the kernel's tick-granular counter moves: on a loaded machine 60 ms of
        // wall time can be less than one tick of CPU, so bound by wall time generously instead.
        let before = process_cpu_secs().unwrap();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while process_cpu_secs().unwrap() <= before && t.elapsed().as_secs() < 20 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(31).wrapping_add(1);
            }
            std::hint::black_box(x);
        }
        assert!(process_cpu_secs().unwrap() > before);
    }
}
