//! `sockflow deploy`: run a topology's workers on the orchestrator operators already have, not
//! a scheduler of our own.
//!
//! - [`kubernetes`]: a ConfigMap holding the topology file (its `workers:` section set to the
//!   pods' stable DNS names), a headless Service, and a StatefulSet with one pod per worker
//!   (the pod's ordinal is its `--worker`), probes on the metrics endpoint, resource requests
//!   from the file's `deploy.cpu` / `deploy.memory`.
//! - [`systemd`]: a template unit `sockflow@.service`; instance `%i` is the worker id.
//!
//! Both are pure functions of the topology file's text and the options.

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
}

/// Reads name, `topology.workers` and the `deploy.*` config keys.
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
    Ok(Summary {
        name,
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
