//! The `sockflow` command line, as a library function so that a binary with its own
//! registered components gets the same CLI: `dataflow::cli::main_with(registry)`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

mod drpc;
mod mock;

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
        /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9102).
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
        /// Serve Prometheus metrics over HTTP on this address (e.g. 0.0.0.0:9103).
        #[arg(long, value_name = "ADDR")]
        metrics: Option<String>,
        #[command(flatten)]
        security: drpc::RouterSecurity,
    },
    /// Prints a fresh CURVE secret key (for topology.worker.curve.secretkey, or a socket's
    /// curveSecretKey) on standard output, alone, for `$(sockflow keygen)` or a file; its
    /// public key goes to standard error.
    Keygen,
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
        Command::Keygen => {
            let key = crate::topology::WorkerKey::generate();
            eprintln!("public key: {}", key.public());
            println!("{}", key.secret());
            Ok(())
        }
        Command::DrpcServer { bind, function, metrics, security } => {
            drpc::serve(&bind, &function, metrics.as_deref(), &security)
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
            let opts = crate::deploy::DeployOptions {
                image,
                namespace,
                binary,
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
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone()).map_err(|e| format!("signal handler: {e}"))?;
            }
            let running = match worker {
                Some(w) => crate::runtime::start_worker(&topology, crate::workers::worker_index(&w)?),
                None if topology.config.workers > 1 && !threads => {
                    return crate::workers::run_processes(topology.config.workers, for_secs, &stop);
                }
                None => crate::start(&topology),
            };
            let running = running.map_err(|e| e.to_string())?;
            let hub = running.metrics();
            if let Some(addr) = metrics {
                let (hub, name) = (hub.clone(), topology.name.clone());
                serve_metrics(&addr, Arc::new(move || hub.prometheus(&name)))?;
            }
            tracing::info!(
                "topology {} running: {} executors",
                topology.name,
                running.plan().executors.len()
            );
            let started = Instant::now();
            let mut last_print = Instant::now();
            let mut crashed = false;
            while !stop.load(Ordering::Relaxed)
                && for_secs.is_none_or(|s| started.elapsed().as_secs_f64() < s)
            {
                std::thread::sleep(Duration::from_millis(50));
                if print_every > 0.0 && last_print.elapsed().as_secs_f64() >= print_every {
                    print!("{}", hub.table());
                    last_print = Instant::now();
                }
                if !running.is_running() {
                    crashed = true;
                    break;
                }
                if crate::workers::launcher_gone() {
                    tracing::warn!("the sockflow that started this worker is gone: stopping");
                    break;
                }
            }
            tracing::info!("stopping: deactivating spouts, draining in-flight tuples (at most {drain}s)");
            let failure = running.failure();
            let drained = running.shutdown(Duration::from_secs_f64(drain.max(0.0)));
            if !drained {
                tracing::warn!("some tuple trees were still in flight after {drain}s");
            }
            print!("{}", hub.table());
            let _ = std::io::stdout().flush();
            if crashed {
                return Err(match failure {
                    Some(why) => why,
                    None => "an executor stopped unexpectedly (see the log)".into(),
                });
            }
            Ok(())
        }
    }
}

/// Requests of the metrics endpoint answered at once; a connection beyond them is closed
/// unanswered, so clients that never finish cannot pile up threads.
const METRICS_IN_FLIGHT: usize = 8;

/// Serves the Prometheus text format to any HTTP request on `addr`: an accepting thread, and
/// a short-lived one per request (at most [`METRICS_IN_FLIGHT`]), so that a client that sends
/// nothing holds up no one else's scrape.
/// What the metrics endpoint answers: the Prometheus text of the moment.
pub(super) type Render = Arc<dyn Fn() -> String + Send + Sync>;

pub(super) fn serve_metrics(addr: &str, render: Render) -> Result<(), String> {
    let listener = TcpListener::bind(addr).map_err(|e| format!("--metrics {addr}: {e}"))?;
    tracing::info!(
        "metrics on http://{}/metrics",
        listener.local_addr().map_or(addr.to_owned(), |a| a.to_string())
    );
    let in_flight = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                if in_flight.fetch_add(1, Ordering::AcqRel) >= METRICS_IN_FLIGHT {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
                let (render, done) = (render.clone(), in_flight.clone());
                let spawned = std::thread::Builder::new().name("metrics-req".into()).spawn(move || {
                    answer_metrics(conn, &*render);
                    done.fetch_sub(1, Ordering::AcqRel);
                });
                if spawned.is_err() {
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                }
            }
        })
        .map_err(|e| format!("metrics thread: {e}"))?;
    Ok(())
}

/// Reads (a first piece of) the request, whatever it is, within 2 s, and answers with the
/// metrics.
fn answer_metrics(mut conn: std::net::TcpStream, render: &(dyn Fn() -> String + Send + Sync)) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 2048];
    let _ = conn.read(&mut buf);
    let body = render();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(body.as_bytes()));
}
