//! `sockflow drpc`: Storm's `storm drpc-client`.

use std::io::Write;
use std::time::Duration;

use crate::components::drpc::DrpcClient;

/// `sockflow drpc`: each call's result on a line of its own; the first failure ends it.
pub(super) fn call(
    endpoint: &str,
    function: Option<String>,
    timeout: f64,
    args: Vec<String>,
) -> Result<(), String> {
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(format!("--timeout {timeout}: expected a positive number of seconds"));
    }
    let calls: Vec<(String, String)> = match function {
        Some(f) => args.into_iter().map(|a| (f.clone(), a)).collect(),
        None if args.len() % 2 == 0 => args.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
        None => return Err("expected FUNCTION ARGUMENT pairs (or -f FUNCTION and arguments)".into()),
    };
    let client = DrpcClient::connect(endpoint).map_err(|e| e.to_string())?;
    let client = client.timeout(Duration::from_secs_f64(timeout));
    let mut out = std::io::stdout().lock();
    for (f, a) in calls {
        let result = client.execute(&f, &a).map_err(|e| format!("drpc {f} {a:?}: {e}"))?;
        writeln!(out, "{result}").and_then(|_| out.flush()).map_err(|e| e.to_string())?;
    }
    Ok(())
}
