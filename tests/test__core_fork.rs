//! Port of gevent's `src/gevent/tests/test__core_fork.py`: a fork watcher
//! runs in the forked child and not in the parent, even when the process
//! is multi-threaded (the hub's thread pool has a thread).

mod common;

use std::cell::Cell;
use std::rc::Rc;

const CHILD: &str = "GEVENT_TEST_CORE_FORK";

#[allow(non_snake_case)]
mod Test {
    use super::*;

    /// In a child process of its own: it forks.
    #[test]
    fn test() {
        let (ok, out, err) = common::run_child("Test::fork_child", &[(CHILD, "1")]);
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("core fork: ok"), "{out}\n{err}");
    }

    #[test]
    #[ignore = "child process of test"]
    fn fork_child() {
        if std::env::var(CHILD).is_err() {
            return;
        }
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        let hub = gevent::get_hub();
        // SAFETY: getpid cannot fail.
        let pid = unsafe { libc::getpid() };
        let newpid: Rc<Cell<Option<i32>>> = Rc::default();
        let fork_watcher = hub.loop_().fork().unwrap();
        fork_watcher.set_ref(false);
        let n = newpid.clone();
        // SAFETY (in the closure): getpid cannot fail.
        fork_watcher
            .start(move || n.set(Some(unsafe { libc::getpid() })))
            .unwrap();

        let pool = hub.threadpool().unwrap();
        assert_eq!(pool.size(), 0);
        // Use a thread to make us multi-threaded
        pool.apply(|| ()).unwrap();
        assert_eq!(pool.size(), 1);

        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the pipe's two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let child = gevent::fork().unwrap();
        if child == 0 {
            // SAFETY: alarm(2) on this process: a stuck child dies.
            unsafe { libc::alarm(20) };
            // libev runs fork watchers at the start of a loop iteration; two
            // sleeps get round to it, as in gevent's test.
            gevent::sleep(0.001).unwrap();
            gevent::sleep(0.001).unwrap();
            let msg = newpid.get().map_or("none".to_string(), |p| p.to_string());
            gevent::os::nb_write(fds[1], msg.as_bytes()).unwrap();
            // SAFETY: leave the forked child at once.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: the parent's copy of the write end.
        unsafe { libc::close(fds[1]) };
        gevent::os::make_nonblocking(fds[0]).unwrap();
        let p_val = String::from_utf8(gevent::os::nb_read(fds[0], 64).unwrap()).unwrap();
        let (_, status) = gevent::os::waitpid(child, 0).unwrap();
        assert_eq!(libc::WEXITSTATUS(status), 0);
        assert_eq!(
            newpid.get(),
            None,
            "The fork watcher ran in the parent for some reason."
        );
        assert_ne!(
            p_val, "none",
            "The child process returned nothing, meaning the fork watcher didn't run in the child."
        );
        let p_val: i32 = p_val.parse().unwrap();
        assert_ne!(p_val, pid);
        assert_eq!(p_val, child);
        println!("core fork: ok");
    }
}
