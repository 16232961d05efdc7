//! bind, connect, unbind and disconnect: turning endpoint strings into listeners, dialers and
//! inproc pipes.

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;

use super::{PipeOrigin, SocketCore};
use crate::codec::greeting::Mechanism;
use crate::codec::null::PeerInfo;
use crate::engine::{ConnConfig, EndpointId, IoCmd, IoShared, ZapConfig, ZapHandler};
use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::millis;
use crate::pipe::pipe;
use crate::session::{CookieJar, HeartbeatConfig, Security, SessionConfig};
use crate::socket_type::SocketType;
use crate::transport::endpoint::{normalized_tcp, split_uri, tcp_text, Transport};
use crate::transport::ipc::{self, IpcAddr};
use crate::transport::socks::SocksTarget;
use crate::transport::tcp::TcpTarget;
use crate::transport::{tcp, wss, DialTarget, Endpoint, Listener, NetConfig, OpenFailure, WsTarget};

/// One bind or connect a socket made.
pub(crate) struct EndpointRec {
    pub id: EndpointId,
    /// As the user wrote it, and as resolved (`last_endpoint`): either names it for unbind.
    pub requested: String,
    pub resolved: String,
    pub kind: EndpointKind,
}

pub(crate) enum EndpointKind {
    /// `fd`: the listening descriptor, for the CLOSED event a close reports.
    Listener {
        io: Arc<IoShared>,
        ipc_path: Option<PathBuf>,
        fd: u32,
    },
    Dialer {
        io: Arc<IoShared>,
    },
    InprocBound {
        name: String,
    },
    InprocConnected,
    /// A `udp://` endpoint (draft): the threads serving it, ended when it is released;
    /// `bound` for a DISH's or DGRAM's bind, not for a RADIO's connect.
    #[cfg(feature = "draft")]
    Udp {
        threads: super::draft::udp::UdpEndpoint,
        bound: bool,
    },
}

impl EndpointKind {
    /// What `unbind` takes: listeners, inproc binds, udp binds.
    fn is_bound(&self) -> bool {
        match self {
            EndpointKind::Listener { .. } | EndpointKind::InprocBound { .. } => true,
            #[cfg(feature = "draft")]
            EndpointKind::Udp { bound, .. } => *bound,
            _ => false,
        }
    }

    /// What `disconnect` takes: dialers, inproc connects, udp connects.
    fn is_connected(&self) -> bool {
        match self {
            EndpointKind::Dialer { .. } | EndpointKind::InprocConnected => true,
            #[cfg(feature = "draft")]
            EndpointKind::Udp { bound, .. } => !*bound,
            _ => false,
        }
    }
}

impl SocketCore {
    pub(super) fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        // What peers posted first, as libzmq's bind: pipes attach in the order they came,
        // which round robin and fair queuing follow.
        self.process_commands();
        #[cfg(feature = "draft")]
        if let Some(result) = super::draft::udp::bind(self, endpoint) {
            return result;
        }
        // As libzmq's: the transport comes first (its errors are no events), and only a tcp
        // or ipc listener that could not be opened is a BIND_FAILED event, naming the address
        // without its transport.
        let (transport, address) = split_uri(endpoint)?;
        let id = self.ctx.next_endpoint_id();
        if transport == Transport::Inproc {
            if self.is_raw() {
                return Err(stream_inproc(endpoint));
            }
            return self.bind_inproc(id, endpoint, address.to_owned());
        }
        // As libzmq, pick the I/O thread before opening the listener: with IO_THREADS = 0 a
        // tcp/ipc bind fails with EMTHREAD and nothing listens, even for a moment.
        let io = self.ctx.choose_io()?;
        let net = NetConfig::from_options(&self.options);
        let (listener, resolved, ipc_path) = match self.open_listener(endpoint, &net) {
            Ok(bound) => bound,
            Err(ListenFailure { error, closed }) => {
                use crate::mailbox::events::SocketEvent;
                if let Some((fd, name)) = closed {
                    self.shared.monitor.emit(SocketEvent::Closed, fd, &name);
                }
                self.shared.monitor.emit(SocketEvent::BindFailed, error.to_raw() as u32, address);
                return Err(error);
            }
        };
        let fd = listener.raw_fd() as u32;
        self.shared.monitor.emit(crate::mailbox::events::SocketEvent::Listening, fd, &resolved);
        let cfg = Arc::new(self.conn_config());
        let socket = self.shared.clone();
        io.send(IoCmd::Listen { id, listener, cfg, socket, name: resolved.clone() });
        tracing::debug!(endpoint = %resolved, "bound");
        self.remember(id, endpoint, &resolved, EndpointKind::Listener { io, ipc_path, fd });
        Ok(())
    }

    /// Binds a tcp or ipc listener: the listener, its `last_endpoint` and its ipc file.
    fn open_listener(
        &self,
        endpoint: &str,
        net: &NetConfig,
    ) -> std::result::Result<(Listener, String, Option<PathBuf>), ListenFailure> {
        let parsed = Endpoint::parse_bind(endpoint)?;
        if self.options.use_fd >= 0 {
            return Ok(adopt_listener(self.options.use_fd, &parsed, &self.options)?);
        }
        let failed = |e: OpenFailure, name: String| ListenFailure {
            error: Error::from_bind(e.error, endpoint),
            closed: e.closed_fd.map(|fd| (fd, name)),
        };
        Ok(match parsed {
            Endpoint::Tcp { host, port, source } => {
                // libzmq resolves a source part as a bind address, and then has no use for it.
                if let Some((host, port)) = source {
                    Endpoint::bind_addr(&host, port, self.options.ipv6)?;
                }
                let addr = Endpoint::bind_addr(&host, port, self.options.ipv6)?;
                // libzmq's tcp listener names the socket it closed by its (yet empty) address.
                let l = tcp::bind(addr, net).map_err(|e| failed(e, String::new()))?;
                let resolved = tcp_text(l.local_addr().map_err(Error::from)?);
                (Listener::Tcp(l), resolved, None)
            }
            Endpoint::Ipc(name) => {
                let addr = IpcAddr::parse(&name)?;
                let l = ipc::bind(&addr, net.backlog).map_err(|e| failed(e, addr.text()))?;
                let path = match &addr {
                    IpcAddr::Path(p) => Some(p.clone()),
                    IpcAddr::Abstract(_) => None,
                };
                (Listener::Unix(l), addr.text(), path)
            }
            Endpoint::Ws { .. } if self.is_raw() => return Err(stream_ws(endpoint).into()),
            Endpoint::Ws { host, port, path, tls } => {
                let tls = if tls { Some(wss::server_config(&self.options)?) } else { None };
                let addr = Endpoint::bind_addr(&host, port, self.options.ipv6)?;
                let l = tcp::bind(addr, net).map_err(|e| failed(e, String::new()))?;
                let bound = tcp_text(l.local_addr().map_err(Error::from)?);
                let shown = ws_text(&bound, &path, tls.is_some());
                (Listener::Ws(l, tls), shown, None)
            }
            Endpoint::Inproc(_) => return Err(Error::invalid("inproc has no listener").into()),
        })
    }

    pub(super) fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.check_alive()?;
        // As bind: a peer that connected to us before this connect is attached before it.
        self.process_commands();
        #[cfg(feature = "draft")]
        if let Some(result) = super::draft::udp::connect(self, endpoint) {
            return result;
        }
        let id = self.ctx.next_endpoint_id();
        // CONNECT_ROUTING_ID applies to this one connect only.
        let connect_id = std::mem::take(&mut self.options.connect_routing_id);
        self.pending_connect_id = (!connect_id.is_empty()).then(|| Bytes::from(connect_id));
        let mut shown = endpoint.to_owned();
        let target = match Endpoint::parse_connect(endpoint)? {
            Endpoint::Tcp { host, port, source } => {
                if host == "*" || port == 0 {
                    return Err(Error::invalid(format!("cannot connect to a wildcard: {endpoint:?}")));
                }
                if self.options.socks_proxy.is_empty() {
                    // Resolved when dialing (each attempt), as libzmq defers it.
                    DialTarget::Tcp(Arc::new(TcpTarget { host, port, source, ipv6: self.options.ipv6 }))
                } else if source.is_some() {
                    return Err(Error::invalid(format!(
                        "with SOCKS_PROXY the source address goes in SOCKS_PROXY: {endpoint:?}"
                    )));
                } else {
                    self.socks_target(host, port).inspect_err(|_| self.pending_connect_id = None)?
                }
            }
            Endpoint::Ws { .. } if self.is_raw() => {
                self.pending_connect_id = None;
                return Err(stream_ws(endpoint));
            }
            Endpoint::Ws { host, port, path, tls } => {
                if host == "*" || port == 0 {
                    self.pending_connect_id = None;
                    return Err(Error::invalid(format!("cannot connect to a wildcard: {endpoint:?}")));
                }
                let tls = match tls {
                    true => Some(
                        wss::client_tls(&self.options, &host)
                            .inspect_err(|_| self.pending_connect_id = None)?,
                    ),
                    false => None,
                };
                let tcp = TcpTarget { host: host.clone(), port, source: None, ipv6: self.options.ipv6 };
                // As libzmq's LAST_ENDPOINT after a ws connect: the path written out.
                let written =
                    Endpoint::Ws { host: host.clone(), port, path: path.clone(), tls: tls.is_some() };
                shown = written.to_string();
                DialTarget::Ws(Arc::new(WsTarget { tcp, host, path, tls }))
            }
            // A connect has no wildcard: as libzmq's, it dials the file named `*`.
            Endpoint::Ipc(name) if name == "*" => DialTarget::Ipc(IpcAddr::Path(PathBuf::from(name))),
            Endpoint::Ipc(name) => DialTarget::Ipc(IpcAddr::parse(&name)?),
            Endpoint::Inproc(_) if self.is_raw() => {
                self.pending_connect_id = None;
                return Err(stream_inproc(endpoint));
            }
            Endpoint::Inproc(name) => {
                let result = self.connect_inproc(id, endpoint, name);
                self.pending_connect_id = None;
                return result;
            }
        };
        let io = match self.ctx.choose_io() {
            Ok(io) => io,
            Err(e) => {
                self.pending_connect_id = None;
                return Err(e);
            }
        };
        // Without IMMEDIATE the pipe (and a STREAM's routing id) exists from now on, as in
        // libzmq: messages queue until the connection is up. A STREAM reconnect is a new peer,
        // whose pipe comes with it; the engine names it CONNECT_ROUTING_ID again.
        let connect_id = match self.is_raw() {
            true => self.pending_connect_id.clone().unwrap_or_default(),
            false => Bytes::new(),
        };
        let pipe = if self.options.immediate {
            None
        } else {
            let (mut ours, theirs) = pipe(hwm(self.options.sndhwm), hwm(self.options.rcvhwm));
            self.greet(&mut ours);
            self.attach(ours, None, Some(id), PipeOrigin::Dialer);
            Some(theirs)
        };
        self.pending_connect_id = None;
        let cfg = Arc::new(ConnConfig { connect_id, ..self.conn_config() });
        let socket = self.shared.clone();
        io.send(IoCmd::Connect { id, target, pipe, cfg, socket, name: endpoint.to_owned() });
        self.remember(id, endpoint, &shown, EndpointKind::Dialer { io });
        Ok(())
    }

    pub(super) fn unbind(&mut self, endpoint: &str) -> Result<()> {
        // The connections the listener handed over already, so that they end as the rest.
        self.process_commands();
        self.remove_endpoints(endpoint, EndpointKind::is_bound)
    }

    pub(super) fn disconnect(&mut self, endpoint: &str) -> Result<()> {
        // What the I/O threads posted first, as libzmq's term_endpoint: a dialer that gave
        // up is then already forgotten.
        self.process_commands();
        self.remove_endpoints(endpoint, EndpointKind::is_connected)
    }

    /// Unbind and disconnect. As libzmq's `term_endpoint`: a tcp/ipc listener is named by
    /// its resolved address (`last_endpoint`), never by the wildcard it was bound with
    /// (`tcp://127.0.0.1:*` unbinds nothing: ENOENT), though a tcp name that resolves to it
    /// (`tcp://localhost:5555`) does; other endpoints by the string given to connect/bind.
    /// The pipes that came through a tcp/ipc endpoint close with it: unbinding drops the
    /// peers that listener accepted, as libzmq's listener terminates its sessions (what
    /// they sent and was not read yet is still received: `SocketCore::close_pipes_of`).
    fn remove_endpoints(&mut self, endpoint: &str, kind: impl Fn(&EndpointKind) -> bool) -> Result<()> {
        let exact = |e: &EndpointRec| match e.kind {
            EndpointKind::Listener { .. } => e.resolved == endpoint,
            _ => e.requested == endpoint || e.resolved == endpoint,
        };
        // Only when nothing matches as written (a name may mean a DNS query).
        let normalized = match self.endpoints.iter().any(|e| exact(e) && kind(&e.kind)) {
            true => None,
            false => normalized_tcp(endpoint, self.options.ipv6),
        };
        let names = |e: &EndpointRec| {
            let listener = matches!(e.kind, EndpointKind::Listener { .. });
            exact(e) || (listener && normalized.as_deref() == Some(e.resolved.as_str()))
        };
        let (matched, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.endpoints).into_iter().partition(|e| names(e) && kind(&e.kind));
        self.endpoints = kept;
        if matched.is_empty() {
            // As libzmq's term_endpoint, which checks the transport first: no `://` is EINVAL
            // and an unknown transport EPROTONOSUPPORT rather than ENOENT; the address
            // itself is not checked (a tcp one that does not resolve names nothing).
            match split_uri(endpoint) {
                Err(Error::IncompatibleProtocol(_)) if self.kind.speaks_udp() => {}
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            return Err(Error::NoSuchEndpoint(endpoint.to_owned()));
        }
        for ep in matched {
            if !matches!(ep.kind, EndpointKind::InprocBound { .. }) {
                self.close_pipes_of(ep.id);
            }
            self.release_endpoint(ep);
        }
        Ok(())
    }

    /// Lets go of an endpoint: listeners stop, dialers stop redialing once their pipe drained.
    /// A dialer that gave up for good ([`crate::mailbox::SocketCmd::DialerEnded`]): forgotten, so that
    /// disconnecting it fails with ENOENT, as in libzmq. Its connection has already left
    /// the I/O thread.
    pub(super) fn forget_dialer(&mut self, id: EndpointId) {
        self.endpoints.retain(|e| !(e.id == id && matches!(e.kind, EndpointKind::Dialer { .. })));
    }

    pub(super) fn release_endpoint(&mut self, ep: EndpointRec) {
        match ep.kind {
            EndpointKind::Listener { io, ipc_path, .. } => {
                match ipc_path.map(std::fs::remove_file) {
                    Some(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => {
                        tracing::warn!(endpoint = %ep.resolved, "cannot remove the ipc socket file: {e}");
                        let errno = e.raw_os_error().unwrap_or(0) as u32;
                        self.shared.monitor.emit(
                            crate::mailbox::events::SocketEvent::CloseFailed,
                            errno,
                            &ep.resolved,
                        );
                    }
                    _ => {}
                }
                io.send(IoCmd::Close { id: ep.id });
            }
            EndpointKind::Dialer { io } => io.send(IoCmd::Close { id: ep.id }),
            EndpointKind::InprocBound { name } => self.ctx.inproc.unbind(&name, ep.id),
            EndpointKind::InprocConnected => {}
            #[cfg(feature = "draft")]
            EndpointKind::Udp { threads, .. } => threads.close(),
        }
    }

    fn bind_inproc(&mut self, id: EndpointId, endpoint: &str, name: String) -> Result<()> {
        let pending = self.ctx.inproc.bind(&name, self.inproc_binder(id))?;
        // Any socket type is adopted, as in libzmq (see `inproc::InprocRegistry::connect`).
        for p in pending {
            let mut end = p.end;
            self.greet(&mut end);
            self.arm_disconnect_msg(&mut end);
            self.attach(end, Some(p.peer), Some(id), PipeOrigin::Inproc);
        }
        self.remember(id, endpoint, endpoint, EndpointKind::InprocBound { name });
        Ok(())
    }

    fn connect_inproc(&mut self, id: EndpointId, endpoint: &str, name: String) -> Result<()> {
        let (mut end, peer) =
            self.ctx.inproc.connect(&name, self.me(), hwm(self.options.sndhwm), hwm(self.options.rcvhwm))?;
        self.greet(&mut end);
        self.attach(end, peer, Some(id), PipeOrigin::Inproc);
        self.remember(id, endpoint, endpoint, EndpointKind::InprocConnected);
        Ok(())
    }

    fn inproc_binder(&self, id: EndpointId) -> super::inproc::Binder {
        super::inproc::Binder {
            shared: self.shared.clone(),
            me: self.me(),
            sndhwm: hwm(self.options.sndhwm),
            rcvhwm: hwm(self.options.rcvhwm),
            id,
            hello: self.hello_msg(),
        }
    }

    /// HELLO_MSG (draft): DEALER, ROUTER, CLIENT and SERVER send it first on every new pipe,
    /// as libzmq's `send_hello_msg`. Pipes an engine creates, and inproc pipes a connecting
    /// socket makes for this binder, get it where they are made (the socket may be idle then).
    fn hello_msg(&self) -> Option<Bytes> {
        let applies = self.kind.sends_hello_msg();
        (applies && !self.options.hello_msg.is_empty()).then(|| Bytes::from(self.options.hello_msg.clone()))
    }

    /// DISCONNECT_MSG (draft): what a ROUTER or SERVER receives from a peer that left, as
    /// libzmq: from a tcp/ipc peer it accepted (the engine writes it), or from an inproc
    /// socket that connected to it (its pipe end yields it once the connector closed it).
    fn disconnect_msg(&self) -> Option<Bytes> {
        let applies = self.kind.receives_disconnect_msg();
        (applies && !self.options.disconnect_msg.is_empty())
            .then(|| Bytes::from(self.options.disconnect_msg.clone()))
    }

    /// Queues HELLO_MSG on a pipe end of this socket before it is attached.
    fn greet(&self, end: &mut crate::pipe::PipeEnd) {
        if let Some(hello) = self.hello_msg() {
            end.tx.send_one(hello.into());
        }
    }

    /// DISCONNECT_MSG on a pipe from an inproc socket that connected to our bind: read from
    /// it once that socket closes it (libzmq's `connect_inproc_sockets` and
    /// `socket_base_t::connect` set the binder's message on the connector's pipe end).
    pub(super) fn arm_disconnect_msg(&self, end: &mut crate::pipe::PipeEnd) {
        end.rx.set_farewell(self.disconnect_msg().map(Message::from));
    }

    /// How this socket presents itself to peers.
    fn me(&self) -> PeerInfo {
        PeerInfo { socket_type: self.kind, identity: Bytes::from(self.options.routing_id.clone()) }
    }

    /// The engine's copy of the options that shape a connection.
    fn conn_config(&self) -> ConnConfig {
        let o = &self.options;
        let timeout = o.effective_heartbeat_timeout();
        ConnConfig {
            session: SessionConfig {
                socket_type: self.kind,
                routing_id: Bytes::from(o.routing_id.clone()),
                max_msg_size: u64::try_from(o.maxmsgsize).ok(),
                handshake_ivl: millis(o.handshake_ivl).filter(|d| !d.is_zero()),
                heartbeat: HeartbeatConfig {
                    interval: millis(o.heartbeat_ivl).filter(|d| !d.is_zero()),
                    timeout: millis(timeout).filter(|d| !d.is_zero()),
                    ttl: millis(o.heartbeat_ttl).filter(|d| !d.is_zero()),
                },
                security: self.security(),
                app_metadata: self.app_metadata_encoded(),
            },
            net: NetConfig {
                accept_filters: self.accept_filters.clone(),
                ipc_filters: self.ipc_filters.clone(),
                ..NetConfig::from_options(o)
            },
            sndhwm: hwm(o.sndhwm),
            rcvhwm: hwm(o.rcvhwm),
            // libzmq 4.3 reconnects only when RECONNECT_IVL > 0 (session_base.cpp
            // engine_error, stream_connecter_base.cpp add_reconnect_timer): 0 is -1.
            reconnect_ivl: millis(o.reconnect_ivl).filter(|d| !d.is_zero()),
            reconnect_ivl_max: Duration::from_millis(o.reconnect_ivl_max as u64),
            immediate: o.immediate,
            subscriptions_as_commands: matches!(self.kind, SocketType::SUB | SocketType::XSUB)
                || self.kind.joins_groups(),
            router_notify: if self.kind == SocketType::ROUTER { o.router_notify } else { 0 },
            hello_msg: self.hello_msg(),
            disconnect_msg: self.disconnect_msg(),
            reconnect_stop: o.reconnect_stop,
            connect_timeout: millis(o.connect_timeout).filter(|d| !d.is_zero()),
            raw: self.is_raw(),
            raw_notify: o.stream_notify,
            connect_id: Bytes::new(),
            zap: ZapConfig {
                handler: Arc::downgrade(&self.ctx) as Weak<dyn ZapHandler>,
                domain: o.zap_domain.clone(),
                enforce_domain: o.zap_enforce_domain,
                routing_id: o.routing_id.clone(),
            },
        }
    }

    /// The mechanism the options ask for: the last PLAIN/CURVE option set decides, as in
    /// libzmq ([`crate::options::Options::mechanism`]). NULL asks ZAP when ZAP_DOMAIN is set.
    pub(crate) fn security(&self) -> Security {
        let o = &self.options;
        let key = |k: &[u8]| <[u8; 32]>::try_from(k).ok();
        match (o.mechanism, o.as_server) {
            (Mechanism::Curve, true) => match key(&o.curve_secretkey) {
                Some(secret) => return Security::CurveServer { secret, cookies: Arc::new(CookieJar::new()) },
                None => tracing::warn!("CURVE_SERVER is set without CURVE_SECRETKEY: using NULL"),
            },
            (Mechanism::Curve, false) => match (key(&o.curve_serverkey), key(&o.curve_secretkey)) {
                (Some(server), Some(secret)) => {
                    return Security::CurveClient { secret, public: key(&o.curve_publickey), server }
                }
                _ => tracing::warn!("a CURVE client needs CURVE_SERVERKEY and CURVE_SECRETKEY: using NULL"),
            },
            (Mechanism::Plain, true) => return Security::PlainServer,
            (Mechanism::Plain, false) => {
                return Security::PlainClient {
                    username: o.plain_username.clone(),
                    password: o.plain_password.clone(),
                }
            }
            (Mechanism::Null, _) => {}
        }
        if o.zap_domain.is_empty() {
            Security::Null
        } else {
            Security::NullZap
        }
    }
}

impl SocketCore {
    /// A tcp connect through SOCKS_PROXY (`host:port`, or `source;host:port` to reach the
    /// proxy from a given local address), with SOCKS_USERNAME/PASSWORD if set.
    fn socks_target(&self, host: String, port: u16) -> Result<DialTarget> {
        let o = &self.options;
        let proxy = TcpTarget::socks_proxy(&String::from_utf8_lossy(&o.socks_proxy), o.ipv6)?;
        let auth =
            (!o.socks_username.is_empty()).then(|| (o.socks_username.clone(), o.socks_password.clone()));
        Ok(DialTarget::Socks(Arc::new(SocksTarget { proxy, host, port, auth })))
    }

    /// Records a bind or connect (for unbind/disconnect) and makes it the last endpoint.
    fn remember(&mut self, id: EndpointId, endpoint: &str, resolved: &str, kind: EndpointKind) {
        self.last_endpoint = resolved.to_owned();
        let (requested, resolved) = (endpoint.to_owned(), resolved.to_owned());
        self.endpoints.push(EndpointRec { id, requested, resolved, kind });
    }
}

/// A bind that failed: the error, and the descriptor it closed on the way with the name
/// libzmq's CLOSED event gives it (libzmq's listeners report one when the socket was made
/// but could not be bound or listen).
struct ListenFailure {
    error: Error,
    closed: Option<(u32, String)>,
}

impl From<Error> for ListenFailure {
    fn from(error: Error) -> ListenFailure {
        ListenFailure { error, closed: None }
    }
}

/// USE_FD: serves an already bound and listening descriptor (socket activation). We use a
/// duplicate, so the caller's descriptor stays theirs.
fn adopt_listener(
    fd: i32,
    endpoint: &Endpoint,
    options: &crate::options::Options,
) -> Result<(Listener, String, Option<PathBuf>)> {
    let owned = crate::sys::dup_fd(fd)?;
    match endpoint {
        Endpoint::Tcp { .. } => {
            let l = std::net::TcpListener::from(owned);
            l.set_nonblocking(true)?;
            let resolved = tcp_text(l.local_addr()?);
            Ok((Listener::Tcp(mio::net::TcpListener::from_std(l)), resolved, None))
        }
        Endpoint::Ws { path, tls, .. } => {
            let tls = if *tls { Some(wss::server_config(options)?) } else { None };
            let l = std::net::TcpListener::from(owned);
            l.set_nonblocking(true)?;
            let resolved = ws_text(&tcp_text(l.local_addr()?), path, tls.is_some());
            Ok((Listener::Ws(mio::net::TcpListener::from_std(l), tls), resolved, None))
        }
        _ => {
            let l = std::os::unix::net::UnixListener::from(owned);
            l.set_nonblocking(true)?;
            let path = l.local_addr()?.as_pathname().map(|p| p.to_path_buf());
            let text =
                path.as_ref().map_or_else(|| "ipc://".to_string(), |p| format!("ipc://{}", p.display()));
            // The file belongs to whoever made the descriptor: not ours to remove.
            Ok((Listener::Unix(mio::net::UnixListener::from_std(l)), text, None))
        }
    }
}

/// STREAM (and a ROUTER_RAW ROUTER) talks to raw TCP peers; there is nothing raw about
/// inproc (libzmq refuses it too).
fn stream_inproc(endpoint: &str) -> Error {
    Error::ProtocolNotSupported(format!("raw (STREAM, ROUTER_RAW) sockets cannot use inproc: {endpoint}"))
}

fn hwm(v: i32) -> u64 {
    v.max(0) as u64
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;

/// A bound `ws://` (`wss://`) endpoint's `last_endpoint`: the tcp address's, with the path.
fn ws_text(tcp_text: &str, path: &str, tls: bool) -> String {
    let scheme = if tls { "wss" } else { "ws" };
    format!("{scheme}://{}{path}", tcp_text.trim_start_matches("tcp://"))
}

/// STREAM sockets speak raw tcp: they have no WebSocket framing.
fn stream_ws(endpoint: &str) -> Error {
    Error::ProtocolNotSupported(format!("ws:// and wss:// are not for STREAM sockets ({endpoint:?})"))
}
