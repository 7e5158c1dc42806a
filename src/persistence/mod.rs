//! Persistence: snapshots plus an append-only log, the only module that serialises.
//!
//! Files for a data path `P`: the snapshot `P`, logs `P.aof.<generation>`, and the lock `P.lock`.
//! Durability comes from the log: every top-level command that changed data is appended as one
//! batch before its reply is returned (and fsynced first under `appendfsync always`). A snapshot
//! folds the log away (see `log.rs` for the generation protocol that keeps every step crash-safe).
//!
//! Startup loads the snapshot, then replays the logs; any damage is an error naming the file and
//! offset, never an empty database, except a log whose *last* frame is torn: its valid prefix is
//! loaded and a warning returned. `start_on_damage` moves damaged files aside instead.
//!
//! Threads: commands encode their log frames under the engine lock into a user-space buffer.
//! Under `appendfsync always` the command writes and fsyncs it before its reply; otherwise one
//! background thread ("burner-persist") writes it a few milliseconds after it became non-empty
//! (one write for many commands, as Redis writes its AOF buffer once per event-loop turn), and
//! under `everysec` fsyncs once a second. So kill -9 under `everysec`/`no` can lose the last few
//! milliseconds of acknowledged writes, an OS crash under `everysec` about the last second, and
//! under `always` nothing acknowledged. The same thread retries failed writes and runs scheduled
//! saves and log rewrites; it sleeps on a condition variable while there is nothing to do.

pub mod bgsave;
pub mod frame;
pub mod fsio;
pub mod log;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

pub use frame::{ErrorKind, PersistError};
pub use log::OpLog;

use crate::engine::{Client, Engine, Env, Store};
use crate::reply::Reply;

/// When the log is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Before each write's reply returns.
    Always,
    /// Once a second, by the background thread.
    EverySec,
    /// Left to the OS.
    No,
}

impl FsyncPolicy {
    /// Parses `always`, `everysec` or `no`.
    pub fn parse(s: &str) -> Option<FsyncPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }
}

/// Persistence settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The snapshot path; logs and the lock file sit next to it.
    pub path: PathBuf,
    /// Keep an append-only log between snapshots.
    pub appendonly: bool,
    /// Log fsync policy.
    pub fsync: FsyncPolicy,
    /// Redis-style `save` rules: snapshot after `secs` seconds if at least `changes` writes.
    pub save_rules: Vec<(u64, u64)>,
    /// Rewrite the log when it grew by this percentage over the last snapshot's size (0 = never).
    pub auto_rewrite_percentage: u64,
    /// ... and is at least this many bytes.
    pub auto_rewrite_min_size: u64,
    /// Move damaged files aside and start with what could be read, instead of failing.
    pub start_on_damage: bool,
}

impl Config {
    /// Defaults for `path`: log on, everysec, Redis's default save rules.
    pub fn new(path: impl Into<PathBuf>) -> Config {
        Config {
            path: path.into(),
            appendonly: true,
            fsync: FsyncPolicy::EverySec,
            save_rules: vec![(3600, 1), (300, 100), (60, 10000)],
            auto_rewrite_percentage: 100,
            auto_rewrite_min_size: 64 << 20,
            start_on_damage: false,
        }
    }
}

/// Parses Redis's `save` syntax: `"3600 1 300 100"` (pairs), `""` for none.
pub fn parse_save_rules(s: &str) -> Option<Vec<(u64, u64)>> {
    let nums: Option<Vec<u64>> = s.split_whitespace().map(|x| x.parse().ok()).collect();
    let nums = nums?;
    if nums.len() % 2 != 0 {
        return None;
    }
    Some(nums.chunks(2).map(|c| (c[0], c[1])).collect())
}

/// State shared by the store, the background thread and background saves.
pub struct Shared {
    /// Settings.
    pub cfg: Config,
    /// The data files' lock; file changes from background threads happen with it held.
    pub(crate) lock: Mutex<Option<fsio::DirLock>>,
    stop: Mutex<bool>,
    cv: Condvar,
    /// What the background thread is doing: `RUNNING`, `PARKED` (no work at all) or `TIMED`
    /// (waiting for a deadline, with no log flush requested).
    park: AtomicU8,
    /// The log buffer became non-empty since the background thread last took it.
    flush_wanted: AtomicBool,
    dirty: AtomicU64,
    dirty_at_save: AtomicU64,
    lastsave_ms: AtomicI64,
    saving: AtomicBool,
    last_bgsave_ok: AtomicBool,
    unsynced: AtomicBool,
    write_failed: AtomicBool,
    sync_failed: AtomicBool,
    rewrite_wanted: AtomicBool,
    /// Why the log is failing (MISCONF text), while it is.
    fail_text: Mutex<Option<String>>,
    /// The engine (for background saves started by a command handler).
    engine: Mutex<Weak<Engine>>,
    /// When the last save failed (scheduled saves wait a while before trying again).
    save_failed_at: Mutex<Option<Instant>>,
    /// The current log's file side (the background thread fsyncs it without the engine lock).
    log_out: Mutex<Option<Arc<Mutex<log::LogFile>>>>,
    /// The next generation's log, created ahead of time so that a save's switch to it under the
    /// engine lock costs no fsync.
    spare: Mutex<Option<log::LogWriter>>,
    spare_wanted: AtomicBool,
    /// The current log generation (mirrors `Attached::generation`; read to prepare the spare).
    generation: AtomicU64,
    oldest_log: AtomicU64,
    rewrite_base: AtomicU64,
}

const RUNNING: u8 = 0;
const PARKED: u8 = 1;
const TIMED: u8 = 2;

impl Shared {
    /// Wakes the background thread if it sleeps with nothing to do.
    fn wake(&self) {
        if self.park.load(Ordering::SeqCst) == PARKED {
            self.notify();
        }
    }

    /// Asks the background thread to write the log buffer soon (called when it became non-empty).
    fn request_flush(&self) {
        self.flush_wanted.store(true, Ordering::SeqCst);
        if self.park.load(Ordering::SeqCst) != RUNNING {
            self.notify();
        }
    }

    fn notify(&self) {
        let _g = self.stop.lock();
        self.park.store(RUNNING, Ordering::SeqCst);
        self.cv.notify_all();
    }

    /// True while log writes or syncs fail (writes are refused with MISCONF meanwhile).
    fn failing(&self) -> bool {
        self.write_failed.load(Ordering::Relaxed) || self.sync_failed.load(Ordering::Relaxed)
    }

    fn set_failed(&self, flag: &AtomicBool, why: String) {
        *self.fail_text.lock() = Some(why);
        flag.store(true, Ordering::SeqCst);
    }

    fn clear_failed(&self, flag: &AtomicBool) {
        if flag.swap(false, Ordering::SeqCst) && !self.failing() {
            *self.fail_text.lock() = None;
        }
    }

    fn shutdown(&self) {
        let mut g = self.stop.lock();
        *g = true;
        self.cv.notify_all();
    }

    /// Unix ms of the last successful save (engine start when none yet).
    pub fn lastsave_ms(&self) -> i64 {
        self.lastsave_ms.load(Ordering::Acquire)
    }

    /// True while a background save runs.
    pub fn saving(&self) -> bool {
        self.saving.load(Ordering::Acquire)
    }

    /// The MISCONF text while the log cannot be written or synced.
    fn misconf(&self) -> String {
        let why = self
            .fail_text
            .lock()
            .clone()
            .unwrap_or_else(|| "unknown error".into());
        format!("MISCONF Errors writing to the AOF file: {why}")
    }
}

/// What the store holds while persistence is attached.
pub struct Attached {
    /// Shared with the thread and background saves.
    pub shared: Arc<Shared>,
    /// The open log (None without `appendonly`).
    pub writer: Option<log::LogWriter>,
    /// Generation of the newest snapshot being written or written.
    pub generation: u64,
}

impl Drop for Attached {
    fn drop(&mut self) {
        // The engine is gone without a close(): what the buffer holds still goes to the log.
        if let Some(w) = self.writer.as_mut() {
            let _ = w.flush(self.shared.cfg.fsync != FsyncPolicy::No);
        }
        // Release the files now, not when the thread gets round to exiting.
        self.shared.shutdown();
        self.shared.lock.lock().take();
    }
}

// ---------------------------------------------------------------------------------------------
// Command-path hooks (called under the engine lock).

/// Refuses a write command while the log is failing (MISCONF) or persistence was closed.
pub fn refuse_write(store: &Store, args: &[Vec<u8>]) -> Option<Reply> {
    let failing = match &store.persist {
        Some(a) => a.shared.failing(),
        None => store.oplog.closed,
    };
    if !failing {
        return None;
    }
    let spec = crate::cmd::table().get(args.first()?)?;
    if !spec.has(crate::cmd::flags::WRITE) {
        return None;
    }
    Some(Reply::Error(match &store.persist {
        Some(a) => a.shared.misconf(),
        None => "ERR persistence was closed for this engine; writes are refused".into(),
    }))
}

/// True when [`after_command`] may wait for the disk (`appendfsync always`).
pub fn fsyncs_each_write(store: &Store) -> bool {
    store
        .persist
        .as_ref()
        .is_some_and(|att| att.shared.cfg.fsync == FsyncPolicy::Always)
}

/// After a top-level command (or an expiry cycle): appends the gathered batch to the log.
/// `Err(text)` means the write could not be made durable; the reply must become that error.
pub fn after_command(store: &mut Store, now_us: i64) -> Result<(), String> {
    let Some(att) = store.persist.as_mut() else {
        return Ok(());
    };
    let sh = &att.shared;
    if sh.dirty.load(Ordering::Relaxed) != store.dirty {
        // SeqCst: pairs with the background thread's announce-then-check before it sleeps.
        sh.dirty.store(store.dirty, Ordering::SeqCst);
        if !sh.cfg.save_rules.is_empty() {
            sh.wake();
        }
    }
    if store.oplog.is_empty() {
        return Ok(());
    }
    let Some(w) = att.writer.as_mut() else {
        store.oplog.clear();
        return Ok(());
    };
    let was_empty = w.pending.is_empty();
    let before = w.pending.len();
    store.oplog.take_frame(&mut w.pending, now_us);
    w.len += (w.pending.len() - before) as u64;
    if sh.cfg.fsync == FsyncPolicy::Always {
        if let Err(e) = w.flush(true) {
            sh.set_failed(&sh.write_failed, e.clone());
            sh.wake();
            return Err(format!("MISCONF Errors writing to the AOF file: {e}"));
        }
        if sh.write_failed.load(Ordering::Relaxed) {
            sh.clear_failed(&sh.write_failed);
        }
    } else if was_empty && !w.pending.is_empty() {
        sh.request_flush();
    }
    let pct = sh.cfg.auto_rewrite_percentage;
    if pct > 0 && w.len >= sh.cfg.auto_rewrite_min_size {
        let base = sh.rewrite_base.load(Ordering::Relaxed).max(1);
        if w.len.saturating_sub(base) * 100 / base >= pct
            && !sh.rewrite_wanted.swap(true, Ordering::AcqRel)
        {
            sh.wake();
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Saving.

/// A snapshot captured under the lock, to be written without it.
pub struct SaveJob {
    shared: Option<Arc<Shared>>,
    cap: snapshot::Captured,
    target: PathBuf,
    generation: u64,
    dirty_at_start: u64,
    now_ms: i64,
}

/// The script cache's bodies (snapshots carry them, so EVALSHA keeps working after a restart).
fn script_bodies(store: &Store) -> Vec<Vec<u8>> {
    crate::scripting::cached_bodies(store)
}

/// Refills the script cache from a loaded snapshot.
fn restore_scripts(store: &mut Store, scripts: Vec<Vec<u8>>) {
    crate::scripting::preload(store, scripts)
}

/// True when a save to `to` (None: the configured file) is a save of the engine's own file
/// (which folds the log), false for an export.
fn is_own(store: &Store, to: Option<&Path>) -> Result<bool, String> {
    match (&store.persist, to) {
        (Some(a), Some(p)) => Ok(p == a.shared.cfg.path),
        (Some(_), None) => Ok(true),
        (None, Some(_)) => Ok(false),
        (None, None) => Err("ERR no persistence path configured for this engine".into()),
    }
}

/// The instant a snapshot of the engine's own file is taken at: the old log gets everything
/// logged so far, durably, and the next log generation starts. Returns the shared state, the
/// new generation and the dirty counter at this instant.
fn switch_log(store: &mut Store, now_ms: i64) -> Result<(Arc<Shared>, u64, u64), String> {
    let dirty = store.dirty;
    let att = store.persist.as_mut().expect("own file implies attached");
    let gen = att.generation + 1;
    let sh = att.shared.clone();
    let mut prev = None;
    if let Some(w) = att.writer.as_mut() {
        // Whatever ran before this instant belongs to the old log. It is written now and made
        // durable before the new log ever is (`LogFile::prev`), without an fsync here.
        store.oplog.take_frame(&mut w.pending, now_ms * 1000);
        if let Err(e) = w.flush(false) {
            sh.set_failed(&sh.write_failed, e.clone());
            return Err(format!("MISCONF Errors writing to the AOF file: {e}"));
        }
        let out = w.out.lock();
        prev = Some(out.file.clone());
        if let Some(older) = &out.prev {
            // Still owed from the switch before: pay it now (rare: two saves within moments).
            older.sync_data().map_err(|e| {
                format!(
                    "MISCONF Errors writing to the AOF file: {}",
                    log::os_error_text(&e)
                )
            })?;
        }
    } else {
        store.oplog.clear();
    }
    if sh.cfg.appendonly {
        let mut spare = sh.spare.lock();
        let nw = match spare.take() {
            Some(w) if w.generation == gen => w,
            _ => log::create(&sh.cfg.path, gen).map_err(|e| {
                format!("ERR could not start a new log: {}", log::os_error_text(&e))
            })?,
        };
        nw.out.lock().prev = prev;
        *sh.log_out.lock() = Some(nw.out.clone());
        att.writer = Some(nw);
        sh.generation.store(gen, Ordering::Release);
        drop(spare);
        sh.unsynced.store(false, Ordering::Release);
        sh.clear_failed(&sh.write_failed);
        sh.clear_failed(&sh.sync_failed);
        sh.spare_wanted.store(true, Ordering::SeqCst);
        sh.wake();
    }
    att.generation = gen;
    Ok((sh, gen, dirty))
}

/// Creates the next generation's log ahead of time (background thread, no engine lock).
fn prepare_spare(sh: &Shared) {
    sh.spare_wanted.store(false, Ordering::SeqCst);
    if !sh.cfg.appendonly {
        return;
    }
    let mut spare = sh.spare.lock();
    let gen = sh.generation.load(Ordering::Acquire) + 1;
    if spare.as_ref().is_some_and(|w| w.generation == gen) {
        return;
    }
    // Only while this engine still holds the files (dropping it waits for this to finish).
    let owner = sh.lock.lock();
    if owner.is_none() {
        return;
    }
    // On failure the switch creates the log itself (and reports the error if it fails too).
    *spare = log::create(&sh.cfg.path, gen).ok();
    drop(owner);
}

/// fsyncs the previous generation's log if that is still owed (outside the engine lock).
pub(crate) fn sync_prev(sh: &Shared) {
    let out = sh.log_out.lock().clone();
    if let Some(out) = out {
        let prev = out.lock().prev.clone();
        if let Some(p) = prev {
            if p.sync_data().is_ok() {
                let mut o = out.lock();
                if o.prev.as_ref().is_some_and(|q| Arc::ptr_eq(q, &p)) {
                    o.prev = None;
                }
            }
        }
    }
}

/// After a snapshot of the engine's own file was written (or failed to be): on success drops
/// the logs it replaces and records the save.
fn record_save(sh: &Shared, generation: u64, now_ms: i64, dirty_at_start: u64, ok: bool) {
    sh.last_bgsave_ok.store(ok, Ordering::Release);
    *sh.save_failed_at.lock() = (!ok).then(Instant::now);
    if !ok {
        return;
    }
    let oldest = sh.oldest_log.load(Ordering::Acquire);
    for g in oldest..generation {
        let _ = std::fs::remove_file(log::log_path(&sh.cfg.path, g));
    }
    sh.oldest_log.fetch_max(generation, Ordering::AcqRel);
    sh.lastsave_ms.store(now_ms, Ordering::Release);
    sh.dirty_at_save.store(dirty_at_start, Ordering::Release);
    let size = std::fs::metadata(&sh.cfg.path)
        .map(|m| m.len())
        .unwrap_or(0);
    sh.rewrite_base.store(size, Ordering::Release);
    // The logs the snapshot replaces are gone: nothing is owed to them any more.
    if let Some(out) = sh.log_out.lock().clone() {
        out.lock().prev = None;
    }
    sh.rewrite_wanted.store(false, Ordering::Release);
}

/// Captures a whole snapshot under the lock (SAVE, close, the first snapshot of a new data
/// path). For the engine's own file (`to` None or equal to it) this also starts the next log
/// generation, so the snapshot plus the new log hold everything.
pub fn begin_save(store: &mut Store, now_ms: i64, to: Option<&Path>) -> Result<SaveJob, String> {
    let scripts = script_bodies(store);
    if !is_own(store, to)? {
        let cap = snapshot::capture(store, now_ms, 0, &scripts);
        let target = to.expect("checked").to_path_buf();
        return Ok(SaveJob {
            shared: None,
            cap,
            target,
            generation: 0,
            dirty_at_start: 0,
            now_ms,
        });
    }
    let (shared, gen, dirty) = switch_log(store, now_ms)?;
    let target = shared.cfg.path.clone();
    let cap = snapshot::capture(store, now_ms, gen, &scripts);
    Ok(SaveJob {
        shared: Some(shared),
        cap,
        target,
        generation: gen,
        dirty_at_start: dirty,
        now_ms,
    })
}

impl SaveJob {
    /// Writes the snapshot (no lock needed); for the engine's own file, then drops the logs it
    /// replaces and records the save.
    pub fn finish(self) -> Result<u64, String> {
        let r = snapshot::write(&self.target, &self.cap)
            .map_err(|e| format!("ERR snapshot write failed: {}", log::os_error_text(&e)));
        if let Some(sh) = &self.shared {
            record_save(
                sh,
                self.generation,
                self.now_ms,
                self.dirty_at_start,
                r.is_ok(),
            );
        }
        r.map(|_| self.cap.records)
    }
}

/// Runs one step of a walk with `engine`'s store locked, then hands the lock straight to a
/// waiting thread and yields the CPU: on a busy machine a walk that ran out its time slice while
/// holding the lock would stall every command until it is scheduled again; yielding between
/// steps makes that rarer (measured: worst waits of 5-7 ms instead of 12-15 at load 5).
fn with_engine(engine: &Engine, f: &mut dyn FnMut(&mut Store)) {
    let mut store = engine.lock();
    f(&mut store);
    parking_lot::MutexGuard::unlock_fair(store);
    std::thread::yield_now();
}

/// Runs a walk on a thread of its own; `saving` is released when it ends.
fn spawn_walk(walk: bgsave::Walk, sh: Arc<Shared>) -> Result<(), String> {
    let weak = sh.engine.lock().clone();
    let sh2 = sh.clone();
    let spawned = std::thread::Builder::new()
        .name("burner-bgsave".into())
        .spawn(move || {
            let mut locked = |f: &mut dyn FnMut(&mut Store)| match weak.upgrade() {
                Some(e) => {
                    with_engine(&e, f);
                    true
                }
                None => false,
            };
            let _ = walk.run(&mut locked);
            sh2.saving.store(false, Ordering::Release);
        });
    spawned.map(|_| ()).map_err(|_| {
        sh.saving.store(false, Ordering::Release);
        "ERR could not start the background save thread".to_string()
    })
}

/// Starts a background save from a command handler: the snapshot instant is now (under the
/// lock); the walk and the writing run on a thread of their own.
pub fn bgsave(store: &mut Store, now_ms: i64) -> Result<(), String> {
    let Some(att) = store.persist.as_ref() else {
        return Err("ERR no persistence path configured for this engine".into());
    };
    if att.shared.saving.swap(true, Ordering::AcqRel) {
        return Err(bgsave::BUSY.into());
    }
    let shared = att.shared.clone();
    match bgsave::begin(store, now_ms, None) {
        Ok(walk) => spawn_walk(walk, shared),
        Err(e) => {
            shared.saving.store(false, Ordering::Release);
            Err(e)
        }
    }
}

/// Waits (without the engine lock) until this caller holds `saving`.
fn claim_saving(sh: &Shared) {
    while sh.saving.swap(true, Ordering::AcqRel) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------------
// Opening and loading.

/// Generations of the logs of `path` present on disk, ascending.
fn log_generations(path: &Path) -> Vec<u64> {
    let dir = fsio::parent_dir(path);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return vec![];
    };
    let prefix = format!("{name}.aof.");
    let mut gens: Vec<u64> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix(&prefix)?.parse().ok())
                })
                .collect()
        })
        .unwrap_or_default();
    gens.sort_unstable();
    gens
}

fn read_file(p: &Path) -> Result<Option<Vec<u8>>, PersistError> {
    match std::fs::read(p) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PersistError::io(p, &e)),
    }
}

fn replay(store: &mut Store, batches: Vec<log::Batch>, lp: &Path) -> Result<(), PersistError> {
    let mut client = Client::new(0);
    for b in batches {
        let mut env = Env::new(b.time_us);
        // Blocking commands never block in replay: they were logged only when they were served.
        env.in_exec = true;
        for (db, cmd) in b.cmds {
            let db = db as usize;
            if db >= store.dbs.len() {
                return Err(PersistError::corrupt(
                    lp,
                    0,
                    format!("log names database {db}, out of range"),
                ));
            }
            client.db = db;
            crate::cmd::dispatch::dispatch(store, &mut client, cmd, &mut env);
        }
    }
    Ok(())
}

/// True when every log of `gens` holds nothing but its header.
fn later_logs_empty(path: &Path, gens: &[u64]) -> bool {
    gens.iter().all(|g| {
        let lp = log::log_path(path, *g);
        let data = read_file(&lp).ok().flatten().unwrap_or_default();
        log::read(&lp, &data, *g, false)
            .is_ok_and(|rl| rl.batches.is_empty() && rl.torn_at.is_none())
    })
}

fn clear_store(store: &mut Store) {
    for db in store.dbs.iter_mut() {
        db.clear();
    }
}

/// Opens the data files of `cfg` for `store` (fresh, empty): takes the lock, loads the
/// snapshot and replays the logs, and returns the attachment plus warnings for the caller to
/// report; the attachment is left in `store.persist`. Nothing is written over damaged data.
pub fn open(cfg: Config, store: &mut Store, now_ms: i64) -> Result<Vec<String>, PersistError> {
    let lock = fsio::DirLock::acquire(&cfg.path)?;
    let mut warnings = Vec::new();
    let mut gens = log_generations(&cfg.path);
    let mut need_snapshot = false;
    let damage = |e: PersistError,
                  files: &[PathBuf],
                  warnings: &mut Vec<String>|
     -> Result<(), PersistError> {
        if !cfg.start_on_damage {
            return Err(e);
        }
        warnings.push(format!("{e}; starting anyway (start_on_damage)"));
        for f in files {
            if f.exists() {
                let to = fsio::move_aside(f, now_ms).map_err(|io| PersistError::io(f, &io))?;
                warnings.push(format!(
                    "moved damaged file {} to {}",
                    f.display(),
                    to.display()
                ));
            }
        }
        Ok(())
    };
    let mut generation = 0;
    match read_file(&cfg.path)? {
        None if gens.is_empty() => need_snapshot = true,
        None => {
            let e = PersistError {
                kind: ErrorKind::Corrupt,
                path: Some(cfg.path.clone()),
                offset: None,
                message: "snapshot is missing but log files exist next to it".into(),
            };
            let logs: Vec<PathBuf> = gens.iter().map(|g| log::log_path(&cfg.path, *g)).collect();
            damage(e, &logs, &mut warnings)?;
            gens.clear();
            need_snapshot = true;
        }
        // Keys that expired since the snapshot are loaded too: the log's commands ran while they
        // were alive. Whatever is expired once the log is replayed is dropped below.
        Some(data) => match snapshot::load(&cfg.path, &data, store, i64::MIN) {
            Ok(loaded) => {
                generation = loaded.header.log_generation;
                restore_scripts(store, loaded.scripts);
            }
            Err(e) => {
                clear_store(store);
                let mut files = vec![cfg.path.clone()];
                files.extend(gens.iter().map(|g| log::log_path(&cfg.path, *g)));
                damage(e, &files, &mut warnings)?;
                gens.clear();
                need_snapshot = true;
            }
        },
    }
    // Logs older than the snapshot were folded into it (a crash came before their deletion).
    for g in gens.iter().filter(|g| **g < generation) {
        let _ = std::fs::remove_file(log::log_path(&cfg.path, *g));
    }
    gens.retain(|g| *g >= generation);
    let mut writer = None;
    let chain_len = gens.len();
    // The log files from position `i` of the chain on: what damage at `i` makes unusable.
    let chain = gens.clone();
    let logs_from = |i: usize| -> Vec<PathBuf> {
        chain[i..]
            .iter()
            .map(|g| log::log_path(&cfg.path, *g))
            .collect()
    };
    for (i, g) in gens.clone().into_iter().enumerate() {
        let lp = log::log_path(&cfg.path, g);
        let last = i + 1 == chain_len;
        let expect = generation + i as u64;
        if g != expect {
            let e = PersistError::corrupt(
                &lp,
                0,
                format!("log generation {expect} is missing before this one"),
            );
            damage(e, &logs_from(i), &mut warnings)?;
            need_snapshot = true;
            break;
        }
        let data = read_file(&lp)?.unwrap_or_default();
        let parsed = log::read(&lp, &data, g, cfg.start_on_damage);
        let rl = match parsed {
            Ok(rl) => rl,
            Err(e) => {
                damage(e, &logs_from(i), &mut warnings)?;
                need_snapshot = true;
                break;
            }
        };
        let damaged = rl.damaged.clone();
        let torn_at = rl.torn_at;
        let rl_zero_tail = rl.zero_tail;
        let good_len = rl.good_len;
        replay(store, rl.batches, &lp)?;
        if let Some(e) = damaged {
            let rest: Vec<PathBuf> = gens[i..]
                .iter()
                .map(|g| log::log_path(&cfg.path, *g))
                .collect();
            damage(e, &rest, &mut warnings)?;
            need_snapshot = true;
            break;
        }
        if let Some(off) = torn_at {
            if !last && later_logs_empty(&cfg.path, &gens[i + 1..]) {
                // Only empty logs follow (a pre-created next generation, or a switch that no
                // write followed): this torn tail is the last thing written. Cut it off, since
                // appends will continue in a later log.
                let cut = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&lp)
                    .and_then(|f| f.set_len(good_len).and_then(|_| f.sync_all()));
                cut.map_err(|e| PersistError::io(&lp, &e))?;
            } else if !last {
                let e = PersistError::corrupt(&lp, off, "log is truncated but later logs exist");
                let rest: Vec<PathBuf> = gens[i..]
                    .iter()
                    .map(|g| log::log_path(&cfg.path, *g))
                    .collect();
                damage(e, &rest, &mut warnings)?;
                need_snapshot = true;
                break;
            }
            let what = if rl_zero_tail {
                "log ends in zeros (left by a crash)"
            } else {
                "last record is truncated"
            };
            warnings.push(format!(
                "{}: {what} at byte offset {off}; loaded the {} bytes before it",
                lp.display(),
                good_len
            ));
        }
        if last && cfg.appendonly {
            writer =
                Some(log::open_append(&lp, g, good_len).map_err(|e| PersistError::io(&lp, &e))?);
            generation = g;
        }
    }
    // Replay is not a client's work: start counters afresh, and drop keys that expired meanwhile.
    for db in store.dbs.iter_mut() {
        let dead: Vec<Vec<u8>> = db
            .iter_expires()
            .filter(|(_, at)| *at <= now_ms)
            .map(|(k, _)| k.to_vec())
            .collect();
        for k in dead {
            db.remove(&k);
        }
    }
    store.stats = Default::default();
    store.dirty = 0;
    let appendonly_at_open = cfg.appendonly;
    let shared = Arc::new(Shared {
        cfg,
        lock: Mutex::new(Some(lock)),
        stop: Mutex::new(false),
        cv: Condvar::new(),
        park: AtomicU8::new(RUNNING),
        flush_wanted: AtomicBool::new(false),
        dirty: AtomicU64::new(0),
        dirty_at_save: AtomicU64::new(0),
        lastsave_ms: AtomicI64::new(now_ms),
        saving: AtomicBool::new(false),
        last_bgsave_ok: AtomicBool::new(true),
        unsynced: AtomicBool::new(false),
        write_failed: AtomicBool::new(false),
        sync_failed: AtomicBool::new(false),
        rewrite_wanted: AtomicBool::new(false),
        fail_text: Mutex::new(None),
        engine: Mutex::new(Weak::new()),
        save_failed_at: Mutex::new(None),
        log_out: Mutex::new(writer.as_ref().map(|w: &log::LogWriter| w.out.clone())),
        spare: Mutex::new(None),
        spare_wanted: AtomicBool::new(appendonly_at_open),
        generation: AtomicU64::new(generation),
        oldest_log: AtomicU64::new(gens.first().copied().unwrap_or(generation)),
        rewrite_base: AtomicU64::new(0),
    });
    let size = std::fs::metadata(&shared.cfg.path)
        .map(|m| m.len())
        .unwrap_or(0);
    shared.rewrite_base.store(size, Ordering::Relaxed);
    let appendonly = shared.cfg.appendonly;
    let mut att = Attached {
        shared,
        writer,
        generation,
    };
    if appendonly && att.writer.is_none() && !need_snapshot {
        let w = log::create(&att.shared.cfg.path, generation)
            .map_err(|e| PersistError::io(&att.shared.cfg.path, &e))?;
        *att.shared.log_out.lock() = Some(w.out.clone());
        att.writer = Some(w);
    }
    store.persist = Some(att);
    store.oplog.on = appendonly;
    if need_snapshot {
        // Anchor the chain: a snapshot of what we have, and (with appendonly) its log.
        let job = begin_save(store, now_ms, None).map_err(|m| io_msg(&store_path(store), m))?;
        job.finish().map_err(|m| io_msg(&store_path(store), m))?;
    }
    Ok(warnings)
}

fn store_path(store: &Store) -> PathBuf {
    store
        .persist
        .as_ref()
        .map(|a| a.shared.cfg.path.clone())
        .unwrap_or_default()
}

fn io_msg(p: &Path, m: String) -> PersistError {
    PersistError {
        kind: ErrorKind::Io,
        path: Some(p.to_path_buf()),
        offset: None,
        message: m,
    }
}

// ---------------------------------------------------------------------------------------------
// Engine-level operations and the background thread.

/// Saves the engine's own file (or exports to `to`) now, in the caller's thread, walking the
/// keyspace in steps: other clients keep being served meanwhile. Waits for a save already
/// running to end first.
pub fn save(engine: &Engine, to: Option<&Path>) -> Result<u64, String> {
    let shared = {
        let store = engine.lock();
        let own = is_own(&store, to)?;
        store
            .persist
            .as_ref()
            .filter(|_| own)
            .map(|a| a.shared.clone())
    };
    if let Some(sh) = &shared {
        claim_saving(sh);
    }
    let r = (|| {
        let walk = loop {
            let begun = {
                let mut store = engine.lock();
                let now = engine.clock().now_ms();
                bgsave::begin(&mut store, now, to)
            };
            match begun {
                // An export's walk still runs: wait for it.
                Err(e) if e == bgsave::BUSY => std::thread::sleep(Duration::from_millis(5)),
                other => break other?,
            }
        };
        walk.run(&mut |f| {
            with_engine(engine, f);
            true
        })
    })();
    if let Some(sh) = &shared {
        sh.saving.store(false, Ordering::Release);
    }
    r
}

/// Final save, then detaches persistence and releases the lock. Later writes are refused.
pub fn close(engine: &Engine) -> Result<(), String> {
    let Some(shared) = engine.lock().persist.as_ref().map(|a| a.shared.clone()) else {
        return Ok(());
    };
    // A background save still writing would otherwise finish after this one.
    claim_saving(&shared);
    let mut store = engine.lock();
    if store.persist.is_none() {
        shared.saving.store(false, Ordering::Release);
        return Ok(());
    }
    let now = engine.clock().now_ms();
    let r = begin_save(&mut store, now, None).and_then(|job| job.finish().map(|_| ()));
    if let Some(mut att) = store.persist.take() {
        if let Some(w) = att.writer.as_mut() {
            let _ = w.flush(true);
        }
        att.shared.lock.lock().take();
    }
    store.oplog.on = false;
    store.oplog.clear();
    store.oplog.closed = true;
    shared.saving.store(false, Ordering::Release);
    r
}

/// Every engine of this process that had persistence attached (weakly: dropping an engine
/// removes it), so that the embedding can give each its final save at exit ([`close_all`]).
static OPEN: Mutex<Vec<Weak<Engine>>> = Mutex::new(Vec::new());

/// Closes (final save, release of the files) every engine of this process that still has
/// persistence attached. Returns the failures as `path: error` texts.
pub fn close_all() -> Vec<String> {
    let engines: Vec<Arc<Engine>> = {
        let mut open = OPEN.lock();
        open.retain(|w| w.strong_count() > 0);
        open.iter().filter_map(Weak::upgrade).collect()
    };
    let mut failures = Vec::new();
    for e in engines {
        let path = e.lock().persist.as_ref().map(|a| a.shared.cfg.path.clone());
        if let (Some(path), Err(m)) = (path, close(&e)) {
            failures.push(format!("{}: {m}", path.display()));
        }
    }
    failures
}

/// Starts the background thread for the persistence attached to `engine`'s store.
pub fn spawn(engine: &Arc<Engine>) {
    let Some(shared) = engine.lock().persist.as_ref().map(|a| a.shared.clone()) else {
        return;
    };
    let weak = Arc::downgrade(engine);
    *shared.engine.lock() = weak.clone();
    {
        let mut open = OPEN.lock();
        open.retain(|w| w.strong_count() > 0);
        open.push(weak.clone());
    }
    let _ = std::thread::Builder::new()
        .name("burner-persist".into())
        .spawn(move || run(weak, shared));
}

fn save_due(sh: &Shared, now_ms: i64) -> bool {
    let changes = sh
        .dirty
        .load(Ordering::Relaxed)
        .saturating_sub(sh.dirty_at_save.load(Ordering::Relaxed));
    if changes == 0 || sh.saving() {
        return false;
    }
    let elapsed_s = (now_ms - sh.lastsave_ms()).max(0) as u64 / 1000;
    sh.cfg
        .save_rules
        .iter()
        .any(|&(secs, n)| changes >= n && elapsed_s >= secs)
}

/// How long the log buffer may wait before the background thread writes it: long enough to
/// gather many commands per write, short enough that kill -9 loses only milliseconds.
const FLUSH_DELAY: Duration = Duration::from_millis(2);
/// fsync interval under `everysec`.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Retry interval for a failing log write or fsync.
const RETRY_EVERY: Duration = Duration::from_millis(200);
/// How often save rules are checked while there are unsaved changes.
const SAVE_TICK: Duration = Duration::from_secs(1);
/// Like Redis, a failed scheduled save is retried only after a delay.
const SAVE_RETRY: Duration = Duration::from_secs(5);

/// The background thread's clocks.
struct Timers {
    flush_at: Option<Instant>,
    last_sync: Instant,
    last_retry: Instant,
    last_save_check: Instant,
}

/// When the background thread next has something to do (None: nothing until woken).
fn next_deadline(sh: &Shared, t: &mut Timers, now: Instant) -> Option<Instant> {
    let mut next: Option<Instant> = None;
    let mut at = |i: Instant| next = Some(next.map_or(i, |n: Instant| n.min(i)));
    if sh.flush_wanted.load(Ordering::SeqCst) {
        at(*t.flush_at.get_or_insert(now + FLUSH_DELAY));
    }
    if sh.cfg.fsync == FsyncPolicy::EverySec && sh.unsynced.load(Ordering::Acquire) {
        at(t.last_sync + SYNC_EVERY);
    }
    if sh.failing() {
        at(t.last_retry + RETRY_EVERY);
    }
    if sh.spare_wanted.load(Ordering::SeqCst) {
        at(now);
    }
    let failed_save = *sh.save_failed_at.lock();
    if sh.rewrite_wanted.load(Ordering::Acquire) {
        at(failed_save.map_or(now, |f| f + SAVE_RETRY));
    } else if !sh.cfg.save_rules.is_empty()
        && sh.dirty.load(Ordering::SeqCst) != sh.dirty_at_save.load(Ordering::Relaxed)
    {
        let check = t.last_save_check + SAVE_TICK;
        at(failed_save.map_or(check, |f| check.max(f + SAVE_RETRY)));
    }
    next
}

/// Writes the log buffer (taken under the engine lock, written without it).
fn flush_log(engine: &Engine, sh: &Shared) {
    let mut store = engine.lock();
    sh.flush_wanted.store(false, Ordering::SeqCst);
    let Some(w) = store.persist.as_mut().and_then(|a| a.writer.as_mut()) else {
        return;
    };
    let out = w.out.clone();
    // Taken before the engine lock is let go: frames reach the file in the order gathered.
    let mut file = out.lock();
    let spare = std::mem::take(&mut file.spare);
    let buf = std::mem::replace(&mut w.pending, spare);
    drop(store);
    match file.write(buf, false) {
        Ok(()) => {
            if sh.write_failed.load(Ordering::Relaxed) {
                sh.clear_failed(&sh.write_failed);
            }
            if sh.cfg.fsync == FsyncPolicy::EverySec {
                sh.unsynced.store(true, Ordering::Release);
            }
        }
        Err(e) => sh.set_failed(&sh.write_failed, e),
    }
}

/// fsyncs the current log (without the engine lock; the log file's lock only to read it).
fn sync_log(sh: &Shared) {
    let Some(out) = sh.log_out.lock().clone() else {
        return;
    };
    sh.unsynced.store(false, Ordering::Release);
    sync_prev(sh);
    let (file, owed) = {
        let o = out.lock();
        (o.file.clone(), o.prev.is_some())
    };
    let r = if owed {
        Err("could not sync the previous log".to_string())
    } else {
        file.sync_data().map_err(|e| log::os_error_text(&e))
    };
    match r {
        Ok(()) => {
            if sh.sync_failed.load(Ordering::Relaxed) {
                sh.clear_failed(&sh.sync_failed);
            }
        }
        Err(e) => {
            sh.set_failed(&sh.sync_failed, e);
            sh.unsynced.store(true, Ordering::Release);
        }
    }
}

fn run(weak: Weak<Engine>, sh: Arc<Shared>) {
    let start = Instant::now();
    let mut t = Timers {
        flush_at: None,
        last_sync: start,
        last_retry: start,
        last_save_check: start,
    };
    loop {
        {
            let mut stop = sh.stop.lock();
            loop {
                if *stop {
                    return;
                }
                let now = Instant::now();
                match next_deadline(&sh, &mut t, now) {
                    Some(d) if d <= now => break,
                    Some(d) => {
                        let mode = if sh.flush_wanted.load(Ordering::SeqCst) {
                            RUNNING
                        } else {
                            TIMED
                        };
                        sh.park.store(mode, Ordering::SeqCst);
                        // Re-check after announcing the sleep (a flush request may have raced it).
                        if mode == TIMED && sh.flush_wanted.load(Ordering::SeqCst) {
                            sh.park.store(RUNNING, Ordering::SeqCst);
                            continue;
                        }
                        sh.cv.wait_for(&mut stop, d - now);
                        sh.park.store(RUNNING, Ordering::SeqCst);
                    }
                    None => {
                        sh.park.store(PARKED, Ordering::SeqCst);
                        if next_deadline(&sh, &mut t, now).is_none() {
                            while sh.park.load(Ordering::SeqCst) == PARKED && !*stop {
                                sh.cv.wait(&mut stop);
                            }
                        }
                        sh.park.store(RUNNING, Ordering::SeqCst);
                    }
                }
            }
        }
        let now = Instant::now();
        // The engine is held only while it is needed: a user dropping it must find its files
        // released at once, not after an fsync here.
        if t.flush_at.is_some_and(|f| f <= now) {
            t.flush_at = None;
            let Some(engine) = weak.upgrade() else { return };
            flush_log(&engine, &sh);
        }
        if sh.spare_wanted.load(Ordering::SeqCst) {
            prepare_spare(&sh);
        }
        if sh.cfg.fsync == FsyncPolicy::EverySec
            && sh.unsynced.load(Ordering::Acquire)
            && now >= t.last_sync + SYNC_EVERY
        {
            t.last_sync = now;
            sync_log(&sh);
        }
        if sh.failing() && now >= t.last_retry + RETRY_EVERY {
            t.last_retry = now;
            if sh.write_failed.load(Ordering::Acquire) {
                let Some(engine) = weak.upgrade() else { return };
                let mut store = engine.lock();
                let always = sh.cfg.fsync == FsyncPolicy::Always;
                if let Some(w) = store.persist.as_mut().and_then(|a| a.writer.as_mut()) {
                    if w.flush(always).is_ok() {
                        sh.clear_failed(&sh.write_failed);
                        if sh.cfg.fsync == FsyncPolicy::EverySec {
                            sh.unsynced.store(true, Ordering::Release);
                        }
                    }
                }
            }
            if sh.sync_failed.load(Ordering::Acquire) {
                sync_log(&sh);
            }
        }
        let save_check_due = now >= t.last_save_check + SAVE_TICK;
        let may_save = sh
            .save_failed_at
            .lock()
            .is_none_or(|f| now >= f + SAVE_RETRY);
        if save_check_due {
            t.last_save_check = now;
        }
        if !may_save || !(sh.rewrite_wanted.load(Ordering::Acquire) || save_check_due) {
            continue;
        }
        let Some(engine) = weak.upgrade() else { return };
        let now_ms = engine.clock().now_ms();
        if (sh.rewrite_wanted.load(Ordering::Acquire) || save_due(&sh, now_ms))
            && !sh.saving.swap(true, Ordering::AcqRel)
        {
            let begun = {
                let mut store = engine.lock();
                bgsave::begin(&mut store, now_ms, None)
            };
            // The walk runs on its own thread: this one keeps writing the log meanwhile.
            if begun.and_then(|walk| spawn_walk(walk, sh.clone())).is_err() {
                sh.saving.store(false, Ordering::Release);
                *sh.save_failed_at.lock() = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests;
