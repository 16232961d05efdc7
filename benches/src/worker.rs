//! `compare worker …`: one role of one implementation in its own process.
//!
//! Speaks to the runner in lines: `READY <endpoint or word>` and `RESULT k=v …` on stdout,
//! `ERROR <text>` on failure; one go signal per line on stdin.

use anyhow::Result;

use crate::coord::StdioCoord;
use crate::imp::{libsock::Libsock, libzmq::Libzmq, omq::Omq, raw::Raw, zeromq};
use crate::roles::{self, Job, Spec};
use crate::workload::Impl;

/// The hidden `worker` subcommand's arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct WorkerArgs {
    /// Implementation.
    #[arg(long = "impl", value_enum)]
    pub imp: Impl,
    /// Role.
    #[arg(long, value_enum)]
    pub job: Job,
    /// Endpoint to bind (port 0) or connect to.
    #[arg(long)]
    pub endpoint: String,
    /// Body size in bytes.
    #[arg(long)]
    pub size: usize,
    /// Seconds to send or ping for.
    #[arg(long, default_value_t = 1.0)]
    pub secs: f64,
    /// Messages to queue (memory workload).
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// High water mark.
    #[arg(long)]
    pub hwm: Option<i32>,
    /// Subscriber sockets (PUB/SUB workload).
    #[arg(long, default_value_t = 4)]
    pub subscribers: usize,
    /// SO_SNDBUF in bytes (libsock and libzmq sockets).
    #[arg(long)]
    pub sndbuf: Option<i32>,
}

impl WorkerArgs {
    /// The arguments after `worker`, for spawning.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec![
            "--impl".to_string(),
            self.imp.arg().to_string(),
            "--job".to_string(),
            job_arg(self.job).to_string(),
            "--endpoint".to_string(),
            self.endpoint.clone(),
            "--size".to_string(),
            self.size.to_string(),
            "--secs".to_string(),
            self.secs.to_string(),
            "--count".to_string(),
            self.count.to_string(),
            "--subscribers".to_string(),
            self.subscribers.to_string(),
        ];
        if let Some(hwm) = self.hwm {
            a.push("--hwm".to_string());
            a.push(hwm.to_string());
        }
        if let Some(bytes) = self.sndbuf {
            a.push("--sndbuf".to_string());
            a.push(bytes.to_string());
        }
        a
    }

    fn spec(&self) -> Spec {
        Spec {
            endpoint: self.endpoint.clone(),
            size: self.size,
            secs: self.secs,
            count: self.count,
            hwm: self.hwm,
            subscribers: self.subscribers,
            sndbuf: self.sndbuf,
        }
    }
}

fn job_arg(job: Job) -> String {
    use clap::ValueEnum;
    job.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}

/// Runs the worker; returns the process exit code.
pub fn main(args: &WorkerArgs) -> i32 {
    let coord = StdioCoord::new();
    let spec = args.spec();
    let r: Result<()> = match args.imp {
        _ if args.job == Job::Proxy => roles::proxy::run(args.imp, &spec, &coord),
        Impl::Libsock => roles::run::<Libsock>(args.job, &spec, &coord),
        Impl::Libzmq => roles::run::<Libzmq>(args.job, &spec, &coord),
        Impl::Omq => roles::run::<Omq>(args.job, &spec, &coord),
        Impl::Raw => roles::run::<Raw>(args.job, &spec, &coord),
        Impl::Zeromq => zeromq::run(args.job, &spec, &coord),
    };
    match r {
        Ok(()) => {
            // Read by the runner after the exit: the whole life of the process, I/O threads
            // included (setup is a few ms against a second of traffic).
            if let Ok(secs) = crate::cpu::process_cpu_secs() {
                println!("CPU {secs}");
            }
            0
        }
        Err(e) => {
            let text = format!("{e:#}").replace('\n', " ");
            println!("ERROR {text}");
            1
        }
    }
}
