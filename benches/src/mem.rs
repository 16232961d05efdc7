//! Resident memory of this process, from `/proc/self/status` (Linux).
//!
//! [`reset_peak`] writes `5` to `/proc/self/clear_refs`, which sets VmHWM back to the current
//! RSS (Linux 4.0+), so "peak growth" is measured from a baseline and not from whatever peak
//! setup left behind.

use anyhow::{anyhow, Context as _, Result};

/// Resident set now and its peak, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rss {
    /// VmRSS.
    pub now: u64,
    /// VmHWM: the peak since start or since [`reset_peak`].
    pub peak: u64,
}

/// Reads VmRSS and VmHWM.
pub fn rss() -> Result<Rss> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    Ok(Rss { now: field_kib(&status, "VmRSS:")? * 1024, peak: field_kib(&status, "VmHWM:")? * 1024 })
}

/// Resets VmHWM to the current RSS; returns false where the kernel does not support it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn field_kib(status: &str, name: &str) -> Result<u64> {
    let line = status
        .lines()
        .find(|l| l.starts_with(name))
        .ok_or_else(|| anyhow!("no {name} in /proc/self/status"))?;
    let value = line[name.len()..].split_whitespace().next().ok_or_else(|| anyhow!("empty {name}"))?;
    Ok(value.parse()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(field_kib(s, "VmRSS:").unwrap(), 1024);
        assert_eq!(field_kib(s, "VmHWM:").unwrap(), 2048);
        assert!(field_kib(s, "VmSwap:").is_err());
    }

    #[test]
    fn reads_own_rss() {
        let r = rss().unwrap();
        assert!(r.now > 0 && r.peak >= r.now / 2);
    }
}
