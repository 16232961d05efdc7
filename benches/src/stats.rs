//! Numbers: latency histograms, medians, and the `key=value` result lines workers print.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{anyhow, Result};
use hdrhistogram::Histogram;

/// Round-trip (or one-way) latencies in nanoseconds, 3 significant digits.
pub struct Latencies {
    hist: Histogram<u64>,
}

impl Latencies {
    /// An empty histogram for 1 ns to 1 hour.
    pub fn new() -> Latencies {
        Latencies {
            hist: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds"),
        }
    }

    /// Records one sample.
    #[inline]
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.hist.saturating_record(ns);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The value at quantile `q` (0..=1), in nanoseconds.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }

    /// Mean, in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        self.hist.mean()
    }

    /// The standard percentiles as result fields (`p50`, `p90`, `p99`, `p999`, `mean`, in ns).
    pub fn fields(&self, out: &mut Fields) {
        out.set("p50", self.quantile_ns(0.5) as f64);
        out.set("p90", self.quantile_ns(0.9) as f64);
        out.set("p99", self.quantile_ns(0.99) as f64);
        out.set("p999", self.quantile_ns(0.999) as f64);
        out.set("mean", self.mean_ns());
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` if empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 })
}

/// A worker's result: named numbers, printed as `RESULT k=v k=v`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(BTreeMap<String, f64>);

impl Fields {
    /// No fields.
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Sets one field.
    pub fn set(&mut self, key: &str, value: f64) -> &mut Fields {
        self.0.insert(key.to_string(), value);
        self
    }

    /// Reads one field.
    pub fn get(&self, key: &str) -> Result<f64> {
        self.0.get(key).copied().ok_or_else(|| anyhow!("result has no field {key}"))
    }

    /// Adds every field of `other`, each name prefixed.
    pub fn merge(&mut self, prefix: &str, other: &Fields) {
        for (k, v) in &other.0 {
            self.0.insert(format!("{prefix}{k}"), *v);
        }
    }

    /// `k=v k=v` (the part after `RESULT `).
    pub fn to_line(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.0 {
            if !s.is_empty() {
                s.push(' ');
            }
            let _ = write!(s, "{k}={v}");
        }
        s
    }

    /// Parses [`Fields::to_line`]'s output.
    pub fn parse(line: &str) -> Result<Fields> {
        let mut f = Fields::new();
        for pair in line.split_whitespace() {
            let (k, v) = pair.split_once('=').ok_or_else(|| anyhow!("bad result field {pair:?}"))?;
            f.set(k, v.parse()?);
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn fields_round_trip() {
        let mut f = Fields::new();
        f.set("count", 12.0).set("secs", 0.5);
        assert_eq!(Fields::parse(&f.to_line()).unwrap(), f);
        assert!(f.get("nope").is_err());
    }

    #[test]
    fn latencies_quantiles() {
        let mut l = Latencies::new();
        for us in 1..=100u64 {
            l.record(Duration::from_micros(us));
        }
        let p50 = l.quantile_ns(0.5);
        assert!((49_000..=51_000).contains(&p50), "{p50}");
        assert_eq!(l.count(), 100);
    }
}
