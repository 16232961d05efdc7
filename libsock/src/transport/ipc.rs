//! ipc:// (Unix-domain sockets): paths, `*` for a fresh path, `@name` for the abstract namespace.

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::OpenFailure;
use crate::error::{Error, Result};

/// `sizeof(sockaddr_un.sun_path)` on Linux.
const SUN_PATH_LEN: usize = 108;

/// A Unix-domain address: a filesystem path or an abstract name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IpcAddr {
    Path(PathBuf),
    Abstract(String),
}

impl IpcAddr {
    /// Parses the part after `ipc://`; `*` becomes a new unique path under the temp dir.
    /// As libzmq's `ipc_address_t::resolve`: a name that does not fit `sun_path` (with its
    /// NUL) is `ENAMETOOLONG`, an empty abstract name (`@`) is `EINVAL`.
    pub(crate) fn parse(name: &str) -> Result<IpcAddr> {
        if name.len() >= SUN_PATH_LEN {
            return Err(Error::Io(io::Error::from_raw_os_error(libc::ENAMETOOLONG)));
        }
        if let Some(abs) = name.strip_prefix('@') {
            if abs.is_empty() {
                return Err(Error::invalid("ipc://@ needs an abstract socket name"));
            }
            return Ok(IpcAddr::Abstract(abs.to_owned()));
        }
        if name == "*" {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let file = format!("libsock-{}-{n}.ipc", std::process::id());
            return Ok(IpcAddr::Path(std::env::temp_dir().join(file)));
        }
        Ok(IpcAddr::Path(PathBuf::from(name)))
    }

    /// The endpoint text, as `last_endpoint` reports it.
    pub(crate) fn text(&self) -> String {
        match self {
            IpcAddr::Path(p) => format!("ipc://{}", p.display()),
            IpcAddr::Abstract(n) => format!("ipc://@{n}"),
        }
    }

    fn sock_addr(&self) -> io::Result<socket2::SockAddr> {
        match self {
            IpcAddr::Path(p) => socket2::SockAddr::unix(p),
            // socket2 takes a name that starts with NUL as an abstract one.
            IpcAddr::Abstract(name) => {
                use std::os::unix::ffi::OsStrExt;
                let bytes = [&[0], name.as_bytes()].concat();
                socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
            }
        }
    }
}

/// Binds `addr` and listens with `backlog` (ZMQ_BACKLOG, as libzmq's ipc listener). A
/// socket file left behind by a dead process is replaced; one that a live listener answers
/// on is not.
pub(crate) fn bind(addr: &IpcAddr, backlog: i32) -> std::result::Result<mio::net::UnixListener, OpenFailure> {
    if let IpcAddr::Path(path) = addr {
        remove_if_stale(path)?;
    }
    let address = addr.sock_addr()?;
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    let listen = || -> io::Result<()> {
        socket.set_nonblocking(true)?;
        socket.set_cloexec(true)?;
        socket.bind(&address)?;
        socket.listen(backlog)
    };
    match listen() {
        Ok(()) => Ok(mio::net::UnixListener::from_std(socket.into())),
        // As libzmq's listener, which reports the descriptor it closed (CLOSED).
        Err(error) => Err(OpenFailure { error, closed_fd: Some(socket.as_raw_fd() as u32) }),
    }
}

/// Connects to `addr`: a Unix socket connects at once or fails (then with the descriptor
/// the attempt used, for the CLOSED event libzmq reports).
pub(crate) fn connect(addr: &IpcAddr) -> std::result::Result<mio::net::UnixStream, OpenFailure> {
    let address = addr.sock_addr()?;
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    if let Err(error) = socket.connect(&address) {
        return Err(OpenFailure { error, closed_fd: Some(socket.as_raw_fd() as u32) });
    }
    Ok(mio::net::UnixStream::from_std(socket.into()))
}

fn remove_if_stale(path: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::ErrorKind::AddrInUse.into()),
        Err(_) => {
            tracing::debug!(path = %path.display(), "removing stale ipc socket file");
            // What cannot be removed (a directory) is left for the bind to refuse, with
            // EADDRINUSE as in libzmq, which ignores the unlink's failure too.
            if let Err(e) = std::fs::remove_file(path) {
                tracing::debug!(path = %path.display(), "cannot remove: {e}");
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_files_are_replaced_but_live_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let addr = IpcAddr::Path(dir.path().join("s"));
        let first = bind(&addr, 100).unwrap();
        assert_eq!(bind(&addr, 100).unwrap_err().error.kind(), io::ErrorKind::AddrInUse);
        drop(first);
        let _second = bind(&addr, 100).expect("stale socket file must be replaced");
        // A directory is no socket file to replace: the path is in use, as libzmq says.
        let dir_addr = IpcAddr::Path(dir.path().to_path_buf());
        let failure = bind(&dir_addr, 100).unwrap_err();
        assert_eq!(failure.error.kind(), io::ErrorKind::AddrInUse);
        assert!(failure.closed_fd.is_some(), "the descriptor it closed, for the CLOSED event");
    }

    #[test]
    fn wildcard_paths_are_unique() {
        assert_ne!(IpcAddr::parse("*").unwrap(), IpcAddr::parse("*").unwrap());
        assert_eq!(IpcAddr::parse("@x").unwrap().text(), "ipc://@x");
    }

    #[test]
    fn names_too_long_or_empty_are_refused_as_libzmq_does() {
        let long = "a".repeat(108);
        assert_eq!(IpcAddr::parse(&long).unwrap_err().to_raw(), libc::ENAMETOOLONG);
        assert!(IpcAddr::parse(&long[..107]).is_ok());
        assert!(matches!(IpcAddr::parse("@"), Err(Error::InvalidArgument(_))));
    }
}
