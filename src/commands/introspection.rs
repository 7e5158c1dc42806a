//! The server group's introspection commands: INFO, COMMAND, SLOWLOG, MEMORY.
//!
//! Field names and reply shapes are Redis 7.2's, so tools that parse them keep working. Memory
//! figures are real: `used_memory` is the library's allocator count (`crate::alloc`, every engine
//! in the process), `used_memory_rss` the process's resident set; values that only make sense for
//! a server with its own sockets and replicas are reported as zero rather than invented.

use crate::cmd::args::eq_kw;
use crate::cmd::{flags::*, table, Args, CommandSpec, Ctx};
use crate::command;
use crate::engine::Store;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::Value;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("info", -1, 0, 0, 0, 0, info),
    command!("command", -1, 0, 0, 0, 0, command_cmd),
    command!("slowlog", -2, ADMIN, 0, 0, 0, slowlog),
    command!("memory", -2, 0, 0, 0, 0, memory),
];

// ---------------------------------------------------------------------------------------------
// Memory estimates
// ---------------------------------------------------------------------------------------------

/// Bytes of bookkeeping per key: the keyspace entry, the object header, allocator rounding.
const KEY_OVERHEAD: usize = 56;
/// Per element of a compact (listpack/intset) encoding.
const COMPACT_ELEM: usize = 2;
/// Per element of a hash table, skip list or quicklist node share.
const TABLE_ELEM: usize = 40;

/// An estimate of the bytes `v` occupies, from its elements' sizes: all of them with
/// `samples == 0`, else the first `samples` averaged over the whole collection (as Redis's
/// `MEMORY USAGE ... SAMPLES` does).
pub fn value_size_sampled(v: &Value, samples: usize) -> usize {
    let limit = if samples == 0 { usize::MAX } else { samples };
    let compact = matches!(v.encoding(), "listpack" | "intset" | "ziplist");
    let per = if compact { COMPACT_ELEM } else { TABLE_ELEM };
    // Sums the first `limit` element sizes and scales them up to `len` elements.
    let scale = |sizes: &mut dyn Iterator<Item = usize>, len: usize| -> usize {
        let (mut n, mut sum) = (0usize, 0usize);
        for s in sizes.take(limit) {
            n += 1;
            sum = sum.saturating_add(s + per);
        }
        sum.checked_div(n).map_or(0, |avg| avg.saturating_mul(len))
    };
    let body = match v {
        Value::Str(s) => match s {
            crate::types::StrValue::Int(_) | crate::types::StrValue::OwnInt(_) => 0,
            _ => s.len() + 1,
        },
        Value::Hash(h) => scale(&mut h.iter().map(|(f, x)| f.len() + x.len()), h.len()),
        Value::Set(s) => scale(&mut s.iter().map(|m| m.len()), s.len()),
        Value::ZSet(z) => scale(&mut z.iter().map(|(m, _)| m.len() + 8), z.len()),
        Value::List(l) => scale(&mut l.iter().map(|e| e.len()), l.len()),
        Value::Stream(st) => {
            let first = st
                .first_entry()
                .map_or(0, |(_, f)| f.iter().map(|x| x.len() + 1).sum::<usize>());
            (first + 16) * st.len() + 64 * st.groups.len()
        }
    };
    body.saturating_add(if compact { 16 } else { 0 })
}

/// [`value_size_sampled`] over every element.
pub fn value_size(v: &Value) -> usize {
    value_size_sampled(v, 0)
}

/// What was allocated when the engine started.
fn startup_bytes(store: &Store) -> usize {
    store.startup_allocated
}

/// `used_memory`: the allocator's count (what `maxmemory` compares with).
fn used_memory(_store: &Store) -> usize {
    crate::engine::evict::used_memory()
}

/// Bookkeeping bytes beyond the data: startup plus every database's key and TTL tables.
fn overhead_bytes(store: &Store) -> usize {
    startup_bytes(store) + store.dbs.iter().map(|d| d.table_bytes()).sum::<usize>()
}

/// The process's resident set size in bytes (0 where it cannot be read).
fn rss_bytes() -> usize {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

fn total_system_memory() -> usize {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as usize * page_size()
    } else {
        0
    }
}

fn human(bytes: usize) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{}B", bytes)
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

// ---------------------------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------------------------

/// Sections `INFO` / `INFO default` print (Redis's default set).
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Every section, in Redis's order (`INFO all` adds commandstats and latencystats).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// `INFO [section [section ...]]`
fn info(ctx: &mut Ctx, args: Args) -> CmdResult {
    let asked: Vec<String> = args
        .map(|a| String::from_utf8_lossy(&a).to_lowercase())
        .collect();
    let mut wanted: Vec<&str> = Vec::new();
    if asked.is_empty() {
        wanted.extend(DEFAULT_SECTIONS);
    }
    for a in &asked {
        match a.as_str() {
            "all" | "everything" => wanted.extend(ALL_SECTIONS),
            "default" => wanted.extend(DEFAULT_SECTIONS),
            s => {
                if let Some(s) = ALL_SECTIONS.iter().find(|x| **x == s) {
                    wanted.push(s);
                }
            }
        }
    }
    let mut out = String::new();
    let now_ms = ctx.env.now_ms;
    let now_us = ctx.env.now_us;
    for section in ALL_SECTIONS.iter().filter(|s| wanted.contains(s)) {
        let fields = section_fields(ctx.store, section, now_ms, now_us);
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        out.push_str("# ");
        out.push_str(&title(section));
        out.push_str("\r\n");
        for (k, v) in fields {
            out.push_str(&k);
            out.push(':');
            out.push_str(&v);
            out.push_str("\r\n");
        }
    }
    Ok(Reply::Verbatim(out.into_bytes()))
}

fn title(section: &str) -> String {
    match section {
        "cpu" => "CPU".into(),
        "commandstats" => "Commandstats".into(),
        "errorstats" => "Errorstats".into(),
        "latencystats" => "Latencystats".into(),
        s => {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn cfg_value(store: &Store, name: &str, default: &str) -> String {
    store
        .config
        .get(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| default.to_string())
}

type Fields = Vec<(String, String)>;

fn kv(pairs: &[(&str, String)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn section_fields(store: &Store, section: &str, now_ms: i64, now_us: i64) -> Fields {
    let uptime_s = (now_ms - store.started_ms).max(0) / 1000;
    let z = || "0".to_string();
    match section {
        "server" => kv(&[
            (
                "redis_version",
                crate::commands::connection::REDIS_VERSION.into(),
            ),
            ("redis_git_sha1", "00000000".into()),
            ("redis_git_dirty", z()),
            ("redis_build_id", "0".into()),
            ("redis_mode", "standalone".into()),
            (
                "os",
                format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            ),
            ("arch_bits", (usize::BITS).to_string()),
            ("monotonic_clock", "POSIX clock_gettime".into()),
            ("multiplexing_api", "in-process".into()),
            ("atomicvar_api", "c11-builtin".into()),
            ("gcc_version", "0.0.0".into()),
            ("process_id", std::process::id().to_string()),
            ("process_supervised", "no".into()),
            ("run_id", format!("{:040x}", store.started_ms)),
            ("tcp_port", z()),
            ("server_time_usec", now_us.to_string()),
            ("uptime_in_seconds", uptime_s.to_string()),
            ("uptime_in_days", (uptime_s / 86_400).to_string()),
            ("hz", cfg_value(store, "hz", "10")),
            ("configured_hz", cfg_value(store, "hz", "10")),
            ("lru_clock", ((now_ms / 1000) & ((1 << 24) - 1)).to_string()),
            ("executable", "burner-redis".into()),
            ("config_file", String::new()),
            ("io_threads_active", z()),
        ]),
        "clients" => {
            let watching = store.clients.len().min(
                store
                    .watched
                    .values()
                    .flat_map(|w| w.iter().map(|(id, _)| *id))
                    .collect::<hashbrown::HashSet<u64>>()
                    .len(),
            );
            kv(&[
                ("connected_clients", store.clients.len().to_string()),
                ("cluster_connections", z()),
                ("maxclients", "10000".into()),
                ("client_recent_max_input_buffer", z()),
                ("client_recent_max_output_buffer", z()),
                ("blocked_clients", store.blocking.count().to_string()),
                ("tracking_clients", z()),
                ("pubsub_clients", z()),
                ("watching_clients", watching.to_string()),
                ("clients_in_timeout_table", z()),
                ("total_watched_keys", store.watched.len().to_string()),
                ("total_blocking_keys", z()),
                ("total_blocking_keys_on_nokey", z()),
            ])
        }
        "memory" => {
            let used = used_memory(store);
            let startup = startup_bytes(store);
            let overhead = overhead_bytes(store).min(used);
            let dataset = used - overhead;
            let peak = crate::alloc::peak();
            let rss = rss_bytes().max(1);
            let system = total_system_memory();
            let frag = format!("{:.2}", rss as f64 / used.max(1) as f64);
            let maxmemory: usize = cfg_value(store, "maxmemory", "0").parse().unwrap_or(0);
            let pct = |a: usize, b: usize| {
                if b == 0 {
                    "0.00%".to_string()
                } else {
                    format!("{:.2}%", a as f64 * 100.0 / b as f64)
                }
            };
            kv(&[
                ("used_memory", used.to_string()),
                ("used_memory_human", human(used)),
                ("used_memory_rss", rss.to_string()),
                ("used_memory_rss_human", human(rss)),
                ("used_memory_peak", peak.to_string()),
                ("used_memory_peak_human", human(peak)),
                ("used_memory_peak_perc", pct(used, peak)),
                ("used_memory_overhead", overhead.to_string()),
                ("used_memory_startup", startup.to_string()),
                ("used_memory_dataset", dataset.to_string()),
                ("used_memory_dataset_perc", pct(dataset, used)),
                ("allocator_allocated", used.to_string()),
                ("allocator_active", used.to_string()),
                ("allocator_resident", rss.to_string()),
                ("total_system_memory", system.to_string()),
                ("total_system_memory_human", human(system)),
                ("used_memory_lua", z()),
                ("used_memory_vm_eval", z()),
                ("used_memory_lua_human", "0B".into()),
                ("used_memory_scripts_eval", z()),
                ("number_of_cached_scripts", z()),
                ("number_of_functions", z()),
                ("number_of_libraries", z()),
                ("used_memory_vm_functions", z()),
                ("used_memory_vm_total", z()),
                ("used_memory_vm_total_human", "0B".into()),
                ("used_memory_functions", z()),
                ("used_memory_scripts", z()),
                ("used_memory_scripts_human", "0B".into()),
                ("maxmemory", maxmemory.to_string()),
                ("maxmemory_human", human(maxmemory)),
                (
                    "maxmemory_policy",
                    cfg_value(store, "maxmemory-policy", "noeviction"),
                ),
                ("allocator_frag_ratio", "1.00".into()),
                ("allocator_frag_bytes", z()),
                ("allocator_rss_ratio", "1.00".into()),
                ("allocator_rss_bytes", z()),
                ("rss_overhead_ratio", "1.00".into()),
                ("rss_overhead_bytes", z()),
                ("mem_fragmentation_ratio", frag),
                (
                    "mem_fragmentation_bytes",
                    rss.saturating_sub(used).to_string(),
                ),
                ("mem_not_counted_for_evict", z()),
                ("mem_replication_backlog", z()),
                ("mem_total_replication_buffers", z()),
                ("mem_clients_slaves", z()),
                ("mem_clients_normal", z()),
                ("mem_cluster_links", z()),
                ("mem_aof_buffer", z()),
                ("mem_allocator", "rust".into()),
                ("active_defrag_running", z()),
                ("lazyfree_pending_objects", z()),
                ("lazyfreed_objects", z()),
            ])
        }
        "persistence" => {
            let (aof, lastsave_ms, saving) = match &store.persist {
                Some(a) => (
                    a.shared.cfg.appendonly,
                    a.shared.lastsave_ms(),
                    a.shared.saving(),
                ),
                None => (false, store.started_ms, false),
            };
            let b = |x: bool| if x { "1" } else { "0" }.to_string();
            kv(&[
                ("loading", z()),
                ("async_loading", z()),
                ("current_cow_peak", z()),
                ("current_cow_size", z()),
                ("current_cow_size_age", z()),
                ("current_fork_perc", "0.00".into()),
                ("current_save_keys_processed", z()),
                ("current_save_keys_total", z()),
                ("rdb_changes_since_last_save", store.dirty.to_string()),
                ("rdb_bgsave_in_progress", b(saving)),
                ("rdb_last_save_time", (lastsave_ms / 1000).to_string()),
                ("rdb_last_bgsave_status", "ok".into()),
                ("rdb_last_bgsave_time_sec", "-1".into()),
                ("rdb_current_bgsave_time_sec", "-1".into()),
                ("rdb_saves", z()),
                ("rdb_last_cow_size", z()),
                ("rdb_last_load_keys_expired", z()),
                ("rdb_last_load_keys_loaded", z()),
                ("aof_enabled", b(aof)),
                ("aof_rewrite_in_progress", z()),
                ("aof_rewrite_scheduled", z()),
                ("aof_last_rewrite_time_sec", "-1".into()),
                ("aof_current_rewrite_time_sec", "-1".into()),
                ("aof_last_bgrewrite_status", "ok".into()),
                ("aof_rewrites", z()),
                ("aof_rewrites_consecutive_failures", z()),
                ("aof_last_write_status", "ok".into()),
                ("aof_last_cow_size", z()),
                ("module_fork_in_progress", z()),
                ("module_fork_last_cow_size", z()),
            ])
        }
        "stats" => {
            let s = &store.stats;
            let mut f = kv(&[
                (
                    "total_connections_received",
                    s.connections_received.to_string(),
                ),
                ("total_commands_processed", s.commands.to_string()),
                ("instantaneous_ops_per_sec", z()),
                ("total_net_input_bytes", z()),
                ("total_net_output_bytes", z()),
                ("total_net_repl_input_bytes", z()),
                ("total_net_repl_output_bytes", z()),
                ("instantaneous_input_kbps", "0.00".into()),
                ("instantaneous_output_kbps", "0.00".into()),
                ("instantaneous_input_repl_kbps", "0.00".into()),
                ("instantaneous_output_repl_kbps", "0.00".into()),
                ("rejected_connections", z()),
                ("sync_full", z()),
                ("sync_partial_ok", z()),
                ("sync_partial_err", z()),
                ("expired_keys", s.expired_keys.to_string()),
                ("expired_stale_perc", "0.00".into()),
                ("expired_time_cap_reached_count", z()),
                ("expire_cycle_cpu_milliseconds", z()),
                ("evicted_keys", s.evicted_keys.to_string()),
                ("evicted_clients", z()),
                ("total_eviction_exceeded_time", z()),
                ("current_eviction_exceeded_time", z()),
                ("keyspace_hits", s.keyspace_hits.to_string()),
                ("keyspace_misses", s.keyspace_misses.to_string()),
                ("pubsub_channels", z()),
                ("pubsub_patterns", store.pubsub.numpat().to_string()),
                ("pubsubshard_channels", z()),
                ("latest_fork_usec", z()),
                ("total_forks", z()),
                ("migrate_cached_sockets", z()),
                ("slave_expires_tracked_keys", z()),
                ("active_defrag_hits", z()),
                ("active_defrag_misses", z()),
                ("active_defrag_key_hits", z()),
                ("active_defrag_key_misses", z()),
                ("total_active_defrag_time", z()),
                ("current_active_defrag_time", z()),
                ("tracking_total_keys", z()),
                ("tracking_total_items", z()),
                ("tracking_total_prefixes", z()),
                ("unexpected_error_replies", z()),
                ("total_error_replies", s.total_error_replies.to_string()),
                ("dump_payload_sanitizations", z()),
                ("total_reads_processed", s.commands.to_string()),
                ("total_writes_processed", s.commands.to_string()),
                ("io_threaded_reads_processed", z()),
                ("io_threaded_writes_processed", z()),
                ("reply_buffer_shrinks", z()),
                ("reply_buffer_expands", z()),
            ]);
            // Redis 7.2's additions.
            f.extend(kv(&[
                ("eventloop_cycles", s.commands.to_string()),
                ("eventloop_duration_sum", total_usec(store).to_string()),
                ("eventloop_duration_cmd_sum", total_usec(store).to_string()),
                ("instantaneous_eventloop_cycles_per_sec", z()),
                ("instantaneous_eventloop_duration_usec", z()),
                ("acl_access_denied_auth", z()),
                ("acl_access_denied_cmd", z()),
                ("acl_access_denied_key", z()),
                ("acl_access_denied_channel", z()),
            ]));
            f
        }
        "replication" => kv(&[
            ("role", "master".into()),
            ("connected_slaves", z()),
            ("master_failover_state", "no-failover".into()),
            ("master_replid", format!("{:040x}", store.started_ms)),
            ("master_replid2", "0".repeat(40)),
            ("master_repl_offset", z()),
            ("second_repl_offset", "-1".into()),
            ("repl_backlog_active", z()),
            ("repl_backlog_size", "1048576".into()),
            ("repl_backlog_first_byte_offset", z()),
            ("repl_backlog_histlen", z()),
        ]),
        "cpu" => {
            let secs = format!("{:.6}", total_usec(store) as f64 / 1e6);
            kv(&[
                ("used_cpu_sys", "0.000000".into()),
                ("used_cpu_user", secs.clone()),
                ("used_cpu_sys_children", "0.000000".into()),
                ("used_cpu_user_children", "0.000000".into()),
                ("used_cpu_sys_main_thread", "0.000000".into()),
                ("used_cpu_user_main_thread", secs),
            ])
        }
        "commandstats" => {
            let mut names: Vec<(&str, &crate::engine::stats::CommandStat)> =
                store.stats.commands().collect();
            names.sort_by(|a, b| a.0.cmp(b.0));
            names
                .into_iter()
                .filter(|(_, c)| c.calls + c.rejected + c.failed > 0)
                .map(|(n, c)| {
                    let per = if c.calls == 0 {
                        0.0
                    } else {
                        c.usec as f64 / c.calls as f64
                    };
                    (
                        format!("cmdstat_{}", n),
                        format!(
                            "calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                            c.calls, c.usec, per, c.rejected, c.failed
                        ),
                    )
                })
                .collect()
        }
        "errorstats" => {
            let mut errs: Vec<(&String, &u64)> = store.stats.errors.iter().collect();
            errs.sort();
            errs.into_iter()
                .map(|(e, n)| (format!("errorstat_{}", e), format!("count={}", n)))
                .collect()
        }
        "cluster" => kv(&[("cluster_enabled", z())]),
        "keyspace" => store
            .dbs
            .iter()
            .enumerate()
            .filter(|(_, db)| !db.is_empty())
            .map(|(i, db)| {
                (
                    format!("db{}", i),
                    format!(
                        "keys={},expires={},avg_ttl={}",
                        db.len(),
                        db.expires_len(),
                        avg_ttl(db, now_ms)
                    ),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn total_usec(store: &Store) -> u64 {
    store.stats.commands().map(|(_, c)| c.usec).sum()
}

/// Average remaining TTL in ms over (up to 1000 of) the keys with one.
fn avg_ttl(db: &crate::engine::Db, now_ms: i64) -> i64 {
    let (mut n, mut sum) = (0i64, 0i64);
    for (_, at) in db.iter_expires().take(1000) {
        n += 1;
        sum = sum.saturating_add((at - now_ms).max(0));
    }
    if n == 0 {
        0
    } else {
        sum / n
    }
}

// ---------------------------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------------------------

/// `SLOWLOG GET [count] | LEN | RESET | HELP`
fn slowlog(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    let arity = |n: &str| CmdError::WrongArity(format!("slowlog|{}", n));
    if eq_kw(&sub, "GET") {
        if args.remaining() > 1 {
            return Err(arity("get"));
        }
        let count = match args.next_opt() {
            None => 10,
            Some(c) => {
                let n = crate::cmd::args::parse_i64_opt(&c).unwrap_or(i64::MIN);
                if n < -1 {
                    return Err(CmdError::err("count should be greater than or equal to -1"));
                }
                if n == -1 {
                    usize::MAX
                } else {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }
            }
        };
        let entries = ctx
            .store
            .slowlog
            .entries
            .iter()
            .take(count)
            .map(|e| {
                Reply::Array(vec![
                    Reply::Int(e.id as i64),
                    Reply::Int(e.time_s),
                    Reply::Int(e.duration_us as i64),
                    Reply::Array(e.args.iter().map(|a| Reply::bulk(a)).collect()),
                    Reply::bulk(e.addr.as_bytes()),
                    Reply::bulk(&e.name),
                ])
            })
            .collect();
        return Ok(Reply::Array(entries));
    }
    if eq_kw(&sub, "LEN") {
        if !args.is_empty() {
            return Err(arity("len"));
        }
        return Ok(Reply::Int(ctx.store.slowlog.entries.len() as i64));
    }
    if eq_kw(&sub, "RESET") {
        if !args.is_empty() {
            return Err(arity("reset"));
        }
        ctx.store.slowlog.entries.clear();
        return Ok(Reply::ok());
    }
    if eq_kw(&sub, "HELP") {
        return Ok(help(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ]));
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "slowlog".into(),
        sub: String::from_utf8_lossy(&sub).into_owned(),
    })
}

fn help(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::Status((*l).into())).collect())
}

// ---------------------------------------------------------------------------------------------
// MEMORY
// ---------------------------------------------------------------------------------------------

/// `MEMORY USAGE key [SAMPLES count] | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP`
fn memory(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    if eq_kw(&sub, "USAGE") {
        let Some(key) = args.next_opt() else {
            return Err(CmdError::WrongArity("memory|usage".into()));
        };
        let mut samples = 5usize;
        while let Some(opt) = args.next_opt() {
            if eq_kw(&opt, "SAMPLES") && !args.is_empty() {
                let n = args.next_i64()?;
                if n < 0 {
                    return Err(CmdError::Syntax);
                }
                samples = usize::try_from(n).unwrap_or(usize::MAX);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        return Ok(match ctx.lookup(&key) {
            None => Reply::Nil,
            Some(v) => {
                Reply::Int((KEY_OVERHEAD + key.len() + value_size_sampled(v, samples)) as i64)
            }
        });
    }
    if eq_kw(&sub, "STATS") {
        return Ok(memory_stats(ctx.store));
    }
    if eq_kw(&sub, "DOCTOR") {
        let text = if ctx.store.dbs.iter().all(|d| d.is_empty()) {
            "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
        } else {
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
        };
        return Ok(Reply::Verbatim(text.as_bytes().to_vec()));
    }
    if eq_kw(&sub, "MALLOC-STATS") {
        return Ok(Reply::Verbatim(
            b"Stats not supported for the current allocator".to_vec(),
        ));
    }
    if eq_kw(&sub, "PURGE") {
        return Ok(Reply::ok());
    }
    if eq_kw(&sub, "HELP") {
        return Ok(help(&[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ]));
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "memory".into(),
        sub: String::from_utf8_lossy(&sub).into_owned(),
    })
}

fn memory_stats(store: &Store) -> Reply {
    let b = |s: &str| Reply::bulk(s.as_bytes());
    let n = |x: usize| Reply::Int(x as i64);
    let used = used_memory(store);
    let startup = startup_bytes(store);
    let keys: usize = store.dbs.iter().map(|d| d.len()).sum();
    let overhead = overhead_bytes(store);
    let dataset = used.saturating_sub(overhead);
    let peak = crate::alloc::peak();
    let rss = rss_bytes();
    let mut m = vec![
        (b("peak.allocated"), n(peak)),
        (b("total.allocated"), n(used)),
        (b("startup.allocated"), n(startup)),
        (b("replication.backlog"), n(0)),
        (b("clients.slaves"), n(0)),
        (b("clients.normal"), n(0)),
        (b("cluster.links"), n(0)),
        (b("aof.buffer"), n(0)),
        (b("lua.caches"), n(0)),
        (b("functions.caches"), n(0)),
    ];
    for (i, db) in store.dbs.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        m.push((
            b(&format!("db.{}", i)),
            Reply::Map(vec![
                (b("overhead.hashtable.main"), n(db.table_bytes())),
                (b("overhead.hashtable.expires"), n(db.expires_len() * 48)),
            ]),
        ));
    }
    let pct = |a: usize, t: usize| {
        if t == 0 {
            0.0
        } else {
            a as f64 * 100.0 / t as f64
        }
    };
    m.extend([
        (b("overhead.total"), n(overhead)),
        (b("keys.count"), n(keys)),
        (
            b("keys.bytes-per-key"),
            n(used.checked_div(keys).unwrap_or(0)),
        ),
        (b("dataset.bytes"), n(dataset)),
        (b("dataset.percentage"), Reply::Double(pct(dataset, used))),
        (b("peak.percentage"), Reply::Double(pct(used, peak))),
        (
            b("fragmentation"),
            Reply::Double(rss as f64 / used.max(1) as f64),
        ),
        (b("fragmentation.bytes"), n(rss.saturating_sub(used))),
    ]);
    Reply::Map(m)
}

// ---------------------------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------------------------

/// Which group a command's table came from (its docs group and ACL category).
fn group_of(spec: &CommandSpec) -> &'static str {
    use crate::commands::*;
    let groups: &[(&[CommandSpec], &str)] = &[
        (connection::COMMANDS, "connection"),
        (generic::COMMANDS, "generic"),
        (hash::COMMANDS, "hash"),
        (list::COMMANDS, "list"),
        (persistence::COMMANDS, "server"),
        (pubsub::COMMANDS, "pubsub"),
        (scripting::COMMANDS, "scripting"),
        (server::COMMANDS, "server"),
        (COMMANDS, "server"),
        (set::COMMANDS, "set"),
        (sorted_set::COMMANDS, "sorted-set"),
        (stream::COMMANDS, "stream"),
        (string::COMMANDS, "string"),
        (transactions::COMMANDS, "transactions"),
    ];
    for (table, name) in groups {
        if table.iter().any(|s| s.name == spec.name) {
            return name;
        }
    }
    "server"
}

/// Redis's ACL categories of a command, in Redis's order.
fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    let group = group_of(spec);
    let mut cats = Vec::new();
    let push_if = |c: &mut Vec<&'static str>, cond: bool, name: &'static str| {
        if cond {
            c.push(name);
        }
    };
    push_if(&mut cats, group == "generic", "@keyspace");
    push_if(&mut cats, spec.has(READONLY), "@read");
    push_if(&mut cats, spec.has(WRITE), "@write");
    push_if(&mut cats, group == "set", "@set");
    push_if(&mut cats, group == "sorted-set", "@sortedset");
    push_if(&mut cats, group == "list", "@list");
    push_if(&mut cats, group == "hash", "@hash");
    push_if(&mut cats, group == "string", "@string");
    push_if(&mut cats, group == "stream", "@stream");
    push_if(&mut cats, spec.has(PUBSUB) || group == "pubsub", "@pubsub");
    push_if(&mut cats, spec.has(ADMIN), "@admin");
    push_if(&mut cats, spec.has(FAST), "@fast");
    push_if(&mut cats, !spec.has(FAST), "@slow");
    push_if(&mut cats, spec.has(BLOCKING), "@blocking");
    push_if(&mut cats, spec.has(ADMIN), "@dangerous");
    push_if(&mut cats, group == "connection", "@connection");
    push_if(&mut cats, group == "transactions", "@transaction");
    push_if(&mut cats, group == "scripting", "@scripting");
    cats
}

/// Commands whose keys may be absent (EVAL with numkeys 0): GETKEYS replies with an empty list.
fn no_mandatory_keys(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

fn flag_names(spec: &CommandSpec) -> Vec<&'static str> {
    let mut fl = vec![];
    for (bit, name) in [
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (FAST, "fast"),
    ] {
        if spec.has(bit) {
            fl.push(name);
        }
    }
    if no_mandatory_keys(spec.name) {
        fl.push("no_mandatory_keys");
    }
    if spec.has(MOVABLE_KEYS) {
        fl.push("movablekeys");
    }
    fl
}

/// The key specification Redis 7 describes a fixed key range with.
fn key_specs(spec: &CommandSpec) -> Reply {
    if spec.first_key <= 0 {
        return Reply::Array(vec![]);
    }
    let b = |s: &str| Reply::bulk(s.as_bytes());
    let st = |s: &'static str| Reply::Status(s.into());
    let flags: Vec<Reply> = if spec.has(WRITE) {
        vec![st("RW"), st("access"), st("update")]
    } else {
        vec![st("RO"), st("access")]
    };
    let lastkey = if spec.last_key < 0 {
        spec.last_key
    } else {
        spec.last_key - spec.first_key
    };
    Reply::Array(vec![Reply::Map(vec![
        (b("flags"), Reply::Set(flags)),
        (
            b("begin_search"),
            Reply::Map(vec![
                (b("type"), b("index")),
                (
                    b("spec"),
                    Reply::Map(vec![(b("index"), Reply::Int(spec.first_key as i64))]),
                ),
            ]),
        ),
        (
            b("find_keys"),
            Reply::Map(vec![
                (b("type"), b("range")),
                (
                    b("spec"),
                    Reply::Map(vec![
                        (b("lastkey"), Reply::Int(lastkey as i64)),
                        (b("keystep"), Reply::Int(spec.step as i64)),
                        (b("limit"), Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

/// One COMMAND INFO entry: Redis 7's ten fields.
fn command_info(spec: &CommandSpec) -> Reply {
    Reply::Array(vec![
        Reply::bulk(spec.name.as_bytes()),
        Reply::Int(spec.arity as i64),
        Reply::Set(
            flag_names(spec)
                .into_iter()
                .map(|f| Reply::Status(f.into()))
                .collect(),
        ),
        Reply::Int(spec.first_key as i64),
        Reply::Int(spec.last_key as i64),
        Reply::Int(spec.step as i64),
        Reply::Set(
            acl_categories(spec)
                .into_iter()
                .map(|c| Reply::Status(c.into()))
                .collect(),
        ),
        Reply::Set(vec![]),
        key_specs(spec),
        // Redis replies an empty *set* when a command has no subcommands.
        Reply::Set(vec![]),
    ])
}

/// `COMMAND [COUNT | LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pat] | INFO [name ...] |
/// DOCS [name ...] | GETKEYS command [arg ...] | GETKEYSANDFLAGS command [arg ...] | HELP]`
fn command_cmd(_ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let all = &table().all;
    let Some(sub) = args.next_opt() else {
        return Ok(Reply::Array(all.iter().map(|s| command_info(s)).collect()));
    };
    let arity = |n: &str| CmdError::WrongArity(format!("command|{}", n));
    if eq_kw(&sub, "COUNT") {
        if !args.is_empty() {
            return Err(arity("count"));
        }
        return Ok(Reply::Int(all.len() as i64));
    }
    if eq_kw(&sub, "LIST") {
        let filter = match args.remaining() {
            0 => None,
            3 => {
                let kw = args.next_bytes()?;
                let kind = args.next_bytes()?;
                let val = args.next_bytes()?;
                if !eq_kw(&kw, "FILTERBY") {
                    return Err(CmdError::Syntax);
                }
                Some((kind, val))
            }
            _ => return Err(CmdError::Syntax),
        };
        let mut out = Vec::new();
        for s in all.iter() {
            let keep = match &filter {
                None => true,
                Some((kind, val)) if eq_kw(kind, "MODULE") => {
                    let _ = val;
                    false
                }
                Some((kind, val)) if eq_kw(kind, "ACLCAT") => {
                    let want = String::from_utf8_lossy(val).to_lowercase();
                    acl_categories(s)
                        .iter()
                        .any(|c| c.trim_start_matches('@') == want)
                }
                Some((kind, val)) if eq_kw(kind, "PATTERN") => {
                    crate::glob::glob_match(val, s.name.as_bytes(), true)
                }
                Some(_) => return Err(CmdError::Syntax),
            };
            if keep {
                out.push(Reply::bulk(s.name.as_bytes()));
            }
        }
        return Ok(Reply::Array(out));
    }
    if eq_kw(&sub, "INFO") {
        let names = args.rest();
        if names.is_empty() {
            return Ok(Reply::Array(all.iter().map(|s| command_info(s)).collect()));
        }
        return Ok(Reply::Array(
            names
                .iter()
                .map(|n| table().get(n).map(command_info).unwrap_or(Reply::NilArray))
                .collect(),
        ));
    }
    if eq_kw(&sub, "DOCS") {
        let names = args.rest();
        let specs: Vec<&CommandSpec> = if names.is_empty() {
            all.to_vec()
        } else {
            names.iter().filter_map(|n| table().get(n)).collect()
        };
        return Ok(Reply::Map(
            specs
                .into_iter()
                .map(|s| {
                    (
                        Reply::bulk(s.name.as_bytes()),
                        Reply::Map(vec![(
                            Reply::bulk(b"group"),
                            Reply::bulk(group_of(s).as_bytes()),
                        )]),
                    )
                })
                .collect(),
        ));
    }
    if eq_kw(&sub, "GETKEYS") || eq_kw(&sub, "GETKEYSANDFLAGS") {
        let with_flags = eq_kw(&sub, "GETKEYSANDFLAGS");
        let argv = args.rest();
        if argv.len() < 2 {
            return Err(arity(if with_flags {
                "getkeysandflags"
            } else {
                "getkeys"
            }));
        }
        let Some(spec) = table().get(&argv[0]) else {
            return Err(CmdError::err("Invalid command specified"));
        };
        if !spec.arity_ok(argv.len()) {
            return Err(CmdError::err(
                "Invalid number of arguments specified for command",
            ));
        }
        let positions = match key_positions(spec, &argv) {
            Some(p) => p,
            None if spec.first_key == 0 && !spec.has(MOVABLE_KEYS) => {
                return Err(CmdError::err("The command has no key arguments"))
            }
            None if no_mandatory_keys(spec.name) => Vec::new(),
            None => return Err(CmdError::err("Invalid arguments specified for command")),
        };
        if positions.is_empty() && !no_mandatory_keys(spec.name) {
            return Err(CmdError::err("Invalid arguments specified for command"));
        }
        return Ok(Reply::Array(
            positions
                .into_iter()
                .filter_map(|i| argv.get(i))
                .map(|k| {
                    if with_flags {
                        let fl = if spec.has(WRITE) {
                            vec!["RW", "access", "update"]
                        } else {
                            vec!["RO", "access"]
                        };
                        Reply::Array(vec![
                            Reply::bulk(k),
                            Reply::Array(fl.into_iter().map(|f| Reply::Status(f.into())).collect()),
                        ])
                    } else {
                        Reply::bulk(k)
                    }
                })
                .collect(),
        ));
    }
    if eq_kw(&sub, "HELP") {
        return Ok(help(&[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Print this help.",
        ]));
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "command".into(),
        sub: String::from_utf8_lossy(&sub).into_owned(),
    })
}

/// Positions of the keys in `argv` (name at 0), or None when the arguments do not say (a bad
/// numkeys, no STREAMS...). Movable-key commands are read as Redis reads them.
fn key_positions(spec: &CommandSpec, argv: &[Vec<u8>]) -> Option<Vec<usize>> {
    let num_at = |i: usize| -> Option<usize> {
        let n = crate::cmd::args::parse_i64_opt(argv.get(i)?)?;
        usize::try_from(n).ok()
    };
    // `numkeys` at `at`, then that many keys.
    let counted = |at: usize, before: Vec<usize>| -> Option<Vec<usize>> {
        let n = num_at(at)?;
        let end = at.checked_add(n)?;
        if end >= argv.len() {
            return None;
        }
        let mut v = before;
        v.extend(at + 1..=end);
        Some(v)
    };
    match spec.name {
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" => {
            let n = num_at(2)?;
            if n == 0 || 2 + n >= argv.len() {
                return None;
            }
            Some((3..3 + n).collect())
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => counted(2, vec![1]),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            counted(1, vec![])
        }
        "blmpop" | "bzmpop" => counted(2, vec![]),
        "xread" | "xreadgroup" => {
            let at = argv
                .iter()
                .position(|a| a.eq_ignore_ascii_case(b"STREAMS"))?;
            let rest = argv.len() - at - 1;
            if rest == 0 || rest % 2 != 0 {
                return None;
            }
            Some((at + 1..at + 1 + rest / 2).collect())
        }
        "sort" | "sort_ro" => {
            let mut v = vec![1];
            let mut i = 2;
            while i < argv.len() {
                let a = &argv[i];
                if eq_kw(a, "STORE") && i + 1 < argv.len() {
                    v.push(i + 1);
                    i += 2;
                } else if eq_kw(a, "LIMIT") {
                    i += 3;
                } else if eq_kw(a, "GET") || eq_kw(a, "BY") {
                    i += 2;
                } else {
                    i += 1;
                }
            }
            Some(v)
        }
        "migrate" => {
            if argv.get(3).is_some_and(|k| !k.is_empty()) {
                return Some(vec![3]);
            }
            let at = argv.iter().position(|a| a.eq_ignore_ascii_case(b"KEYS"))?;
            Some((at + 1..argv.len()).collect())
        }
        _ if spec.first_key > 0 => {
            let first = spec.first_key as usize;
            let last = if spec.last_key < 0 {
                argv.len() as i64 + spec.last_key as i64
            } else {
                spec.last_key as i64
            };
            let step = spec.step.max(1) as usize;
            let last = usize::try_from(last).ok()?.min(argv.len() - 1);
            Some((first..=last).step_by(step).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Vec<u8>> {
        s.split(' ').map(|w| w.as_bytes().to_vec()).collect()
    }

    fn keys(s: &str) -> Option<Vec<String>> {
        let a = argv(s);
        let spec = table().get(&a[0]).unwrap();
        key_positions(spec, &a).map(|p| {
            p.into_iter()
                .map(|i| String::from_utf8(a[i].clone()).unwrap())
                .collect()
        })
    }

    #[test]
    fn movable_keys_follow_redis() {
        assert_eq!(
            keys("zunionstore d 2 a b weights 1 2").unwrap(),
            ["d", "a", "b"]
        );
        assert_eq!(keys("xread count 1 streams a b 0 0").unwrap(), ["a", "b"]);
        assert_eq!(keys("mset a 1 b 2").unwrap(), ["a", "b"]);
        assert_eq!(keys("zunionstore d 5 a b"), None);
        assert_eq!(keys("xread streams a"), None);
    }

    #[test]
    fn acl_categories_in_redis_order() {
        let get = table().get(b"get").unwrap();
        assert_eq!(acl_categories(get), ["@read", "@string", "@fast"]);
    }
}
