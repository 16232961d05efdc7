//! The command line, a contract that outside checks rely on (add flags, never rename):
//!
//! ```text
//! sockdev queue|forwarder|streamer
//!         [--frontend-bind EP]... [--frontend-connect EP]...
//!         [--backend-bind EP]...  [--backend-connect EP]...
//!         [--capture EP] [--control EP] [--hwm N] [--config FILE] [--metrics ADDR]
//!         [--health-timeout SECS] [--linger MS]
//!         [--frontend-curve-server SECRET | --frontend-curve-serverkey PUBLIC
//!          [--frontend-curve-secret SECRET] | --frontend-plain USER:PASS
//!          | --frontend-plain-server --frontend-plain-user USER:PASS...]
//!         [--frontend-wss-cert FILE --frontend-wss-key FILE] [--frontend-wss-trust FILE]
//!         [--frontend-wss-trust-system] [--frontend-wss-hostname NAME]
//!         [the same with --backend-...]
//! ```

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use libsock::SocketType;
use serde::Deserialize;
use service::wss::WssFiles;

use super::security::{merge, merge_wss, BackendSecurity, FrontendSecurity};
use crate::security::SecurityArgs;

const ABOUT: &str = "A ZeroMQ-compatible relay: the queue, forwarder and streamer devices, built on libsock.";

const AFTER_HELP: &str = "\
Devices:
  queue      ROUTER frontend (clients: REQ, DEALER) / DEALER backend (workers: REP, DEALER);
             requests are spread over workers, every reply goes back to its requester
  forwarder  XSUB frontend (publishers connect or are connected to) / XPUB backend
             (subscribers); subscriptions travel upstream, so publishers filter at the source
  streamer   PULL frontend / PUSH backend: a pipeline stage; at HWM it stops reading
             instead of dropping

Control (--control EP, a REP socket): send PAUSE, RESUME, TERMINATE (each answered with an
empty reply) or STATISTICS (8 frames of u64, host byte order: frontend messages in, bytes in,
messages out, bytes out, then the same for the backend).

--config FILE reads the same settings from TOML (keys are the flag names, e.g.
frontend-bind = [\"tcp://*:5559\"], hwm = 5000, device = \"queue\"); flags given on the command
line win.

--metrics ADDR serves HTTP for orchestrators: /metrics (Prometheus text), /healthz (200
while the relay's loop comes round, 503 once it has not for --health-timeout seconds) and
/readyz (200 while relaying, 503 once stopping). Under systemd (Type=notify) sockdev sends
READY=1 once its sockets are bound and connected, STATUS= lines, STOPPING=1 at the stop, and
feeds the watchdog (WatchdogSec=) only while healthy.

Security, per side: sockcat's flags with a --frontend- or --backend- prefix, e.g.
--frontend-curve-server SECRET (clients must know its public key), --backend-plain USER:PASS,
--backend-plain-server --backend-plain-user USER:PASS (refuses other accounts). In --config the
same names are keys (frontend-curve-server = \"...\", backend-plain-user = [\"u:p\"]); a side's
flags on the command line replace that side's security from the file. Keys may be certificate
files as czmq and pyzmq write them (NAME.key_secret for a secret, NAME.key for a public key;
--…-curve-client also takes a directory of them); in --config, relative to its file.
Client certificate files and directories are watched: a certificate added admits its client,
one removed refuses it, from its next handshake. SIGHUP reads --config again and applies the
peers a side admits (its CURVE client list or PLAIN accounts); other changes wait for a
restart.

TLS for wss:// endpoints, per side: --frontend-wss-cert FILE with --frontend-wss-key FILE
(a wss:// bind's certificate chain and key, PEM files), --backend-wss-trust FILE (a wss://
connect trusts these authorities or pinned certificates), --…-wss-trust-system,
--…-wss-hostname NAME. In --config the same names are keys, paths relative to its file; a
side's wss flags on the command line replace that side's wss settings from the file. The
files are read at start.

SIGINT or SIGTERM (or TERMINATE) stop the relay: queued messages (the reply to TERMINATE
too) get --linger ms to leave, the final statistics go to stderr, the exit code is 0. Logs go
to stderr, filtered by RUST_LOG (default info).

Exit codes: 0 stopped cleanly, 1 runtime error (bad endpoint, bind refused, I/O),
2 usage error (bad arguments, bad config file).";

/// Which device to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// ROUTER / DEALER.
    Queue,
    /// XSUB / XPUB.
    Forwarder,
    /// PULL / PUSH.
    Streamer,
}

impl Device {
    /// The frontend's and the backend's socket types.
    pub fn socket_types(self) -> (SocketType, SocketType) {
        match self {
            Device::Queue => (SocketType::ROUTER, SocketType::DEALER),
            Device::Forwarder => (SocketType::XSUB, SocketType::XPUB),
            Device::Streamer => (SocketType::PULL, SocketType::PUSH),
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Device::Queue => "queue",
            Device::Forwarder => "forwarder",
            Device::Streamer => "streamer",
        }
    }
}

/// `sockdev`'s arguments, as typed.
#[derive(Parser, Debug, Clone, Default)]
#[command(name = "sockdev", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// The device: queue, forwarder or streamer (may come from --config instead).
    #[arg(value_enum)]
    pub device: Option<Device>,
    /// Bind the frontend socket to EP (repeatable).
    #[arg(long, value_name = "EP")]
    pub frontend_bind: Vec<String>,
    /// Connect the frontend socket to EP (repeatable).
    #[arg(long, value_name = "EP")]
    pub frontend_connect: Vec<String>,
    /// Bind the backend socket to EP (repeatable).
    #[arg(long, value_name = "EP")]
    pub backend_bind: Vec<String>,
    /// Connect the backend socket to EP (repeatable).
    #[arg(long, value_name = "EP")]
    pub backend_connect: Vec<String>,
    /// Bind a PUB socket at EP that gets a copy of every message, both directions.
    #[arg(long, value_name = "EP")]
    pub capture: Option<String>,
    /// Bind a REP socket at EP that answers PAUSE, RESUME, TERMINATE, STATISTICS.
    #[arg(long, value_name = "EP")]
    pub control: Option<String>,
    /// High-water mark (SNDHWM and RCVHWM) of the frontend and backend sockets [default: 1000].
    #[arg(long, value_name = "N")]
    pub hwm: Option<i32>,
    /// Read settings from this TOML file; flags on the command line win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Serve HTTP at ADDR (host:port): /metrics (Prometheus), /healthz and /readyz.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// /healthz fails (and the systemd watchdog is no longer fed) once the relay's loop has
    /// not come round for this long, in seconds [default: 10].
    #[arg(long, value_name = "SECS")]
    pub health_timeout: Option<u32>,
    /// At shutdown, how long queued messages may take to leave, in ms [default: 1000].
    #[arg(long, value_name = "MS")]
    pub linger: Option<u32>,
    /// The frontend's CURVE/PLAIN and wss:// flags.
    #[command(flatten)]
    pub frontend_security: FrontendSecurity,
    /// The backend's CURVE/PLAIN and wss:// flags.
    #[command(flatten)]
    pub backend_security: BackendSecurity,
}

/// The settings a config file may hold: the same names as the flags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSettings {
    device: Option<Device>,
    #[serde(default)]
    frontend_bind: Vec<String>,
    #[serde(default)]
    frontend_connect: Vec<String>,
    #[serde(default)]
    backend_bind: Vec<String>,
    #[serde(default)]
    backend_connect: Vec<String>,
    capture: Option<String>,
    control: Option<String>,
    hwm: Option<i32>,
    metrics: Option<String>,
    health_timeout: Option<u32>,
    linger: Option<u32>,
    // The security keys, spelled out: serde's flatten does not work with deny_unknown_fields.
    frontend_curve_server: Option<String>,
    #[serde(default)]
    frontend_curve_client: Vec<String>,
    frontend_curve_serverkey: Option<String>,
    frontend_curve_secret: Option<String>,
    frontend_plain: Option<String>,
    #[serde(default)]
    frontend_plain_server: bool,
    #[serde(default)]
    frontend_plain_user: Vec<String>,
    backend_curve_server: Option<String>,
    #[serde(default)]
    backend_curve_client: Vec<String>,
    backend_curve_serverkey: Option<String>,
    backend_curve_secret: Option<String>,
    backend_plain: Option<String>,
    #[serde(default)]
    backend_plain_server: bool,
    #[serde(default)]
    backend_plain_user: Vec<String>,
    frontend_wss_cert: Option<PathBuf>,
    frontend_wss_key: Option<PathBuf>,
    frontend_wss_trust: Option<PathBuf>,
    frontend_wss_hostname: Option<String>,
    #[serde(default)]
    frontend_wss_trust_system: bool,
    backend_wss_cert: Option<PathBuf>,
    backend_wss_key: Option<PathBuf>,
    backend_wss_trust: Option<PathBuf>,
    backend_wss_hostname: Option<String>,
    #[serde(default)]
    backend_wss_trust_system: bool,
}

impl FileSettings {
    /// Makes the CURVE settings' relative certificate paths relative to `dir` (the config
    /// file's directory) rather than to wherever sockdev runs.
    pub fn anchor_paths(&mut self, dir: &std::path::Path) {
        let anchor = |v: &mut String| *v = crate::security::anchored(v, dir);
        for v in [
            &mut self.frontend_curve_server,
            &mut self.frontend_curve_serverkey,
            &mut self.frontend_curve_secret,
            &mut self.backend_curve_server,
            &mut self.backend_curve_serverkey,
            &mut self.backend_curve_secret,
        ]
        .into_iter()
        .flatten()
        {
            anchor(v);
        }
        self.frontend_curve_client.iter_mut().chain(&mut self.backend_curve_client).for_each(anchor);
        for p in [
            &mut self.frontend_wss_cert,
            &mut self.frontend_wss_key,
            &mut self.frontend_wss_trust,
            &mut self.backend_wss_cert,
            &mut self.backend_wss_key,
            &mut self.backend_wss_trust,
        ]
        .into_iter()
        .flatten()
        {
            *p = dir.join(&*p);
        }
    }

    /// The file's `wss://` settings of each side.
    fn wss(&self) -> (WssFiles, WssFiles) {
        let f = WssFiles {
            cert: self.frontend_wss_cert.clone(),
            key: self.frontend_wss_key.clone(),
            trust: self.frontend_wss_trust.clone(),
            hostname: self.frontend_wss_hostname.clone(),
            trust_system: self.frontend_wss_trust_system,
        };
        let b = WssFiles {
            cert: self.backend_wss_cert.clone(),
            key: self.backend_wss_key.clone(),
            trust: self.backend_wss_trust.clone(),
            hostname: self.backend_wss_hostname.clone(),
            trust_system: self.backend_wss_trust_system,
        };
        (f, b)
    }

    /// The file's security settings of each side.
    fn security(&self) -> (SecurityArgs, SecurityArgs) {
        let f = FrontendSecurity {
            frontend_curve_server: self.frontend_curve_server.clone(),
            frontend_curve_client: self.frontend_curve_client.clone(),
            frontend_curve_serverkey: self.frontend_curve_serverkey.clone(),
            frontend_curve_secret: self.frontend_curve_secret.clone(),
            frontend_plain: self.frontend_plain.clone(),
            frontend_plain_server: self.frontend_plain_server,
            frontend_plain_user: self.frontend_plain_user.clone(),
            ..Default::default()
        };
        let b = BackendSecurity {
            backend_curve_server: self.backend_curve_server.clone(),
            backend_curve_client: self.backend_curve_client.clone(),
            backend_curve_serverkey: self.backend_curve_serverkey.clone(),
            backend_curve_secret: self.backend_curve_secret.clone(),
            backend_plain: self.backend_plain.clone(),
            backend_plain_server: self.backend_plain_server,
            backend_plain_user: self.backend_plain_user.clone(),
            ..Default::default()
        };
        (f.to_args(), b.to_args())
    }
}

/// The settings the relay runs with, after merging the file and the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The device.
    pub device: Device,
    /// Frontend endpoints to bind.
    pub frontend_bind: Vec<String>,
    /// Frontend endpoints to connect to.
    pub frontend_connect: Vec<String>,
    /// Backend endpoints to bind.
    pub backend_bind: Vec<String>,
    /// Backend endpoints to connect to.
    pub backend_connect: Vec<String>,
    /// Where the capture PUB binds.
    pub capture: Option<String>,
    /// Where the control REP binds.
    pub control: Option<String>,
    /// SNDHWM and RCVHWM of both sides.
    pub hwm: i32,
    /// Where the metrics endpoint listens.
    pub metrics: Option<String>,
    /// Silent this long, in seconds: stuck.
    pub health_timeout_secs: u32,
    /// LINGER at shutdown, in ms.
    pub linger_ms: u32,
    /// The frontend's mechanism and credentials.
    pub frontend_security: SecurityArgs,
    /// The backend's mechanism and credentials.
    pub backend_security: SecurityArgs,
    /// The frontend's `wss://` PEM files and names.
    pub frontend_wss: WssFiles,
    /// The backend's `wss://` PEM files and names.
    pub backend_wss: WssFiles,
}

/// Default SNDHWM/RCVHWM, libzmq's.
pub const DEFAULT_HWM: i32 = 1000;
/// Default `--health-timeout`.
pub const DEFAULT_HEALTH_TIMEOUT_SECS: u32 = 10;
/// Default LINGER at shutdown.
pub const DEFAULT_LINGER_MS: u32 = 1000;

impl Args {
    /// Merges `file` under the flags: a flag given on the command line (for a list: any
    /// occurrence of it) replaces the file's value. Errors are usage errors.
    pub fn settings(&self, file: FileSettings) -> Result<Settings, String> {
        let list = |flag: &Vec<String>, file: Vec<String>| if flag.is_empty() { file } else { flag.clone() };
        let device = self.device.or(file.device).ok_or(
            "no device: give queue, forwarder or streamer on the command line or `device = ...` in --config",
        )?;
        let (file_frontend, file_backend) = file.security();
        let (file_frontend_wss, file_backend_wss) = file.wss();
        let s = Settings {
            device,
            frontend_bind: list(&self.frontend_bind, file.frontend_bind),
            frontend_connect: list(&self.frontend_connect, file.frontend_connect),
            backend_bind: list(&self.backend_bind, file.backend_bind),
            backend_connect: list(&self.backend_connect, file.backend_connect),
            capture: self.capture.clone().or(file.capture),
            control: self.control.clone().or(file.control),
            hwm: self.hwm.or(file.hwm).unwrap_or(DEFAULT_HWM),
            metrics: self.metrics.clone().or(file.metrics),
            health_timeout_secs: self
                .health_timeout
                .or(file.health_timeout)
                .unwrap_or(DEFAULT_HEALTH_TIMEOUT_SECS),
            linger_ms: self.linger.or(file.linger).unwrap_or(DEFAULT_LINGER_MS),
            frontend_security: merge(self.frontend_security.to_args(), file_frontend, "frontend")?,
            backend_security: merge(self.backend_security.to_args(), file_backend, "backend")?,
            frontend_wss: merge_wss(self.frontend_security.wss(), file_frontend_wss, "frontend")?,
            backend_wss: merge_wss(self.backend_security.wss(), file_backend_wss, "backend")?,
        };
        if s.frontend_bind.is_empty() && s.frontend_connect.is_empty() {
            return Err("the frontend needs at least one --frontend-bind or --frontend-connect".into());
        }
        if s.backend_bind.is_empty() && s.backend_connect.is_empty() {
            return Err("the backend needs at least one --backend-bind or --backend-connect".into());
        }
        if s.frontend_security.checks_peers() && s.backend_security.checks_peers() {
            // Both would need the context's one ZAP handler, with different accounts or keys.
            return Err("only one side can check its peers (a PLAIN server, or a CURVE server with \
                        client keys): --frontend-… or --backend-…"
                .into());
        }
        let (fe, be) = (&s.frontend_security, &s.backend_security);
        let listed = |x: &SecurityArgs| !x.curve_client.is_empty();
        let open = |x: &SecurityArgs| x.curve_server.is_some() && x.curve_client.is_empty();
        if (listed(fe) && open(be)) || (listed(be) && open(fe)) {
            return Err("a CURVE side with client keys (--…-curve-client) and a CURVE server without \
                        them on the other side cannot share the relay's one ZAP handler"
                .into());
        }
        if s.health_timeout_secs < 2 {
            // Below 2 s a relay merely waiting for the nudge to be scheduled could look stuck.
            return Err(format!("--health-timeout must be 2 s or more, not {}", s.health_timeout_secs));
        }
        if s.hwm < 0 {
            return Err(format!("--hwm must be 0 (no limit) or more, not {}", s.hwm));
        }
        Ok(s)
    }
}
