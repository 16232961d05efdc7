//! Drives `pyzmq_peer.py` (pyzmq's wheel bundles libzmq 4.3.5 built with CURVE).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Whether python3 with a CURVE-capable pyzmq is here; prints why not otherwise.
pub fn available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import zmq, sys; sys.exit(0 if zmq.has('curve') else 1)"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: python3 with pyzmq (CURVE) is not installed; .ci/run installs it with pip");
    }
    ok
}

/// A running pyzmq peer.
pub struct Peer {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts the peer with this JSON configuration (see the script's docstring).
    pub fn start(json: &str) -> Peer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pyzmq_peer.py");
        let mut child = Command::new("python3")
            .args([script, json])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Peer { child, out }
    }

    /// The next line it printed (empty at end of output).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read peer output");
        line.trim_end().to_owned()
    }

    /// The endpoint it bound (its first line).
    pub fn endpoint(&mut self) -> String {
        let line = self.line();
        line.strip_prefix("ENDPOINT ").unwrap_or_else(|| panic!("expected ENDPOINT, got {line:?}")).to_owned()
    }

    /// Whether the process has ended.
    pub fn child_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Every remaining line, after the process exited successfully.
    pub fn finish(mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            if l.is_empty() {
                break;
            }
            lines.push(l);
        }
        assert!(self.child.wait().expect("wait").success(), "pyzmq peer failed: {lines:?}");
        lines
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
