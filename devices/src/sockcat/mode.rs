//! Which loop runs for which socket type: decided by what the type can do, not by a list of
//! the types libsock implements today, so a new socket type needs no change here.

use libsock::SocketType;

/// How sockcat drives a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// push, pub: send stdin lines; never receive.
    Send,
    /// pull, sub: print received messages; never send.
    Recv,
    /// pair, dealer, router, xpub, xsub: send stdin lines and print received messages at once.
    Duplex,
    /// req: send a stdin line, print the reply, repeat.
    Request,
    /// rep: print a request, answer it with the next stdin line, repeat.
    Reply,
    /// `--echo`: print each received message and send it back unchanged.
    Echo,
}

impl Mode {
    /// The mode for a socket type, with or without `--echo`.
    ///
    /// `--echo` on a type that cannot echo ([`Mode::can_echo`]) is ignored here; the command
    /// line rejects it before this is asked.
    pub fn new(kind: SocketType, echo: bool) -> Mode {
        use SocketType::*;
        if echo && Mode::can_echo(kind) {
            return Mode::Echo;
        }
        match kind {
            PUSH | PUB => Mode::Send,
            PULL | SUB => Mode::Recv,
            REQ => Mode::Request,
            REP => Mode::Reply,
            // PAIR, DEALER, ROUTER, XPUB, XSUB, STREAM.
            _ => Mode::Duplex,
        }
    }

    /// Whether `--echo` makes sense: the type receives messages and may answer each one.
    pub fn can_echo(kind: SocketType) -> bool {
        use SocketType::*;
        matches!(kind, REP | ROUTER | PAIR | DEALER)
    }

    /// Whether this mode sends messages (and so waits for LINGER at exit).
    pub fn sends(self) -> bool {
        self != Mode::Recv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_mode() {
        let modes: Vec<Mode> = SocketType::ALL.into_iter().map(|t| Mode::new(t, false)).collect();
        use Mode::*;
        assert_eq!(modes, [Duplex, Send, Recv, Request, Reply, Duplex, Duplex, Recv, Send, Duplex, Duplex]);
    }

    #[test]
    fn echo_applies_to_answering_types_only() {
        assert_eq!(Mode::new(SocketType::REP, true), Mode::Echo);
        assert_eq!(Mode::new(SocketType::ROUTER, true), Mode::Echo);
        assert_eq!(Mode::new(SocketType::PUSH, true), Mode::Send);
        assert!(!Mode::Recv.sends() && Mode::Send.sends() && Mode::Echo.sends());
    }
}
