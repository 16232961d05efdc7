//! Socket options, defined once.
//!
//! [`for_each_option!`] is the single table of stored options: name, libzmq's numeric id, type,
//! default, accepted range and documentation. It generates the [`Options`] struct, the
//! [`SocketOption`] enum used by raw get/set (the C API), and the typed `set_*`/`get_*`
//! methods on [`crate::Socket`]. Options that are actions or read-only state (SUBSCRIBE,
//! TYPE, RCVMORE, LAST_ENDPOINT, EVENTS, FD) live on the socket itself.

use crate::codec::greeting::Mechanism;
use crate::error::{Error, Result};

/// Calls `$m!` with the option table. Rows: `doc, field, setter, getter, CONST, raw id, kind, default, min, max`
/// (for `bool`, `max` says which values are accepted: see `@check bool`).
macro_rules! for_each_option {
    ($m:ident) => {
        $m! {
            "High water mark for outbound messages, per peer (0 = no limit).",
                sndhwm, set_sndhwm, get_sndhwm, SNDHWM, 23, i32, 1000, 0, i32::MAX;
            "High water mark for inbound messages, per peer (0 = no limit).",
                rcvhwm, set_rcvhwm, get_rcvhwm, RCVHWM, 24, i32, 1000, 0, i32::MAX;
            "How long, in ms, unsent messages are kept after close (-1 = forever, 0 = drop).",
                linger, set_linger, get_linger, LINGER, 17, i32, -1, -1, i32::MAX;
            "Send timeout in ms (-1 = block forever, 0 = never block).",
                sndtimeo, set_sndtimeo, get_sndtimeo, SNDTIMEO, 28, i32, -1, -1, i32::MAX;
            "Receive timeout in ms (-1 = block forever, 0 = never block).",
                rcvtimeo, set_rcvtimeo, get_rcvtimeo, RCVTIMEO, 27, i32, -1, -1, i32::MAX;
            "Initial reconnect interval in ms (0 or -1 = never reconnect, as libzmq 4.3).",
                reconnect_ivl, set_reconnect_ivl, get_reconnect_ivl, RECONNECT_IVL, 18, i32, 100, -1, i32::MAX;
            "Upper bound of the exponential reconnect backoff in ms (0 = no backoff).",
                reconnect_ivl_max, set_reconnect_ivl_max, get_reconnect_ivl_max, RECONNECT_IVL_MAX, 21, i32, 0, 0, i32::MAX;
            "Listen backlog for tcp and ipc.",
                backlog, set_backlog, get_backlog, BACKLOG, 19, i32, 100, 0, i32::MAX;
            "Largest inbound message in bytes; a larger one drops its connection (any negative value = no limit, as in libzmq).",
                maxmsgsize, set_maxmsgsize, get_maxmsgsize, MAXMSGSIZE, 22, i64, -1, i64::MIN, i64::MAX;
            "Time in ms a new connection has to finish the ZMTP handshake (0 = no limit).",
                handshake_ivl, set_handshake_ivl, get_handshake_ivl, HANDSHAKE_IVL, 66, i32, 30_000, 0, i32::MAX;
            "Interval in ms between PINGs we send (0 = no heartbeats).",
                heartbeat_ivl, set_heartbeat_ivl, get_heartbeat_ivl, HEARTBEAT_IVL, 75, i32, 0, 0, i32::MAX;
            "Time-to-live in ms we ask the peer to apply to us (0 = none), sent in our PINGs.",
                heartbeat_ttl, set_heartbeat_ttl, get_heartbeat_ttl, HEARTBEAT_TTL, 76, i32, 0, -99, 6_553_599;
            "Time in ms to wait for traffic after a PING before dropping (default -1: HEARTBEAT_IVL; set it >= 0, as libzmq takes).",
                heartbeat_timeout, set_heartbeat_timeout, get_heartbeat_timeout, HEARTBEAT_TIMEOUT, 77, i32, -1, 0, i32::MAX;
            "Allow IPv6 (and IPv4-mapped) addresses for tcp.",
                ipv6, set_ipv6, get_ipv6, IPV6, 42, bool, false, false, true;
            "Queue messages only to completed connections.",
                immediate, set_immediate, get_immediate, IMMEDIATE, 39, bool, false, false, true;
            "SO_KEEPALIVE for tcp (-1 = OS default, 0 = off, 1 = on).",
                tcp_keepalive, set_tcp_keepalive, get_tcp_keepalive, TCP_KEEPALIVE, 34, i32, -1, -1, 1;
            "TCP_KEEPCNT (-1 = OS default).",
                tcp_keepalive_cnt, set_tcp_keepalive_cnt, get_tcp_keepalive_cnt, TCP_KEEPALIVE_CNT, 35, i32, -1, -1, i32::MAX;
            "TCP_KEEPIDLE in seconds (-1 = OS default).",
                tcp_keepalive_idle, set_tcp_keepalive_idle, get_tcp_keepalive_idle, TCP_KEEPALIVE_IDLE, 36, i32, -1, -1, i32::MAX;
            "TCP_KEEPINTVL in seconds (-1 = OS default).",
                tcp_keepalive_intvl, set_tcp_keepalive_intvl, get_tcp_keepalive_intvl, TCP_KEEPALIVE_INTVL, 37, i32, -1, -1, i32::MAX;
            "Kernel send buffer size in bytes (-1 = OS default).",
                sndbuf, set_sndbuf, get_sndbuf, SNDBUF, 11, i32, -1, -1, i32::MAX;
            "Kernel receive buffer size in bytes (-1 = OS default).",
                rcvbuf, set_rcvbuf, get_rcvbuf, RCVBUF, 12, i32, -1, -1, i32::MAX;
            "Routing id this socket announces to peers (1-255 bytes, not starting with 0x00).",
                routing_id, set_routing_id, get_routing_id, ROUTING_ID, 5, bytes, Vec::new(), 0, 255;
            "Routing id a ROUTER assigns to the peer of the next connect().",
                connect_routing_id, set_connect_routing_id, get_connect_routing_id, CONNECT_ROUTING_ID, 61, bytes, Vec::new(), 0, 255;
            "ROUTER: fail with HostUnreachable instead of dropping unroutable messages.",
                router_mandatory, set_router_mandatory, get_router_mandatory, ROUTER_MANDATORY, 33, bool, false, false, i32::MAX;
            "ROUTER: a new peer with a taken routing id takes it over.",
                router_handover, set_router_handover, get_router_handover, ROUTER_HANDOVER, 56, bool, false, false, i32::MAX;
            "REQ: allow sending a new request before the reply arrived.",
                req_relaxed, set_req_relaxed, get_req_relaxed, REQ_RELAXED, 53, bool, false, false, i32::MAX;
            "REQ: prefix requests with an id and drop replies that do not match.",
                req_correlate, set_req_correlate, get_req_correlate, REQ_CORRELATE, 52, bool, false, false, i32::MAX;
            "XPUB: pass every subscription message up, not only new ones.",
                xpub_verbose, set_xpub_verbose, get_xpub_verbose, XPUB_VERBOSE, 40, bool, false, false, i32::MAX;
            "XPUB: the application decides subscriptions (via SUBSCRIBE on the XPUB).",
                xpub_manual, set_xpub_manual, get_xpub_manual, XPUB_MANUAL, 71, bool, false, false, i32::MAX;
            "XPUB: a message sent to each new subscriber.",
                xpub_welcome_msg, set_xpub_welcome_msg, get_xpub_welcome_msg, XPUB_WELCOME_MSG, 72, bytes, Vec::new(), 0, usize::MAX;
            "STREAM: announce each connect and disconnect as [id, empty] (default on).",
                stream_notify, set_stream_notify, get_stream_notify, STREAM_NOTIFY, 73, bool, true, false, i32::MAX;
            "Keep only the latest message in each queue (PUSH, PULL, PUB, SUB, DEALER, PAIR); ignores HWMs.",
                conflate, set_conflate, get_conflate, CONFLATE, 54, bool, false, false, true;
            "ROUTER/DEALER: send an empty message to each new peer, so a ROUTER learns its id.",
                probe_router, set_probe_router, get_probe_router, PROBE_ROUTER, 51, bool, false, false, i32::MAX;
            "XPUB: block (or fail with EAGAIN) instead of dropping when a subscriber is at its HWM.",
                xpub_nodrop, set_xpub_nodrop, get_xpub_nodrop, XPUB_NODROP, 69, bool, false, false, i32::MAX;
            "XPUB: pass every subscribe and unsubscribe message up, not only the first and last.",
                xpub_verboser, set_xpub_verboser, get_xpub_verboser, XPUB_VERBOSER, 78, bool, false, false, i32::MAX;
            "XPUB_MANUAL: a new SUBSCRIBE from a peer replaces its previous one (last value caching).",
                xpub_manual_last_value, set_xpub_manual_last_value, get_xpub_manual_last_value, XPUB_MANUAL_LAST_VALUE, 98, bool, false, false, i32::MAX;
            "PUB/XPUB/SUB/XSUB: deliver the messages that match no subscription instead.",
                invert_matching, set_invert_matching, get_invert_matching, INVERT_MATCHING, 74, bool, false, i32::MIN, i32::MAX;
            "ROUTER: announce peers as [id, empty] on connect (1), disconnect (2) or both (3).",
                router_notify, set_router_notify, get_router_notify, ROUTER_NOTIFY, 97, i32, 0, 0, 3;
            "Stop reconnecting on: connection refused (1), handshake failure (2), after a disconnect (4) \
             (any int is taken, as libzmq stores it: the bits say).",
                reconnect_stop, set_reconnect_stop, get_reconnect_stop, RECONNECT_STOP, 109, i32, 0, i32::MIN, i32::MAX;
            "Time in ms a tcp connect may take before it is retried (0 = the OS's limit).",
                connect_timeout, set_connect_timeout, get_connect_timeout, CONNECT_TIMEOUT, 79, i32, 0, 0, i32::MAX;
            "TCP_USER_TIMEOUT in ms: unacknowledged data this old drops the connection (0 = OS default).",
                tcp_maxrt, set_tcp_maxrt, get_tcp_maxrt, TCP_MAXRT, 80, i32, 0, 0, i32::MAX;
            "IP type-of-service (DSCP/ECN byte) on outgoing tcp packets (any value >= 0, as libzmq takes; its low byte is used).",
                tos, set_tos, get_tos, TOS, 57, i32, 0, 0, i32::MAX;
            "SO_BINDTODEVICE: bind tcp sockets to this network interface (empty = any).",
                bindtodevice, set_bindtodevice, get_bindtodevice, BINDTODEVICE, 92, bytes, Vec::new(), 0, 15;
            "bind() adopts this already listening descriptor instead of opening one (-1 = off).",
                use_fd, set_use_fd, get_use_fd, USE_FD, 89, i32, -1, -1, i32::MAX;
            "SOCKS5 proxy (host:port) that tcp connects go through (empty = direct).",
                socks_proxy, set_socks_proxy, get_socks_proxy, SOCKS_PROXY, 68, bytes, Vec::new(), 0, 255;
            "SOCKS5 username (with SOCKS_PASSWORD: username/password authentication).",
                socks_username, set_socks_username, get_socks_username, SOCKS_USERNAME, 99, bytes, Vec::new(), 0, 255;
            "SOCKS5 password.",
                socks_password, set_socks_password, get_socks_password, SOCKS_PASSWORD, 100, bytes, Vec::new(), 0, 255;
            "pgm/epgm multicast rate in kbit/s: stored, as libzmq stores it whatever its transports \
             (libsock has no multicast transport).",
                rate, set_rate, get_rate, RATE, 8, i32, 100, 1, i32::MAX;
            "pgm/epgm recovery interval in ms: stored, as libzmq stores it (no multicast transport here).",
                recovery_ivl, set_recovery_ivl, get_recovery_ivl, RECOVERY_IVL, 9, i32, 10_000, 0, i32::MAX;
            "Multicast hops (TTL) of a RADIO's datagrams to a udp multicast group (draft); stored on every socket, as libzmq stores it.",
                multicast_hops, set_multicast_hops, get_multicast_hops, MULTICAST_HOPS, 25, i32, 1, 1, i32::MAX;
            "Largest multicast transport data unit in bytes: stored, as libzmq stores it (no multicast \
             transport here).",
                multicast_maxtpdu, set_multicast_maxtpdu, get_multicast_maxtpdu, MULTICAST_MAXTPDU, 84, i32, 1500, 1, i32::MAX;
            "Draft: multicast loopback: whether a RADIO's datagrams to a udp multicast group also reach this host's DISHes; stored on every socket, as libzmq stores it.",
                multicast_loop, set_multicast_loop, get_multicast_loop, MULTICAST_LOOP, 96, bool, true, i32::MIN, i32::MAX;
            "I/O thread affinity bitmask for new connections, a uint64_t in C (stored; libsock picks threads round robin).",
                affinity, set_affinity, get_affinity, AFFINITY, 4, i64, 0, i64::MIN, i64::MAX;
            "PLAIN: be the server (credentials are checked by the ZAP handler, if one is bound).",
                plain_server, set_plain_server, get_plain_server, PLAIN_SERVER, 44, bool, false, false, true;
            "PLAIN: user name to log in with, 1-255 bytes (setting it makes this socket a PLAIN client).",
                plain_username, set_plain_username, get_plain_username, PLAIN_USERNAME, 45, bytes, Vec::new(), 1, 255;
            "PLAIN: password to log in with, 1-255 bytes.",
                plain_password, set_plain_password, get_plain_password, PLAIN_PASSWORD, 46, bytes, Vec::new(), 1, 255;
            "CURVE: be the server (needs CURVE_SECRETKEY).",
                curve_server, set_curve_server, get_curve_server, CURVE_SERVER, 47, bool, false, false, true;
            "CURVE: our long-term public key (32 bytes, or 40 Z85 characters; read back raw).",
                curve_publickey, set_curve_publickey, get_curve_publickey, CURVE_PUBLICKEY, 48, key, Vec::new(), 0, 0;
            "CURVE: our long-term secret key (32 bytes, or 40 Z85 characters; read back raw).",
                curve_secretkey, set_curve_secretkey, get_curve_secretkey, CURVE_SECRETKEY, 49, key, Vec::new(), 0, 0;
            "CURVE: the server's public key; setting it makes this socket a CURVE client.",
                curve_serverkey, set_curve_serverkey, get_curve_serverkey, CURVE_SERVERKEY, 50, key, Vec::new(), 0, 0;
            "ZAP: the domain sent in ZAP requests.",
                zap_domain, set_zap_domain, get_zap_domain, ZAP_DOMAIN, 55, bytes, Vec::new(), 0, 255;
            "ZAP: refuse PLAIN/CURVE peers when no ZAP handler is bound (libzmq's strict mode).",
                zap_enforce_domain, set_zap_enforce_domain, get_zap_enforce_domain, ZAP_ENFORCE_DOMAIN, 93, bool, false, i32::MIN, i32::MAX;
            "Draft, Windows only in libzmq (SIO_LOOPBACK_FAST_PATH): accepted and stored, no effect here.",
                loopback_fastpath, set_loopback_fastpath, get_loopback_fastpath, LOOPBACK_FASTPATH, 94, bool, false, i32::MIN, i32::MAX;
            "Draft: stored as libzmq's read batch size; libsock sizes its reads itself (64 KiB and up).",
                in_batch_size, set_in_batch_size, get_in_batch_size, IN_BATCH_SIZE, 101, i32, 8192, 1, i32::MAX;
            "Draft: stored as libzmq's write batch size; libsock batches writes itself (up to 256 KiB).",
                out_batch_size, set_out_batch_size, get_out_batch_size, OUT_BATCH_SIZE, 102, i32, 8192, 1, i32::MAX;
            "Draft, wss:// listener: its certificate chain in PEM, its own certificate first.",
                wss_cert_pem, set_wss_cert_pem, get_wss_cert_pem, WSS_CERT_PEM, 104, bytes, Vec::new(), 0, usize::MAX;
            "Draft, wss:// listener: its private key in PEM (PKCS#8, PKCS#1 or SEC1).",
                wss_key_pem, set_wss_key_pem, get_wss_key_pem, WSS_KEY_PEM, 103, bytes, Vec::new(), 0, usize::MAX;
            "Draft, wss:// connect: certificate authorities to trust, in PEM; a server presenting one of \
             these certificates as its own is trusted as it is.",
                wss_trust_pem, set_wss_trust_pem, get_wss_trust_pem, WSS_TRUST_PEM, 105, bytes, Vec::new(), 0, usize::MAX;
            "Draft, wss:// connect: the name the server's certificate must carry (empty = the endpoint's host).",
                wss_hostname, set_wss_hostname, get_wss_hostname, WSS_HOSTNAME, 106, bytes, Vec::new(), 0, 255;
            "Draft, wss:// connect: trust the system's certificate authorities too.",
                wss_trust_system, set_wss_trust_system, get_wss_trust_system, WSS_TRUST_SYSTEM, 107, bool, false, false, true;
            "Draft, PUB/XPUB/XSUB: the frames after a message's first are subscription changes only when \
             the first one is (without it, any frame starting with 0 or 1 is one).",
                only_first_subscribe, set_only_first_subscribe, get_only_first_subscribe, ONLY_FIRST_SUBSCRIBE, 108, bool, false, false, i32::MAX;
            "Draft, DEALER/ROUTER/CLIENT/SERVER: a message sent to each new peer before anything else (empty = none).",
                hello_msg, set_hello_msg, get_hello_msg, HELLO_MSG, 110, bytes, Vec::new(), 0, usize::MAX;
            "Draft, ROUTER/SERVER: a message received from a peer that left, as [id, msg] on a ROUTER (a tcp/ipc \
             peer it accepted, an inproc peer that connected to it; empty = none).",
                disconnect_msg, set_disconnect_msg, get_disconnect_msg, DISCONNECT_MSG, 111, bytes, Vec::new(), 0, usize::MAX;
            "Draft: SO_PRIORITY of tcp connections (0 = leave the OS default).",
                priority, set_priority, get_priority, PRIORITY, 112, i32, 0, 0, i32::MAX;
            "libsock only: before a blocking send/recv sleeps, spin up to this many µs waiting for the \
             peer (0 = never spin). Trades CPU for latency; worth it only with a core to spare.",
                busy_poll_us, set_busy_poll_us, get_busy_poll_us, BUSY_POLL_US, 0x4C53_0001, i32, 0, 0, 10_000;
            "libsock only, wss:// listener: the file of its certificate chain (PEM), instead of \
             WSS_CERT_PEM; read at bind, and again for new connections when it changes on disk \
             (a renewed certificate is served without a restart). Needs WSS_KEY_FILE.",
                wss_cert_file, set_wss_cert_file, get_wss_cert_file, WSS_CERT_FILE, 0x4C53_0002, bytes, Vec::new(), 0, 4096;
            "libsock only, wss:// listener: the file of its private key (PEM), followed as WSS_CERT_FILE.",
                wss_key_file, set_wss_key_file, get_wss_key_file, WSS_KEY_FILE, 0x4C53_0003, bytes, Vec::new(), 0, 4096;
            "libsock only, wss:// connect: a file of certificate authorities (or pinned certificates) to \
             trust, in PEM, besides WSS_TRUST_PEM; read at connect, and again for new connections when it \
             changes on disk (a renewed authority bundle is trusted without a restart).",
                wss_trust_file, set_wss_trust_file, get_wss_trust_file, WSS_TRUST_FILE, 0x4C53_0004, bytes, Vec::new(), 0, 4096;
        }
    };
}
pub(crate) use for_each_option;

/// A value read from or written to an option by number (the C API's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    /// An `int` option.
    Int(i32),
    /// An `int64_t` option.
    Long(i64),
    /// A byte-string option.
    Bytes(Vec<u8>),
}

macro_rules! define_options {
    ($($doc:literal, $field:ident, $set:ident, $get:ident, $konst:ident, $raw:literal, $kind:ident, $default:expr, $min:expr, $max:expr;)*) => {
        /// The stored options of one socket, with libzmq's defaults.
        #[derive(Debug, Clone)]
        pub struct Options {
            $(#[doc = $doc] pub $field: define_options!(@ty $kind),)*
            /// The mechanism the PLAIN/CURVE options chose, the last one set winning (libzmq's
            /// `options_t::mechanism`).
            pub mechanism: Mechanism,
            /// Whether this socket is the server of that mechanism (libzmq's `as_server`).
            pub as_server: bool,
        }

        impl Default for Options {
            fn default() -> Self {
                Options { $($field: $default,)* mechanism: Mechanism::Null, as_server: false }
            }
        }

        /// Every stored option, numbered as in zmq.h.
        #[allow(clippy::upper_case_acronyms, missing_docs, non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SocketOption { $($konst,)* }

        impl SocketOption {
            /// zmq.h's number for this option.
            pub fn to_raw(self) -> i32 {
                match self { $(SocketOption::$konst => $raw,)* }
            }

            /// The option with zmq.h's number `raw`, if it is a stored option.
            pub fn from_raw(raw: i32) -> Option<SocketOption> {
                match raw { $($raw => Some(SocketOption::$konst),)* _ => None }
            }
        }

        impl Options {
            /// Sets an option by number, checking its range.
            pub fn set(&mut self, opt: SocketOption, value: OptionValue) -> Result<()> {
                match opt {
                    $(SocketOption::$konst => {
                        self.$field = define_options!(@check $kind, value, $min, $max, stringify!($konst))?;
                    })*
                }
                if opt == SocketOption::HEARTBEAT_TTL {
                    // Kept in deciseconds, as the PING's 16-bit TTL field carries it (libzmq
                    // reads back 6553500 for 6553599, 0 for 99).
                    self.heartbeat_ttl -= self.heartbeat_ttl % 100;
                }
                self.track_mechanism(opt);
                self.couple_xpub_flags(opt);
                Ok(())
            }

            /// Reads an option by number.
            pub fn get(&self, opt: SocketOption) -> OptionValue {
                match opt {
                    $(SocketOption::$konst => define_options!(@wrap $kind, &self.$field),)*
                }
            }
        }
    };
    (@ty i32) => { i32 };
    (@ty i64) => { i64 };
    (@ty bool) => { bool };
    (@ty bytes) => { Vec<u8> };
    (@ty key) => { Vec<u8> };
    (@wrap i32, $v:expr) => { OptionValue::Int(*$v) };
    (@wrap i64, $v:expr) => { OptionValue::Long(*$v) };
    (@wrap bool, $v:expr) => { OptionValue::Int(*$v as i32) };
    (@wrap bytes, $v:expr) => { OptionValue::Bytes($v.clone()) };
    (@wrap key, $v:expr) => { OptionValue::Bytes($v.clone()) };
    (@check i32, $v:expr, $min:expr, $max:expr, $name:expr) => {
        check_int($v, $min as i64, $max as i64, $name).map(|v| v as i32)
    };
    (@check i64, $v:expr, $min:expr, $max:expr, $name:expr) => {
        check_int($v, $min as i64, $max as i64, $name)
    };
    // `max` is `true` for libzmq's strict booleans (0 or 1), `i32::MAX` for the socket-type
    // ones that libzmq's `xsetsockopt`s take as any value >= 0, non-zero meaning on (e.g.
    // REQ_CORRELATE = 10 in libzmq's test_proxy_hwm); `min` is `i32::MIN` for those its
    // options.cpp takes as any int (`do_setsockopt_int_as_bool_relaxed`).
    (@check bool, $v:expr, $min:expr, $max:expr, $name:expr) => {
        check_int($v, $min as i64, $max as i64, $name).map(|v| v != 0)
    };
    (@check bytes, $v:expr, $min:expr, $max:expr, $name:expr) => {
        check_bytes($v, $min as usize, $max as usize, $name)
    };
    (@check key, $v:expr, $min:expr, $max:expr, $name:expr) => {
        check_key($v, $name)
    };
}

for_each_option!(define_options);

fn check_int(value: OptionValue, min: i64, max: i64, name: &str) -> Result<i64> {
    let v = match value {
        OptionValue::Int(v) => v as i64,
        OptionValue::Long(v) => v,
        OptionValue::Bytes(_) => return Err(Error::invalid(format!("{name} takes a number"))),
    };
    if v < min || v > max {
        return Err(Error::invalid(format!("{name} must be within {min}..={max}, got {v}")));
    }
    Ok(v)
}

fn check_bytes(value: OptionValue, min: usize, max: usize, name: &str) -> Result<Vec<u8>> {
    match value {
        OptionValue::Bytes(b) if b.len() < min => {
            Err(Error::invalid(format!("{name} must not be empty (at least {min} bytes)")))
        }
        OptionValue::Bytes(b) if b.len() <= max => Ok(b),
        OptionValue::Bytes(b) => {
            Err(Error::invalid(format!("{name} is at most {max} bytes, got {}", b.len())))
        }
        _ => Err(Error::invalid(format!("{name} takes bytes"))),
    }
}

/// A CURVE key: 32 raw bytes or 40 Z85 characters, stored raw.
fn check_key(value: OptionValue, name: &str) -> Result<Vec<u8>> {
    match value {
        OptionValue::Bytes(b) => crate::z85::parse_key(&b, name).map(|k| k.to_vec()),
        _ => Err(Error::invalid(format!("{name} takes a key"))),
    }
}

/// Milliseconds as libzmq options give them: negative means "none".
pub(crate) fn millis(ms: i32) -> Option<std::time::Duration> {
    u64::try_from(ms).ok().map(std::time::Duration::from_millis)
}

impl Options {
    /// XPUB's flags as libzmq's `xpub_t` keeps them, two pairs the options write together:
    /// VERBOSE makes subscriptions verbose or not and unsubscriptions not, VERBOSER sets
    /// both; MANUAL_LAST_VALUE sets manual mode and last values, MANUAL manual mode only.
    /// So `xpub_verbose` is whether subscriptions go up, `xpub_verboser` unsubscriptions,
    /// `xpub_manual` manual mode and `xpub_manual_last_value` its last values.
    fn couple_xpub_flags(&mut self, opt: SocketOption) {
        use SocketOption as O;
        match opt {
            O::XPUB_VERBOSE => self.xpub_verboser = false,
            O::XPUB_VERBOSER => self.xpub_verbose = self.xpub_verboser,
            O::XPUB_MANUAL_LAST_VALUE => self.xpub_manual = self.xpub_manual_last_value,
            _ => {}
        }
    }

    /// libzmq's rule (options.cpp): the PLAIN/CURVE option set last picks the mechanism.
    /// PLAIN_SERVER/CURVE_SERVER pick theirs (0: NULL) and set the server flag; a PLAIN user
    /// name or password picks PLAIN as a client (an empty one is EINVAL, as libzmq's for a
    /// non-NULL empty value; C's `(NULL, 0)` goes back to NULL in the bindings); any CURVE key picks
    /// CURVE, the server key as a client. PLAIN_SERVER and CURVE_SERVER then read 1 only for
    /// the mechanism in force.
    fn track_mechanism(&mut self, opt: SocketOption) {
        use SocketOption as O;
        match opt {
            O::PLAIN_SERVER => {
                self.as_server = self.plain_server;
                self.mechanism = if self.plain_server { Mechanism::Plain } else { Mechanism::Null };
            }
            O::CURVE_SERVER => {
                self.as_server = self.curve_server;
                self.mechanism = if self.curve_server { Mechanism::Curve } else { Mechanism::Null };
            }
            O::PLAIN_USERNAME | O::PLAIN_PASSWORD => {
                let empty =
                    if opt == O::PLAIN_USERNAME { &self.plain_username } else { &self.plain_password };
                if empty.is_empty() {
                    self.mechanism = Mechanism::Null;
                } else {
                    self.as_server = false;
                    self.mechanism = Mechanism::Plain;
                }
            }
            O::CURVE_PUBLICKEY | O::CURVE_SECRETKEY => self.mechanism = Mechanism::Curve,
            O::CURVE_SERVERKEY => {
                self.as_server = false;
                self.mechanism = Mechanism::Curve;
            }
            _ => return,
        }
        self.plain_server = self.as_server && self.mechanism == Mechanism::Plain;
        self.curve_server = self.as_server && self.mechanism == Mechanism::Curve;
    }

    /// The heartbeat timeout in effect (HEARTBEAT_TIMEOUT, or HEARTBEAT_IVL when unset).
    pub(crate) fn effective_heartbeat_timeout(&self) -> i32 {
        if self.heartbeat_timeout < 0 {
            self.heartbeat_ivl
        } else {
            self.heartbeat_timeout
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_libzmq() {
        let o = Options::default();
        assert_eq!((o.sndhwm, o.rcvhwm, o.linger), (1000, 1000, -1));
        assert_eq!((o.reconnect_ivl, o.reconnect_ivl_max, o.handshake_ivl), (100, 0, 30_000));
        assert_eq!((o.maxmsgsize, o.backlog, o.heartbeat_ivl), (-1, 100, 0));
    }

    #[test]
    fn heartbeat_ttl_is_kept_in_deciseconds() {
        let mut o = Options::default();
        for (set, read) in [(6_553_599, 6_553_500), (99, 0), (250, 200), (0, 0)] {
            o.set(SocketOption::HEARTBEAT_TTL, OptionValue::Int(set)).unwrap();
            assert_eq!(o.get(SocketOption::HEARTBEAT_TTL), OptionValue::Int(read), "{set}");
        }
        assert!(o.set(SocketOption::HEARTBEAT_TTL, OptionValue::Int(6_553_600)).is_err());
    }

    #[test]
    fn raw_access_checks_ranges() {
        let mut o = Options::default();
        let opt = SocketOption::from_raw(23).unwrap();
        assert_eq!(opt, SocketOption::SNDHWM);
        o.set(opt, OptionValue::Int(5)).unwrap();
        assert_eq!(o.get(opt), OptionValue::Int(5));
        assert!(o.set(opt, OptionValue::Int(-1)).is_err());
        assert!(o.set(SocketOption::IPV6, OptionValue::Int(2)).is_err());
        o.set(SocketOption::IPV6, OptionValue::Int(1)).unwrap();
        assert!(o.ipv6);
        assert!(o.set(SocketOption::ROUTING_ID, OptionValue::Bytes(vec![1; 256])).is_err());
        assert!(SocketOption::from_raw(9999).is_none());
    }
}
