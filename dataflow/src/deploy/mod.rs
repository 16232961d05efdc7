//! `sockflow deploy`: run a topology's workers on the orchestrator operators already have, not
//! a scheduler of our own.
//!
//! - [`kubernetes`]: a ConfigMap holding the topology file (its `workers:` section set to the
//!   pods' stable DNS names), a headless Service, and a StatefulSet with one pod per worker
//!   (the pod's ordinal is its `--worker`), probes on the metrics endpoint's `/healthz` and
//!   `/readyz`, resource requests
//!   from the file's `deploy.cpu` / `deploy.memory`.
//! - [`systemd`]: a template unit `sockflow@.service` (`Type=notify`, with a watchdog);
//!   instance `%i` is the worker id.
//!
//! Both are pure functions of the topology file's text and the options.
//!
//! A worker CURVE key (`topology.worker.curve.secretkey`) never goes into a manifest: as
//! `"${ENV-NAME}"` the workers run with `-e` and NAME comes from the Kubernetes Secret
//! [`curve_secret_name`] (key `secretkey`) or from the unit's `EnvironmentFile=`; as a `.file`
//! path the Secret is mounted there. The file's other `${ENV-NAME}` variables (a port, an
//! edge socket's `curveSecretKey`…) come from the Secret [`env_secret_name`] (one key per
//! variable) or the same `EnvironmentFile=`. The certificate files and directories edge
//! sockets name are mounted on Kubernetes from Secrets [`certificate_secret_name`], one each.

mod certificates;
mod kubernetes;
mod systemd;

pub use kubernetes::kubernetes;
pub use systemd::systemd;

use serde_yaml::Value as Yaml;

/// Where `sockflow deploy` targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// ConfigMap + headless Service + StatefulSet.
    Kubernetes,
    /// A template unit `sockflow@.service`.
    Systemd,
}

impl Target {
    /// The manifests for a topology file's text.
    pub fn generate(self, text: &str, opts: &DeployOptions) -> Result<String, String> {
        match self {
            Target::Kubernetes => kubernetes(text, opts),
            Target::Systemd => systemd(text, opts),
        }
    }
}

/// Port workers exchange tuples on (the `workers:` addresses).
pub const DEFAULT_TRANSFER_PORT: u16 = 7000;
/// Port of the Prometheus metrics endpoint (and the probes).
pub const DEFAULT_METRICS_PORT: u16 = 9102;

/// What the generators need beyond the topology file.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// Container image with `sockflow` in its PATH (Kubernetes).
    pub image: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Where the `sockflow` binary is (systemd).
    pub binary: String,
    /// Where the topology file is installed (systemd).
    pub topology_path: String,
    /// Transfer port.
    pub port: u16,
    /// Metrics port.
    pub metrics_port: u16,
    /// The topology file's directory, where the certificate files it names are (Kubernetes
    /// makes a Secret of each; without it, a `curveClientKeys` path is taken for a
    /// directory unless it ends in `.key` or `.key_secret`).
    pub base_dir: Option<std::path::PathBuf>,
}

impl Default for DeployOptions {
    fn default() -> DeployOptions {
        DeployOptions {
            image: "sockflow:latest".into(),
            namespace: "default".into(),
            binary: "/usr/local/bin/sockflow".into(),
            topology_path: "/etc/sockflow/%i.yaml".into(),
            port: DEFAULT_TRANSFER_PORT,
            metrics_port: DEFAULT_METRICS_PORT,
            base_dir: None,
        }
    }
}

/// The parts of a topology file deployment reads.
#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) doc: Yaml,
    pub(crate) name: String,
    pub(crate) workers: usize,
    pub(crate) cpu: Option<String>,
    pub(crate) memory: Option<String>,
    pub(crate) curve: Option<Curve>,
    /// The other `${ENV-NAME}` variables the file reads (ports, edge sockets' keys…), sorted:
    /// the workers run with `-e` and get them from the Secret [`env_secret_name`] or the
    /// unit's `EnvironmentFile=`.
    pub(crate) env: Vec<String>,
    /// `topology.worker.timeout.secs` (30): the systemd unit's `WatchdogSec=`.
    pub(crate) worker_timeout_secs: u64,
}

/// Where the file takes its worker CURVE key from (`topology.worker.curve.secretkey[.file]`).
#[derive(Debug, PartialEq)]
pub(crate) enum Curve {
    /// `"${ENV-NAME}"`: the environment variable NAME.
    Env(String),
    /// A path to a file holding the key.
    File(String),
    /// The key itself, written in the file.
    Inline,
}

use crate::config::{WORKER_KEY as CURVE_KEY, WORKER_KEY_FILE as CURVE_FILE_KEY};

/// The secret deployments take the worker CURVE key from: `NAME-curve`, key `secretkey`.
pub fn curve_secret_name(topology: &str) -> String {
    format!("{topology}-curve")
}

/// The secret deployments take the file's other `${ENV-NAME}` variables from: `NAME-env`,
/// one key per variable.
pub fn env_secret_name(topology: &str) -> String {
    format!("{topology}-env")
}

/// The secret deployments take a certificate file or directory from: `NAME-cert-SLUG`, SLUG
/// made of the path as the topology file writes it (`certs/clients` → `certs-clients`), one
/// key per file (as `kubectl create secret generic … --from-file=PATH` makes it).
pub fn certificate_secret_name(topology: &str, slug: &str) -> String {
    format!("{topology}-cert-{slug}")
}

/// The names of the `${ENV-NAME}` variables in `text`, sorted, each once.
fn env_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split("${ENV-")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

pub use crate::config::with_throwaway_worker_key as with_throwaway_key;

/// Reads name, `topology.workers`, the `deploy.*` config keys and where the worker CURVE key is.
pub(crate) fn summarize(text: &str) -> Result<Summary, String> {
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| format!("not a topology file: {e}"))?;
    let name = doc.get("name").and_then(Yaml::as_str).ok_or("the topology has no name")?.to_owned();
    if !is_dns_label(&name) {
        return Err(format!(
            "topology name {name:?} is not a DNS label (lower-case letters, digits, '-'; at most 52 characters) as Kubernetes and unit names need"
        ));
    }
    let config = doc.get("config");
    let key = |k: &str| config.and_then(|c| c.get(k));
    let workers = match key("topology.workers") {
        None => doc.get("workers").and_then(Yaml::as_sequence).map_or(1, Vec::len),
        Some(v) => {
            v.as_u64().filter(|n| *n >= 1).ok_or("topology.workers: expected a positive integer")? as usize
        }
    };
    let text_of = |k: &str| -> Result<Option<String>, String> {
        match key(k) {
            None => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(Yaml::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(format!("{k}: expected a quantity such as \"500m\" or \"512Mi\"")),
        }
    };
    let curve = match (key(CURVE_KEY), key(CURVE_FILE_KEY)) {
        (Some(v), _) => {
            let v = v.as_str().unwrap_or_default();
            let env = v.strip_prefix("${ENV-").and_then(|n| n.strip_suffix('}'));
            Some(env.map_or(Curve::Inline, |n| Curve::Env(n.to_owned())))
        }
        (None, Some(v)) => Some(Curve::File(v.as_str().unwrap_or_default().to_owned())),
        (None, None) => None,
    };
    let worker_key_var = match &curve {
        Some(Curve::Env(var)) => Some(var.as_str()),
        _ => None,
    };
    let env = env_names(text).into_iter().filter(|n| Some(n.as_str()) != worker_key_var).collect();
    let worker_timeout_secs = match key("topology.worker.timeout.secs") {
        None => 30,
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or("topology.worker.timeout.secs: expected a positive integer")?,
    };
    Ok(Summary {
        worker_timeout_secs,
        name,
        env,
        curve,
        workers: workers.max(1),
        cpu: text_of("deploy.cpu")?,
        memory: text_of("deploy.memory")?,
        doc,
    })
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 52
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
