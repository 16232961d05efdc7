//! The CURVE clients a server admits: keys given as they are, and certificate files and
//! directories that are looked at again when they change on disk, as czmq's `zcertstore`
//! does, so adding or removing a client's certificate takes effect from its next handshake
//! without a restart or a reload.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use super::certs::{certificate_key, scan_certificates};
use crate::error::Result;
use crate::sys::followed::{is_racy, metadata_stamp, FileStamp, LOOK_EVERY};

/// Where a CURVE server's admitted client keys come from
/// ([`crate::Authenticator::set_curve_clients`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurveClient {
    /// A public key (32 bytes).
    Key([u8; 32]),
    /// A certificate file, public or secret (its public key is admitted); read again when it
    /// changes; while it is missing or does not read, it admits nobody.
    Certificate(PathBuf),
    /// A directory of certificates, read as [`crate::load_certificates`] reads it; read again
    /// when a file in it is added, removed or changed; a `*.key` file that does not read
    /// then admits nobody (and is logged) while the others still count.
    Directory(PathBuf),
}

/// What a file or directory looked like: per file, its name and [`FileStamp`].
type Stamp = Vec<(OsString, FileStamp)>;

#[derive(Debug, Clone)]
struct Source {
    from: CurveClient,
    stamp: Option<Stamp>,
    /// A file was modified too recently for its stamp to tell a later write apart.
    racy: bool,
    keys: HashSet<[u8; 32]>,
}

fn racy(stamp: &Option<Stamp>) -> bool {
    stamp.iter().flatten().any(|(_, (_, _, mtime))| is_racy(*mtime))
}

/// The admitted keys, from their sources.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clients {
    sources: Vec<Source>,
    /// The union of the sources' keys.
    keys: HashSet<[u8; 32]>,
    looked: Option<Instant>,
}

impl Clients {
    /// Reads every source now; an unreadable file or directory is an error.
    pub(crate) fn read(from: impl IntoIterator<Item = CurveClient>) -> Result<Clients> {
        let mut sources = Vec::new();
        for from in from {
            let stamp = stamp(&from);
            let racy = racy(&stamp);
            let keys = match &from {
                CurveClient::Key(key) => [*key].into(),
                CurveClient::Certificate(path) => [certificate_key(path)?].into(),
                CurveClient::Directory(dir) => super::certs::read_certificates(dir)?,
            };
            sources.push(Source { from, stamp, racy, keys });
        }
        let mut clients = Clients { sources, keys: HashSet::new(), looked: Some(Instant::now()) };
        clients.unite();
        Ok(clients)
    }

    /// The same sources read again now (errors as [`Clients::read`]).
    pub(crate) fn read_again(&self) -> Result<Clients> {
        Clients::read(self.sources.iter().map(|s| s.from.clone()))
    }

    /// Whether `key` is admitted.
    pub(crate) fn admits(&self, key: &[u8; 32]) -> bool {
        self.keys.contains(key)
    }

    /// Reads again the files and directories that changed since they were last read (at
    /// most every [`LOOK_EVERY`]). What cannot be read admits nobody and is logged.
    pub(crate) fn refresh(&mut self, now: Instant) {
        if self.looked.is_some_and(|t| now.saturating_duration_since(t) < LOOK_EVERY) {
            return;
        }
        self.looked = Some(now);
        let mut changed = false;
        for source in &mut self.sources {
            let fresh = stamp(&source.from);
            let (was_racy, before) = (source.racy, source.keys.len());
            source.racy = racy(&fresh);
            if fresh == source.stamp && !was_racy {
                continue;
            }
            source.stamp = fresh;
            let keys = reread(&source.from);
            if keys == source.keys {
                continue;
            }
            source.keys = keys;
            changed = true;
            if let CurveClient::Certificate(path) | CurveClient::Directory(path) = &source.from {
                tracing::info!(
                    "{} changed: {} client key(s) admitted from it (were {before})",
                    path.display(),
                    source.keys.len()
                );
            }
        }
        if changed {
            self.unite();
        }
    }

    fn unite(&mut self) {
        self.keys = self.sources.iter().flat_map(|s| s.keys.iter().copied()).collect();
    }
}

/// A changed source's keys; what does not read is logged and admits nobody.
fn reread(from: &CurveClient) -> HashSet<[u8; 32]> {
    match from {
        CurveClient::Key(key) => [*key].into(),
        CurveClient::Certificate(path) => match certificate_key(path) {
            Ok(key) => [key].into(),
            Err(e) => {
                tracing::warn!("{e}: it admits nobody until it reads");
                HashSet::new()
            }
        },
        CurveClient::Directory(dir) => match scan_certificates(dir) {
            Ok(scan) => {
                for e in scan.broken {
                    tracing::warn!("{e}: it admits nobody until it reads");
                }
                scan.keys
            }
            Err(e) => {
                tracing::warn!("{e}: no client of it is admitted until it reads");
                HashSet::new()
            }
        },
    }
}

/// What a source looks like on disk now (`None`: a key, or nothing readable there).
fn stamp(from: &CurveClient) -> Option<Stamp> {
    let entry = |name: OsString, m: &std::fs::Metadata| (name, metadata_stamp(m));
    match from {
        CurveClient::Key(_) => None,
        CurveClient::Certificate(path) => {
            std::fs::metadata(path).ok().map(|m| vec![entry(OsString::new(), &m)])
        }
        CurveClient::Directory(dir) => {
            let mut files: Stamp = std::fs::read_dir(dir)
                .ok()?
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::metadata(e.path()).ok().map(|m| entry(e.file_name(), &m)))
                .collect();
            files.sort();
            Some(files)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::certs::{public_certificate, secret_certificate};
    use crate::z85::{curve_keypair, z85_decode};

    fn key(public: &str) -> [u8; 32] {
        z85_decode(public).unwrap().try_into().unwrap()
    }

    /// Writes a certificate for a fresh key pair; returns its raw public key.
    fn certificate(path: &std::path::Path) -> [u8; 32] {
        let (public, secret) = curve_keypair();
        std::fs::write(path, secret_certificate(&public, &secret)).unwrap();
        key(&public)
    }

    /// Time as the handler sees it: each look is past [`LOOK_EVERY`].
    fn later(clients: &mut Clients) {
        let at = clients.looked.unwrap() + LOOK_EVERY;
        clients.refresh(at);
    }

    #[test]
    fn a_watched_directory_admits_what_it_holds_now() {
        let dir = tempfile::tempdir().unwrap();
        let alice = certificate(&dir.path().join("alice.key"));
        let fixed = [9u8; 32];
        let from = [CurveClient::Directory(dir.path().into()), CurveClient::Key(fixed)];
        let mut clients = Clients::read(from).unwrap();
        assert!(clients.admits(&alice) && clients.admits(&fixed));

        // Added: admitted at the next look, not before LOOK_EVERY has passed.
        let bob = certificate(&dir.path().join("bob.pub"));
        clients.refresh(clients.looked.unwrap() + LOOK_EVERY / 2);
        assert!(!clients.admits(&bob), "looked again too soon");
        later(&mut clients);
        assert!(clients.admits(&bob) && clients.admits(&alice));

        // Removed: refused; a broken .key admits nobody but does not hide the others.
        std::fs::remove_file(dir.path().join("alice.key")).unwrap();
        std::fs::write(dir.path().join("carol.key"), "half written").unwrap();
        later(&mut clients);
        assert!(!clients.admits(&alice) && clients.admits(&bob) && clients.admits(&fixed));

        // Rewritten in place with another key of the same size: the new key, not the old.
        let public = curve_keypair().0;
        std::fs::write(dir.path().join("bob.pub"), public_certificate(&public)).unwrap();
        later(&mut clients);
        assert!(!clients.admits(&bob) && clients.admits(&key(&public)));

        // Emptied, even gone: nobody from it; the fixed key stays.
        std::fs::remove_dir_all(dir.path()).unwrap();
        later(&mut clients);
        assert!(!clients.admits(&key(&public)) && clients.admits(&fixed));
    }

    /// A Kubernetes Secret mounted as a directory: each file a link into `..data`, itself a
    /// link to the current version's directory, swapped in one rename when the Secret changes.
    #[test]
    fn a_secret_volume_updated_by_the_kubelet_is_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("..v1")).unwrap();
        let alice = certificate(&d.join("..v1/alice.key"));
        symlink("..v1", d.join("..data")).unwrap();
        symlink("..data/alice.key", d.join("alice.key")).unwrap();
        let mut clients = Clients::read([CurveClient::Directory(d.into())]).unwrap();
        assert!(clients.admits(&alice));
        // The next version: Bob's certificate instead of Alice's, and the swap.
        std::fs::create_dir(d.join("..v2")).unwrap();
        let bob = certificate(&d.join("..v2/bob.key"));
        symlink("..v2", d.join("..data_tmp")).unwrap();
        std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
        symlink("..data/bob.key", d.join("bob.key")).unwrap();
        std::fs::remove_file(d.join("alice.key")).unwrap();
        std::fs::remove_dir_all(d.join("..v1")).unwrap();
        later(&mut clients);
        assert!(clients.admits(&bob) && !clients.admits(&alice));
    }

    #[test]
    fn a_watched_certificate_file_follows_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.key_secret");
        let first = certificate(&path);
        let mut clients = Clients::read([CurveClient::Certificate(path.clone())]).unwrap();
        assert!(clients.admits(&first));
        // Replaced by rename, as editors and `mv` do.
        let second = certificate(&dir.path().join("new"));
        std::fs::rename(dir.path().join("new"), &path).unwrap();
        later(&mut clients);
        assert!(clients.admits(&second) && !clients.admits(&first));
        std::fs::remove_file(&path).unwrap();
        later(&mut clients);
        assert!(!clients.admits(&second));
        // At the start, though, what does not read is an error.
        let err = Clients::read([CurveClient::Certificate(path)]).unwrap_err().to_string();
        assert!(err.contains("client.key_secret"), "{err}");
    }
}
