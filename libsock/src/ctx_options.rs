//! Context options (`zmq_ctx_set`/`zmq_ctx_get`), with libzmq 4.3's numbers and defaults.
//!
//! Thread options (IO_THREADS, THREAD_*) take effect when the I/O threads start, which is
//! when the context's first socket is created, as in libzmq.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// `ZMQ_IO_THREADS`: I/O threads (default 1).
pub const IO_THREADS: i32 = 1;
/// `ZMQ_MAX_SOCKETS`: most sockets open at once (default 1023); more fail with `EMFILE`.
pub const MAX_SOCKETS: i32 = 2;
/// `ZMQ_SOCKET_LIMIT` (get only): the largest MAX_SOCKETS accepted, 65535.
pub const SOCKET_LIMIT: i32 = 3;
/// `ZMQ_THREAD_PRIORITY` (set only; the same number reads SOCKET_LIMIT, as in libzmq).
pub const THREAD_PRIORITY: i32 = 3;
/// `ZMQ_THREAD_SCHED_POLICY`: scheduling policy of the I/O threads (default -1: OS default).
pub const THREAD_SCHED_POLICY: i32 = 4;
/// `ZMQ_MAX_MSGSZ`: the largest message size (default `INT_MAX`).
pub const MAX_MSGSZ: i32 = 5;
/// `ZMQ_MSG_T_SIZE` (get only): `sizeof(zmq_msg_t)`, 64.
pub const MSG_T_SIZE: i32 = 6;
/// `ZMQ_THREAD_AFFINITY_CPU_ADD`: pin the I/O threads to this CPU too.
pub const THREAD_AFFINITY_CPU_ADD: i32 = 7;
/// `ZMQ_THREAD_AFFINITY_CPU_REMOVE`: undo one THREAD_AFFINITY_CPU_ADD.
pub const THREAD_AFFINITY_CPU_REMOVE: i32 = 8;
/// `ZMQ_THREAD_NAME_PREFIX`: prefix of the I/O threads' names.
pub const THREAD_NAME_PREFIX: i32 = 9;
/// `ZMQ_ZERO_COPY_RECV`: received frames share the read buffer (default 1).
pub const ZERO_COPY_RECV: i32 = 10;
/// `ZMQ_IPV6`: the IPV6 option's default for new sockets (default 0).
pub const IPV6: i32 = 42;
/// `ZMQ_BLOCKY`: new sockets linger forever (1, the default) or not at all (0).
pub const BLOCKY: i32 = 70;

/// The settings behind the options above.
#[derive(Debug, Clone)]
pub(crate) struct CtxConfig {
    pub io_threads: i32,
    pub max_sockets: i32,
    pub thread_priority: i32,
    pub thread_sched_policy: i32,
    pub max_msgsz: i32,
    pub affinity: BTreeSet<i32>,
    pub thread_name_prefix: String,
    pub zero_copy_recv: bool,
    pub ipv6: bool,
    pub blocky: bool,
}

impl Default for CtxConfig {
    fn default() -> Self {
        CtxConfig {
            io_threads: 1,
            max_sockets: 1023,
            thread_priority: -1,
            thread_sched_policy: -1,
            max_msgsz: i32::MAX,
            affinity: BTreeSet::new(),
            thread_name_prefix: String::new(),
            zero_copy_recv: true,
            ipv6: false,
            blocky: true,
        }
    }
}

impl CtxConfig {
    /// `zmq_ctx_set` with an int value: the same checks as libzmq (EINVAL otherwise).
    pub(crate) fn set(&mut self, option: i32, value: i32) -> Result<()> {
        let bad = || Error::invalid(format!("context option {option} cannot be {value}"));
        if value < 0 && option != THREAD_NAME_PREFIX {
            return Err(bad());
        }
        match option {
            IO_THREADS => self.io_threads = value,
            // Up to SOCKET_LIMIT, as zmq_ctx_get(3) defines it ("the largest number of sockets
            // that ZMQ_MAX_SOCKETS will accept"); libzmq's epoll build takes more than it says.
            MAX_SOCKETS if (1..=65535).contains(&value) => self.max_sockets = value,
            THREAD_PRIORITY => self.thread_priority = value,
            THREAD_SCHED_POLICY => self.thread_sched_policy = value,
            MAX_MSGSZ => self.max_msgsz = value,
            // Any CPU number, as libzmq stores it; pinning skips those no cpu_set_t holds.
            THREAD_AFFINITY_CPU_ADD => {
                self.affinity.insert(value);
            }
            THREAD_AFFINITY_CPU_REMOVE if self.affinity.remove(&value) => {}
            THREAD_NAME_PREFIX => self.thread_name_prefix = value.to_string(),
            ZERO_COPY_RECV => self.zero_copy_recv = value != 0,
            IPV6 => self.ipv6 = value != 0,
            BLOCKY => self.blocky = value != 0,
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// `zmq_ctx_get`.
    pub(crate) fn get(&self, option: i32) -> Result<i32> {
        Ok(match option {
            IO_THREADS => self.io_threads,
            MAX_SOCKETS => self.max_sockets,
            SOCKET_LIMIT => 65535,
            THREAD_SCHED_POLICY => self.thread_sched_policy,
            MAX_MSGSZ => self.max_msgsz,
            MSG_T_SIZE => 64,
            THREAD_NAME_PREFIX => self.thread_name_prefix.parse().unwrap_or(0),
            ZERO_COPY_RECV => self.zero_copy_recv.into(),
            IPV6 => self.ipv6.into(),
            BLOCKY => self.blocky.into(),
            _ => return Err(Error::invalid(format!("context option {option} cannot be read"))),
        })
    }

    /// The name of I/O thread `index` (Linux keeps the first 15 bytes).
    pub(crate) fn thread_name(&self, index: usize) -> String {
        match self.thread_name_prefix.as_str() {
            "" => format!("libsock-io-{index}"),
            prefix => format!("{prefix}/io-{index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks_match_libzmq() {
        let mut c = CtxConfig::default();
        assert_eq!(
            [IO_THREADS, MAX_SOCKETS, SOCKET_LIMIT, MAX_MSGSZ].map(|o| c.get(o).unwrap()),
            [1, 1023, 65535, i32::MAX]
        );
        assert_eq!([MSG_T_SIZE, ZERO_COPY_RECV, IPV6, BLOCKY].map(|o| c.get(o).unwrap()), [64, 1, 0, 1]);
        assert_eq!(c.get(THREAD_SCHED_POLICY).unwrap(), -1);
        assert!(c.set(MAX_SOCKETS, 0).is_err());
        assert!(c.set(MAX_SOCKETS, 65536).is_err(), "beyond SOCKET_LIMIT");
        c.set(THREAD_AFFINITY_CPU_ADD, 65536).unwrap();
        assert!(c.set(IO_THREADS, -1).is_err());
        assert!(c.set(THREAD_AFFINITY_CPU_REMOVE, 3).is_err(), "removing a CPU never added");
        c.set(THREAD_AFFINITY_CPU_ADD, 3).unwrap();
        c.set(THREAD_AFFINITY_CPU_REMOVE, 3).unwrap();
        c.set(THREAD_NAME_PREFIX, 42).unwrap();
        assert_eq!(c.get(THREAD_NAME_PREFIX).unwrap(), 42);
        assert_eq!(c.thread_name(0), "42/io-0");
        assert!(c.set(MSG_T_SIZE, 1).is_err() && c.get(THREAD_AFFINITY_CPU_ADD).is_err());
    }
}
