//! ipc:// (Unix-domain sockets): paths, `*` for a fresh path, `@name` for the abstract namespace.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::DialFailure;
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

    fn to_unix(&self) -> io::Result<UnixAddr> {
        match self {
            IpcAddr::Path(p) => UnixAddr::from_pathname(p),
            IpcAddr::Abstract(n) => {
                use std::os::linux::net::SocketAddrExt;
                UnixAddr::from_abstract_name(n.as_bytes())
            }
        }
    }
}

/// Binds `addr`. A socket file left behind by a dead process is replaced; one that a live
/// listener answers on is not.
pub(crate) fn bind(addr: &IpcAddr) -> io::Result<mio::net::UnixListener> {
    if let IpcAddr::Path(path) = addr {
        remove_if_stale(path)?;
    }
    mio::net::UnixListener::bind_addr(&addr.to_unix()?)
}

/// Connects to `addr` (completes at once or reports `WouldBlock`-style progress).
/// Connects to `addr`: a Unix socket connects at once or fails (then with the descriptor
/// the attempt used, for the CLOSED event libzmq reports).
pub(crate) fn connect(addr: &IpcAddr) -> std::result::Result<mio::net::UnixStream, DialFailure> {
    let address = match addr {
        IpcAddr::Path(path) => socket2::SockAddr::unix(path)?,
        // socket2 takes a name that starts with NUL as an abstract one.
        IpcAddr::Abstract(name) => {
            use std::os::unix::ffi::OsStrExt;
            let bytes = [&[0], name.as_bytes()].concat();
            socket2::SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))?
        }
    };
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    if let Err(error) = socket.connect(&address) {
        return Err(DialFailure { error, closed_fd: Some(socket.as_raw_fd() as u32) });
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
            std::fs::remove_file(path)
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
        let first = bind(&addr).unwrap();
        assert_eq!(bind(&addr).unwrap_err().kind(), io::ErrorKind::AddrInUse);
        drop(first);
        let _second = bind(&addr).expect("stale socket file must be replaced");
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
