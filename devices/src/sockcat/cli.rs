//! The command line: `sockcat TYPE [--bind EP]... [--connect EP]... [--count N] [--timeout MS]
//! [--subscribe P]... [--identity ID] [--echo]`.
//!
//! This line is a contract that scripts and external checks rely on: add options, never rename
//! or reinterpret these.

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use libsock::SocketType;

use super::mode::Mode;

/// Every name `TYPE` accepts (any case), in libzmq's numeric order.
pub const TYPE_NAMES: &str = "pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub";

const ABOUT: &str = "A netcat for ZeroMQ-style sockets: send stdin lines as messages, print \
                     received messages as lines.";

const LONG_ABOUT: &str = "\
A netcat for ZeroMQ-style sockets, built on libsock (a pure-Rust ZMTP 3.1 implementation that \
talks to libzmq, pyzmq, czmq and friends).

One stdin line is one message; one received message is one stdout line. The frames of a \
multipart message are joined by a TAB in both directions: the line \"a<TAB>b\" is sent as two \
frames, and a received two-frame message prints as \"a<TAB>b\". Received bytes are written as \
they are (no decoding); a trailing \\n or \\r\\n is stripped from input lines.";

const AFTER_HELP: &str = "\
What each TYPE does:
  push, pub          send one message per stdin line; exit once stdin is closed and every
                     message was handed to a peer (waits up to --timeout, else forever)
  pull, sub          print one message per line; exit after --count messages
                     (without --count: run until killed or --timeout)
  pair, dealer,      both at once: send stdin lines and print what arrives; exit when stdin
  router, xpub, xsub is closed and all of it was sent, and --count messages were printed
                     (without --count: as soon as stdin is sent)
  req                for each stdin line: send it, print the reply
  rep                print each request, answer it with the next stdin line
  rep/router --echo  print each request and send it straight back as the reply
                     (router: the first field is the peer's routing id)
  pair/dealer --echo the same for any message that arrives
A pub drops what it sends before a subscriber's subscription arrived (as in ZeroMQ).
A TYPE that this libsock does not implement yet fails with exit code 1.

Options by type:
  --subscribe P      sub, xsub: subscribe to prefix P (repeatable; default: everything)
  --identity ID      any type: the routing id announced to peers (ROUTER peers see it)
  --timeout MS       receiving: give up (exit 3) when no message arrives within MS;
                     sending: give up when a message cannot be queued within MS, and wait at
                     most MS at exit for queued messages to reach a peer (LINGER); messages
                     then queue only to connected peers (IMMEDIATE), so no peer = exit 3

Security (default: none):
  --curve-server SECRET          be a CURVE server with this Z85 secret key; with
                                 --curve-client PUBLIC... admit only those clients
  --curve-serverkey PUBLIC       be a CURVE client of that server; --curve-secret SECRET
                                 uses that key pair, otherwise a fresh one
                                 (keys may be certificate files, NAME.key / NAME.key_secret
                                 as czmq and pyzmq write them; --curve-client also takes
                                 a directory of certificates)
  --plain USER:PASS              be a PLAIN client
  --plain-server --plain-user USER:PASS...
                                 be a PLAIN server admitting only those users
  sockcat keygen                 print a fresh key pair: \"public: KEY\" and \"secret: KEY\"
  sockcat keygen --cert PATH     write a fresh pair as PATH.key and PATH.key_secret

TLS for wss:// endpoints (PEM files, read at start):
  --wss-cert FILE --wss-key FILE a wss:// bind's certificate chain (own certificate first)
                                 and private key
  --wss-trust FILE               a wss:// connect trusts these authorities, or a server
                                 presenting one of these certificates (pinned)
  --wss-trust-system             ... and the system's authorities too
  --wss-hostname NAME            the name the server's certificate must carry
                                 (default: the endpoint's host)

Exit codes:
  0  success
  1  runtime error: bad endpoint, bind refused, unsupported TYPE, I/O error
  2  usage error: bad or missing arguments
  3  timed out (--timeout)

Logging: RUST_LOG=debug sockcat ... (default level: warn; logs go to stderr).

Examples:
  sockcat pull --bind tcp://127.0.0.1:5555 --count 3
  printf 'one\\na\\tb\\nthree\\n' | sockcat push --connect tcp://127.0.0.1:5555
  sockcat pull --connect ipc:///tmp/jobs.ipc --timeout 5000
  sockcat pair --bind tcp://*:5556            # chat: type lines, see the peer's lines
  sockcat rep --bind tcp://*:5557 --echo      # echo server
  echo ping | sockcat req --connect tcp://127.0.0.1:5557
  sockcat sub --connect tcp://127.0.0.1:5558 --subscribe weather.
  sockcat pull --bind wss://*:5559/in --wss-cert chain.pem --wss-key key.pem
  echo hi | sockcat push --connect wss://localhost:5559/in --wss-trust ca.pem";

/// Parsed command-line arguments.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sockcat",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    group(ArgGroup::new("endpoints").required(true).multiple(true).args(["bind", "connect"])),
)]
pub struct Args {
    /// Socket type: pair, pub, sub, req, rep, dealer, router, pull, push, xpub or xsub (any case).
    #[arg(value_name = "TYPE", value_parser = parse_socket_type)]
    pub socket_type: SocketType,

    /// Accept connections on EP (tcp://host:port, ipc://path, inproc://name). Repeatable.
    #[arg(long, value_name = "EP")]
    pub bind: Vec<String>,

    /// Connect to EP (reconnects automatically). Repeatable.
    #[arg(long, value_name = "EP")]
    pub connect: Vec<String>,

    /// Receive (print) this many messages, then exit. Sending-only types send at most N lines.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Per-message time limit in milliseconds (exit code 3 when it expires); also LINGER at exit.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub timeout: Option<u32>,

    /// sub/xsub: subscribe to messages starting with P. Repeatable; default: everything.
    #[arg(long, value_name = "P")]
    pub subscribe: Vec<OsString>,

    /// Routing id this socket announces to its peers (1-255 bytes, not starting with a 0 byte).
    #[arg(long, value_name = "ID")]
    pub identity: Option<OsString>,

    /// rep/router/pair/dealer: send each received message straight back.
    #[arg(long)]
    pub echo: bool,

    /// Security: CURVE or PLAIN (default NULL).
    #[command(flatten)]
    pub security: super::security::SecurityArgs,

    /// TLS for wss:// endpoints: PEM files.
    #[command(flatten)]
    pub wss: crate::wss::WssArgs,
}

impl Args {
    /// Checks the combinations clap cannot express. The message explains the mistake.
    pub fn validate(&self) -> Result<(), String> {
        let t = self.socket_type;
        if !self.subscribe.is_empty() && !matches!(t, SocketType::SUB | SocketType::XSUB) {
            return Err(format!("--subscribe only applies to sub and xsub sockets, not {}", lower(t)));
        }
        self.security.validate().map_err(|e| e.to_string())?;
        crate::wss::check(&self.wss.files(), "--").map_err(|e| e.to_string())?;
        if self.echo && !Mode::can_echo(t) {
            return Err(format!(
                "--echo only applies to rep, router, pair and dealer sockets, not {}",
                lower(t)
            ));
        }
        Ok(())
    }

    /// What the run loop does for these arguments.
    pub fn mode(&self) -> Mode {
        Mode::new(self.socket_type, self.echo)
    }

    /// `--timeout` as a [`Duration`].
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|ms| Duration::from_millis(ms.into()))
    }

    /// The prefixes to subscribe to (sub and xsub): `--subscribe` values, or `""` (everything).
    pub fn subscriptions(&self) -> Vec<Vec<u8>> {
        if self.subscribe.is_empty() {
            return vec![Vec::new()];
        }
        self.subscribe.iter().map(|p| p.as_encoded_bytes().to_vec()).collect()
    }

    /// `--identity` as bytes (taken from the argument as the OS gave it, so any bytes work).
    pub fn identity_bytes(&self) -> Option<&[u8]> {
        self.identity.as_ref().map(|id| id.as_encoded_bytes())
    }
}

/// The lower-case name of a socket type, as the command line spells it.
pub fn lower(t: SocketType) -> String {
    t.as_str().to_ascii_lowercase()
}

/// Parses `TYPE` with [`SocketType::from_name`], listing the valid names on failure.
pub fn parse_socket_type(name: &str) -> Result<SocketType, String> {
    SocketType::from_name(name.as_bytes())
        .ok_or_else(|| format!("unknown socket type (expected one of: {TYPE_NAMES})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("sockcat").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn parses_the_full_contract() {
        let a = parse(&[
            "SUB",
            "--bind",
            "tcp://*:1",
            "--connect",
            "ipc:///x",
            "--connect",
            "inproc://y",
            "--count",
            "3",
            "--timeout",
            "200",
            "--subscribe",
            "a",
            "--subscribe",
            "",
            "--identity",
            "me",
        ])
        .unwrap();
        assert_eq!(a.socket_type, SocketType::SUB);
        assert_eq!(a.bind, ["tcp://*:1"]);
        assert_eq!(a.connect, ["ipc:///x", "inproc://y"]);
        assert_eq!((a.count, a.timeout), (Some(3), Some(200)));
        assert_eq!(a.subscriptions(), vec![b"a".to_vec(), Vec::new()]);
        assert_eq!(a.identity_bytes(), Some(&b"me"[..]));
        assert!(!a.echo);
        assert!(a.validate().is_ok());
    }

    #[test]
    fn every_type_name_parses() {
        for name in TYPE_NAMES.split(", ") {
            let a = parse(&[name, "--bind", "inproc://x"]).unwrap();
            assert_eq!(lower(a.socket_type), name);
        }
    }

    #[test]
    fn usage_errors_are_reported_by_clap() {
        use clap::error::ErrorKind;
        let kind = |args: &[&str]| parse(args).unwrap_err().kind();
        assert_eq!(kind(&[]), ErrorKind::MissingRequiredArgument);
        assert_eq!(kind(&["push"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(kind(&["stream", "--bind", "x"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["push", "--bind", "x", "--timeout", "-1"]), { ErrorKind::UnknownArgument });
        assert_eq!(kind(&["push", "--bind", "x", "--count", "many"]), ErrorKind::ValueValidation);
        let err = parse(&["stream", "--bind", "x"]).unwrap_err().to_string();
        assert!(err.contains("unknown socket type"), "{err}");
    }

    #[test]
    fn defaults_and_combinations() {
        let a = parse(&["sub", "--connect", "tcp://h:1"]).unwrap();
        assert_eq!(a.subscriptions(), vec![Vec::<u8>::new()]);
        assert_eq!(a.timeout(), None);
        let a = parse(&["pull", "--bind", "x", "--subscribe", "t"]).unwrap();
        assert!(a.validate().unwrap_err().contains("--subscribe"));
        let a = parse(&["push", "--bind", "x", "--echo"]).unwrap();
        assert!(a.validate().unwrap_err().contains("--echo"));
        let a = parse(&["router", "--bind", "x", "--echo"]).unwrap();
        assert!(a.validate().is_ok());
    }
}
