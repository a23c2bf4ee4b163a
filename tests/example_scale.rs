//! The scale programs (`examples/scale.rs`) at a tenth of their size:
//! 100k greenlets parked on one Event, 100k random sleeps, 2,000
//! connections echoing on one hub with every byte checked.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::example::built;

/// Runs `scale ARGS`, asserts it succeeded, returns its `name value`
/// figures.
fn run(args: &[&str]) -> HashMap<String, String> {
    let out = Command::new(built("scale")).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scale {args:?}: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

fn num(figures: &HashMap<String, String>, name: &str) -> f64 {
    figures
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {figures:?}"))
}

#[test]
fn a_hundred_thousand_greenlets_park_on_one_event_and_all_wake() {
    let f = run(&["event", "100000"]);
    assert_eq!(num(&f, "event_greenlets"), 100_000.0);
    assert_eq!(num(&f, "event_failed"), 0.0);
    // A parked greenlet costs about one stack page plus its handles; this
    // bound catches a stack that touched more than two pages.
    let per = num(&f, "event_rss_per_parked");
    assert!((1.0..9.0).contains(&per), "{per} KiB per parked greenlet");
}

#[test]
fn a_hundred_thousand_random_sleeps_all_wake() {
    let f = run(&["sleep", "100000"]);
    assert_eq!(num(&f, "sleep_woke"), 100_000.0);
    // The longest sleep is just under 1 s: no greenlet can finish early.
    assert!(num(&f, "sleep_wall") >= 0.99, "{f:?}");
}

#[test]
fn two_thousand_connections_echo_without_losing_a_byte() {
    let f = run(&["tcp", "2000", "3"]);
    assert_eq!(num(&f, "tcp_completed"), 2000.0);
    assert_eq!(num(&f, "tcp_errors"), 0.0);
    assert_eq!(num(&f, "tcp_checksums_match"), 1.0);
    let bytes = num(&f, "tcp_bytes");
    assert_eq!(bytes, num(&f, "tcp_bytes_server"));
    // 2,000 x 3 messages of 1 B - 16 KiB.
    assert!(bytes > 2000.0 * 3.0, "{bytes} bytes");
}
