//! `sockdev`: the queue, forwarder and streamer devices as a relay an operator runs.
//!
//! A thin binary over [`libsock::Proxy`], which does all the forwarding. This module only
//! turns flags and a config file into sockets ([`cli`], [`config`]), reports
//! ([`metrics`], [`watch`], final statistics), tells orchestrators how it is doing
//! (`/healthz`, `/readyz`, systemd notifications and watchdog: [`service::watch`] follows the
//! proxy's turn count, nudging it through its stopper when idle), and stops cleanly
//! on SIGINT/SIGTERM: a signal thread stops the proxy through its [`libsock::ProxyStopper`],
//! then every socket closes with a bounded LINGER.

pub mod cli;
pub mod config;
pub mod metrics;
pub mod security;
pub mod watch;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use clap::{error::ErrorKind, CommandFactory, Parser};
use libsock::{
    Authenticator, Context, Error, Proxy, ProxyStatistics, ProxyStats, ProxyStopper, Socket, SocketType,
};
use service::http::Site;

use crate::security::SecurityArgs;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub use cli::{Args, Device, Settings};

/// Exit code: stopped cleanly.
pub const SUCCESS: u8 = 0;
/// Exit code: runtime error (bad endpoint, bind refused, I/O).
pub const RUNTIME_ERROR: u8 = 1;
/// Exit code: usage error (bad arguments, bad config file).
pub const USAGE_ERROR: u8 = 2;

/// The whole program: settings (usage errors exit 2), logging, the relay, and an error as
/// one line `sockdev: <message>` with exit code 1.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let file = match &args.config {
        Some(path) => match config::load(path) {
            Ok(file) => file,
            Err(msg) => return usage(&msg),
        },
        None => Default::default(),
    };
    let settings = match args.settings(file) {
        Ok(s) => s,
        Err(msg) => {
            Args::command().error(ErrorKind::MissingRequiredArgument, msg).exit();
        }
    };
    init_logging();
    // SIGHUP reads the config file again and merges the same flags over it.
    let reread = move || -> Result<Settings, String> {
        let file = match &args.config {
            Some(path) => config::load(path)?,
            None => Default::default(),
        };
        args.settings(file)
    };
    match run_reloading(&settings, reread) {
        Ok(()) => ExitCode::from(SUCCESS),
        Err(err) => {
            eprintln!("sockdev: {err:#}");
            ExitCode::from(RUNTIME_ERROR)
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("sockdev: {msg}");
    ExitCode::from(USAGE_ERROR)
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs the relay until a signal or `TERMINATE`, then prints the final statistics.
pub fn run(s: &Settings) -> Result<()> {
    let same = s.clone();
    run_reloading(s, move || Ok(same.clone()))
}

/// [`run`], with SIGHUP applying what `reread` gives (the config file read again): the
/// peers a side admits ([`apply_reload`]).
pub fn run_reloading(
    s: &Settings,
    reread: impl Fn() -> Result<Settings, String> + Send + 'static,
) -> Result<()> {
    let ctx = Context::new();
    let (fe_kind, be_kind) = s.device.socket_types();
    let frontend = open(&ctx, fe_kind, s, "frontend")?;
    let backend = open(&ctx, be_kind, s, "backend")?;
    // The wss:// PEM files are read now, before any endpoint is bound or connected.
    crate::wss::apply(&s.frontend_wss, &frontend, "--frontend-")?;
    crate::wss::apply(&s.backend_wss, &backend, "--backend-")?;
    let (fe, be) = ("frontend endpoint", "backend endpoint");
    crate::wss::require(&s.frontend_wss, &s.frontend_bind, &s.frontend_connect, "--frontend-", fe)?;
    crate::wss::require(&s.backend_wss, &s.backend_bind, &s.backend_connect, "--backend-", be)?;
    let auth = secure(&ctx, &frontend, &backend, s)?.map(Arc::new);
    let frontend_watch = watch::watch(&frontend, "frontend")?;
    let backend_watch = watch::watch(&backend, "backend")?;
    attach(&frontend, &s.frontend_bind, &s.frontend_connect, "frontend")?;
    attach(&backend, &s.backend_bind, &s.backend_connect, "backend")?;
    let capture = side_socket(&ctx, SocketType::PUB, s.capture.as_deref(), "capture", s.linger_ms)?;
    // The control socket lingers too: TERMINATE's reply is queued just before the sockets
    // close, and with no linger a busy I/O thread could drop it, leaving the operator's REQ
    // waiting for an answer that never comes.
    let control = side_socket(&ctx, SocketType::REP, s.control.as_deref(), "control", s.linger_ms)?;

    let mut proxy = Proxy::new(&frontend, &backend);
    if let Some(c) = &capture {
        proxy = proxy.capture(c);
    }
    if let Some(c) = &control {
        proxy = proxy.control(c);
    }
    let stats = proxy.stats();
    let stopper = proxy.stopper().context("cannot create the stop channel")?;
    // Only when something asks (an HTTP endpoint, systemd): an idle relay otherwise sleeps.
    let watchdog = match s.metrics.is_some() || std::env::var_os("NOTIFY_SOCKET").is_some() {
        true => Some(watch_relay(s, &stats, &stopper, [&frontend_watch, &backend_watch])?),
        false => None,
    };
    if let (Some(addr), Some(watchdog)) = (&s.metrics, &watchdog) {
        let gauges = metrics::Gauges {
            stats: stats.clone(),
            frontend_connections: frontend_watch.gauge.clone(),
            backend_connections: backend_watch.gauge.clone(),
            device: s.device.name(),
        };
        let site = Site {
            metrics: Arc::new(move || gauges.render()),
            health: watchdog.health.liveness(),
            ready: watchdog.health.readiness(),
        };
        let local =
            service::http::serve(addr, site).with_context(|| format!("cannot serve metrics on {addr}"))?;
        tracing::info!(address = %local, "metrics at http://{local}/metrics (and /healthz, /readyz)");
    }
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot install signal handlers")?;
    let signal_handle = signals.handle();
    let health = watchdog.as_ref().map(|w| w.health.clone());
    let (running, reloads) = (s.clone(), auth.clone());
    let signal_thread = std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig == SIGHUP {
                match reread() {
                    Ok(fresh) => apply_reload(&running, &fresh, reloads.as_deref()),
                    Err(e) => tracing::warn!("SIGHUP: the settings were not reloaded: {e}"),
                }
                continue;
            }
            // Stop first: nothing (not even a failing log write) may keep the relay running.
            stopper.stop();
            if let Some(health) = &health {
                health.stopping();
            }
            tracing::info!(signal = if sig == SIGINT { "SIGINT" } else { "SIGTERM" }, "stopping");
            break;
        }
    });
    tracing::info!(device = s.device.name(), "relay running");
    let outcome = proxy.run();
    if let Some(watchdog) = watchdog {
        watchdog.finish();
    }
    signal_handle.close();
    let _ = signal_thread.join();
    let last = stats.snapshot();
    // Not eprintln!: a closed stderr (the operator's terminal went away) must not panic here.
    let _ = writeln!(std::io::stderr(), "sockdev: {}", final_line(s.device, &last));
    // The sockets close, then the context terminates: `term` waits (each socket at most its
    // LINGER) for queued messages, TERMINATE's reply among them, to leave and stops the I/O
    // threads, so the process may exit right after. Its ETERM ends the watch threads'
    // monitor sockets, which it waits for too.
    drop((control, capture, frontend, backend));
    drop(auth);
    let _ = ctx.term();
    let limit = std::time::Duration::from_secs(2);
    if !(frontend_watch.finish(limit) & backend_watch.finish(limit)) {
        tracing::warn!("a monitor thread did not stop");
    }
    outcome.map_err(|e| anyhow!("proxy failed: {e}"))
}

/// Starts the thread that tells `/healthz`, `/readyz` and systemd how the relay is doing.
fn watch_relay(
    s: &Settings,
    stats: &Arc<ProxyStats>,
    stopper: &ProxyStopper,
    sides: [&watch::Watch; 2],
) -> Result<service::watch::Watchdog> {
    let device = s.device.name();
    let turns = stats.clone();
    let nudger = stopper.clone();
    let [fe, be] = sides.map(|w| w.gauge.clone());
    let watched = service::watch::Watched {
        name: format!("the {device} relay's loop"),
        turns: Box::new(move || turns.turns()),
        nudge: Some(Box::new(move || nudger.nudge())),
        status: Box::new(move || {
            let [f, b] = [&fe, &be].map(|c| c.load(std::sync::atomic::Ordering::Relaxed).max(0));
            format!("ok: {device} relaying; {f} frontend and {b} backend connections")
        }),
        timeout: std::time::Duration::from_secs(s.health_timeout_secs.into()),
    };
    let (ready, stopping) = (format!("{device} relay running"), format!("{device} relay stopping"));
    service::watch::start(watched, ready, stopping).context("cannot start the health thread")
}

/// The final statistics, one line.
pub fn final_line(device: Device, s: &ProxyStatistics) -> String {
    let (f, b) = (s.frontend, s.backend);
    format!(
        "{} stopped; frontend: {} msgs ({} B) in, {} msgs ({} B) out; backend: {} msgs ({} B) in, {} msgs ({} B) out; capture dropped: {}",
        device.name(),
        f.msg_in,
        f.bytes_in,
        f.msg_out,
        f.bytes_out,
        b.msg_in,
        b.bytes_in,
        b.msg_out,
        b.bytes_out,
        s.capture_dropped
    )
}

/// A frontend or backend socket with the relay's options.
fn open(ctx: &Context, kind: SocketType, s: &Settings, side: &str) -> Result<Socket> {
    let socket = ctx.socket(kind).with_context(|| format!("cannot create the {side} socket"))?;
    socket.set_sndhwm(s.hwm)?;
    socket.set_rcvhwm(s.hwm)?;
    socket.set_linger(i32::try_from(s.linger_ms).unwrap_or(i32::MAX))?;
    Ok(socket)
}

/// Applies each side's CURVE/PLAIN settings. A side that checks its peers (a PLAIN server, a
/// CURVE server with client keys) starts the context's ZAP handler, which every server socket
/// of the context then asks: it must also admit the other side's CURVE clients when that side
/// is a CURVE server without client keys (anyone with its public key, as in sockcat).
fn secure(ctx: &Context, frontend: &Socket, backend: &Socket, s: &Settings) -> Result<Option<Authenticator>> {
    let (fe, be) = (&s.frontend_security, &s.backend_security);
    let fe_auth = fe.apply(ctx, frontend).context("frontend security")?;
    let be_auth = be.apply(ctx, backend).context("backend security")?;
    let auth = fe_auth.or(be_auth);
    if let Some(a) = &auth {
        // (Settings refuse a CURVE side with client keys beside an open CURVE server.)
        if [fe, be].iter().any(|x| x.curve_server.is_some() && x.curve_client.is_empty()) {
            a.configure_curve_allow_any();
        }
    }
    Ok(auth)
}

/// SIGHUP: applies the peers a side admits from `fresh` (the settings read again: the config
/// file's accounts and `--…-curve-client` list), so that clients added since are admitted and
/// removed ones refused from their next handshake (connections already made stay). Only the
/// admitted CURVE keys and PLAIN accounts change on a running relay: anything else that
/// differs is logged and waits for a restart. On an error (or a client directory left empty)
/// the list in force stays. (The certificate files and directories of that list need no
/// SIGHUP: the ZAP handler reads them again whenever they change.)
pub fn apply_reload(running: &Settings, fresh: &Settings, auth: Option<&Authenticator>) {
    let admitted =
        |x: &SecurityArgs| SecurityArgs { curve_client: Vec::new(), plain_user: Vec::new(), ..x.clone() };
    let rest = |x: &Settings| Settings {
        frontend_security: admitted(&x.frontend_security),
        backend_security: admitted(&x.backend_security),
        ..x.clone()
    };
    if rest(running) != rest(fresh) {
        tracing::warn!("SIGHUP: settings other than the admitted CURVE keys and PLAIN accounts changed: restart to apply them");
    }
    let sides = [
        ("frontend", &running.frontend_security, &fresh.frontend_security),
        ("backend", &running.backend_security, &fresh.backend_security),
    ];
    let Some((side, was, now)) = sides.into_iter().find(|(_, was, _)| was.checks_peers()) else {
        tracing::info!("SIGHUP: neither side checks its peers: nothing to reload");
        return;
    };
    let Some(auth) = auth else { return };
    if was.plain_server && now.plain_server {
        match now.plain_accounts() {
            Ok(users) => {
                tracing::info!(side, accounts = users.len(), "SIGHUP: PLAIN accounts reloaded");
                auth.set_plain_users(users.iter().map(|(u, p)| (u.as_str(), p.as_str())));
            }
            Err(e) => tracing::warn!(side, "SIGHUP: PLAIN accounts not reloaded, the old ones stay: {e:#}"),
        }
    } else if !was.curve_client.is_empty() && !now.curve_client.is_empty() {
        match now.client_sources().and_then(|clients| Ok(auth.set_curve_clients(clients)?)) {
            Ok(()) => tracing::info!(side, sources = now.curve_client.len(), "SIGHUP: client keys reloaded"),
            Err(e) => tracing::warn!(side, "SIGHUP: client keys not reloaded, the old ones stay: {e:#}"),
        }
    } else {
        tracing::warn!(side, "SIGHUP: the side's mechanism changed: restart to apply it; the old peers stay");
    }
}

fn attach(socket: &Socket, binds: &[String], connects: &[String], side: &str) -> Result<()> {
    for ep in binds {
        socket.bind(ep).map_err(|e| endpoint_error(e, side, "bind", ep))?;
        tracing::info!(side, endpoint = %socket.get_last_endpoint().unwrap_or_default(), "bound");
    }
    for ep in connects {
        socket.connect(ep).map_err(|e| endpoint_error(e, side, "connect", ep))?;
        tracing::info!(side, endpoint = %ep, "connecting");
    }
    Ok(())
}

/// The capture PUB or the control REP, bound at `ep` if given.
fn side_socket(
    ctx: &Context,
    kind: SocketType,
    ep: Option<&str>,
    what: &str,
    linger_ms: u32,
) -> Result<Option<Socket>> {
    let Some(ep) = ep else { return Ok(None) };
    let socket = ctx.socket(kind)?;
    socket.set_linger(i32::try_from(linger_ms).unwrap_or(i32::MAX))?;
    socket.bind(ep).map_err(|e| endpoint_error(e, what, "bind", ep))?;
    tracing::info!(endpoint = %socket.get_last_endpoint().unwrap_or_default(), "{what} bound");
    Ok(Some(socket))
}

/// One line naming what the user typed: `cannot bind the frontend to "EP": reason`.
fn endpoint_error(err: Error, side: &str, verb: &str, ep: &str) -> anyhow::Error {
    match err {
        Error::InvalidArgument(why) | Error::ProtocolNotSupported(why) | Error::IncompatibleProtocol(why) => {
            anyhow!("invalid {side} endpoint {ep:?}: {why}")
        }
        Error::AddrInUse(_) => anyhow!("cannot {verb} the {side} to {ep:?}: address already in use"),
        Error::AddrNotAvailable(_) => anyhow!("cannot {verb} the {side} to {ep:?}: address not available"),
        e => anyhow!("cannot {verb} the {side} to {ep:?}: {e}"),
    }
}
