//! `sockflow drpc`: Storm's `storm drpc-client`; `sockflow drpc-server`: one address for
//! several functions, as Storm's DRPC server.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use libsock::Context;

use crate::components::drpc::{DrpcClient, DrpcRouter};
use crate::components::{public_key, Security};

/// The client side of a DRPC spout's `curveServer` or `plainServer` (sockcat's flags).
#[derive(Args, Debug, Default)]
pub(super) struct ClientSecurity {
    /// Be a CURVE client of the spout with this Z85 public key.
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, conflicts_with = "plain")]
    curve_serverkey: Option<String>,
    /// With --curve-serverkey: use this Z85 secret key (default: a fresh key pair).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, requires = "curve_serverkey")]
    curve_secret: Option<String>,
    /// Log in with PLAIN as USER with password PASS.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    plain: Option<String>,
}

impl ClientSecurity {
    fn mechanism(&self) -> Result<Security, String> {
        let security = match (&self.curve_serverkey, &self.plain) {
            (Some(server), _) => {
                Security::CurveClient { server: server.clone(), secret: self.curve_secret.clone() }
            }
            (None, Some(a)) => {
                let (user, password) = account(a, "--plain")?;
                Security::PlainClient { user, password }
            }
            (None, None) => Security::Null,
        };
        security.validate(std::iter::empty())?;
        Ok(security)
    }
}

/// `sockflow drpc`: each call's result on a line of its own; the first failure ends it.
pub(super) fn call(
    endpoint: &str,
    function: Option<String>,
    timeout: f64,
    args: Vec<String>,
    security: &ClientSecurity,
) -> Result<(), String> {
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(format!("--timeout {timeout}: expected a positive number of seconds"));
    }
    let calls: Vec<(String, String)> = match function {
        Some(f) => args.into_iter().map(|a| (f.clone(), a)).collect(),
        None if args.len() % 2 == 0 => args.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
        None => return Err("expected FUNCTION ARGUMENT pairs (or -f FUNCTION and arguments)".into()),
    };
    let security = security.mechanism()?;
    let client = DrpcClient::connect_with(&Context::new(), endpoint, &security).map_err(|e| e.to_string())?;
    let client = client.timeout(Duration::from_secs_f64(timeout));
    let mut out = std::io::stdout().lock();
    for (f, a) in calls {
        let result = client.execute(&f, &a).map_err(|e| format!("drpc {f} {a:?}: {e}"))?;
        writeln!(out, "{result}").and_then(|_| out.flush()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `sockflow drpc-server`'s security: the clients' side (`--frontend-`) is a CURVE or PLAIN
/// server, the spouts' side (`--backend-`) a CURVE or PLAIN client (sockdev's flag names).
#[derive(Args, Debug, Default)]
pub(super) struct RouterSecurity {
    /// Clients: be a CURVE server with this Z85 secret key.
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, conflicts_with = "frontend_plain_user")]
    frontend_curve_server: Option<String>,
    /// Clients: with --frontend-curve-server, admit only this public key (repeatable).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, requires = "frontend_curve_server")]
    frontend_curve_client: Vec<String>,
    /// Clients: be a PLAIN server admitting this account (repeatable).
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    frontend_plain_user: Vec<String>,
    /// Spouts: be a CURVE client of spouts with this Z85 public key.
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, conflicts_with = "backend_plain")]
    backend_curve_serverkey: Option<String>,
    /// Spouts: with --backend-curve-serverkey, this Z85 secret key (default: a fresh pair).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, requires = "backend_curve_serverkey")]
    backend_curve_secret: Option<String>,
    /// Spouts: log in with PLAIN as USER with password PASS.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    backend_plain: Option<String>,
}

/// `USER:PASS` split at the first colon.
fn account(text: &str, flag: &str) -> Result<(String, String), String> {
    let (user, password) =
        text.split_once(':').ok_or_else(|| format!("{flag} expects USER:PASS (a colon is missing)"))?;
    Ok((user.to_owned(), password.to_owned()))
}

impl RouterSecurity {
    /// The clients' side and the spouts' side.
    fn mechanisms(&self) -> Result<(Security, Security), String> {
        let frontend = if let Some(secret) = &self.frontend_curve_server {
            let clients = match self.frontend_curve_client.is_empty() {
                true => None,
                false => Some(
                    self.frontend_curve_client
                        .iter()
                        .map(|k| public_key(k).map_err(|e| format!("--frontend-curve-client {k}: {e}")))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            Security::CurveServer { secret: secret.clone(), clients }
        } else if !self.frontend_plain_user.is_empty() {
            let users = self.frontend_plain_user.iter().map(|u| account(u, "--frontend-plain-user"));
            Security::PlainServer { users: users.collect::<Result<_, _>>()? }
        } else {
            Security::Null
        };
        let backend = match (&self.backend_curve_serverkey, &self.backend_plain) {
            (Some(server), _) => {
                Security::CurveClient { server: server.clone(), secret: self.backend_curve_secret.clone() }
            }
            (None, Some(a)) => {
                let (user, password) = account(a, "--backend-plain")?;
                Security::PlainClient { user, password }
            }
            (None, None) => Security::Null,
        };
        Ok((frontend, backend))
    }
}

/// `sockflow drpc-server`: routes until SIGTERM or SIGINT.
pub(super) fn serve(
    bind: &[String],
    functions: &[String],
    metrics: Option<&str>,
    security: &RouterSecurity,
) -> Result<(), String> {
    let (frontend, backend) = security.mechanisms()?;
    let routes = functions
        .iter()
        .map(|f| {
            let (name, endpoints) = f
                .split_once('=')
                .ok_or_else(|| format!("--function {f}: expected NAME=ENDPOINT[,ENDPOINT...]"))?;
            let endpoints: Vec<String> = endpoints.split(',').map(str::to_owned).collect();
            for ep in &endpoints {
                libsock::Endpoint::parse(ep).map_err(|e| format!("--function {f}: {ep:?}: {e}"))?;
            }
            Ok((name.to_owned(), endpoints))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut router = DrpcRouter::secured(bind, &routes, &frontend, &backend)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("signal handler: {e}"))?;
    }
    let stats = router.stats();
    if let Some(addr) = metrics {
        let stats = stats.clone();
        super::http::serve(
            addr,
            super::http::Site::metrics_only(std::sync::Arc::new(move || stats.prometheus())),
        )?;
    }
    let names: Vec<&str> = routes.iter().map(|(n, _)| n.as_str()).collect();
    tracing::info!(endpoint = %router.endpoint()?, functions = ?names, "DRPC router serving");
    router.run(&stop)?;
    let (routed, errors) = (stats.routed_total(), stats.refused_total());
    tracing::info!(routed, errors, "DRPC router stopped");
    Ok(())
}
