//! `sockflow test`: a topology completed on fixed tuples, every emit printed as a JSON line.

use std::io::Write;
use std::time::Duration;

use crate::multilang::protocol::{from_json, to_json};
use crate::testing::{complete_topology_with, CompleteOptions, MockedSources};
use crate::tuple::Value;
use crate::Topology;

/// Runs `topology` (less the components `without`) on the `SPOUT=FILE` mocks and prints what each component emitted:
/// `{"component": …, "stream": …, "values": […]}` a line, by component and stream, each
/// stream's tuples in the order they were captured; each mocked spout's acks and fails go to
/// standard error.
pub(super) fn test(
    mut topology: Topology,
    mocks: &[String],
    without: &[String],
    timeout: f64,
) -> Result<(), String> {
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(format!("--timeout {timeout}: expected a positive number of seconds"));
    }
    for id in without {
        if !topology.components.iter().any(|c| &c.id == id) {
            return Err(format!("--without {id:?}: the topology has no such component"));
        }
        topology.components.retain(|c| &c.id != id);
        topology.streams.retain(|s| &s.from != id && &s.to != id);
    }
    topology.validate().map_err(|e| format!("without {}: {e}", without.join(", ")))?;
    let mut mocked = MockedSources::new();
    let mut spouts = Vec::new();
    for mock in mocks {
        let (spout, file) =
            mock.split_once('=').ok_or_else(|| format!("--mock {mock:?}: expected SPOUT=FILE"))?;
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        mocked.add(spout, tuples(&text, file)?);
        spouts.push(spout.to_owned());
    }
    let options = CompleteOptions { timeout: Duration::from_secs_f64(timeout), ..CompleteOptions::default() };
    let result = complete_topology_with(&topology, &mocked, options)?;
    let mut out = std::io::stdout().lock();
    for ((component, stream), tuples) in result.streams() {
        for values in tuples {
            let line = serde_json::json!({
                "component": component,
                "stream": stream,
                "values": values.iter().map(to_json).collect::<Vec<_>>(),
            });
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    for spout in spouts {
        let failed = result.failed(&spout);
        eprintln!("{spout}: {} acked, {} failed", result.acked(&spout), failed.len());
        for why in failed {
            eprintln!("  {why}");
        }
    }
    Ok(())
}

/// A mock file's tuples: a JSON array a line is its values; any other line is one text value
/// (a line that starts with `[` but is not JSON is an error at its line). Empty lines are
/// skipped.
fn tuples(text: &str, file: &str) -> Result<Vec<Vec<Value>>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.trim_start().starts_with('[') {
            match serde_json::from_str(line) {
                Ok(serde_json::Value::Array(values)) => out.push(values.into_iter().map(from_json).collect()),
                Ok(_) => return Err(format!("{file}:{}: not a JSON array", n + 1)),
                Err(e) => return Err(format!("{file}:{}: not a JSON array: {e}", n + 1)),
            }
        } else {
            out.push(vec![Value::Str(line.to_owned())]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_lines_are_json_arrays_or_text() {
        let t = tuples("[\"a\", 2, null]\n\nthe cat\n  [1.5]\n", "m").unwrap();
        assert_eq!(
            t,
            vec![
                vec![Value::from("a"), Value::I64(2), Value::Null],
                vec![Value::from("the cat")],
                vec![Value::F64(1.5)]
            ]
        );
        assert!(tuples("ok\n[1, \n", "m.txt").unwrap_err().starts_with("m.txt:2: not a JSON array"));
    }
}
