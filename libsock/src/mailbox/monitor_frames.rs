//! libzmq's two monitor event formats, as frames (sans-I/O: no sockets, no pipes).
//!
//! - Version 1 (`zmq_socket_monitor`): `[u16 event + u32 value]`, `[endpoint]`.
//! - Version 2 (`zmq_socket_monitor_versioned`, draft): `[u64 event]`, `[u64 count]`,
//!   `count` frames of one `u64` value each, `[local endpoint]`, `[remote endpoint]`.
//!
//! Numbers are in the host's byte order, as libzmq `memcpy`s them (little-endian on every
//! platform libsock runs on, and what readers written for libzmq expect there). Here they are
//! written little-endian explicitly, so the format does not depend on the host.
//!
//! The encoders live here, beneath `monitor`, because the I/O threads emit events through
//! `mailbox::events`; `crate::monitor` re-exports the parsers for users.

use crate::message::Message;

/// The frames of a version 1 event.
pub(crate) fn v1(event: u16, value: u32, endpoint: &str) -> Vec<Message> {
    let mut head = Vec::with_capacity(6);
    head.extend_from_slice(&event.to_le_bytes());
    head.extend_from_slice(&value.to_le_bytes());
    vec![Message::from(head), Message::from(endpoint)]
}

/// The frames of a version 2 event.
pub(crate) fn v2(event: u64, values: &[u64], local: &str, remote: &str) -> Vec<Message> {
    let mut frames = Vec::with_capacity(values.len() + 4);
    frames.push(Message::from(event.to_le_bytes().to_vec()));
    frames.push(Message::from((values.len() as u64).to_le_bytes().to_vec()));
    frames.extend(values.iter().map(|v| Message::from(v.to_le_bytes().to_vec())));
    frames.push(Message::from(local));
    frames.push(Message::from(remote));
    frames
}

/// An event in version 2's format, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "draft"), allow(dead_code))]
pub struct MonitorEventV2 {
    /// The event's number (`ZMQ_EVENT_*`, including `ZMQ_EVENT_PIPES_STATS` = 0x10000).
    pub event: u64,
    /// Its values: one for the classic events, two for PIPES_STATS (messages queued
    /// outbound, inbound).
    pub values: Vec<u64>,
    /// The local end (the bound endpoint, or this side's address of a connection; `""`
    /// when there is none).
    pub local: String,
    /// The remote end (the dialed endpoint, or the peer's address; `""` when none).
    pub remote: String,
}

#[cfg_attr(not(feature = "draft"), allow(dead_code))]
impl MonitorEventV2 {
    /// Parses the frames of one version 2 event; `None` when they are not one.
    pub fn parse(frames: &[Vec<u8>]) -> Option<MonitorEventV2> {
        let word = |f: &Vec<u8>| Some(u64::from_le_bytes(f.as_slice().try_into().ok()?));
        let (event, count) = (word(frames.first()?)?, word(frames.get(1)?)?);
        let count = usize::try_from(count).ok()?;
        if frames.len() != count.checked_add(4)? {
            return None;
        }
        let values = frames[2..2 + count].iter().map(word).collect::<Option<Vec<u64>>>()?;
        let text = |f: &Vec<u8>| String::from_utf8_lossy(f).into_owned();
        Some(MonitorEventV2 {
            event,
            values,
            local: text(&frames[count + 2]),
            remote: text(&frames[count + 3]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(frames: &[Message]) -> Vec<Vec<u8>> {
        frames.iter().map(|m| m.to_vec()).collect()
    }

    #[test]
    fn monitor_v1_is_libzmqs_two_frames() {
        let f = bytes(&v1(0x0020, 7, "tcp://127.0.0.1:5555"));
        assert_eq!(f, [vec![0x20, 0, 7, 0, 0, 0], b"tcp://127.0.0.1:5555".to_vec()]);
    }

    #[test]
    fn monitor_v2_has_u64_event_count_values_and_both_ends() {
        let f = bytes(&v2(0x10000, &[3, 500], "tcp://127.0.0.1:5555", "tcp://127.0.0.1:40000"));
        assert_eq!(f.len(), 6);
        assert_eq!(f[0], [0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(f[1], [2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(f[2], [3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(f[3], 500u64.to_le_bytes());
        assert_eq!(f[4], b"tcp://127.0.0.1:5555");
        assert_eq!(f[5], b"tcp://127.0.0.1:40000");
        let e = MonitorEventV2::parse(&f).unwrap();
        assert_eq!(e.event, 0x10000);
        assert_eq!(e.values, [3, 500]);
        assert_eq!((e.local.as_str(), e.remote.as_str()), ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:40000"));
    }

    #[test]
    fn monitor_v2_parse_refuses_what_is_not_one_event() {
        let good = bytes(&v2(1, &[9], "", "tcp://h:1"));
        assert!(MonitorEventV2::parse(&good).is_some());
        assert!(MonitorEventV2::parse(&good[..4]).is_none(), "a frame short");
        let mut long = good.clone();
        long.push(Vec::new());
        assert!(MonitorEventV2::parse(&long).is_none(), "a frame too many");
        let mut odd = good.clone();
        odd[2] = vec![9, 0, 0, 0];
        assert!(MonitorEventV2::parse(&odd).is_none(), "a value of 4 bytes");
        assert!(MonitorEventV2::parse(&bytes(&v1(1, 9, "x"))).is_none(), "version 1");
        let mut huge = good;
        huge[1] = u64::MAX.to_le_bytes().to_vec();
        assert!(MonitorEventV2::parse(&huge).is_none(), "a count that overflows");
    }
}
