//! `sockcat`: a netcat for ZeroMQ-style sockets.
//!
//! ```text
//! sockcat TYPE [--bind EP]... [--connect EP]... [--count N] [--timeout MS]
//!              [--subscribe P]... [--identity ID] [--echo]
//!              [--curve-server SECRET | --curve-serverkey PUBLIC [--curve-secret SECRET]
//!               | --plain USER:PASS | --plain-server --plain-user USER:PASS...]
//!              [--wss-cert FILE --wss-key FILE] [--wss-trust FILE] [--wss-trust-system]
//!              [--wss-hostname NAME]
//! sockcat keygen
//! ```
//!
//! One stdin line is one message and one received message is one stdout line; the frames of a
//! multipart message are joined by TAB ([`lines`]). What runs depends only on what the socket
//! type can do ([`Mode`]), so a socket type that libsock gains later works without changes
//! here; a type libsock refuses today fails with a clear message and exit code 1.
//!
//! ## Pieces
//!
//! - [`cli`]: the argument contract ([`Args`]), help text and checks clap cannot express;
//! - [`setup`]: socket creation, options, endpoints, subscriptions;
//! - [`loops`]: send, receive, echo, request, reply, each blocking in libsock;
//! - [`duplex`]: both directions at once, with a stdin reader thread;
//! - [`outcome`]: error wording and exit codes;
//! - [`security`]: CURVE and PLAIN flags, `keygen`.
//!
//! ## Exiting
//!
//! Sending is "done" once every message was handed to a peer: sockcat then closes the socket
//! and the context, and closing the context waits for queued messages up to LINGER
//! (`--timeout`, or forever without it). After a failure LINGER drops to `--timeout` or 0, so
//! an error never hangs the exit.

pub mod cli;
pub mod duplex;
pub mod lines;
pub mod loops;
pub mod mode;
pub mod outcome;
pub mod security;
pub mod setup;

use std::io::{self, BufReader};
use std::process::ExitCode;

use anyhow::Result;
use clap::{error::ErrorKind, CommandFactory, Parser};
use libsock::{Context, Socket};

pub use cli::Args;
pub use mode::Mode;
pub use outcome::{exit_code, TimedOut, RUNTIME_ERROR, SUCCESS, TIMED_OUT, USAGE_ERROR};

use loops::Limits;

/// The whole program: parse the command line (usage errors exit 2), set up logging, run,
/// and report an error as `sockcat: <message>` on stderr with its exit code.
pub fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "keygen") {
        let rest: Vec<&str> = argv[2..].iter().filter_map(|a| a.to_str()).collect();
        return match (rest.as_slice(), argv.len()) {
            (_, 2) => {
                print!("{}", security::keygen());
                ExitCode::from(SUCCESS)
            }
            (["--cert", path], 4) => match security::keygen_certificates(path) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::from(SUCCESS)
                }
                Err(e) => {
                    eprintln!("sockcat: {e}");
                    ExitCode::from(RUNTIME_ERROR)
                }
            },
            _ => {
                eprintln!("sockcat: keygen takes no arguments, or --cert PATH (writes PATH.key and PATH.key_secret)");
                ExitCode::from(USAGE_ERROR)
            }
        };
    }
    let args = Args::parse();
    if let Err(msg) = args.validate() {
        Args::command().error(ErrorKind::ArgumentConflict, msg).exit();
    }
    init_logging();
    match run(&args) {
        Ok(()) => ExitCode::from(SUCCESS),
        Err(err) => {
            eprintln!("sockcat: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `warn`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).try_init();
}

/// Opens the socket `args` describe, runs its loop over stdin and stdout, then closes it
/// (waiting up to LINGER for queued messages to reach a peer).
pub fn run(args: &Args) -> Result<()> {
    let ctx = Context::new();
    let (socket, _authenticator) = setup::open(&ctx, args)?;
    let result = drive(&socket, args);
    if result.is_err() {
        // Failing anyway: do not wait forever for a peer to take what is queued.
        let linger = args.timeout.map_or(0, |ms| i32::try_from(ms).unwrap_or(i32::MAX));
        let _ = socket.set_linger(linger);
    }
    close(socket, ctx);
    result
}

/// Runs the loop for the socket's [`Mode`] on this process's stdin and stdout.
fn drive(socket: &Socket, args: &Args) -> Result<()> {
    let limits = Limits { count: args.count, timeout_ms: args.timeout };
    let stdin = io::stdin();
    let mut stdout = io::stdout().lock();
    let n = match args.mode() {
        Mode::Send => loops::send_lines(socket, stdin.lock(), limits)?,
        Mode::Recv => loops::recv_lines(socket, &mut stdout, limits)?,
        Mode::Echo => loops::echo(socket, &mut stdout, limits)?,
        Mode::Request => loops::request(socket, stdin.lock(), &mut stdout, limits)?,
        Mode::Reply => loops::reply(socket, stdin.lock(), &mut stdout, limits)?,
        Mode::Duplex => {
            let input = duplex::spawn_line_reader(BufReader::new(stdin))?;
            let first = setup::subscription_messages(args);
            duplex::duplex(socket, input, &mut stdout, first, limits)?.received
        }
    };
    tracing::debug!(messages = n, "finished");
    Ok(())
}

/// Closes the socket, then terminates the context: that waits up to LINGER for queued
/// messages to leave (the authenticator's thread, if any, ends on its ETERM).
fn close(socket: Socket, ctx: Context) {
    let linger = socket.get_linger().unwrap_or(0);
    drop(socket);
    if linger != 0 {
        tracing::debug!(linger_ms = linger, "waiting for queued messages to reach a peer");
    }
    let _ = ctx.term();
}
