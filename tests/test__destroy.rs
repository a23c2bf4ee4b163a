//! Port of gevent's `src/gevent/tests/test__destroy.py`: destroying the
//! first hub keeps libev's default loop (and its loop object) for the next
//! hub unless told to destroy it; a destroyed hub has killed its thread
//! pool and still reports itself.
//!
//! "The first hub uses the default loop" holds only on the process's main
//! thread, and libtest runs every test on a worker thread (even with
//! `--test-threads=1`). So `test_destroy_hub` re-runs this test binary as a
//! child process whose body runs from an `.init_array` entry: on the child's
//! main thread (gettid() == getpid()), before libtest's `main` starts. The
//! child prints a marker and exits with the outcome.

mod common;

use gevent::core::Loop;
use gevent::{Hub, get_hub};

/// Set in the child process's environment.
const CHILD_ENV: &str = "GEVENT_TEST_DESTROY_HUB_CHILD";
const CHILD_OK: &str = "test_destroy_hub child: ok";

/// `TestDestroyHub.test_destroy_hub`'s body; runs on a main thread.
fn test_destroy_hub_body() {
    // Loop of initial Hub is default loop.
    let hub = get_hub();
    assert!(hub.loop_().is_default());

    // Save the loop object for later comparison.
    let initloop = hub.loop_().clone();

    // Increase test complexity via threadpool creation.
    let tp = hub.threadpool();
    assert!(tp.is_ok(), "{:?}", tp.err());

    // Destroy hub. Does not destroy libev default loop if not explicitly
    // told to.
    hub.destroy();

    // Create new hub. Must re-use existing libev default loop.
    let hub = get_hub();
    assert!(hub.loop_().is_default());

    // Ensure that loop object is identical to the initial one.
    assert!(
        *hub.loop_() == initloop,
        "{:?} is not {initloop:?}",
        hub.loop_()
    );

    // Destroy hub including default loop.
    hub.destroy_with(true);

    // Create new hub and explicitly request creation of a new default loop.
    let hub = get_hub();
    assert!(hub.loop_().is_default());

    // Loop objects as well as libev loop pointers must differ.
    assert!(*hub.loop_() != initloop);
    assert_ne!(hub.loop_().as_raw(), initloop.as_raw());

    // Destroy hub including default loop. The default loop regenerates.
    hub.destroy_with(true);
    let hub = get_hub();
    assert!(hub.loop_().is_default());

    hub.destroy();
}

/// The child process's entry: runs before `main`, on the main thread.
extern "C" fn destroy_hub_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let r = std::panic::catch_unwind(|| {
        let _d = common::deadline(
            "TestDestroyHub::test_destroy_hub (child)",
            common::TEST_DEADLINE,
        );
        // SAFETY: plain syscalls.
        let (tid, pid) = unsafe { (libc::gettid(), libc::getpid()) };
        assert_eq!(tid, pid, "the child's body must run on its main thread");
        test_destroy_hub_body();
    });
    let code = match r {
        Ok(()) => {
            println!("{CHILD_OK}");
            0
        }
        Err(_) => 101,
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: ends the child process at once, before libtest starts.
    unsafe { libc::_exit(code) };
}

#[used]
#[unsafe(link_section = ".init_array")]
static DESTROY_HUB_CHILD: extern "C" fn() = destroy_hub_child;

#[allow(non_snake_case)]
mod TestDestroyHub {
    use super::*;

    #[test]
    fn test_destroy_hub() {
        let _d = common::deadline("TestDestroyHub::test_destroy_hub", common::TEST_DEADLINE);
        assert!(
            std::env::var_os(CHILD_ENV).is_none(),
            "the child's .init_array entry did not run"
        );
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "TestDestroyHub::test_destroy_hub",
                "--exact",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(CHILD_OK),
            "child {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
    }
}

#[allow(non_snake_case)]
mod TestDestroyedHubRepr {
    use super::*;

    #[test]
    fn test_repr_after_destroy() {
        let _d = common::deadline(
            "TestDestroyedHubRepr::test_repr_after_destroy",
            common::TEST_DEADLINE,
        );
        // hub = Hub(default=False): a hub on a new, non-default loop (this
        // test thread has no hub yet).
        let hub = Hub::with_loop(Loop::new(0).unwrap()).unwrap();
        assert!(!hub.loop_().is_default());
        // destroy() only clears the attributes that were created.
        let threadpool = hub.threadpool();
        assert!(threadpool.is_ok(), "{:?}", threadpool.err());
        let threadpool = threadpool.unwrap();

        hub.destroy_with(true);

        // `assertIsNone(hub._threadpool)`: gevent's destroy kills the
        // hub's pool and lets go of it; the pool refuses work from now on.
        assert!(threadpool.spawn(|| ()).is_err());

        // repr still works after destroy and says so.
        let r = format!("{hub:?}");
        assert!(r.contains("destroyed"), "{r}");
    }
}

// Not ported:
// - TestDestroyedHubRepr.test_repr_after_destroy: only the resolver parts
//   (`assertIsNotNone(hub.resolver)`, `assertIsNone(hub._resolver)`): the
//   crate's resolver belongs to the thread (`socket::set_resolver`), not
//   to a hub.
