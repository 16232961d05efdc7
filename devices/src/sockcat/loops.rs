//! The one-direction-at-a-time loops: send, receive, echo, request and reply. The socket's
//! SNDTIMEO/RCVTIMEO already hold `--timeout`; these loops block in libsock and turn an expired
//! wait into [`TimedOut`](super::outcome::TimedOut).
//!
//! Each loop returns how many messages it counted (sent for [`send_lines`], received for the
//! others). A reader of our stdout that went away (broken pipe) ends a loop quietly, like
//! `head` closing a pipe would.

use std::io::{self, BufRead, Write};

use anyhow::{Context as _, Result};
use libsock::Socket;

use super::lines::{split_frames, write_message, Lines};
use super::outcome::{check_sent, io_error, Waiting};

/// `--count` and `--timeout`, as the loops need them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Stop after this many messages.
    pub count: Option<u64>,
    /// `--timeout` in ms: only used to word the error; the socket options do the waiting.
    pub timeout_ms: Option<u32>,
}

impl Limits {
    /// Whether `done` messages fulfil `--count`.
    pub fn reached(&self, done: u64) -> bool {
        self.count.is_some_and(|c| done >= c)
    }
}

/// Sends one message per input line until the input ends or `--count` lines were sent.
pub fn send_lines<R: BufRead>(socket: &Socket, input: R, limits: Limits) -> Result<u64> {
    let mut lines = Lines::new(input);
    let mut sent = 0;
    // Check the count before reading: a terminal must not wait for a line nobody will send.
    while !limits.reached(sent) {
        let Some(line) = lines.next() else { break };
        let line = line.context("cannot read stdin")?;
        send(socket, split_frames(&line), limits)?;
        sent += 1;
    }
    Ok(sent)
}

/// Prints one line per received message until `--count` messages were printed.
pub fn recv_lines<W: Write>(socket: &Socket, out: &mut W, limits: Limits) -> Result<u64> {
    let mut received = 0;
    while !limits.reached(received) {
        let msg = recv(socket, limits)?;
        received += 1;
        if !emit(out, &msg)? {
            break;
        }
    }
    Ok(received)
}

/// Prints each received message and sends it back unchanged (REP, ROUTER: the reply reaches
/// the requester; ROUTER's first frame is the routing id, which routes it back).
pub fn echo<W: Write>(socket: &Socket, out: &mut W, limits: Limits) -> Result<u64> {
    let mut received = 0;
    while !limits.reached(received) {
        let msg = recv(socket, limits)?;
        received += 1;
        let printed = emit(out, &msg)?;
        send(socket, msg, limits)?;
        if !printed {
            break;
        }
    }
    Ok(received)
}

/// REQ: for each input line, send it and print the reply. Counts replies.
pub fn request<R: BufRead, W: Write>(socket: &Socket, input: R, out: &mut W, limits: Limits) -> Result<u64> {
    let mut lines = Lines::new(input);
    let mut replies = 0;
    while !limits.reached(replies) {
        let Some(line) = lines.next() else { break };
        let line = line.context("cannot read stdin")?;
        send(socket, split_frames(&line), limits)?;
        let reply = recv(socket, limits)?;
        replies += 1;
        if !emit(out, &reply)? {
            break;
        }
    }
    Ok(replies)
}

/// REP: print each request, then answer it with the next input line. Ends when the input
/// ends (the request just printed stays unanswered) or after `--count` requests.
pub fn reply<R: BufRead, W: Write>(socket: &Socket, input: R, out: &mut W, limits: Limits) -> Result<u64> {
    let mut lines = Lines::new(input);
    let mut requests = 0;
    while !limits.reached(requests) {
        let msg = recv(socket, limits)?;
        requests += 1;
        if !emit(out, &msg)? {
            break;
        }
        let Some(line) = lines.next() else {
            tracing::info!("stdin closed: the last request stays unanswered");
            break;
        };
        let line = line.context("cannot read stdin")?;
        send(socket, split_frames(&line), limits)?;
    }
    Ok(requests)
}

/// Sends one message, blocking up to SNDTIMEO. A ROUTER message for an unknown peer is
/// dropped with a warning ([`check_sent`]).
fn send(socket: &Socket, frames: Vec<Vec<u8>>, limits: Limits) -> Result<()> {
    let result = socket.send_multipart(frames.iter().map(Vec::as_slice), 0);
    check_sent(result, &frames, limits.timeout_ms).map(drop)
}

/// Receives one message, blocking up to RCVTIMEO.
fn recv(socket: &Socket, limits: Limits) -> Result<Vec<Vec<u8>>> {
    socket.recv_multipart(0).map_err(|e| io_error(e, Waiting::Receive, limits.timeout_ms))
}

/// Prints a message. `Ok(false)`: stdout's reader is gone, so stop quietly.
pub(crate) fn emit<W: Write + ?Sized>(out: &mut W, frames: &[Vec<u8>]) -> Result<bool> {
    match write_message(out, frames) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            tracing::debug!("stdout closed; stopping");
            Ok(false)
        }
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockcat::outcome::{exit_code, TIMED_OUT};
    use libsock::{Context, PAIR, PULL, PUSH};

    fn pair_of(
        ctx: &Context,
        a: libsock::SocketType,
        b: libsock::SocketType,
        name: &str,
    ) -> (Socket, Socket) {
        let x = ctx.socket(a).unwrap();
        let y = ctx.socket(b).unwrap();
        for s in [&x, &y] {
            s.set_linger(0).unwrap();
            s.set_rcvtimeo(5000).unwrap();
            s.set_sndtimeo(5000).unwrap();
        }
        x.bind(&format!("inproc://{name}")).unwrap();
        y.connect(&format!("inproc://{name}")).unwrap();
        (x, y)
    }

    #[test]
    fn send_lines_sends_each_line_as_a_message() {
        let ctx = Context::new();
        let (pull, push) = pair_of(&ctx, PULL, PUSH, "loops-send");
        let n = send_lines(&push, &b"one\na\tb\r\n\nlast"[..], Limits::default()).unwrap();
        assert_eq!(n, 4);
        let got: Vec<Vec<Vec<u8>>> = (0..4).map(|_| pull.recv_multipart(0).unwrap()).collect();
        assert_eq!(
            got,
            vec![
                vec![b"one".to_vec()],
                vec![b"a".to_vec(), b"b".to_vec()],
                vec![vec![]],
                vec![b"last".to_vec()],
            ]
        );
    }

    #[test]
    fn send_lines_stops_at_count() {
        let ctx = Context::new();
        let (_pull, push) = pair_of(&ctx, PULL, PUSH, "loops-send-count");
        let limits = Limits { count: Some(2), timeout_ms: None };
        assert_eq!(send_lines(&push, &b"1\n2\n3\n"[..], limits).unwrap(), 2);
    }

    #[test]
    fn recv_lines_prints_count_messages() {
        let ctx = Context::new();
        let (pull, push) = pair_of(&ctx, PULL, PUSH, "loops-recv");
        push.send_multipart(["a", "b"], 0).unwrap();
        push.send(&b"\xff"[..], 0).unwrap();
        push.send("not printed", 0).unwrap();
        let mut out = Vec::new();
        let limits = Limits { count: Some(2), timeout_ms: Some(5000) };
        assert_eq!(recv_lines(&pull, &mut out, limits).unwrap(), 2);
        assert_eq!(out, b"a\tb\n\xff\n");
    }

    #[test]
    fn recv_lines_times_out_with_exit_code_3() {
        let ctx = Context::new();
        let (pull, _push) = pair_of(&ctx, PULL, PUSH, "loops-timeout");
        pull.set_rcvtimeo(20).unwrap();
        let limits = Limits { count: None, timeout_ms: Some(20) };
        let err = recv_lines(&pull, &mut Vec::new(), limits).unwrap_err();
        assert_eq!(exit_code(&err), TIMED_OUT);
    }

    #[test]
    fn echo_sends_each_message_back() {
        let ctx = Context::new();
        let (server, client) = pair_of(&ctx, PAIR, PAIR, "loops-echo");
        client.send_multipart(["x", "y"], 0).unwrap();
        let mut out = Vec::new();
        let limits = Limits { count: Some(1), timeout_ms: None };
        assert_eq!(echo(&server, &mut out, limits).unwrap(), 1);
        assert_eq!(out, b"x\ty\n");
        assert_eq!(client.recv_multipart(0).unwrap(), vec![b"x".to_vec(), b"y".to_vec()]);
    }

    #[test]
    fn request_and_reply_alternate() {
        // PAIR stands in for REQ/REP: the loops only alternate send and receive.
        let ctx = Context::new();
        let (rep, req) = pair_of(&ctx, PAIR, PAIR, "loops-reqrep");
        let server = std::thread::spawn(move || {
            let mut out = Vec::new();
            let n = reply(&rep, &b"pong 1\npong 2\n"[..], &mut out, Limits::default()).unwrap();
            (n, out)
        });
        let mut out = Vec::new();
        let n = request(&req, &b"ping 1\nping 2\n"[..], &mut out, Limits::default()).unwrap();
        assert_eq!((n, out), (2, b"pong 1\npong 2\n".to_vec()));
        // The replier printed both requests; its stdin then ended while waiting for a third.
        req.send("ping 3", 0).unwrap();
        let (n, out) = server.join().unwrap();
        assert_eq!((n, out), (3, b"ping 1\nping 2\nping 3\n".to_vec()));
    }

    #[test]
    fn a_closed_stdout_stops_quietly() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(!emit(&mut Closed, &[b"x".to_vec()]).unwrap());
    }
}
