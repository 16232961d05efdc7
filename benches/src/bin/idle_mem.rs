//! `idle_mem [--impl libsock|libzmq] [--peers N]`: memory per idle connection.
//!
//! Binds one PULL socket on tcp loopback, then starts a second process (itself, `peers`
//! subcommand) that opens N plain tcp connections and completes the ZMTP 3.0 NULL handshake
//! on each as a PUSH peer, then sends nothing. Prints the PULL process's resident memory growth
//! (VmRSS after the peers are up and one second of settling, minus VmRSS before), in total and
//! per peer. The peers are raw sockets in their own process, so only the library's side of each
//! connection is counted.
//!
//! Needs N + a few file descriptors per process (`ulimit -n`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "idle_mem", about = "Memory per idle ZMTP connection on one PULL socket")]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// The library that binds the PULL socket.
    #[arg(long = "impl", value_enum, default_value = "libsock")]
    imp: Imp,
    /// Idle peers to connect.
    #[arg(long, default_value_t = 2000)]
    peers: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// (internal) Open N handshaken idle connections to ADDR, print READY, wait for stdin EOF.
    #[command(hide = true)]
    Peers { addr: String, n: usize },
}

#[derive(Clone, Copy, ValueEnum)]
enum Imp {
    Libsock,
    Libzmq,
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Some(Cmd::Peers { addr, n }) => peers(&addr, n),
        None => measure(cli.imp, cli.peers),
    };
    if let Err(e) = r {
        eprintln!("idle_mem: {e:#}");
        std::process::exit(1);
    }
}

/// A PUSH peer's greeting (ZMTP 3.0, NULL, client) and READY command.
fn handshake() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 0];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0);
    g.resize(64, 0);
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&4u32.to_be_bytes());
    body.extend_from_slice(b"PUSH");
    g.push(0x04);
    g.push(body.len() as u8);
    g.extend_from_slice(&body);
    g
}

fn peers(addr: &str, n: usize) -> Result<()> {
    let hello = handshake();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = TcpStream::connect(addr).with_context(|| format!("connecting peer {i}"))?;
        s.write_all(&hello)?;
        conns.push(s);
    }
    // The server's greeting (64 bytes) and the start of its READY prove it took each one on.
    for s in &mut conns {
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut buf = [0u8; 66];
        s.read_exact(&mut buf).context("reading the server's greeting")?;
        if buf[0] != 0xFF || buf[64] != 0x04 {
            bail!("unexpected greeting from the server");
        }
    }
    println!("READY");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    Ok(())
}

/// Binds PULL with the chosen library; returns the endpoint and a guard holding it open.
fn bind(imp: Imp) -> Result<(String, Box<dyn std::any::Any>)> {
    match imp {
        Imp::Libsock => {
            let ctx = libsock::Context::new();
            let s = ctx.socket(libsock::PULL)?;
            s.bind("tcp://127.0.0.1:*")?;
            Ok((s.get_last_endpoint()?, Box::new((s, ctx))))
        }
        Imp::Libzmq => {
            let ctx = zmq::Context::new();
            let s = ctx.socket(zmq::PULL)?;
            s.bind("tcp://127.0.0.1:*")?;
            let ep = s.get_last_endpoint()?.map_err(|_| anyhow!("endpoint not UTF-8"))?;
            Ok((ep, Box::new((s, ctx))))
        }
    }
}

fn measure(imp: Imp, n: usize) -> Result<()> {
    let (endpoint, _guard) = bind(imp)?;
    std::thread::sleep(Duration::from_millis(200));
    let before = benches::mem::rss()?.now;
    let addr = endpoint.strip_prefix("tcp://").ok_or_else(|| anyhow!("not tcp: {endpoint}"))?;
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["peers", addr, &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the peers")?;
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line)?;
    if line.trim() != "READY" {
        let _ = child.kill();
        bail!("peers failed to connect");
    }
    std::thread::sleep(Duration::from_secs(1));
    let after = benches::mem::rss()?.now;
    drop(child.stdin.take());
    let _ = child.wait();
    let growth = after.saturating_sub(before) as f64;
    println!("peers: {n}");
    println!("rss before: {:.1} MiB, after: {:.1} MiB", before as f64 / 1048576.0, after as f64 / 1048576.0);
    println!("growth: {:.1} MiB, per peer: {:.1} KiB", growth / 1048576.0, growth / n.max(1) as f64 / 1024.0);
    Ok(())
}
