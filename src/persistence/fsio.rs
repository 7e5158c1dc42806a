//! File-system steps that durability depends on: atomic replacement (temp file in the same
//! directory, fsync, rename, fsync of the directory) and the advisory lock that keeps a second
//! process (or a second engine in this one) off the same data files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::frame::{ErrorKind, PersistError};

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The directory holding `path` ("." for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename or a new file in `dir` durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `path` so that it holds either its old content or all of the new one, even across a
/// crash: the bytes go to a temp file next to it, which is fsynced and renamed over `path`.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_owned(path, None, write)
}

/// [`write_atomic`] on behalf of the holder of `owner`: the rename happens with that mutex held
/// and only while it still holds the lock. A background thread of an engine that was dropped
/// meanwhile (a new engine may have the files by now) writes nothing over them.
pub fn write_atomic_owned(
    path: &Path,
    owner: Option<&Mutex<Option<DirLock>>>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let held = owner.map(|m| m.lock());
        if held.as_ref().is_some_and(|h| h.is_none()) {
            return Err(io::Error::other("the data files were released"));
        }
        std::fs::rename(&tmp, path)?;
        fsync_dir(&parent_dir(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An exclusive advisory lock (flock) on `<path>.lock`, held until dropped.
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock, failing at once when someone else holds it.
    pub fn acquire(data_path: &Path) -> Result<DirLock, PersistError> {
        let lock_path = sibling(data_path, ".lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| PersistError::io(&lock_path, &e))?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(PersistError {
                    kind: ErrorKind::Locked,
                    path: Some(data_path.to_path_buf()),
                    offset: None,
                    message: format!(
                        "already in use by another process or engine (lock {} is held)",
                        lock_path.display()
                    ),
                });
            }
            return Err(PersistError::io(&lock_path, &e));
        }
        Ok(DirLock { _file: file })
    }
}

/// Renames a damaged file to `<path>.damaged-<unix ms>` and returns the new name.
pub fn move_aside(path: &Path, now_ms: i64) -> io::Result<PathBuf> {
    let to = sibling(path, &format!(".damaged-{now_ms}"));
    std::fs::rename(path, &to)?;
    fsync_dir(&parent_dir(path))?;
    Ok(to)
}
