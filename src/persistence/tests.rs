//! Round trips and damage handling, driven through `Engine::open` with a manual clock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::engine::{Engine, EngineOptions, ManualClock};
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};

const T0: i64 = 1_700_000_000_000;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("burner-persist-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cfg(path: &Path) -> Config {
    let mut c = Config::new(path);
    c.save_rules.clear();
    c.fsync = FsyncPolicy::Always;
    c
}

/// Opens an engine on `c`. An engine dropped just before may still hold the files for a moment
/// (its background thread can hold the last reference while it writes), so a `Locked` error
/// is retried for up to 2 s.
fn open_with(
    c: Config,
    clock: &Arc<ManualClock>,
) -> Result<(Arc<Engine>, Vec<String>), PersistError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let r = Engine::open(EngineOptions {
            clock: clock.clone(),
            active_expiry: false,
            persistence: Some(c.clone()),
            ..Default::default()
        });
        match r {
            Err(e) if e.kind == ErrorKind::Locked && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            r => return r,
        }
    }
}

fn open(path: &Path, clock: &Arc<ManualClock>) -> Arc<Engine> {
    open_with(cfg(path), clock).unwrap().0
}

fn run(e: &Engine, args: &[&str]) -> crate::reply::Reply {
    let mut c = e.open_client();
    let r = e
        .execute(&mut c, args.iter().map(|a| a.as_bytes().to_vec()).collect())
        .unwrap();
    e.close_client(&mut c);
    r
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// One key of every type, some with TTLs, in two databases.
fn fill(e: &Engine) {
    let mut st = e.lock();
    let db = &mut st.dbs[0];
    db.set(b"s", Value::Str(StrValue::raw(b"hello\0world")));
    db.set(b"i", Value::Str(StrValue::Int(-42)));
    let mut h = HashValue::default();
    h.insert(b"f1", b"v1");
    h.insert(b"f2", b"");
    db.set(b"h", Value::Hash(Box::new(h)));
    let mut s = SetValue::default();
    s.insert(b"a");
    s.insert(b"17");
    db.set(b"set", Value::Set(Box::new(s)));
    db.set(
        b"l",
        Value::List(Box::new(
            [b("x"), b("y"), b("x")].into_iter().collect::<ListValue>(),
        )),
    );
    let mut z = ZSetValue::default();
    z.insert(b"m1", 1.5, Default::default());
    z.insert(b"m2", f64::NEG_INFINITY, Default::default());
    db.set(b"z", Value::ZSet(Box::new(z)));
    db.set_expiry(b"h", T0 + 10_000);
    db.set(b"gone", Value::Str(StrValue::Int(1)));
    db.set_expiry(b"gone", T0 + 1_000);
    st.dbs[5].set(b"other", Value::Str(StrValue::raw(b"db5")));
}

fn check(e: &Engine, with_gone: bool) {
    let st = e.lock();
    let db = &st.dbs[0];
    assert!(matches!(db.get(b"s"), Some(Value::Str(StrValue::Raw(v))) if &**v == b"hello\0world"));
    assert!(matches!(db.get(b"i"), Some(Value::Str(StrValue::Int(-42)))));
    let Some(Value::Hash(h)) = db.get(b"h") else {
        panic!("hash")
    };
    assert_eq!(
        h.iter().collect::<Vec<_>>(),
        vec![(&b"f1"[..], &b"v1"[..]), (&b"f2"[..], &b""[..])]
    );
    assert_eq!(db.expiry(b"h"), Some(T0 + 10_000));
    let Some(Value::Set(s)) = db.get(b"set") else {
        panic!("set")
    };
    let mut m: Vec<&[u8]> = s.iter().collect();
    m.sort();
    assert_eq!(m, vec![&b"17"[..], &b"a"[..]]);
    let Some(Value::List(l)) = db.get(b"l") else {
        panic!("list")
    };
    assert_eq!(
        l.iter().cloned().collect::<Vec<_>>(),
        vec![b("x"), b("y"), b("x")]
    );
    let Some(Value::ZSet(z)) = db.get(b"z") else {
        panic!("zset")
    };
    let mut zs: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
    zs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(zs, vec![(b("m1"), 1.5), (b("m2"), f64::NEG_INFINITY)]);
    assert_eq!(db.contains(b"gone"), with_gone);
    assert!(
        matches!(st.dbs[5].get(b"other"), Some(Value::Str(StrValue::Raw(v))) if &**v == b"db5")
    );
}

#[test]
fn every_type_round_trips_with_ttls_and_expired_keys_are_dropped() {
    let dir = tmpdir("roundtrip");
    let p = dir.join("d.dat");
    let clock = Arc::new(ManualClock::new(T0));
    let e = open(&p, &clock);
    fill(&e);
    save(&e, None).unwrap();
    close(&e).unwrap();
    drop(e);
    let e = open(&p, &clock);
    check(&e, true);
    close(&e).unwrap();
    drop(e);
    // Past `gone`'s deadline: left out at load.
    clock.advance_ms(2_000);
    let e = open(&p, &clock);
    check(&e, false);
    // ... and left out at save.
    close(&e).unwrap();
    let data = std::fs::read(&p).unwrap();
    let mut st = crate::engine::Store::new(&EngineOptions::default());
    let loaded = snapshot::load(&p, &data, &mut st, 0).unwrap();
    assert_eq!(loaded.records, 7);
}

#[test]
fn log_replays_writes_and_exec_atomically() {
    let dir = tmpdir("log");
    let p = dir.join("d.dat");
    let clock = Arc::new(ManualClock::new(T0));
    let e = open(&p, &clock);
    run(&e, &["SET", "a", "1"]);
    let mut c = e.open_client();
    for cmd in [
        &["MULTI"][..],
        &["SET", "b", "2"],
        &["SET", "c", "3"],
        &["DEL", "a"],
        &["EXEC"],
    ] {
        e.execute(&mut c, cmd.iter().map(|a| b(a)).collect());
    }
    e.close_client(&mut c);
    run(&e, &["GET", "b"]); // reads are not logged
    drop(e); // no final save: everything must come from the log
    let lp = log::log_path(&p, 1);
    let data = std::fs::read(&lp).unwrap();
    let rl = log::read(&lp, &data, 1, false).unwrap();
    assert_eq!(rl.batches.len(), 2, "SET, then the EXEC as one batch");
    assert_eq!(rl.batches[1].cmds.len(), 3);
    assert_eq!(rl.batches[1].time_us, T0 * 1000);
    let e = open(&p, &clock);
    let st = e.lock();
    assert!(!st.dbs[0].contains(b"a"));
    assert!(matches!(
        st.dbs[0].get(b"c"),
        Some(Value::Str(StrValue::Int(3)))
    ));
}

#[test]
fn spop_is_logged_as_srem_of_what_it_popped() {
    let r = Ok(crate::reply::Reply::Array(vec![
        crate::reply::Reply::Bulk(b("x")),
        crate::reply::Reply::Bulk(b("y")),
    ]));
    let mut ol = OpLog::default();
    let begun = ol.begin(3, &[b("spop"), b("k"), b("2")], 0);
    ol.finish(begun, 1, &r);
    let mut frame = Vec::new();
    ol.take_frame(&mut frame, 7);
    let mut want = Vec::new();
    log::encode_batch(
        &mut want,
        7,
        &[(3, vec![b("SREM"), b("k"), b("x"), b("y")])],
    );
    assert_eq!(frame, want);
}

/// The command path's hand-written MessagePack is byte for byte what serde writes for the same
/// batch (so the reader, which uses serde, reads both), whatever the sizes involved.
#[test]
fn hand_encoded_batches_equal_the_serde_encoding() {
    let big = vec![b'x'; 70_000];
    let mid = vec![b'y'; 300];
    let many: Vec<Vec<u8>> = (0..20).map(|i| format!("a{i}").into_bytes()).collect();
    let cases: Vec<(usize, Vec<Vec<u8>>)> = vec![
        (0, vec![b("SET"), b("k"), b("v")]),
        (200, vec![b("SET"), b(""), mid.clone()]),
        (70_000, vec![b("SET"), b("k"), big.clone()]),
        (5, many),
    ];
    for time_us in [0i64, 1, 200, 70_000, 1_700_000_000_000_000] {
        let mut ol = OpLog::default();
        let mut expect = Vec::new();
        for (dirty, (db, args)) in cases.iter().enumerate() {
            let begun = ol.begin(*db, args, dirty as u64);
            ol.finish(begun, dirty as u64 + 1, &Ok(crate::reply::Reply::ok()));
            expect.push((*db as u32, args.clone()));
        }
        // A command that changed nothing leaves no trace.
        let begun = ol.begin(1, &[b("DEL"), b("nothing")], 9);
        ol.finish(begun, 9, &Ok(crate::reply::Reply::Int(0)));
        // An expiry recorded while a command runs is logged ahead of that command.
        let begun = ol.begin(2, &[b("SET"), b("e"), b("1")], 10);
        ol.record_expired(2, b"e");
        ol.finish(begun, 12, &Ok(crate::reply::Reply::ok()));
        expect.push((2, vec![b("DEL"), b("e")]));
        expect.push((2, vec![b("SET"), b("e"), b("1")]));
        let mut got = Vec::new();
        ol.take_frame(&mut got, time_us);
        let mut want = Vec::new();
        log::encode_batch(&mut want, time_us, &expect);
        assert_eq!(got, want, "time {time_us}");
        assert!(ol.is_empty());
    }
}

fn small_snapshot(dir: &Path) -> PathBuf {
    let p = dir.join("d.dat");
    let clock = Arc::new(ManualClock::new(T0));
    let mut c = cfg(&p);
    c.appendonly = false;
    let (e, _) = open_with(c, &clock).unwrap();
    fill(&e);
    close(&e).unwrap();
    p
}

#[test]
fn any_damaged_or_truncated_byte_of_a_snapshot_is_an_error_never_an_empty_db() {
    let dir = tmpdir("corrupt");
    let p = small_snapshot(&dir);
    let good = std::fs::read(&p).unwrap();
    let mut st = crate::engine::Store::new(&EngineOptions::default());
    snapshot::load(&p, &good, &mut st, 0).unwrap();
    for i in 0..good.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            let mut st = crate::engine::Store::new(&EngineOptions::default());
            let e = snapshot::load(&p, &bad, &mut st, 0)
                .expect_err(&format!("byte {i} ^ {flip:#x} accepted"));
            assert_eq!(e.kind, ErrorKind::Corrupt);
            assert!(e.to_string().contains("d.dat"), "{e}");
        }
        let mut st = crate::engine::Store::new(&EngineOptions::default());
        let e = snapshot::load(&p, &good[..i], &mut st, 0).expect_err("truncation accepted");
        assert!(e.offset.is_some(), "{e}");
    }
    // Through the engine: the error names the file, and the file is left as it was.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&p, &bad).unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let err = open_with(cfg(&p), &clock)
        .err()
        .expect("damaged snapshot opened");
    assert!(err.to_string().contains("offset"), "{err}");
    assert_eq!(std::fs::read(&p).unwrap(), bad);
    // start_on_damage: moved aside, the engine starts.
    let mut c = cfg(&p);
    c.start_on_damage = true;
    let (_e, warnings) = open_with(c, &clock).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("moved damaged file")),
        "{warnings:?}"
    );
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(aside.len(), 1);
}

#[test]
fn torn_log_tail_loads_the_prefix_and_damage_elsewhere_is_an_error() {
    let dir = tmpdir("torn");
    let p = dir.join("d.dat");
    let clock = Arc::new(ManualClock::new(T0));
    let e = open(&p, &clock);
    for i in 0..5 {
        run(&e, &["SET", &format!("k{i}"), "v"]);
    }
    drop(e);
    let lp = log::log_path(&p, 1);
    let full = std::fs::read(&lp).unwrap();
    let rl = log::read(&lp, &full, 1, false).unwrap();
    assert_eq!(rl.batches.len(), 5);
    // Find where the last frame starts: cut anywhere inside it.
    let mut st_len = full.len();
    for cut in (0..full.len()).rev() {
        let r = log::read(&lp, &full[..cut], 1, false).unwrap();
        if r.batches.len() < 4 {
            break;
        }
        if r.batches.len() == 4 && r.torn_at.is_some() {
            st_len = cut;
        }
    }
    assert!(st_len < full.len());
    std::fs::write(&lp, &full[..full.len() - 3]).unwrap();
    let (e, warnings) = open_with(cfg(&p), &clock).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("truncated")),
        "{warnings:?}"
    );
    {
        let st = e.lock();
        assert!(st.dbs[0].contains(b"k3") && !st.dbs[0].contains(b"k4"));
    }
    // Appends continue after the valid prefix.
    run(&e, &["SET", "after", "1"]);
    drop(e);
    let e = open(&p, &clock);
    assert!(e.lock().dbs[0].contains(b"after"));
    drop(e);
    // Damage inside an earlier frame: an error naming the log.
    let mut data = std::fs::read(&lp).unwrap();
    data[frame::HEADER_LEN + 40] ^= 0xff;
    std::fs::write(&lp, &data).unwrap();
    let err = open_with(cfg(&p), &clock)
        .err()
        .expect("damaged log opened");
    assert!(err.to_string().contains(".aof.1"), "{err}");
}

#[test]
fn second_opener_gets_the_lock_error() {
    let dir = tmpdir("lock");
    let p = dir.join("d.dat");
    let clock = Arc::new(ManualClock::new(T0));
    let e = open(&p, &clock);
    let err = Engine::open(EngineOptions {
        clock: clock.clone(),
        persistence: Some(cfg(&p)),
        ..Default::default()
    })
    .err()
    .expect("second open succeeded");
    assert_eq!(err.kind, ErrorKind::Locked);
    close(&e).unwrap();
    let _again = open(&p, &clock);
}

#[test]
fn save_rules_parse() {
    assert_eq!(
        parse_save_rules("3600 1 300 100"),
        Some(vec![(3600, 1), (300, 100)])
    );
    assert_eq!(parse_save_rules(""), Some(vec![]));
    assert_eq!(parse_save_rules("3600"), None);
}

// ---------------------------------------------------------------------------------------------
// Background saves: the file is the state at the switch, whatever ran during the walk.

mod bgsave_point_in_time {
    use std::collections::BTreeMap;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::engine::{Client, Clock, Store};

    /// A key's value in a comparable form (hash fields and set members sorted), and its TTL.
    type State = BTreeMap<(usize, Vec<u8>), (Vec<u8>, Option<i64>)>;

    fn canon(v: &Value) -> Vec<u8> {
        let mut s = snapshot::value_out(v);
        match &mut s {
            snapshot::SnapValue::Hash(h) => h.sort(),
            snapshot::SnapValue::Set(m) => m.sort(),
            _ => {}
        }
        rmp_serde::to_vec(&s).unwrap()
    }

    /// A deep copy of what a snapshot taken at `now_ms` must hold.
    fn state(store: &Store, now_ms: i64) -> State {
        let mut out = State::new();
        for (i, db) in store.dbs.iter().enumerate() {
            for (k, v) in db.iter() {
                let ttl = db.expiry(k);
                if ttl.is_some_and(|t| t <= now_ms) || v.is_empty_collection() {
                    continue;
                }
                out.insert((i, k.to_vec()), (canon(v), ttl));
            }
        }
        out
    }

    /// Asserts `got == want`, showing only the keys that differ.
    fn same(got: &State, want: &State, what: &str) {
        let mut diff = Vec::new();
        for (k, v) in want {
            match got.get(k) {
                None => diff.push(format!(
                    "missing {:?}",
                    (k.0, String::from_utf8_lossy(&k.1))
                )),
                Some(g) if g != v => diff.push(format!(
                    "differs {:?}: got {:?}, want {:?}",
                    (k.0, String::from_utf8_lossy(&k.1)),
                    g,
                    v
                )),
                _ => {}
            }
        }
        for k in got.keys().filter(|k| !want.contains_key(*k)) {
            diff.push(format!("extra {:?}", (k.0, String::from_utf8_lossy(&k.1))));
        }
        assert!(
            diff.is_empty(),
            "{what}: {} keys differ: {diff:#?}",
            diff.len()
        );
    }

    fn loaded_state(path: &Path, now_ms: i64) -> State {
        let data = std::fs::read(path).unwrap();
        let mut st = Store::new(&EngineOptions::default());
        snapshot::load(path, &data, &mut st, now_ms).unwrap();
        state(&st, now_ms)
    }

    const DBS: usize = 4;

    fn key(rng: &mut StdRng) -> String {
        format!("k{}", rng.gen_range(0..80))
    }

    /// One random command (every type, TTL changes, deletes, renames, moves, flushes, SWAPDB),
    /// on a random database.
    fn random_cmd(rng: &mut StdRng) -> (usize, Vec<String>) {
        let k = key(rng);
        let k2 = key(rng);
        let n = rng.gen_range(0..1000).to_string();
        let f = format!("f{}", rng.gen_range(0..6));
        let db = rng.gen_range(0..DBS);
        let c: Vec<&str> = match rng.gen_range(0..100) {
            0..=9 => vec!["SET", &k, &n],
            10..=12 => vec!["SET", &k, &n, "PX", "50"],
            13..=16 => vec!["DEL", &k],
            17..=19 => vec!["PEXPIRE", &k, "30"],
            20..=21 => vec!["PERSIST", &k],
            22..=24 => vec!["APPEND", &k, "xy"],
            25..=27 => vec!["INCR", &k],
            28..=33 => vec!["HSET", &k, &f, &n],
            34..=36 => vec!["HDEL", &k, &f],
            37..=41 => vec!["SADD", &k, &n],
            42..=43 => vec!["SREM", &k, &n],
            44..=45 => vec!["SPOP", &k],
            46..=50 => vec!["ZADD", &k, &n, &f],
            51..=52 => vec!["ZREM", &k, &f],
            53..=57 => vec!["RPUSH", &k, &n, &f],
            58..=60 => vec!["LPOP", &k],
            61..=64 => vec!["XADD", &k, "*", &f, &n],
            65..=66 => vec!["XGROUP", "CREATE", &k, "g", "0", "MKSTREAM"],
            67..=68 => vec![
                "XREADGROUP",
                "GROUP",
                "g",
                "c1",
                "COUNT",
                "2",
                "STREAMS",
                &k,
                ">",
            ],
            69..=70 => vec!["XTRIM", &k, "MAXLEN", "3"],
            71..=73 => vec!["RENAME", &k, &k2],
            74..=75 => vec!["COPY", &k, &k2, "REPLACE"],
            76..=78 => {
                let to = ((db + 1) % DBS).to_string();
                return (db, vec!["MOVE".into(), k, to]);
            }
            79..=80 => vec!["GETDEL", &k],
            81 => {
                let other = rng.gen_range(0..DBS).to_string();
                return (db, vec!["SWAPDB".into(), db.to_string(), other]);
            }
            82 => vec!["FLUSHDB"],
            83 if rng.gen_range(0..4) == 0 => vec!["FLUSHALL"],
            84..=89 => vec!["GET", &k], // reads reclaim expired keys too
            _ => vec!["EXISTS", &k, &k2],
        };
        (db, c.into_iter().map(String::from).collect())
    }

    fn exec(e: &Engine, st: &mut Store, client: &mut Client, db: usize, cmd: &[String]) {
        client.db = db;
        let mut env = e.env();
        let args = cmd.iter().map(|a| a.as_bytes().to_vec()).collect();
        e.execute_locked(st, client, args, &mut env);
    }

    fn populate(e: &Engine, rng: &mut StdRng, n: usize) {
        let mut client = e.open_client();
        let mut st = e.lock();
        for _ in 0..n {
            let (db, cmd) = random_cmd(rng);
            if !cmd[0].starts_with("FLUSH") && cmd[0] != "SWAPDB" {
                exec(e, &mut st, &mut client, db, &cmd);
            }
        }
    }

    /// The walk is driven step by step from here, with random commands (and clock moves, so
    /// keys expire mid-save) between steps: the file must equal the deep copy taken at the
    /// switch, and the snapshot plus the new log must equal the final state.
    #[test]
    fn random_writes_between_walk_steps_leave_the_snapshot_as_it_was_at_the_switch() {
        for seed in 0..12u64 {
            let dir = tmpdir(&format!("pit-{seed}"));
            let p = dir.join("d.dat");
            let clock = Arc::new(ManualClock::new(T0));
            let e = open(&p, &clock);
            let mut rng = StdRng::seed_from_u64(seed);
            populate(&e, &mut rng, 600);
            let (walk, at_switch, t_switch) = {
                let mut st = e.lock();
                let now = clock.now_ms();
                let copy = state(&st, now);
                let step = [1, 3, 7, 50][seed as usize % 4];
                let walk = bgsave::begin(&mut st, now, None).unwrap().with_step(step);
                (walk, copy, now)
            };
            assert!(!at_switch.is_empty());
            let mut client = e.open_client();
            let mut locked = |f: &mut dyn FnMut(&mut Store)| {
                let mut st = e.lock();
                for _ in 0..rng.gen_range(0..6) {
                    let (db, cmd) = random_cmd(&mut rng);
                    exec(&e, &mut st, &mut client, db, &cmd);
                }
                if rng.gen_range(0..10) == 0 {
                    clock.advance_ms(rng.gen_range(1..40));
                }
                f(&mut st);
                true
            };
            walk.run(&mut locked).unwrap();
            same(
                &loaded_state(&p, t_switch),
                &at_switch,
                &format!("seed {seed}"),
            );
            // No save state is left behind on any database.
            let final_state = {
                let st = e.lock();
                assert!(st.dbs.iter().all(|d| d.cow.is_none()));
                state(&st, clock.now_ms())
            };
            drop(e);
            let e = open(&p, &clock);
            same(
                &state(&e.lock(), clock.now_ms()),
                &final_state,
                &format!("seed {seed}: reload"),
            );
        }
    }

    /// The real thing: BGSAVE's walk on its own thread while this thread keeps writing.
    #[test]
    fn bgsave_racing_writes_saves_the_state_of_its_instant() {
        let dir = tmpdir("pit-thread");
        let p = dir.join("d.dat");
        let clock = Arc::new(ManualClock::new(T0));
        let mut c = cfg(&p);
        c.fsync = FsyncPolicy::EverySec;
        let (e, _) = open_with(c, &clock).unwrap();
        let mut rng = StdRng::seed_from_u64(99);
        {
            let mut st = e.lock();
            for i in 0..60_000 {
                let db = i % DBS;
                st.dbs[db].set(
                    format!("bulk{i}").as_bytes(),
                    Value::Str(StrValue::Int(i as i64)),
                );
            }
        }
        populate(&e, &mut rng, 2000);
        let mut client = e.open_client();
        let (at_switch, t_switch) = {
            let mut st = e.lock();
            let now = clock.now_ms();
            let copy = state(&st, now);
            exec(&e, &mut st, &mut client, 0, &["BGSAVE".to_string()]);
            (copy, now)
        };
        let shared = e.lock().persist.as_ref().unwrap().shared.clone();
        let mut ran = 0;
        while shared.saving() || ran == 0 {
            let mut st = e.lock();
            for _ in 0..20 {
                let (db, mut cmd) = random_cmd(&mut rng);
                if rng.gen_range(0..2) == 0 && cmd[0] == "SET" {
                    // Overwrite keys the walk has not reached yet, too.
                    cmd[1] = format!("bulk{}", rng.gen_range(0..60_000));
                }
                exec(&e, &mut st, &mut client, db, &cmd);
                ran += 1;
            }
        }
        assert!(ran > 20, "the save ended before any write raced it");
        same(&loaded_state(&p, t_switch), &at_switch, "snapshot");
        let final_state = state(&e.lock(), clock.now_ms());
        drop(client);
        drop(e);
        let e = open(&p, &clock);
        same(&state(&e.lock(), clock.now_ms()), &final_state, "reload");
    }
}
