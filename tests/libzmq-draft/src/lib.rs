//! Runs libzmq 4.3, built with its draft API, as a peer of libsock's draft socket types.
//!
//! `build.rs` builds libzmq from `zeromq-src` with `ZMQ_BUILD_DRAFT_API` and links `peer.c`
//! against it into a small program; [`Peer`] runs it. The program is a separate process so
//! this libzmq never shares a binary with the `zmq` crate's (stable-only) libzmq.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The peer program built by `build.rs`.
pub const PEER_PROGRAM: &str = env!("LIBZMQ_DRAFT_PEER");

/// A running libzmq peer (see `peer.c` for its modes). Killed when dropped.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Peer {
    /// Starts `draft_peer MODE ENDPOINT COUNT [GROUP]`.
    pub fn start(mode: &str, endpoint: &str, count: usize, group: Option<&str>) -> Peer {
        let mut cmd = Command::new(PEER_PROGRAM);
        cmd.args([mode, endpoint, &count.to_string()]);
        cmd.args(group);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting draft_peer");
        let stdin = child.stdin.take();
        let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Peer { child, stdin, lines }
    }

    /// The next line the peer printed (`None` once it closed its output).
    pub fn line(&mut self) -> Option<String> {
        self.lines.next().map(|l| l.expect("reading the peer's output"))
    }

    /// Closes the peer's stdin (a RADIO peer stops then).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the peer to exit; true when it succeeded.
    pub fn wait_success(mut self) -> bool {
        self.stdin = None;
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
