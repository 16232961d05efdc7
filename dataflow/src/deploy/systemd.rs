//! A systemd template unit: `sockflow@K.service` runs worker K on whichever host enables it.

use super::{certificates, summarize, Curve, DeployOptions};

/// The unit file `sockflow@.service` for `text` (a topology file): `Type=notify` (ready once
/// the topology runs), with a watchdog fed while no executor is stuck. Install the topology at
/// `opts.topology_path` (`%i` there is the worker id; the default path puts each worker's copy
/// at `/etc/sockflow/K.yaml`) and run `systemctl enable --now sockflow@K` on worker K's host.
/// When the file reads `${ENV-VAR}` variables (a worker CURVE key, a port, an edge socket's
/// key…) the unit runs `sockflow run -e` and reads them from
/// `EnvironmentFile=/etc/sockflow/NAME.env` (mode 0600: systemd reads it as root).
///
/// The service runs as `User=sockflow`: a dynamic user (`DynamicUser=yes`) unless a system
/// user of that name exists, which systemd then uses. Certificate files the topology names
/// (edge sockets' keys, `topology.worker.curve.secretkey.file`) are listed in the header:
/// secret ones are readable by their owner only, so they need that user to exist and own them.
pub fn systemd(text: &str, opts: &DeployOptions) -> Result<String, String> {
    let s = summarize(text)?;
    let path = if opts.topology_path.contains("%i") {
        // One file for every instance unless the caller wants per-worker copies.
        format!("/etc/sockflow/{}.yaml", s.name)
    } else {
        opts.topology_path.clone()
    };
    let mut limits = String::new();
    if let Some(cpu) = &s.cpu {
        // A Kubernetes-style quantity ("500m", "2") as a systemd CPU quota.
        let percent = cpu_percent(cpu).ok_or_else(|| format!("deploy.cpu: cannot read {cpu:?}"))?;
        limits.push_str(&format!("CPUQuota={percent}%\n"));
    }
    if let Some(mem) = &s.memory {
        let bytes = memory_bytes(mem).ok_or_else(|| format!("deploy.memory: cannot read {mem:?}"))?;
        limits.push_str(&format!("MemoryHigh={bytes}\n"));
    }
    let mut files: Vec<String> = certificates::references(&s.doc, opts.base_dir.as_deref())?
        .into_iter()
        .map(|r| format!("#   {}    ({})\n", r.path, r.named_by))
        .collect();
    if let Some(Curve::File(key)) = &s.curve {
        files.push(format!("#   {key}    (topology.worker.curve.secretkey.file)\n"));
    }
    let certificates = match files.is_empty() {
        true => String::new(),
        false => format!(
            "# The topology reads these files (relative paths: beside the topology file). Secret ones\n\
             # are readable by their owner only: create the system user the unit runs as and give\n\
             # them to it (useradd --system sockflow; chown sockflow FILE).\n{}",
            files.concat()
        ),
    };
    let mut env_lines = String::new();
    if let Some(Curve::Env(var)) = &s.curve {
        env_lines.push_str(&format!("# {var}=<the worker CURVE key from `sockflow keygen`>\n"));
    }
    for var in &s.env {
        env_lines.push_str(&format!("# {var}=<its value>\n"));
    }
    let (env_flag, env_file) = match env_lines.is_empty() {
        true => ("", String::new()),
        false => (
            " -e",
            format!(
                "# The topology reads these variables (substituted with -e); put them in a file\n\
                 # only root reads (0600):\n{env_lines}EnvironmentFile=/etc/sockflow/{}.env\n",
                s.name
            ),
        ),
    };
    Ok(format!(
        "# sockflow deploy systemd: topology {name:?}, {workers} worker(s).
# Install as /etc/systemd/system/sockflow@.service, put the topology file (with its
# `workers:` addresses) at {path} on every host, then on worker K's host:
#   systemctl enable --now sockflow@K
{certificates}[Unit]
Description=sockflow topology {name} worker %i
Wants=network-online.target
After=network-online.target

[Service]
# READY=1 once the topology runs; WATCHDOG=1 while no executor is stuck past
# topology.worker.timeout.secs ({timeout} s), so a stuck worker is restarted.
Type=notify
NotifyAccess=main
WatchdogSec={timeout}
TimeoutStartSec=120
{env_file}ExecStart={binary} run{env_flag} {path} --worker %i --metrics 0.0.0.0:{metrics}
Restart=always
RestartSec=1
KillSignal=SIGTERM
TimeoutStopSec=30
# A dynamic user, or the system user sockflow where it exists (to own secret files).
User=sockflow
DynamicUser=yes
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
{limits}
[Install]
WantedBy=multi-user.target
",
        name = s.name,
        workers = s.workers,
        binary = opts.binary,
        metrics = opts.metrics_port,
        timeout = s.worker_timeout_secs,
    ))
}

fn cpu_percent(q: &str) -> Option<u64> {
    match q.strip_suffix('m') {
        Some(milli) => milli.parse::<u64>().ok().map(|m| (m / 10).max(1)),
        None => q.parse::<f64>().ok().filter(|c| *c > 0.0).map(|c| (c * 100.0).round() as u64),
    }
}

fn memory_bytes(q: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 6] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("K", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    for (suffix, mult) in UNITS {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<u64>().ok().map(|n| n * mult);
        }
    }
    q.parse().ok()
}
