//! Files read again when they change on disk: CURVE certificates and PLAIN password files
//! (the ZAP handler), a `wss://` listener's certificate and key. Whoever reads them asks
//! [`Followed::changed`] before each use; it looks at the files at most every
//! [`LOOK_EVERY`], by a stamp of each (inode, size, modification time), so a flood of
//! handshakes costs no more than ten `stat`s a second.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long files are trusted unchanged.
pub(crate) const LOOK_EVERY: Duration = Duration::from_millis(100);

/// How close to the look a modification time must be to make the stamp untrustworthy: the
/// kernel dates writes by a coarse clock (a tick, a few milliseconds), so a file rewritten
/// with the same size within the same tick would look unchanged. Such a stamp is read
/// again at the next look, as git treats its "racily clean" entries.
const RACY_WITHIN_NANOS: i128 = 1_000_000_000;

/// A file's inode, size and modification time (nanoseconds since the epoch). An editor that
/// saves by renaming changes the inode; one that writes in place the size or the time.
pub(crate) type FileStamp = (u64, u64, i128);

/// What `path` looks like now; `None` if it is not there.
pub(crate) fn file_stamp(path: &Path) -> Option<FileStamp> {
    std::fs::metadata(path).ok().map(|m| metadata_stamp(&m))
}

/// [`file_stamp`] of metadata already read.
pub(crate) fn metadata_stamp(m: &std::fs::Metadata) -> FileStamp {
    (m.ino(), m.len(), i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()))
}

/// Whether a modification time (nanoseconds since the epoch) is too recent to trust.
pub(crate) fn is_racy(mtime_nanos: i128) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    now - mtime_nanos < RACY_WITHIN_NANOS
}

/// Some files, as they were when last read.
#[derive(Debug, Clone)]
pub(crate) struct Followed {
    paths: Vec<PathBuf>,
    stamps: Vec<Option<FileStamp>>,
    looked: Instant,
    /// A file was modified too recently for its stamp to tell a later write apart.
    racy: bool,
}

impl Followed {
    /// Follows `paths`, taken as read now (stamp them before reading them).
    pub(crate) fn new(paths: Vec<PathBuf>) -> Followed {
        let stamps: Vec<_> = paths.iter().map(|p| file_stamp(p)).collect();
        let racy = stamps.iter().flatten().any(|s| is_racy(s.2));
        Followed { paths, stamps, looked: Instant::now(), racy }
    }

    /// The files followed.
    pub(crate) fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Whether the files must be read again: one changed since the last look (or its stamp
    /// could not tell), and [`LOOK_EVERY`] has passed since that look. The new stamps count
    /// as read whatever the reader makes of the files: a version that does not read is not
    /// read again until it changes.
    pub(crate) fn changed(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.looked) < LOOK_EVERY {
            return false;
        }
        self.looked = now;
        let fresh: Vec<_> = self.paths.iter().map(|p| file_stamp(p)).collect();
        let was_racy = std::mem::replace(&mut self.racy, fresh.iter().flatten().any(|s| is_racy(s.2)));
        if fresh == self.stamps && !was_racy {
            return false;
        }
        self.stamps = fresh;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_seen_at_the_next_look_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let mut f = Followed::new(vec![path.clone()]);
        let start = f.looked;
        // Written just now: racy, so read again at the first look even unchanged.
        assert!(!f.changed(start + LOOK_EVERY / 2), "not before LOOK_EVERY");
        assert!(f.changed(start + LOOK_EVERY));
        std::fs::write(&path, "two").unwrap();
        assert!(f.changed(start + LOOK_EVERY * 2), "rewritten");
        std::fs::remove_file(&path).unwrap();
        assert!(f.changed(start + LOOK_EVERY * 3), "removed");
        assert!(!f.changed(start + LOOK_EVERY * 4), "still missing: nothing new");
    }
}
