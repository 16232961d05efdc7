//! `compare worker …`: one role of one implementation in its own process.
//!
//! Speaks to the runner in lines: `READY <endpoint or word>` and `RESULT k=v …` on stdout,
//! `ERROR <text>` on failure; one go signal per line on stdin.

use anyhow::Result;

use crate::coord::StdioCoord;
use crate::imp::{libsock::Libsock, libzmq::Libzmq, omq::Omq, raw::Raw, zeromq};
use crate::roles::{self, Job, Spec};
use crate::workload::{Impl, KernelBuffers};

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
    /// The kernel's socket buffers (libsock and libzmq sockets).
    #[command(flatten)]
    pub bufs: KernelBuffers,
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
        a.extend(self.bufs.to_args());
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
            bufs: self.bufs,
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: WorkerArgs,
    }

    /// What the runner passes is what the worker parses, buffers included.
    #[test]
    fn worker_args_round_trip() {
        let args = WorkerArgs {
            imp: Impl::Libzmq,
            job: Job::ThrSend,
            endpoint: "tcp://127.0.0.1:5555".into(),
            size: 1024,
            secs: 0.5,
            count: 10,
            hwm: Some(7),
            subscribers: 2,
            bufs: KernelBuffers { sndbuf: Some(65_536), rcvbuf: None },
        };
        let argv = std::iter::once("worker".to_string()).chain(args.to_args());
        let back = Cmd::try_parse_from(argv).unwrap().args;
        assert_eq!(back.to_args(), args.to_args());
        assert_eq!(back.bufs, args.bufs);
        assert_eq!(back.bufs.describe(), "; SNDBUF 65536 on libsock's and libzmq's sockets");
        assert_eq!(KernelBuffers::default().describe(), "");
    }
}
