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

fn open_with(
    c: Config,
    clock: &Arc<ManualClock>,
) -> Result<(Arc<Engine>, Vec<String>), PersistError> {
    Engine::open(EngineOptions {
        clock: clock.clone(),
        active_expiry: false,
        persistence: Some(c),
        ..Default::default()
    })
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
        l.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(),
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
    ol.record(0, vec![b("spop"), b("k"), b("2")], &r);
    assert_eq!(ol.cmds[0].1, vec![b("SREM"), b("k"), b("x"), b("y")]);
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
    let err = open_with(cfg(&p), &clock)
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
