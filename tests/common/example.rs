//! Running the crate's examples from the ported `test__example_*` tests
//! (gevent's `util.TestServer` / `ExampleMixin`): the example's binary,
//! built if the test run did not build it, started with its stdout piped
//! and killed when the test ends.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/<name>
fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join(name)
}

/// The example's binary, brought up to date (with one job):
/// `cargo test --test ..` does not build examples, and a binary left from
/// an earlier build may be stale.
pub fn built(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "-j1", "--quiet", "--example", name])
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --example {name}");
    example_path(name)
}

/// A running example; killed (and reaped) when dropped.
pub struct Example {
    pub child: Child,
    /// Its stdout after the first line (kept open: the example may still
    /// print).
    pub stdout: BufReader<ChildStdout>,
    /// The first line it printed (where servers say their address).
    pub first_line: String,
}

impl Example {
    /// Starts `name` with `args` and waits for its first line of output.
    pub fn start(name: &str, args: &[String]) -> Example {
        let mut child = Command::new(built(name))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).unwrap();
        Example {
            child,
            stdout,
            first_line,
        }
    }

    /// The exit status, if it exited (gevent's `popen.poll()`).
    pub fn poll(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits up to `secs` for the exit, sleeping cooperatively (the test's
    /// hub keeps running meanwhile); `None` if still running.
    pub fn wait_cooperatively(&mut self, secs: f64) -> Option<ExitStatus> {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if let Some(status) = self.poll() {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            gevent::sleep(0.01).unwrap();
        }
    }

    /// The port at the end of the first line (after its last `:` or
    /// space).
    pub fn port(&self) -> u16 {
        let line = self.first_line.trim();
        line.rsplit([':', ' '])
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
