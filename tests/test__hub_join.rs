//! Port of gevent's `src/gevent/tests/test__hub_join.py`: `hub.join()` can
//! be called many times and leaves gevent usable; hubs made in threads that
//! end are not leaked (gevent issues #1601 and #1631).
//!
//! gevent counts the greenlets reachable by Python's GC. Here greenlets and
//! hubs are per-thread, so the leak checks look at what a leaked hub or
//! greenlet would keep: inside the thread, live greenlets and stacks in use
//! (`stack_stats`); in the process, open file descriptors (a leaked hub
//! keeps its loop's epoll and wake-up descriptors open).
//!
//! gevent runs these methods one after another; the process-wide descriptor
//! count needs that too, so each test here holds `SERIAL`.

mod common;

use std::sync::Mutex;

use gevent::greenlet::raw::stack_stats;
use gevent::{Greenlet, get_hub, sleep};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// `assert_no_greenlet_growth`: what `body` leaves behind once its threads
/// ended must not grow the process's open descriptors.
fn assert_no_growth(body: impl FnOnce()) {
    let count_before = open_fds();
    body();
    let count_after = open_fds();
    assert_eq!(count_after, count_before, "descriptors leaked");
}

#[allow(non_snake_case)]
mod TestJoin {
    use super::*;

    #[test]
    fn test_join_many_times() {
        let _d = common::deadline("TestJoin::test_join_many_times", common::TEST_DEADLINE);
        let _s = serial();
        // hub.join() guarantees that loop has exited cleanly
        let res = get_hub().join().unwrap();
        assert!(res);
        assert!(!get_hub().greenlet().dead());

        let res = get_hub().join().unwrap();
        assert!(res);

        // but it is still possible to use gevent afterwards
        sleep(0.01).unwrap();

        let res = get_hub().join().unwrap();
        assert!(res);
    }

    #[test]
    fn test_join_in_new_thread_doesnt_leak_hub_or_greenlet() {
        // https://github.com/gevent/gevent/issues/1601
        let _d = common::deadline(
            "TestJoin::test_join_in_new_thread_doesnt_leak_hub_or_greenlet",
            common::TEST_DEADLINE,
        );
        let _s = serial();

        fn thread_main() {
            let g = Greenlet::new(|| Ok(0));
            g.start();
            g.join().unwrap();
            let hub = get_hub();
            hub.join().unwrap();
            hub.destroy_with(true);
            drop(hub);
            drop(g);
            // Nothing of this thread's hub or greenlets is left.
            let stats = stack_stats();
            assert_eq!(stats.live_greenlets, 0, "{stats:?}");
            assert_eq!(stats.stacks_in_use, 0, "{stats:?}");
        }

        fn tester(main: fn()) {
            let t = std::thread::spawn(main);
            t.join().unwrap();
        }

        assert_no_growth(|| {
            for _ in 0..10 {
                tester(thread_main);
            }
        });
    }

    /// gevent destroys, from the main thread, the hub of a thread that has
    /// ended (after `hub.join()` in that thread), with `destroy_loop=True`.
    /// A Rust `Hub` is `!Send`, so it cannot be handed to another thread;
    /// the crate destroys it when its thread ends, with the loop (not the
    /// default one): `destroy(destroy_loop=True)`, as gevent's tester does.
    /// What is checked is the same: destroying the finished thread's joined
    /// hub does not crash, ten times over, and leaks nothing.
    #[test]
    fn test_destroy_in_main_thread_from_new_thread() {
        // https://github.com/gevent/gevent/issues/1631
        let _d = common::deadline(
            "TestJoin::test_destroy_in_main_thread_from_new_thread",
            common::TEST_DEADLINE,
        );
        let _s = serial();

        fn run() {
            let g = Greenlet::new(|| Ok(0));
            g.start();
            g.join().unwrap();
            drop(g);
            let hub = get_hub();
            hub.join().unwrap();
            assert!(!hub.destroyed());
            // The hub is left undestroyed when the thread ends.
        }

        fn tester() {
            let t = std::thread::spawn(run);
            t.join().unwrap();
        }

        assert_no_growth(|| {
            for _ in 0..10 {
                tester();
            }
        });
    }
}
