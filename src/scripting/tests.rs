//! Unit tests of the Lua runtime through the dispatcher.

use crate::engine::{Engine, EngineOptions};
use crate::reply::Reply;

fn run(engine: &Engine, args: &[&str]) -> Reply {
    let mut c = engine.open_client();
    engine
        .execute(&mut c, args.iter().map(|a| a.as_bytes().to_vec()).collect())
        .unwrap_or(Reply::Nil)
}

fn engine() -> std::sync::Arc<Engine> {
    Engine::new(EngineOptions {
        active_expiry: false,
        ..EngineOptions::default()
    })
}

#[test]
fn eval_returns_converted_values() {
    let e = engine();
    assert_eq!(run(&e, &["EVAL", "return 3.99", "0"]), Reply::Int(3));
    assert_eq!(
        run(&e, &["EVAL", "return {1, 'a', false, true}", "0"]),
        Reply::Array(vec![
            Reply::Int(1),
            Reply::Bulk(b"a".to_vec()),
            Reply::Nil,
            Reply::Int(1)
        ])
    );
    assert_eq!(
        run(&e, &["EVAL", "return KEYS[1] .. ARGV[1]", "1", "k", "v"]),
        Reply::Bulk(b"kv".to_vec())
    );
}

#[test]
fn redis_call_reaches_the_dispatcher() {
    let e = engine();
    assert_eq!(
        run(
            &e,
            &[
                "EVAL",
                "return redis.call('set', KEYS[1], ARGV[1])",
                "1",
                "k",
                "v"
            ]
        ),
        Reply::ok()
    );
    assert_eq!(run(&e, &["GET", "k"]), Reply::Bulk(b"v".to_vec()));
    assert_eq!(
        run(&e, &["EVAL", "return redis.call('get', 'missing')", "0"]),
        Reply::Nil
    );
}

#[test]
fn errors_carry_the_script_position() {
    let e = engine();
    let Reply::Error(t) = run(&e, &["EVAL", "return x", "0"]) else {
        panic!()
    };
    assert!(t.starts_with("ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: "), "{t}");
    assert!(t.ends_with(", on @user_script:1."), "{t}");
    let Reply::Error(t) = run(&e, &["EVAL", "x = 1", "0"]) else {
        panic!()
    };
    assert!(
        t.starts_with("ERR user_script:1: Attempt to modify a readonly table script:"),
        "{t}"
    );
}

#[test]
fn evalsha_and_script_cache() {
    let e = engine();
    let Reply::Bulk(sha) = run(&e, &["SCRIPT", "LOAD", "return 1"]) else {
        panic!()
    };
    let sha = String::from_utf8(sha).unwrap();
    assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    assert_eq!(run(&e, &["EVALSHA", &sha, "0"]), Reply::Int(1));
    assert_eq!(run(&e, &["SCRIPT", "FLUSH"]), Reply::ok());
    assert_eq!(
        run(&e, &["EVALSHA", &sha, "0"]),
        Reply::Error("NOSCRIPT No matching script. Please use EVAL.".into())
    );
}

#[test]
#[ignore = "timing probe, run by hand"]
fn timing_probe() {
    let e = engine();
    let mut c = e.open_client();
    let mut go = |label: &str, args: &[&str]| {
        let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let t = std::time::Instant::now();
        for _ in 0..20000 {
            e.execute(&mut c, argv.clone());
        }
        eprintln!(
            "{label}: {:.2} us",
            t.elapsed().as_secs_f64() / 20000.0 * 1e6
        );
    };
    let Reply::Bulk(s1) = run(&e, &["SCRIPT", "LOAD", "return 1"]) else {
        panic!()
    };
    let Reply::Bulk(s2) = run(
        &e,
        &[
            "SCRIPT",
            "LOAD",
            "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
        ],
    ) else {
        panic!()
    };
    let (s1, s2) = (
        String::from_utf8(s1).unwrap(),
        String::from_utf8(s2).unwrap(),
    );
    go("PING", &["PING"]);
    go("SET", &["SET", "k", "v"]);
    go("EVALSHA return 1, 0 keys", &["EVALSHA", &s1, "0"]);
    go(
        "EVALSHA return 1, 1 key 1 arg",
        &["EVALSHA", &s1, "1", "k", "v"],
    );
    go("EVALSHA set+get", &["EVALSHA", &s2, "1", "k", "v"]);
}
