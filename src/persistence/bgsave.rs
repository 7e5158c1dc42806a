//! Background saves: a point-in-time snapshot written while commands keep being served.
//!
//! [`begin`] runs under the engine lock at the snapshot instant: for the engine's own file it
//! switches the log generation (see `log.rs`), and it hands every non-empty database a
//! [`DbCow`] (see `engine/cow.rs`), which keeps the snapshot-time state of whatever is changed
//! before the walk has passed it. [`Walk::run`] then walks the databases a chunk at a time, each
//! chunk under a short hold of the lock (records are encoded there, written after it is let go),
//! and writes the kept copies of each database once its walk is over. So the file holds exactly
//! the state at the switch, and no command waits for more than one chunk.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_bytes::Bytes;

use super::snapshot::{self, SnapRecord};
use super::{frame, fsio, log, Shared};
use crate::engine::cow::DbCow;
use crate::engine::{Db, Store};

/// Positions visited per hold of the engine lock.
pub const STEP: usize = 512;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The reply when another save's walk still runs.
pub const BUSY: &str = "ERR Background save already in progress";

/// Runs its argument with the engine's store locked; false when the engine is gone.
pub type Locked<'a> = dyn FnMut(&mut dyn FnMut(&mut Store)) -> bool + 'a;

/// A background save between [`begin`] and the end of [`Walk::run`].
pub struct Walk {
    id: u64,
    /// Set for the engine's own file (its bookkeeping is done when the walk ends).
    shared: Option<Arc<Shared>>,
    target: PathBuf,
    generation: u64,
    dirty_at_start: u64,
    now_ms: i64,
    scripts: Vec<Vec<u8>>,
    databases: u32,
    /// Where the database being walked was last seen (SWAPDB may move it).
    hint: usize,
    /// Positions visited per step.
    step: usize,
    records: u64,
}

/// Starts a background save of `store` at this instant (to `to`, or the configured file). For
/// the engine's own file the caller has claimed `Shared::saving`.
pub fn begin(store: &mut Store, now_ms: i64, to: Option<&Path>) -> Result<Walk, String> {
    if store.dbs.iter().any(|d| d.cow.is_some()) {
        return Err(BUSY.into());
    }
    let own = super::is_own(store, to)?;
    let scripts = super::script_bodies(store);
    let (shared, generation, dirty_at_start, target) = if own {
        let (sh, gen, dirty) = super::switch_log(store, now_ms)?;
        let target = sh.cfg.path.clone();
        (Some(sh), gen, dirty, target)
    } else {
        (None, 0, 0, to.expect("an export has a path").to_path_buf())
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    for (i, db) in store.dbs.iter_mut().enumerate() {
        if !db.is_empty() {
            db.cow = Some(Box::new(DbCow::new(id, i, db.len())));
        }
    }
    Ok(Walk {
        id,
        shared,
        target,
        generation,
        dirty_at_start,
        now_ms,
        scripts,
        databases: store.dbs.len() as u32,
        hint: 0,
        step: STEP,
        records: 0,
    })
}

/// What one step under the lock produced.
struct Stepped {
    /// Encoded `Records` payloads to write.
    payloads: Vec<Vec<u8>>,
    /// A database whose walk under the lock is over: its kept copies (and, after a flush, its
    /// whole snapshot-time data) are written without the lock.
    finished: Option<Box<DbCow>>,
    /// Nothing is left to walk under the lock.
    done: bool,
}

impl Walk {
    /// The file this save writes.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Sets the positions visited per step (tests use small steps to interleave more).
    pub fn with_step(mut self, n: usize) -> Walk {
        self.step = n.max(1);
        self
    }

    fn find(&mut self, store: &Store) -> Option<usize> {
        let ours = |d: &Db| d.cow.as_ref().is_some_and(|c| c.save_id == self.id);
        if store.dbs.get(self.hint).is_some_and(ours) {
            return Some(self.hint);
        }
        let i = store.dbs.iter().position(ours)?;
        self.hint = i;
        Some(i)
    }

    /// One step, under the lock.
    fn step(&mut self, store: &mut Store) -> Stepped {
        let Some(i) = self.find(store) else {
            return Stepped {
                payloads: vec![],
                finished: None,
                done: true,
            };
        };
        let db = &mut store.dbs[i];
        let mut cow = db.cow.take().expect("found above");
        if cow.is_detached() {
            // Flushed during the save: nothing can touch that data any more.
            return Stepped {
                payloads: vec![],
                finished: Some(cow),
                done: false,
            };
        }
        let origin = cow.origin as u32;
        let now_ms = self.now_ms;
        let mut chunk: Vec<SnapRecord<&Bytes>> = Vec::new();
        let over = cow.step(db, self.step, |k, v, ttl| {
            chunk.extend(snapshot::record(origin, k, v, ttl, now_ms));
        });
        self.records += chunk.len() as u64;
        let payloads = if chunk.is_empty() {
            vec![]
        } else {
            vec![snapshot::records_payload(chunk)]
        };
        if over {
            return Stepped {
                payloads,
                finished: Some(cow),
                done: false,
            };
        }
        db.cow = Some(cow);
        Stepped {
            payloads,
            finished: None,
            done: false,
        }
    }

    /// Writes what is left of a database whose walk under the lock is over.
    fn drain(&mut self, mut cow: DbCow, w: &mut dyn Write) -> io::Result<()> {
        let origin = cow.origin as u32;
        let now_ms = self.now_ms;
        let empty = Db::default();
        loop {
            let mut chunk: Vec<SnapRecord<&Bytes>> = Vec::new();
            let over = cow.step(&empty, snapshot::CHUNK, |k, v, ttl| {
                chunk.extend(snapshot::record(origin, k, v, ttl, now_ms));
            });
            if !chunk.is_empty() {
                self.records += chunk.len() as u64;
                snapshot::write_frame(w, &snapshot::records_payload(chunk))?;
            }
            if over {
                break;
            }
        }
        let kept: Vec<_> = cow.into_kept().collect();
        for part in kept.chunks(snapshot::CHUNK) {
            let chunk: Vec<SnapRecord<&Bytes>> = part
                .iter()
                .filter_map(|(k, v, ttl)| snapshot::record(origin, k, v, *ttl, now_ms))
                .collect();
            if !chunk.is_empty() {
                self.records += chunk.len() as u64;
                snapshot::write_frame(w, &snapshot::records_payload(chunk))?;
            }
        }
        Ok(())
    }

    /// Walks and writes the snapshot. `locked` runs its argument with the engine's store locked
    /// (and returns false when the engine is gone). For the engine's own file, the logs the
    /// snapshot replaces are dropped afterwards. Returns the number of keys written.
    pub fn run(mut self, locked: &mut Locked<'_>) -> Result<u64, String> {
        if let Some(sh) = &self.shared {
            // The switch left the old log's last writes unsynced; settle that first, off the lock.
            super::sync_prev(sh);
        }
        let shared = self.shared.clone();
        let owner = shared.as_ref().map(|sh| &sh.lock);
        let r = fsio::write_atomic_owned(&self.target.clone(), owner, |w: &mut dyn Write| {
            w.write_all(&frame::header(snapshot::MAGIC, snapshot::VERSION))?;
            let head = snapshot::header_payload(self.now_ms, self.generation, self.databases);
            snapshot::write_frame(w, &head)?;
            loop {
                let mut stepped = None;
                if !locked(&mut |store| stepped = Some(self.step(store))) {
                    return Err(io::Error::other("the engine was closed"));
                }
                let s = stepped.expect("ran under the lock");
                for p in &s.payloads {
                    snapshot::write_frame(w, p)?;
                }
                if let Some(cow) = s.finished {
                    self.drain(*cow, w)?;
                }
                if s.done {
                    break;
                }
            }
            snapshot::write_frame(w, &snapshot::footer_payload(self.records, &self.scripts))
        });
        if r.is_err() {
            // Stop the copying: take this save's state off every database.
            let id = self.id;
            locked(&mut |store| {
                for db in store.dbs.iter_mut() {
                    if db.cow.as_ref().is_some_and(|c| c.save_id == id) {
                        db.cow = None;
                    }
                }
            });
        }
        if let Some(sh) = &self.shared {
            super::record_save(
                sh,
                self.generation,
                self.now_ms,
                self.dirty_at_start,
                r.is_ok(),
            );
        }
        r.map(|_| self.records)
            .map_err(|e| format!("ERR snapshot write failed: {}", log::os_error_text(&e)))
    }
}
