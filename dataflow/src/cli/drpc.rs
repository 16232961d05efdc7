//! `sockflow drpc`: Storm's `storm drpc-client`; `sockflow drpc-server`: one address for
//! several functions, as Storm's DRPC server.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use libsock::Context;

use crate::components::drpc::{DrpcClient, DrpcRouter};
use crate::components::Security;
use service::keys::{client_source_from, public_key_from, secret_key_from};

/// The client side of a DRPC spout's `curveServer` or `plainServer` (sockcat's flags).
#[derive(Args, Debug, Default)]
pub(super) struct ClientSecurity {
    /// Be a CURVE client of the spout with this Z85 public key (or certificate file).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, conflicts_with = "plain")]
    curve_serverkey: Option<String>,
    /// With --curve-serverkey: use this Z85 secret key or secret certificate file (default: a
    /// fresh key pair).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, requires = "curve_serverkey")]
    curve_secret: Option<String>,
    /// Log in with PLAIN as USER with password PASS.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    plain: Option<String>,
}

impl ClientSecurity {
    fn mechanism(&self) -> Result<Security, String> {
        let security = match (&self.curve_serverkey, &self.plain) {
            (Some(server), _) => Security::CurveClient {
                server: public_key_from(server, cwd())
                    .map_err(|e| format!("--curve-serverkey {server}: {e}"))?,
                secret: self
                    .curve_secret
                    .as_deref()
                    .map(|v| secret_key_from(v, cwd()).map_err(|e| format!("--curve-secret {v}: {e}")))
                    .transpose()?,
            },
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
    /// Clients: be a CURVE server with this Z85 secret key (or secret certificate file).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, conflicts_with = "frontend_plain_user")]
    frontend_curve_server: Option<String>,
    /// Clients: with --frontend-curve-server, admit only this public key, certificate file, or
    /// directory of certificates (repeatable).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, requires = "frontend_curve_server")]
    frontend_curve_client: Vec<String>,
    /// Clients: be a PLAIN server admitting this account (repeatable).
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    frontend_plain_user: Vec<String>,
    /// Spouts: be a CURVE client of spouts with this Z85 public key (or certificate file).
    #[arg(long, value_name = "PUBLIC", allow_hyphen_values = true, conflicts_with = "backend_plain")]
    backend_curve_serverkey: Option<String>,
    /// Spouts: with --backend-curve-serverkey, this Z85 secret key or secret certificate file
    /// (default: a fresh pair).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true, requires = "backend_curve_serverkey")]
    backend_curve_secret: Option<String>,
    /// Spouts: log in with PLAIN as USER with password PASS.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    backend_plain: Option<String>,
}

/// Where relative certificate paths on the command line start.
fn cwd() -> &'static std::path::Path {
    std::path::Path::new("")
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
                false => {
                    let source = |v: &String| {
                        client_source_from(v, cwd()).map_err(|e| format!("--frontend-curve-client {v}: {e}"))
                    };
                    Some(self.frontend_curve_client.iter().map(source).collect::<Result<Vec<_>, _>>()?)
                }
            };
            let secret = secret_key_from(secret, cwd())
                .map_err(|e| format!("--frontend-curve-server {secret}: {e}"))?;
            Security::CurveServer { secret, clients }
        } else if !self.frontend_plain_user.is_empty() {
            let users = self.frontend_plain_user.iter().map(|u| account(u, "--frontend-plain-user"));
            Security::PlainServer { users: users.collect::<Result<_, _>>()? }
        } else {
            Security::Null
        };
        let backend = match (&self.backend_curve_serverkey, &self.backend_plain) {
            (Some(server), _) => Security::CurveClient {
                server: public_key_from(server, cwd())
                    .map_err(|e| format!("--backend-curve-serverkey {server}: {e}"))?,
                secret: self
                    .backend_curve_secret
                    .as_deref()
                    .map(|v| {
                        secret_key_from(v, cwd()).map_err(|e| format!("--backend-curve-secret {v}: {e}"))
                    })
                    .transpose()?,
            },
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
    health_timeout_secs: u32,
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
    let names: Vec<&str> = routes.iter().map(|(n, _)| n.as_str()).collect();
    let endpoint = router.endpoint()?;
    // The router's loop turns every 100 ms at least: no nudge needed.
    let turns = stats.clone();
    let watched = service::watch::Watched {
        name: "the DRPC router's loop".into(),
        turns: Box::new(move || turns.turns()),
        nudge: None,
        status: Box::new(|| "ok: routing".into()),
        timeout: Duration::from_secs(health_timeout_secs.into()),
    };
    let ready = format!("DRPC router serving {} on {endpoint}", names.join(", "));
    let watchdog = service::watch::start(watched, ready, "DRPC router stopping".into())
        .map_err(|e| format!("health thread: {e}"))?;
    if let Some(addr) = metrics {
        let stats = stats.clone();
        let site = service::http::Site {
            metrics: std::sync::Arc::new(move || stats.prometheus()),
            health: watchdog.health.liveness(),
            ready: watchdog.health.readiness(),
        };
        let local = service::http::serve(addr, site).map_err(|e| format!("--metrics {addr}: {e}"))?;
        tracing::info!("metrics on http://{local}/metrics (and /healthz, /readyz)");
    }
    tracing::info!(endpoint = %endpoint, functions = ?names, "DRPC router serving");
    let outcome = router.run(&stop);
    watchdog.finish();
    outcome?;
    let (routed, errors) = (stats.routed_total(), stats.refused_total());
    tracing::info!(routed, errors, "DRPC router stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_may_be_certificate_files_and_client_directories() {
        let dir = tempfile::tempdir().unwrap();
        let (spout_public_cert, spout_secret_cert) =
            libsock::create_certificates(dir.path(), "spout").unwrap();
        let (spout_public, spout_secret) = libsock::load_certificate(&spout_secret_cert).unwrap();
        std::fs::create_dir(dir.path().join("clients")).unwrap();
        let (alice_cert, alice_secret_cert) =
            libsock::create_certificates(dir.path().join("clients"), "alice").unwrap();
        let (alice, alice_secret) = libsock::load_certificate(&alice_secret_cert).unwrap();
        let path = |p: &std::path::Path| p.display().to_string();

        let client = ClientSecurity {
            curve_serverkey: Some(path(&spout_public_cert)),
            curve_secret: Some(path(&alice_secret_cert)),
            plain: None,
        };
        let Security::CurveClient { server, secret } = client.mechanism().unwrap() else {
            panic!("not CURVE")
        };
        assert_eq!((server, secret), (spout_public.clone(), alice_secret.clone()));

        let router = RouterSecurity {
            frontend_curve_server: Some(path(&spout_secret_cert)),
            frontend_curve_client: vec![path(&dir.path().join("clients"))],
            backend_curve_serverkey: Some(path(&alice_cert)),
            ..RouterSecurity::default()
        };
        let (front, back) = router.mechanisms().unwrap();
        let clients = libsock::CurveClient::Directory(dir.path().join("clients"));
        assert!(matches!(front, Security::CurveServer { secret, clients: Some(c) }
            if Some(&secret) == spout_secret.as_ref() && c == [clients]));
        assert!(matches!(back, Security::CurveClient { server, secret: None } if server == alice));

        let public_as_secret = ClientSecurity {
            curve_serverkey: Some(spout_public.clone()),
            curve_secret: Some(path(&spout_public_cert)),
            plain: None,
        };
        let err = public_as_secret.mechanism().unwrap_err();
        assert!(err.contains("--curve-secret") && err.contains("give the secret one"), "{err}");
    }
}
