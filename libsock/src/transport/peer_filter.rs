//! IPC_FILTER_PID, IPC_FILTER_UID, IPC_FILTER_GID (deprecated in libzmq 4.3, still in its
//! stable API): which local processes an ipc listener accepts, by the credentials the kernel
//! reports for the connecting peer (`SO_PEERCRED`). With no filter set, everyone is; with
//! some, a peer is accepted when its pid, uid or primary gid is listed, or its user is a
//! member of a listed group, as libzmq's `ipc_listener_t::filter`.

use std::os::fd::AsFd;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::unistd::{Gid, Group, Uid, User};

/// The allowed pids, uids and gids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IpcFilters {
    pub pids: Vec<i32>,
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

impl IpcFilters {
    /// Whether the peer connected on `stream` may stay. A peer whose credentials cannot be
    /// read is refused when any filter is set.
    pub(crate) fn allows(&self, stream: &impl AsFd) -> bool {
        if self.pids.is_empty() && self.uids.is_empty() && self.gids.is_empty() {
            return true;
        }
        let Ok(cred) = getsockopt(stream, PeerCredentials) else { return false };
        if self.pids.contains(&cred.pid())
            || self.uids.contains(&cred.uid())
            || self.gids.contains(&cred.gid())
        {
            return true;
        }
        self.user_in_listed_group(cred.uid())
    }

    /// Supplementary membership: the peer's user name among a listed group's members.
    fn user_in_listed_group(&self, uid: u32) -> bool {
        let Ok(Some(user)) = User::from_uid(Uid::from_raw(uid)) else { return false };
        self.gids.iter().any(|&gid| {
            matches!(Group::from_gid(Gid::from_raw(gid)), Ok(Some(group)) if group.mem.contains(&user.name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn own_credentials_pass_the_matching_filter_only() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(IpcFilters::default().allows(&a), "no filter: everyone");
        let me = IpcFilters { pids: vec![std::process::id() as i32], ..Default::default() };
        assert!(me.allows(&a));
        let uid = nix::unistd::getuid().as_raw();
        assert!(IpcFilters { uids: vec![uid], ..Default::default() }.allows(&a));
        assert!(!IpcFilters { uids: vec![uid.wrapping_add(4242)], ..Default::default() }.allows(&a));
        let gid = nix::unistd::getgid().as_raw();
        assert!(IpcFilters { gids: vec![gid], ..Default::default() }.allows(&a));
        assert!(!IpcFilters { pids: vec![1], ..Default::default() }.allows(&a) || std::process::id() == 1);
    }
}
