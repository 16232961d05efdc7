//! Every socket option by its zmq.h number: the stored ones from the option table, plus the
//! actions (SUBSCRIBE, TCP_ACCEPT_FILTER, METADATA), the read-only state (EVENTS, FD, RCVMORE, TYPE,
//! LAST_ENDPOINT, MECHANISM, THREAD_SAFE) and the options that cannot apply here, which fail
//! with `EINVAL` as in a libzmq built without their transport. `docs/options.md` lists them all.

use super::Socket;
use crate::error::{Error, Result};
use crate::options::{OptionValue, SocketOption};
use crate::transport::filter::IpFilter;

/// zmq.h numbers handled here rather than by the option table.
mod num {
    pub const SUBSCRIBE: i32 = 6;
    pub const UNSUBSCRIBE: i32 = 7;
    pub const RCVMORE: i32 = 13;
    pub const FD: i32 = 14;
    pub const EVENTS: i32 = 15;
    pub const TYPE: i32 = 16;
    pub const IPV4ONLY: i32 = 31;
    pub const LAST_ENDPOINT: i32 = 32;
    pub const TCP_ACCEPT_FILTER: i32 = 38;
    pub const IPC_FILTER_PID: i32 = 58;
    pub const IPC_FILTER_UID: i32 = 59;
    pub const IPC_FILTER_GID: i32 = 60;
    pub const MECHANISM: i32 = 43;
    pub const THREAD_SAFE: i32 = 81;
    pub const METADATA: i32 = 95;
    pub const ROUTER_RAW: i32 = 41;
}

/// Options libzmq 4.3 has that cannot apply to libsock (no vmci transport, no GSSAPI): they
/// answer `EINVAL`, as libzmq does when built without the feature. See `docs/options.md`
/// for each.
pub(crate) const INAPPLICABLE_OPTIONS: [i32; 10] = [
    62, // GSSAPI_SERVER
    63, // GSSAPI_PRINCIPAL
    64, // GSSAPI_SERVICE_PRINCIPAL
    65, // GSSAPI_PLAINTEXT
    85, // VMCI_BUFFER_SIZE
    86, // VMCI_BUFFER_MIN_SIZE
    87, // VMCI_BUFFER_MAX_SIZE
    88, // VMCI_CONNECT_TIMEOUT
    90, // GSSAPI_PRINCIPAL_NAMETYPE
    91, // GSSAPI_SERVICE_PRINCIPAL_NAMETYPE
];

/// Stored options libzmq 4.3 takes but never reads back (its `getsockopt` has no case for
/// them): the `wss://` settings, the private key among them, and HELLO_MSG/DISCONNECT_MSG.
/// By number they are write-only here too (`EINVAL`); the typed getters still read them.
const WRITE_ONLY_STORED: [SocketOption; 7] = [
    SocketOption::WSS_KEY_PEM,
    SocketOption::WSS_CERT_PEM,
    SocketOption::WSS_TRUST_PEM,
    SocketOption::WSS_HOSTNAME,
    SocketOption::WSS_TRUST_SYSTEM,
    SocketOption::HELLO_MSG,
    SocketOption::DISCONNECT_MSG,
];

fn int(value: &OptionValue, name: &str) -> Result<i64> {
    match value {
        OptionValue::Int(v) => Ok(i64::from(*v)),
        OptionValue::Long(v) => Ok(*v),
        OptionValue::Bytes(_) => Err(Error::invalid(format!("{name} takes a number"))),
    }
}

/// An IPC filter's pid, uid or gid: a 4-byte value (C's pid_t, uid_t, gid_t), or nothing to
/// clear the list (libzmq: a NULL value of length 0).
fn ipc_filter_id(value: &OptionValue) -> Result<Option<u32>> {
    match value {
        OptionValue::Int(v) => Ok(Some(*v as u32)),
        OptionValue::Bytes(b) if b.is_empty() => Ok(None),
        OptionValue::Bytes(b) => match <[u8; 4]>::try_from(&b[..]) {
            Ok(raw) => Ok(Some(u32::from_ne_bytes(raw))),
            Err(_) => Err(Error::invalid("IPC filters take a 4-byte pid, uid or gid")),
        },
        OptionValue::Long(_) => Err(Error::invalid("IPC filters take a 4-byte pid, uid or gid")),
    }
}

/// A write-only int option's value: an `Int`, or the C int's 4 bytes (the C API cannot
/// learn its type by reading it back).
fn write_only_int(value: &OptionValue) -> Option<i32> {
    match value {
        OptionValue::Int(v) => Some(*v),
        OptionValue::Bytes(b) => <[u8; 4]>::try_from(&b[..]).ok().map(i32::from_ne_bytes),
        OptionValue::Long(_) => None,
    }
}

fn bytes<'a>(value: &'a OptionValue, name: &str) -> Result<&'a [u8]> {
    match value {
        OptionValue::Bytes(b) => Ok(b),
        _ => Err(Error::invalid(format!("{name} takes bytes"))),
    }
}

impl Socket {
    /// Sets any option by its zmq.h number (`zmq_setsockopt`).
    pub fn set_option_raw(&self, option: i32, value: OptionValue) -> Result<()> {
        if let Some(opt) = SocketOption::from_raw(option) {
            return self.set_option(opt, value);
        }
        match option {
            num::SUBSCRIBE => self.set_subscribe(bytes(&value, "SUBSCRIBE")?),
            num::UNSUBSCRIBE => self.set_unsubscribe(bytes(&value, "UNSUBSCRIBE")?),
            num::TCP_ACCEPT_FILTER => {
                let b = bytes(&value, "TCP_ACCEPT_FILTER")?;
                self.set_tcp_accept_filter((!b.is_empty()).then_some(b))
            }
            num::METADATA => self.set_metadata(bytes(&value, "METADATA")?),
            num::ROUTER_RAW => match write_only_int(&value) {
                // libzmq takes an int >= 0 only.
                Some(v) if v >= 0 => self.set_router_raw(v != 0),
                _ => Err(Error::invalid("ROUTER_RAW takes an int >= 0")),
            },
            num::IPC_FILTER_PID | num::IPC_FILTER_UID | num::IPC_FILTER_GID => {
                self.set_ipc_filter(option, ipc_filter_id(&value)?)
            }
            num::IPV4ONLY => match int(&value, "IPV4ONLY")? {
                v @ (0 | 1) => self.set_ipv6(v == 0),
                v => Err(Error::invalid(format!("IPV4ONLY must be 0 or 1, got {v}"))),
            },
            num::RCVMORE
            | num::FD
            | num::EVENTS
            | num::TYPE
            | num::LAST_ENDPOINT
            | num::MECHANISM
            | num::THREAD_SAFE => Err(Error::invalid(format!("option {option} is read-only"))),
            _ => Err(unknown(option)),
        }
    }

    /// Reads any option by its zmq.h number (`zmq_getsockopt`). LAST_ENDPOINT comes without
    /// the C string's terminating NUL.
    pub fn get_option_raw(&self, option: i32) -> Result<OptionValue> {
        if let Some(opt) = SocketOption::from_raw(option) {
            if WRITE_ONLY_STORED.contains(&opt) {
                return Err(Error::invalid(format!("option {option} is write-only")));
            }
            return self.get_option(opt);
        }
        Ok(match option {
            num::RCVMORE => OptionValue::Int(self.get_rcvmore()?.into()),
            num::FD => OptionValue::Int(self.get_fd()?),
            num::EVENTS => OptionValue::Int(self.get_events()?.into()),
            num::TYPE => OptionValue::Int(self.get_socket_type()?.to_raw()),
            num::LAST_ENDPOINT => OptionValue::Bytes(self.get_last_endpoint()?.into_bytes()),
            num::IPV4ONLY => OptionValue::Int((!self.get_ipv6()?).into()),
            num::MECHANISM => OptionValue::Int(self.get_mechanism()?),
            num::THREAD_SAFE => OptionValue::Int(self.get_thread_safe()?.into()),
            num::SUBSCRIBE
            | num::UNSUBSCRIBE
            | num::TCP_ACCEPT_FILTER
            | num::METADATA
            | num::ROUTER_RAW
            | num::IPC_FILTER_PID
            | num::IPC_FILTER_UID
            | num::IPC_FILTER_GID => return Err(Error::invalid(format!("option {option} is write-only"))),
            _ => return Err(unknown(option)),
        })
    }

    /// IPC_FILTER_PID, IPC_FILTER_UID or IPC_FILTER_GID (deprecated in libzmq 4.3): adds an
    /// allowed process, user or group for ipc listeners bound after this call; `None`
    /// clears that list. With any entry set, a peer must match one (see
    /// `transport::peer_filter`).
    pub(crate) fn set_ipc_filter(&self, option: i32, id: Option<u32>) -> Result<()> {
        let mut core = self.core();
        let filters = &mut core.ipc_filters;
        match (option, id) {
            (num::IPC_FILTER_PID, Some(id)) => filters.pids.push(id as i32),
            (num::IPC_FILTER_PID, None) => filters.pids.clear(),
            (num::IPC_FILTER_UID, Some(id)) => filters.uids.push(id),
            (num::IPC_FILTER_UID, None) => filters.uids.clear(),
            (_, Some(id)) => filters.gids.push(id),
            (_, None) => filters.gids.clear(),
        }
        Ok(())
    }

    /// TCP_ACCEPT_FILTER: adds an allowed peer network (`"10.0.0.0/8"`, `"::1"`) for
    /// listeners bound after this call; `None` clears the list (then every peer is allowed).
    pub fn set_tcp_accept_filter(&self, filter: Option<&[u8]>) -> Result<()> {
        let mut core = self.core();
        match filter {
            Some(text) => core.accept_filters.push(IpFilter::parse(text)?),
            None => core.accept_filters.clear(),
        }
        Ok(())
    }

    /// ROUTER_RAW (deprecated in libzmq 4.3 in favour of STREAM): switches a ROUTER to raw
    /// mode, where its connections carry plain tcp bytes as a STREAM socket's do
    /// (`[id, data]` in and out, `[id, empty]` on connect and disconnect, sending
    /// `[id, empty]` closes). Unlike STREAM, a message to an unknown peer is dropped unless
    /// ROUTER_MANDATORY is set, as in libzmq.
    ///
    /// Only before the first bind or connect (libzmq would mix ZMTP and raw peers), and once:
    /// `EINVAL` otherwise, as for any other socket type. Turning it off on a ROUTER that is
    /// not raw does nothing.
    pub fn set_router_raw(&self, on: bool) -> Result<()> {
        let mut core = self.core();
        if core.kind != crate::SocketType::ROUTER {
            return Err(Error::invalid("ROUTER_RAW applies to ROUTER sockets"));
        }
        match (on, core.router_raw) {
            (false, false) | (true, true) => Ok(()),
            (false, true) => Err(Error::invalid("a ROUTER in raw mode cannot leave it")),
            (true, false) if !core.endpoints.is_empty() || !core.pipes.slab.is_empty() => {
                Err(Error::invalid("ROUTER_RAW must be set before the ROUTER binds or connects"))
            }
            (true, false) => {
                let mut routing = Box::new(super::stream::Stream::router_raw());
                crate::socket::routing::Routing::configure(&mut *routing, &core.options);
                core.routing = routing;
                core.router_raw = true;
                Ok(())
            }
        }
    }

    /// Whether this socket may be used from several threads at once (`ZMQ_THREAD_SAFE`):
    /// false for every `Socket`, which is `Send`, not `Sync` (also for the draft types; share
    /// those through `ThreadSafeSocket`, feature `draft`).
    pub fn get_thread_safe(&self) -> Result<bool> {
        Ok(false)
    }
}

fn unknown(option: i32) -> Error {
    if INAPPLICABLE_OPTIONS.contains(&option) {
        Error::invalid(format!("option {option} needs a transport or feature libsock does not have"))
    } else {
        Error::invalid(format!("unknown socket option {option}"))
    }
}
