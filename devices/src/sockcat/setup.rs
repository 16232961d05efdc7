//! Creating and configuring the socket from the command line: type, options, subscriptions,
//! endpoints, each failure explained in terms of what the user typed.

use anyhow::{anyhow, Context as _, Result};
use libsock::{Authenticator, Context, Error, Socket, SocketType};

use super::cli::{lower, Args};
use super::outcome::endpoint_error;

/// Opens the socket `args` describe: options first (the routing id must precede connect;
/// the `--wss-…` PEM files are read here, before any endpoint), then binds, then connects, then subscriptions.
///
/// A PLAIN server also returns its authenticator, which must outlive the socket.
pub fn open(ctx: &Context, args: &Args) -> Result<(Socket, Option<Authenticator>)> {
    let kind = args.socket_type;
    let socket = ctx.socket(kind).map_err(|e| socket_error(e, kind))?;
    configure(&socket, args)?;
    let wss = args.wss.files();
    crate::wss::apply(&wss, &socket, "--")?;
    crate::wss::require(&wss, &args.bind, &args.connect, "--", "endpoint")?;
    let auth = args.security.apply(ctx, &socket)?;
    for ep in &args.bind {
        socket.bind(ep).map_err(|e| endpoint_error(e, "bind to", ep))?;
        tracing::info!(endpoint = %socket.get_last_endpoint().unwrap_or_default(), "bound");
    }
    for ep in &args.connect {
        socket.connect(ep).map_err(|e| endpoint_error(e, "connect to", ep))?;
        tracing::info!(endpoint = %ep, "connecting");
    }
    if kind == SocketType::SUB {
        for prefix in args.subscriptions() {
            subscribe(&socket, &prefix)?;
        }
    }
    Ok((socket, auth))
}

/// Explains why a socket of type `kind` could not be created.
fn socket_error(err: Error, kind: SocketType) -> anyhow::Error {
    match err {
        Error::NotSupported => {
            anyhow!("socket type {} is not supported by this version of libsock", lower(kind))
        }
        e => anyhow!("cannot create a {} socket: {e}", lower(kind)),
    }
}

/// LINGER for the socket: how long closing waits for queued messages to reach a peer.
///
/// `--timeout` if given, else forever (-1): "exit once everything was handed to a peer".
/// Receive-only sockets queue nothing and never wait.
pub fn linger_ms(args: &Args) -> i32 {
    if !args.mode().sends() {
        return 0;
    }
    args.timeout.map_or(-1, ms_to_i32)
}

fn configure(socket: &Socket, args: &Args) -> Result<()> {
    socket.set_linger(linger_ms(args))?;
    if let Some(ms) = args.timeout {
        socket.set_sndtimeo(ms_to_i32(ms))?;
        socket.set_rcvtimeo(ms_to_i32(ms))?;
        if args.mode().sends() {
            // Queue only to connected peers: with no peer a send then waits (and times out,
            // exit 3) instead of queueing to be dropped silently when LINGER runs out.
            socket.set_immediate(true)?;
        }
    }
    if args.socket_type == SocketType::ROUTER {
        // Report messages for unknown peers instead of dropping them silently.
        socket.set_router_mandatory(true)?;
    }
    if let Some(id) = args.identity_bytes() {
        socket
            .set_routing_id(id)
            .map_err(|e| anyhow!("invalid --identity {:?}: {e}", String::from_utf8_lossy(id)))?;
    }
    Ok(())
}

/// Subscribes a SUB socket to `prefix`.
fn subscribe(socket: &Socket, prefix: &[u8]) -> Result<()> {
    socket
        .set_subscribe(prefix)
        .with_context(|| format!("cannot subscribe to {:?}", String::from_utf8_lossy(prefix)))
}

/// The messages an XSUB socket sends to subscribe: `0x01` + prefix, one per `--subscribe`
/// (or one for everything). Other types send none.
pub fn subscription_messages(args: &Args) -> Vec<Vec<Vec<u8>>> {
    if args.socket_type != SocketType::XSUB {
        return Vec::new();
    }
    args.subscriptions().into_iter().map(|p| vec![[&[1u8][..], &p].concat()]).collect()
}

fn ms_to_i32(ms: u32) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(line: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("sockcat").chain(line.iter().copied())).unwrap()
    }

    #[test]
    fn linger_follows_timeout_for_senders_only() {
        assert_eq!(linger_ms(&args(&["push", "--bind", "x"])), -1);
        assert_eq!(linger_ms(&args(&["push", "--bind", "x", "--timeout", "7"])), 7);
        assert_eq!(linger_ms(&args(&["pull", "--bind", "x", "--timeout", "7"])), 0);
        assert_eq!(linger_ms(&args(&["pair", "--bind", "x"])), -1);
    }

    #[test]
    fn xsub_subscribes_with_messages() {
        let a = args(&["xsub", "--bind", "x", "--subscribe", "ab"]);
        assert_eq!(subscription_messages(&a), vec![vec![b"\x01ab".to_vec()]]);
        let a = args(&["xsub", "--bind", "x"]);
        assert_eq!(subscription_messages(&a), vec![vec![b"\x01".to_vec()]]);
        assert!(subscription_messages(&args(&["pair", "--bind", "x"])).is_empty());
    }

    #[test]
    fn opens_and_configures_a_socket() {
        let ctx = Context::new();
        let a = args(&["push", "--bind", "inproc://setup-ok", "--timeout", "50", "--identity", "me"]);
        let s = open(&ctx, &a).unwrap().0;
        assert_eq!(s.get_routing_id().unwrap(), b"me");
        assert_eq!((s.get_sndtimeo().unwrap(), s.get_linger().unwrap()), (50, 50));
        assert!(s.get_immediate().unwrap());
        assert_eq!(s.get_last_endpoint().unwrap(), "inproc://setup-ok");
    }

    #[test]
    fn a_refused_type_is_named() {
        let e = socket_error(Error::NotSupported, SocketType::XSUB).to_string();
        assert_eq!(e, "socket type xsub is not supported by this version of libsock");
    }

    #[test]
    fn sub_subscribes_and_router_reports_unknown_peers() {
        let ctx = Context::new();
        let publisher = ctx.socket(libsock::PUB).unwrap();
        publisher.bind("inproc://setup-sub").unwrap();
        let a = args(&["sub", "--connect", "inproc://setup-sub", "--subscribe", "a"]);
        let sub = open(&ctx, &a).unwrap().0;
        sub.set_rcvtimeo(5000).unwrap();
        // inproc subscriptions reach the publisher at once
        publisher.send("b-no", 0).unwrap();
        publisher.send("a-yes", 0).unwrap();
        assert_eq!(sub.recv_bytes(0).unwrap(), b"a-yes");
        let router = open(&ctx, &args(&["router", "--bind", "inproc://setup-router"])).unwrap().0;
        assert!(router.get_router_mandatory().unwrap());
    }

    #[test]
    fn explains_what_went_wrong() {
        let ctx = Context::new();
        let err = |line: &[&str]| open(&ctx, &args(line)).err().unwrap().to_string();
        assert!(err(&["pull", "--connect", "tcp://nope"]).starts_with("invalid endpoint \"tcp://nope\""));
        assert!(err(&["pull", "--bind", "inproc://dup", "--bind", "inproc://dup"]).contains("inproc://dup"));
        let e = err(&["push", "--bind", "inproc://id", "--identity", ""]);
        assert!(e.starts_with("invalid --identity"), "{e}");
    }
}
