//! The examples run and print what they promise (`cargo test` builds them;
//! this runs the binaries).

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join(name)
}

/// The example's binary, built if `cargo test --test examples` alone did
/// not build it.
fn built(name: &str) -> PathBuf {
    let path = example(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

#[test]
fn hello_runs_greenlets_concurrently() {
    let path = built("hello");
    let out = Command::new(&path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("finish order [0.1, 0.2, 0.3]"),
        "unexpected output: {stdout}"
    );
    // The three sleeps overlap: about 0.3 s in total, not 0.6 s.
    let total: f64 = stdout
        .rsplit("total ")
        .next()
        .and_then(|s| s.trim().trim_end_matches('s').parse().ok())
        .unwrap();
    assert!((0.29..0.55).contains(&total), "total {total}");
}

#[test]
fn actors_ping_pong_through_their_inboxes() {
    let out = Command::new(built("actors")).arg("3").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, ["start", "ping", "pong", "ping", "pong", "ping"]);
}
