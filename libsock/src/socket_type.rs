//! The ZeroMQ socket types and the ZMTP valid-pairs table.

use std::fmt;

/// The kind of a socket: decides its routing and which peers it accepts.
///
/// The variants are also re-exported at the crate root (`libsock::PUSH`), the way the `zmq`
/// crate offers `zmq::PUSH`.
/// `#[non_exhaustive]`: libzmq's draft types may join later.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair: one peer, both directions.
    PAIR,
    /// Publisher: fans out to matching subscribers.
    PUB,
    /// Subscriber: receives what matches its subscriptions.
    SUB,
    /// Requester: strict send/receive alternation.
    REQ,
    /// Replier: answers each request to the peer that sent it.
    REP,
    /// Asynchronous request/reply: round robin out, fair queue in.
    DEALER,
    /// Addresses peers by routing id.
    ROUTER,
    /// Pipeline sink: fair queues from pushers.
    PULL,
    /// Pipeline source: round robin to pullers.
    PUSH,
    /// Publisher that also sees subscription messages.
    XPUB,
    /// Subscriber that sends subscriptions as messages.
    XSUB,
    /// Raw TCP, no ZMTP: talks to plain TCP peers (HTTP, telnet). Each connection has a
    /// routing id; messages are `[id, bytes]`. Not part of [`SocketType::ALL`], which lists
    /// the types that speak ZMTP.
    STREAM,
    /// Draft (feature `draft`, thread-safe): answers CLIENTs by the routing id carried on
    /// each message. Single-part messages only.
    #[cfg(feature = "draft")]
    SERVER,
    /// Draft (feature `draft`, thread-safe): round robin to SERVERs, fair queue back.
    #[cfg(feature = "draft")]
    CLIENT,
    /// Draft (feature `draft`, thread-safe): sends each message to the DISHes that joined its
    /// group.
    #[cfg(feature = "draft")]
    RADIO,
    /// Draft (feature `draft`, thread-safe): receives the messages of the groups it joined.
    #[cfg(feature = "draft")]
    DISH,
    /// Draft (feature `draft`, thread-safe): fair-queues from SCATTERs (like PULL).
    #[cfg(feature = "draft")]
    GATHER,
    /// Draft (feature `draft`, thread-safe): round robin to GATHERs (like PUSH).
    #[cfg(feature = "draft")]
    SCATTER,
    /// Draft (feature `draft`, thread-safe): a SERVER that also connects, to PEERs only;
    /// `Socket::connect_peer` (`zmq_connect_peer`) gives the routing id of the peer it
    /// connects to. Single-part messages only.
    #[cfg(feature = "draft")]
    PEER,
    /// Draft (feature `draft`, thread-safe): a PAIR for single-part messages, to another
    /// CHANNEL.
    #[cfg(feature = "draft")]
    CHANNEL,
    /// Draft (feature `draft`; not thread-safe, as in libzmq): raw UDP datagrams. Binds
    /// `udp://ip:port`; each message is an address frame (`"ip:port"`) and a body frame, the
    /// destination when sent, the source when received.
    #[cfg(feature = "draft")]
    DGRAM,
}

impl SocketType {
    /// Every ZMTP socket type, in libzmq's numeric order (`ZMQ_PAIR` = 0 … `ZMQ_XSUB` = 10).
    pub const ALL: [SocketType; 11] = [
        Self::PAIR,
        Self::PUB,
        Self::SUB,
        Self::REQ,
        Self::REP,
        Self::DEALER,
        Self::ROUTER,
        Self::PULL,
        Self::PUSH,
        Self::XPUB,
        Self::XSUB,
    ];

    /// The name sent in the ZMTP `Socket-Type` property (upper case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PAIR => "PAIR",
            Self::PUB => "PUB",
            Self::SUB => "SUB",
            Self::REQ => "REQ",
            Self::REP => "REP",
            Self::DEALER => "DEALER",
            Self::ROUTER => "ROUTER",
            Self::PULL => "PULL",
            Self::PUSH => "PUSH",
            Self::XPUB => "XPUB",
            Self::XSUB => "XSUB",
            Self::STREAM => "STREAM",
            #[cfg(feature = "draft")]
            other => draft::type_name(other),
        }
    }

    /// Parses a `Socket-Type` property value or a command-line name (any case).
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        let found = Self::ALL.into_iter().find(|t| t.as_str().as_bytes().eq_ignore_ascii_case(name));
        #[cfg(feature = "draft")]
        let found = found.or_else(|| draft::type_from_name(name));
        found
    }

    /// libzmq's numeric value (`ZMQ_PAIR` = 0 … `ZMQ_XSUB` = 10, `ZMQ_STREAM` = 11).
    pub fn to_raw(self) -> i32 {
        if self == Self::STREAM {
            return 11;
        }
        #[cfg(feature = "draft")]
        if let Some(raw) = draft::type_to_raw(self) {
            return raw;
        }
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as i32
    }

    /// The inverse of [`SocketType::to_raw`].
    pub fn from_raw(raw: i32) -> Option<SocketType> {
        if raw == 11 {
            return Some(Self::STREAM);
        }
        #[cfg(feature = "draft")]
        if let Some(t) = draft::type_from_raw(raw) {
            return Some(t);
        }
        usize::try_from(raw).ok().and_then(|i| Self::ALL.get(i).copied())
    }

    /// Whether CONFLATE applies to this type (as in libzmq: PUSH, PULL, PUB, SUB, DEALER).
    pub(crate) fn conflates(self) -> bool {
        matches!(self, Self::PUSH | Self::PULL | Self::PUB | Self::SUB | Self::DEALER)
    }

    /// HELLO_MSG (draft option) acts on this type: libzmq's `can_send_hello_msg`, set by
    /// DEALER, ROUTER, CLIENT, SERVER and PEER. The option is accepted on every type, as
    /// libzmq's `setsockopt` does; it acts only here.
    pub(crate) fn sends_hello_msg(self) -> bool {
        #[cfg(feature = "draft")]
        if matches!(self, Self::CLIENT | Self::SERVER | Self::PEER) {
            return true;
        }
        matches!(self, Self::DEALER | Self::ROUTER)
    }

    /// DISCONNECT_MSG (draft option) acts on this type: libzmq's `can_recv_disconnect_msg`,
    /// set by ROUTER, SERVER and PEER.
    pub(crate) fn receives_disconnect_msg(self) -> bool {
        #[cfg(feature = "draft")]
        if matches!(self, Self::SERVER | Self::PEER) {
            return true;
        }
        self == Self::ROUTER
    }

    /// Whether a socket of this type starts with LINGER 0 rather than -1, as libzmq's SUB,
    /// XSUB and DISH do: what they send upstream is replayed on every connect.
    pub(crate) fn lingers_for_nothing(self) -> bool {
        #[cfg(feature = "draft")]
        if self == Self::DISH {
            return true;
        }
        matches!(self, Self::SUB | Self::XSUB)
    }

    /// A type this one may talk to (the first of the classic types, then the draft ones):
    /// what a peer that announces no type is taken for.
    pub(crate) fn a_peer(self) -> SocketType {
        #[cfg(feature = "draft")]
        let draft = [
            Self::SERVER,
            Self::CLIENT,
            Self::RADIO,
            Self::DISH,
            Self::GATHER,
            Self::SCATTER,
            Self::PEER,
            Self::CHANNEL,
        ];
        #[cfg(not(feature = "draft"))]
        let draft: [SocketType; 0] = [];
        Self::ALL.into_iter().chain(draft).find(|t| self.is_compatible(*t)).unwrap_or(self)
    }

    /// Whether a socket of this type may talk to a peer of type `peer` (ZMTP's valid pairs).
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (REQ, REP | ROUTER)
                | (REP, REQ | DEALER)
                | (DEALER, REP | DEALER | ROUTER)
                | (ROUTER, REQ | DEALER | ROUTER)
                | (PUB | XPUB, SUB | XSUB)
                | (SUB | XSUB, PUB | XPUB)
                | (PUSH, PULL)
                | (PULL, PUSH)
                | (PAIR, PAIR)
        ) || self.is_compatible_draft(peer)
    }

    #[cfg(not(feature = "draft"))]
    fn is_compatible_draft(self, _peer: SocketType) -> bool {
        false
    }

    #[cfg(feature = "draft")]
    fn is_compatible_draft(self, peer: SocketType) -> bool {
        draft::compatible(self, peer)
    }

    /// SUB, XSUB and DISH: their SUBSCRIBE/UNSUBSCRIBE (join/leave) go to their peers.
    pub(crate) fn sends_subscriptions(self) -> bool {
        matches!(self, Self::SUB | Self::XSUB) || self.joins_groups()
    }

    /// DISH: group joins go out as JOIN/LEAVE commands, through the subscription path.
    pub(crate) fn joins_groups(self) -> bool {
        #[cfg(feature = "draft")]
        if self == Self::DISH {
            return true;
        }
        false
    }

    /// Whether `udp://` endpoints are for this type (RADIO, DISH, DGRAM; drafts all).
    pub(crate) fn speaks_udp(self) -> bool {
        #[cfg(feature = "draft")]
        if matches!(self, Self::RADIO | Self::DISH | Self::DGRAM) {
            return true;
        }
        false
    }

    /// Whether sockets of this type may be shared by threads (`ZMQ_THREAD_SAFE`): libzmq's
    /// draft types CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER, PEER and CHANNEL (see
    /// `libsock::ThreadSafeSocket`, feature `draft`).
    pub fn is_thread_safe(self) -> bool {
        #[cfg(feature = "draft")]
        if self != Self::DGRAM && draft::type_to_raw(self).is_some() {
            return true;
        }
        false
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The draft types' numbers, names and valid pairs (feature `draft`; their routing is
/// `socket::draft`'s): here, beneath the codec and the session, which name and check them.
#[cfg(feature = "draft")]
mod draft {
    use super::SocketType;

    /// The draft types with their libzmq numbers and ZMTP names.
    const TYPES: [(SocketType, i32, &str); 9] = [
        (SocketType::SERVER, 12, "SERVER"),
        (SocketType::CLIENT, 13, "CLIENT"),
        (SocketType::RADIO, 14, "RADIO"),
        (SocketType::DISH, 15, "DISH"),
        (SocketType::GATHER, 16, "GATHER"),
        (SocketType::SCATTER, 17, "SCATTER"),
        (SocketType::DGRAM, 18, "DGRAM"),
        (SocketType::PEER, 19, "PEER"),
        (SocketType::CHANNEL, 20, "CHANNEL"),
    ];

    /// The ZMTP `Socket-Type` name of a draft type ("" for the others, which never ask).
    pub(super) fn type_name(kind: SocketType) -> &'static str {
        TYPES.iter().find(|t| t.0 == kind).map_or("", |t| t.2)
    }

    pub(super) fn type_from_name(name: &[u8]) -> Option<SocketType> {
        TYPES.iter().find(|t| t.2.as_bytes().eq_ignore_ascii_case(name)).map(|t| t.0)
    }

    pub(super) fn type_to_raw(kind: SocketType) -> Option<i32> {
        TYPES.iter().find(|t| t.0 == kind).map(|t| t.1)
    }

    pub(super) fn type_from_raw(raw: i32) -> Option<SocketType> {
        TYPES.iter().find(|t| t.1 == raw).map(|t| t.0)
    }

    /// The valid pairs among draft types (libzmq's `mechanism.cpp`): each has exactly one,
    /// but DGRAM, which speaks no ZMTP.
    pub(super) fn compatible(a: SocketType, b: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (a, b),
            (SERVER, CLIENT)
                | (CLIENT, SERVER)
                | (RADIO, DISH)
                | (DISH, RADIO)
                | (GATHER, SCATTER)
                | (SCATTER, GATHER)
                | (PEER, PEER)
                | (CHANNEL, CHANNEL)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_pairs_are_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn names_and_raw_values_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_name(t.as_str().to_lowercase().as_bytes()), Some(t));
            assert_eq!(SocketType::from_raw(t.to_raw()), Some(t));
        }
        assert_eq!(SocketType::PUSH.to_raw(), 8);
        assert!(!SocketType::PUSH.is_compatible(SocketType::PUSH));
        // STREAM speaks no ZMTP: a peer announcing it is not a valid ZMTP peer.
        assert!(SocketType::from_name(b"STREAM").is_none());
        assert_eq!(SocketType::from_raw(11), Some(SocketType::STREAM));
        assert_eq!(SocketType::STREAM.to_raw(), 11);
        assert!(SocketType::ALL.iter().all(|t| !t.is_compatible(SocketType::STREAM)));
    }
}
