//! The `sockflow` command line, as a library function so that a binary with its own
//! registered components gets the same CLI: `dataflow::cli::main_with(registry)`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod drpc;
mod mock;
mod run;

use crate::config::{self, Substitution};
use crate::{Plan, Registry};

/// Runs and checks Storm-like topologies (Flux YAML files) on libsock sockets.
#[derive(Parser, Debug)]
#[command(name = "sockflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a topology in this process until interrupted (SIGINT/SIGTERM) or for SECS.
    Run {
        #[command(flatten)]
        file: FileArgs,
        #[command(flatten)]
        config: ConfigArgs,
        /// Stop after this many seconds.
        #[arg(long = "for", value_name = "SECS")]
        for_secs: Option<f64>,
        /// Serve HTTP on this address (e.g. 127.0.0.1:9102): /metrics (Prometheus), /healthz
        /// (503 once an executor is stuck past topology.worker.timeout.secs) and /readyz (503
        /// while starting and stopping).
        #[arg(long, value_name = "ADDR")]
        metrics: Option<String>,
        /// Print the metrics table every SECS (0: only at exit).
        #[arg(long, value_name = "SECS", default_value_t = 10.0)]
        print_every: f64,
        /// At shutdown, wait at most SECS for in-flight tuple trees to complete.
        #[arg(long, value_name = "SECS", default_value_t = 5.0)]
        drain: f64,
        /// Run only worker K of a multi-worker topology (K, or a pod name ending in -K).
        #[arg(long, value_name = "K")]
        worker: Option<String>,
        /// Run every worker in this process (threads) instead of one process per worker.
        #[arg(long)]
        threads: bool,
    },
    /// Writes the manifests that run a topology's workers on Kubernetes or systemd.
    Deploy {
        /// kubernetes (ConfigMap, headless Service, StatefulSet) or systemd (template unit).
        target: crate::deploy::Target,
        #[command(flatten)]
        file: FileArgs,
        /// Container image with sockflow (kubernetes).
        #[arg(long, default_value = "sockflow:latest")]
        image: String,
        /// Namespace (kubernetes).
        #[arg(long, default_value = "default")]
        namespace: String,
        /// Path of the sockflow binary on the hosts (systemd).
        #[arg(long, default_value = "/usr/local/bin/sockflow")]
        binary: String,
        /// Write here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Runs a topology on fixed tuples instead of its spouts' input and prints every tuple
    /// each component emits, as JSON lines (Storm's `Testing.completeTopology`).
    Test {
        #[command(flatten)]
        file: FileArgs,
        #[command(flatten)]
        config: ConfigArgs,
        /// SPOUT emits the tuples of FILE, one a line: a JSON array of the values, or any
        /// other line as one text value (repeatable; other spouts emit nothing).
        #[arg(long, value_name = "SPOUT=FILE")]
        mock: Vec<String>,
        /// Leave this component out, with its streams (repeatable): a sink that needs a
        /// peer, say.
        #[arg(long, value_name = "COMPONENT")]
        without: Vec<String>,
        /// Give up when the tuples have not all completed after SECS.
        #[arg(long, value_name = "SECS", default_value_t = 60.0)]
        timeout: f64,
    },
    /// Validates a topology and prints its physical plan.
    Check {
        #[command(flatten)]
        file: FileArgs,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Calls a topology's DRPC function (Storm's `storm drpc-client`) and prints each result
    /// on its own line: ARGS are FUNCTION ARGUMENT pairs, or arguments of -f FUNCTION.
    Drpc {
        /// The DRPC spout's endpoint (its `bind`, or the queue device in front of several).
        endpoint: String,
        /// Call this function with each ARG.
        #[arg(short = 'f', long, value_name = "FUNCTION")]
        function: Option<String>,
        /// Give up on a call after SECS.
        #[arg(long, value_name = "SECS", default_value_t = 60.0)]
        timeout: f64,
        /// FUNCTION ARGUMENT pairs, or ARGUMENTs with -f.
        #[arg(value_name = "ARGS", required = true)]
        args: Vec<String>,
        #[command(flatten)]
        security: drpc::ClientSecurity,
    },
    /// Serves several DRPC functions on one address (Storm's DRPC server, port 3772): each
    /// request goes to the spouts of its function, each answer back to its client.
    #[command(name = "drpc-server")]
    DrpcServer {
        /// Where clients connect (repeatable), e.g. tcp://0.0.0.0:3772.
        #[arg(long, value_name = "ENDPOINT", required = true)]
        bind: Vec<String>,
        /// A function and its DRPC spouts' endpoints (repeatable): NAME=ENDPOINT[,ENDPOINT...].
        #[arg(long, value_name = "NAME=ENDPOINTS", required = true)]
        function: Vec<String>,
        /// Serve HTTP on this address (e.g. 0.0.0.0:9103): /metrics (Prometheus), /healthz
        /// (503 once the router's loop has not come round for --health-timeout), /readyz.
        #[arg(long, value_name = "ADDR")]
        metrics: Option<String>,
        /// Seconds the router's loop may not come round before /healthz fails and the
        /// systemd watchdog (WatchdogSec=) is no longer fed.
        #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        health_timeout: u32,
        #[command(flatten)]
        security: drpc::RouterSecurity,
    },
    /// Prints a fresh CURVE secret key (for topology.worker.curve.secretkey, or a socket's
    /// curveSecretKey) on standard output, alone, for `$(sockflow keygen)` or a file; its
    /// public key goes to standard error.
    Keygen {
        /// Write the pair as certificates PATH.key and PATH.key_secret instead (czmq's and
        /// pyzmq's format; the secret one readable by its owner only), and print their paths.
        #[arg(long, value_name = "PATH")]
        cert: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct FileArgs {
    /// The topology file (Flux YAML shape).
    topology: PathBuf,
    /// Substitute ${ENV-NAME} with environment variables.
    #[arg(short = 'e', long = "env-filter")]
    env: bool,
    /// Substitute ${name} with values from this properties file.
    #[arg(long, value_name = "FILE")]
    filter: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ConfigArgs {
    /// Set a config key over the file's (repeatable; VALUE in YAML: 2, true, [a, b]), as
    /// Storm's `storm jar -c`.
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
}

/// `sockflow` with the built-in components.
pub fn main() -> ExitCode {
    main_with(Registry::new())
}

/// `sockflow` with the components of `registry`.
pub fn main_with(registry: Registry) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli, &registry) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sockflow: {e}");
            ExitCode::from(1)
        }
    }
}

fn substitution(file: &FileArgs) -> Result<Substitution, String> {
    let mut subst = Substitution { env: file.env, ..Substitution::default() };
    if let Some(f) = &file.filter {
        subst.read_properties(f)?;
    }
    Ok(subst)
}

fn load(file: &FileArgs, config: ConfigArgs, registry: &Registry) -> Result<crate::Topology, String> {
    let subst = Substitution { config_overrides: config.config, ..substitution(file)? };
    config::load(&file.topology, &subst, registry).map_err(|e| e.to_string())
}

fn run(cli: Cli, registry: &Registry) -> Result<(), String> {
    match cli.command {
        Command::Keygen { cert: None } => {
            let key = crate::topology::WorkerKey::generate();
            eprintln!("public key: {}", key.public());
            println!("{}", key.secret());
            Ok(())
        }
        Command::Keygen { cert: Some(path) } => {
            let dir =
                path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or(format!("{}: not a file name", path.display()))?;
            let (public, secret) = libsock::create_certificates(dir, name).map_err(|e| e.to_string())?;
            let (key, _) = libsock::load_certificate(&public).map_err(|e| e.to_string())?;
            eprintln!("public key: {key}");
            println!("{}\n{}", public.display(), secret.display());
            Ok(())
        }
        Command::DrpcServer { bind, function, metrics, health_timeout, security } => {
            drpc::serve(&bind, &function, metrics.as_deref(), health_timeout, &security)
        }
        Command::Drpc { endpoint, function, timeout, args, security } => {
            drpc::call(&endpoint, function, timeout, args, &security)
        }
        Command::Test { file, config, mock, without, timeout } => {
            let topology = load(&file, config, registry)?;
            mock::test(topology, &mock, &without, timeout)
        }
        Command::Check { file, config } => {
            let topology = load(&file, config, registry)?;
            print!("{}", Plan::new(&topology));
            Ok(())
        }
        Command::Deploy { target, file, image, namespace, binary, output } => {
            let text = std::fs::read_to_string(&file.topology)
                .map_err(|e| format!("{}: {e}", file.topology.display()))?;
            // The worker CURVE key is only where the workers run: check the rest without it.
            let subst = Substitution { for_deploy: true, ..substitution(&file)? };
            let name = file.topology.display().to_string();
            config::parse(&text, &name, &subst, registry).map_err(|e| e.to_string())?;
            let base_dir = file.topology.parent().map(|d| d.to_path_buf());
            let opts = crate::deploy::DeployOptions {
                image,
                namespace,
                binary,
                base_dir,
                ..crate::deploy::DeployOptions::default()
            };
            let out = target.generate(&text, &opts)?;
            match output {
                Some(path) => std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display())),
                None => std::io::stdout().write_all(out.as_bytes()).map_err(|e| e.to_string()),
            }
        }
        Command::Run { file, config, for_secs, metrics, print_every, drain, worker, threads } => {
            let topology = load(&file, config, registry)?;
            let opts = run::RunOptions { for_secs, metrics, print_every, drain, worker, threads };
            run::run(topology, opts)
        }
    }
}
