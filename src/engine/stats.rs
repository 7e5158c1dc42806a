//! Counters and the slow log: what INFO, SLOWLOG and CONFIG RESETSTAT read and reset.
//!
//! The dispatcher feeds these for every command; keeping them typed (not in the CONFIG map) keeps
//! that per-command cost to a hash lookup and two clock reads.

use std::collections::VecDeque;

use hashbrown::HashMap;

/// Per-command counters (INFO commandstats).
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub struct CommandStat {
    /// Calls that ran the handler.
    pub calls: u64,
    /// Microseconds spent in the handler.
    pub usec: u64,
    /// Calls refused before running (arity, NOAUTH, MULTI, subscribed mode...).
    pub rejected: u64,
    /// Calls whose handler replied with an error.
    pub failed: u64,
}

/// Counters INFO reports.
#[derive(Default)]
pub struct Stats {
    /// Commands processed.
    pub commands: u64,
    /// Keys expired (lazily or actively).
    pub expired_keys: u64,
    /// Keys evicted under `maxmemory`.
    pub evicted_keys: u64,
    /// Successful key lookups.
    pub keyspace_hits: u64,
    /// Failed key lookups.
    pub keyspace_misses: u64,
    /// Per command, by position in the command table (grown on first use).
    per_spec: Vec<CommandStat>,
    /// Per `parent|sub` name of a container command's subcommand (as Redis names them).
    per_subcommand: HashMap<String, CommandStat>,
    /// Error replies by their prefix (`ERR`, `WRONGTYPE`...), INFO errorstats.
    pub errors: HashMap<String, u64>,
    /// Every error reply.
    pub total_error_replies: u64,
    /// Clients ever opened (INFO's `total_connections_received`).
    pub connections_received: u64,
}

impl Stats {
    /// Counts an error reply under its prefix (the first word, as Redis's errorstats do).
    pub fn count_error(&mut self, text: &str) {
        self.total_error_replies += 1;
        let prefix = text.split(' ').next().unwrap_or("ERR");
        // Redis caps the distinct prefixes it tracks (128) so junk errors cannot grow it.
        if let Some(n) = self.errors.get_mut(prefix) {
            *n += 1;
        } else if self.errors.len() < 128 {
            self.errors.insert(prefix.to_string(), 1);
        }
    }

    /// The counters of `name` (a command or `parent|sub`), created on first use.
    pub fn command(&mut self, name: &str) -> &mut CommandStat {
        match crate::cmd::table().index_of(name) {
            Some(i) => self.command_at(i),
            None => self.per_subcommand.entry_ref(name).or_default(),
        }
    }

    /// The counters of the command at position `i` of the command table.
    pub fn command_at(&mut self, i: usize) -> &mut CommandStat {
        if i >= self.per_spec.len() {
            self.per_spec
                .resize_with(crate::cmd::table().all.len().max(i + 1), Default::default);
        }
        &mut self.per_spec[i]
    }

    /// Every command's and subcommand's counters, in no order.
    pub fn commands(&self) -> impl Iterator<Item = (&str, &CommandStat)> {
        let table = &crate::cmd::table().all;
        table
            .iter()
            .zip(&self.per_spec)
            .map(|(spec, c)| (spec.name, c))
            .chain(self.per_subcommand.iter().map(|(n, c)| (n.as_str(), c)))
    }
}

/// Redis keeps at most this many arguments of a slow command...
pub const SLOWLOG_MAX_ARGS: usize = 32;
/// ...and at most this many bytes of each.
pub const SLOWLOG_MAX_ARG_BYTES: usize = 128;

/// One SLOWLOG entry.
#[derive(Clone, Debug)]
pub struct SlowEntry {
    /// Unique, increasing id.
    pub id: u64,
    /// Unix time (seconds) the command ran.
    pub time_s: i64,
    /// Duration in microseconds.
    pub duration_us: u64,
    /// The arguments, name included, shortened as Redis shortens them.
    pub args: Vec<Vec<u8>>,
    /// Client address (`ip:port`).
    pub addr: String,
    /// Client name.
    pub name: Vec<u8>,
}

/// The slow log and its settings.
pub struct SlowLog {
    /// Newest first.
    pub entries: VecDeque<SlowEntry>,
    /// Next entry id (never reset, as in Redis).
    pub next_id: u64,
    /// `slowlog-log-slower-than` in microseconds; negative disables the log.
    pub slower_than_us: i64,
    /// `slowlog-max-len`.
    pub max_len: usize,
    /// The buffers [`ArgSnapshot`]s copy into, handed back after each command so that taking a
    /// snapshot allocates nothing once they have grown (at most 4 KB and 32 entries).
    pub scratch: SnapshotBufs,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            entries: VecDeque::new(),
            next_id: 0,
            slower_than_us: 10_000,
            max_len: 128,
            scratch: SnapshotBufs::default(),
        }
    }
}

impl SlowLog {
    /// True when a command that took `us` microseconds belongs in the log.
    pub fn wants(&self, us: u64) -> bool {
        self.slower_than_us >= 0 && us >= self.slower_than_us as u64
    }

    /// Adds an entry, dropping the oldest ones beyond `max_len`.
    pub fn push(&mut self, mut e: SlowEntry) {
        e.id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(e);
        self.trim();
    }

    /// Drops the oldest entries beyond `max_len` (after CONFIG SET slowlog-max-len too).
    pub fn trim(&mut self) {
        self.entries.truncate(self.max_len);
    }
}

/// A command's arguments as the slow log would keep them, copied into one buffer before the
/// handler consumes them (the handler owns the arguments; most commands are never logged, so the
/// copy is kept cheap: into [`SlowLog::scratch`], given back by [`ArgSnapshot::recycle`]).
pub struct ArgSnapshot {
    bytes: Vec<u8>,
    /// (end offset in `bytes`, original length) per kept argument.
    parts: Vec<(usize, usize)>,
    total: usize,
}

/// The buffers an [`ArgSnapshot`] copies into, kept between commands (see [`SlowLog::scratch`]).
#[derive(Default)]
pub struct SnapshotBufs {
    bytes: Vec<u8>,
    parts: Vec<(usize, usize)>,
}

impl ArgSnapshot {
    /// Copies the first [`SLOWLOG_MAX_ARGS`] arguments, each cut at [`SLOWLOG_MAX_ARG_BYTES`].
    /// `bufs` are the buffers to copy into (their contents are dropped).
    pub fn take(args: &[Vec<u8>], bufs: SnapshotBufs) -> ArgSnapshot {
        let SnapshotBufs {
            mut bytes,
            mut parts,
        } = bufs;
        let keep = args.len().min(SLOWLOG_MAX_ARGS);
        let size = args[..keep]
            .iter()
            .map(|a| a.len().min(SLOWLOG_MAX_ARG_BYTES))
            .sum();
        bytes.clear();
        bytes.reserve(size);
        parts.clear();
        parts.reserve(keep);
        for a in &args[..keep] {
            bytes.extend_from_slice(&a[..a.len().min(SLOWLOG_MAX_ARG_BYTES)]);
            parts.push((bytes.len(), a.len()));
        }
        ArgSnapshot {
            bytes,
            parts,
            total: args.len(),
        }
    }

    /// The copy's buffers, for the next snapshot.
    pub fn recycle(self) -> SnapshotBufs {
        SnapshotBufs {
            bytes: self.bytes,
            parts: self.parts,
        }
    }

    /// The arguments as SLOWLOG GET shows them (see [`slowlog_args`]).
    pub fn to_args(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.parts.len());
        let mut start = 0;
        for (i, &(end, orig)) in self.parts.iter().enumerate() {
            if i == SLOWLOG_MAX_ARGS - 1 && self.total > SLOWLOG_MAX_ARGS {
                out.push(format!("... ({} more arguments)", self.total - i).into_bytes());
                break;
            }
            let mut a = self.bytes[start..end].to_vec();
            start = end;
            if orig > a.len() {
                a.extend_from_slice(format!("... ({} more bytes)", orig - a.len()).as_bytes());
            }
            out.push(a);
        }
        out
    }
}

/// Shortens a command's arguments as Redis's slow log does: at most 32 (the last one then says how
/// many more there were), each at most 128 bytes (followed by how many more bytes there were).
pub fn slowlog_args(args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let keep = if args.len() > SLOWLOG_MAX_ARGS {
        SLOWLOG_MAX_ARGS - 1
    } else {
        args.len()
    };
    let mut out: Vec<Vec<u8>> = args[..keep]
        .iter()
        .map(|a| {
            if a.len() > SLOWLOG_MAX_ARG_BYTES {
                let mut s = a[..SLOWLOG_MAX_ARG_BYTES].to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_ARG_BYTES).as_bytes(),
                );
                s
            } else {
                a.clone()
            }
        })
        .collect();
    if keep < args.len() {
        out.push(format!("... ({} more arguments)", args.len() - keep).into_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowlog_shortens_like_redis() {
        let many: Vec<Vec<u8>> = (0..40).map(|i| i.to_string().into_bytes()).collect();
        let s = slowlog_args(&many);
        assert_eq!(s.len(), 32);
        assert_eq!(s[31], b"... (9 more arguments)");
        let long = vec![b"set".to_vec(), vec![b'x'; 130]];
        let s = slowlog_args(&long);
        assert_eq!(s[1].len(), 128 + "... (2 more bytes)".len());
        assert_eq!(
            ArgSnapshot::take(&long, SnapshotBufs::default()).to_args(),
            s
        );
        let snap = ArgSnapshot::take(&many, SnapshotBufs::default());
        assert_eq!(snap.to_args(), slowlog_args(&many));
        // Reused buffers keep nothing of the previous copy.
        let again = ArgSnapshot::take(&long, snap.recycle());
        assert_eq!(again.to_args(), s);
    }

    #[test]
    fn slowlog_keeps_newest_max_len() {
        let mut log = SlowLog {
            max_len: 2,
            ..SlowLog::default()
        };
        for t in 0..3 {
            log.push(SlowEntry {
                id: 0,
                time_s: t,
                duration_us: 1,
                args: vec![],
                addr: String::new(),
                name: vec![],
            });
        }
        let ids: Vec<u64> = log.entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![2, 1]);
        assert!(!SlowLog {
            slower_than_us: -1,
            ..SlowLog::default()
        }
        .wants(1_000_000));
    }
}
