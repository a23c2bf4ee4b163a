//! Port of gevent's `src/gevent/tests/test__signal.py`: an error returned
//! by a signal handler is raised in the main greenlet, interrupting its
//! `sleep`, and the handler stays installed for the next signal.
//!
//! SIGALRM's default action ends the process, and signals are
//! process-wide while the tests of this binary run in parallel threads:
//! `test_alarm` re-runs itself alone in a child process (the environment
//! variable below tells the child it is the one to send the alarms).

mod common;

use gevent::signal::{SIGALRM, signal_handler};
use gevent::{Error, sleep};

/// Set in the child process's environment.
const CHILD_ENV: &str = "GEVENT_TEST_SIGNAL_CHILD";
const CHILD_OK: &str = "test_alarm child: ok";

#[derive(Debug)]
struct Expected(&'static str);

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Expected {}

fn raise_expected() -> gevent::Result<()> {
    Err(Error::custom(Expected("TestSignal")))
}

/// Runs `name` of this binary alone in a child process with `CHILD_ENV`
/// set; asserts it passed and printed `marker`.
fn run_in_child(name: &str, marker: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(marker),
        "child {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
}

#[allow(non_snake_case)]
mod TestSignal {
    use super::*;

    fn test_alarm_body() {
        let sig = signal_handler(SIGALRM, raise_expected).unwrap();
        assert!(!sig.ref_());
        sig.set_ref(true);
        assert!(sig.ref_());
        sig.set_ref(false);

        let test = || {
            // SAFETY: alarm(2) only arms this process's alarm timer.
            unsafe { libc::alarm(1) };
            let ex = match sleep(2.0) {
                Err(e) => e,
                Ok(()) => panic!("sleep(2) must raise Expected"),
            };
            assert!(ex.is::<Expected>(), "{ex:?}");
            assert_eq!(
                ex.downcast_ref::<Expected>().unwrap().to_string(),
                "TestSignal"
            );
        };

        test();
        // also let's check that the handler stays installed.
        test();
        sig.cancel();
    }

    #[test]
    fn test_alarm() {
        let _d = common::deadline("TestSignal::test_alarm", common::TEST_DEADLINE);
        if std::env::var_os(CHILD_ENV).is_some() {
            test_alarm_body();
            println!("{CHILD_OK}");
            return;
        }
        run_in_child("TestSignal::test_alarm", CHILD_OK);
    }
}

// Not ported:
// - TestSignal.test_handler: `signal_handler(SIGALRM, 1)` raising
//   TypeError for a handler that is not callable; in Rust the handler's
//   type is checked at compile time.
// - TestSignal.test_reload: Python-only (reloading the `site` module with
//   the `gevent.signal` shim in `sys.modules`).
