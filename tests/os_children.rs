//! `gevent::os`: child watching switched on lazily (libev's SIGCHLD
//! handler is installed only then), a cooperative `waitpid`, and `fork`
//! keeping the hub, the thread pool and DNS lookups working in the child.
//! Each case runs in a child process of its own: it forks or changes
//! process-wide signal state.

// The children are reaped with gevent::os::waitpid, which clippy cannot see.
#![allow(clippy::zombie_processes)]

mod common;

use std::process::Command;
use std::time::Instant;

use gevent::os::{self, waitpid};
use gevent::{Error, sleep, spawn};

const CHILD: &str = "GEVENT_TEST_OS_CHILD";

/// Runs `name` (an ignored test of this file) in a child process; it must
/// print "<name>: ok".
fn in_child(name: &str) {
    let (ok, out, err) = common::run_child(name, &[(CHILD, "1")]);
    assert!(ok, "{name} failed:\n{out}\n{err}");
    assert!(out.contains(&format!("{name}: ok")), "{out}\n{err}");
}

/// In the child process: true, with this thread's hub on the default
/// loop (as the main thread's would be; the test harness runs tests on
/// other threads).
fn is_child() -> bool {
    if std::env::var(CHILD).is_err() {
        return false;
    }
    let lp = gevent::core::Loop::default_loop().unwrap();
    gevent::Hub::with_loop(lp).unwrap();
    true
}

fn sigchld_handler() -> libc::sighandler_t {
    // SAFETY: reading the disposition only (a null new action).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(
            libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old),
            0
        );
        old.sa_sigaction
    }
}

#[test]
fn sigchld_is_installed_only_when_child_watching_is_used() {
    in_child("sigchld_child");
}

#[test]
#[ignore = "child process of sigchld_is_installed_only_when_child_watching_is_used"]
fn sigchld_child() {
    if !is_child() {
        return;
    }
    // The hub (on the default loop) is up and running...
    sleep(0.001).unwrap();
    assert!(gevent::get_hub().loop_().is_default());
    // ...and SIGCHLD is still the program's own.
    assert!(!os::child_watching());
    assert_eq!(sigchld_handler(), libc::SIG_DFL);
    let child = Command::new("true").spawn().unwrap();
    let (pid, status) = waitpid(child.id() as i32, 0).unwrap();
    assert_eq!(pid, child.id() as i32);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    // Now libev handles it.
    assert!(os::child_watching());
    assert_ne!(sigchld_handler(), libc::SIG_DFL);
    println!("sigchld_child: ok");
}

#[test]
fn waitpid_waits_cooperatively() {
    in_child("waitpid_child");
}

#[test]
#[ignore = "child process of waitpid_waits_cooperatively"]
fn waitpid_child() {
    if !is_child() {
        return;
    }
    let _d = common::deadline("waitpid", common::TEST_DEADLINE);
    let ticks = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let t = ticks.clone();
    let ticker = spawn(move || -> gevent::Result<()> {
        loop {
            sleep(0.01)?;
            t.set(t.get() + 1);
        }
    });
    let child = Command::new("sh")
        .args(["-c", "sleep 0.2; exit 3"])
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Not ended yet: WNOHANG says so.
    assert_eq!(waitpid(pid, libc::WNOHANG).unwrap(), (0, 0));
    let t0 = Instant::now();
    let (got, status) = waitpid(pid, 0).unwrap();
    let waited = t0.elapsed().as_secs_f64();
    assert_eq!(got, pid);
    assert_eq!(libc::WEXITSTATUS(status), 3);
    assert!(waited > 0.1, "waited {waited}");
    // The loop ran meanwhile.
    assert!(ticks.get() >= 5, "ticks {}", ticks.get());
    // Reaped: a second wait is ECHILD, as is a pid that is not a child.
    let e = waitpid(pid, 0).unwrap_err();
    assert!(
        matches!(&e, Error::Io(io) if io.raw_os_error() == Some(libc::ECHILD)),
        "{e:?}"
    );
    let e = waitpid(1, libc::WNOHANG).unwrap_err();
    assert!(
        matches!(&e, Error::Io(io) if io.raw_os_error() == Some(libc::ECHILD)),
        "{e:?}"
    );
    // Any child (-1): the two children in the order they end.
    let slow = Command::new("sh")
        .args(["-c", "sleep 0.2; exit 5"])
        .spawn()
        .unwrap();
    let fast = Command::new("sh").args(["-c", "exit 4"]).spawn().unwrap();
    let (p1, s1) = waitpid(-1, 0).unwrap();
    let (p2, s2) = waitpid(-1, 0).unwrap();
    assert_eq!((p1, libc::WEXITSTATUS(s1)), (fast.id() as i32, 4));
    assert_eq!((p2, libc::WEXITSTATUS(s2)), (slow.id() as i32, 5));
    ticker.kill().unwrap();
    println!("waitpid_child: ok");
}

#[test]
fn fork_keeps_the_hub_dns_and_thread_pool_working_in_the_child() {
    in_child("fork_child");
}

#[test]
#[ignore = "child process of fork_keeps_the_hub_dns_and_thread_pool_working_in_the_child"]
fn fork_child() {
    if !is_child() {
        return;
    }
    let _d = common::deadline("fork", common::TEST_DEADLINE);
    // A lookup before the fork: the hub's pool has a worker thread now.
    let before = gevent::socket::getaddrinfo("localhost", 80, 0, libc::SOCK_STREAM, 0, 0).unwrap();
    assert!(!before.is_empty());
    let pool = gevent::get_hub().threadpool().unwrap();
    assert!(pool.size() >= 1);
    // A task still running at the fork: it runs on in the parent only.
    let running = pool
        .spawn(|| std::thread::sleep(std::time::Duration::from_millis(300)))
        .unwrap();
    sleep(0.05).unwrap();
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the pipe's two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (r, w) = (fds[0], fds[1]);
    os::make_nonblocking(r).unwrap();
    let pid = gevent::fork().unwrap();
    if pid == 0 {
        // A stuck child must not outlive the test (no deadline thread
        // survives the fork).
        // SAFETY: alarm(2) on this process.
        unsafe { libc::alarm(20) };
        // The child: the loop, the pool and the resolver work.
        let report = (|| -> gevent::Result<String> {
            sleep(0.01)?;
            let after = gevent::socket::getaddrinfo("localhost", 80, 0, libc::SOCK_STREAM, 0, 0)?;
            let sum = pool.apply(|| (1..=10).sum::<i32>())?;
            let lost = match running.get() {
                Err(Error::Io(e)) if e.raw_os_error() == Some(libc::ECANCELED) => "cancelled",
                other => panic!("the parent's task in the child: {other:?}"),
            };
            Ok(format!("{} {sum} {lost}", after.len()))
        })();
        let code = match report {
            Ok(msg) => {
                os::nb_write(w, msg.as_bytes()).unwrap();
                0
            }
            Err(e) => {
                let _ = os::nb_write(w, format!("error {e}").as_bytes());
                1
            }
        };
        // SAFETY: leave the forked child at once, without the test
        // harness's exit path.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(w) };
    let msg = os::nb_read(r, 100).unwrap();
    let (got, status) = waitpid(pid, 0).unwrap();
    assert_eq!(got, pid);
    let msg = String::from_utf8_lossy(&msg);
    assert_eq!(libc::WEXITSTATUS(status), 0, "child said {msg:?}");
    assert_eq!(msg, format!("{} 55 cancelled", before.len()));
    // In the parent the task finished normally.
    running.get().unwrap();
    println!("fork_child: ok");
}

#[test]
fn fork_and_watch_then_waitpid_any() {
    in_child("fork_and_watch_child");
}

#[test]
#[ignore = "child process of fork_and_watch_then_waitpid_any"]
fn fork_and_watch_child() {
    if !is_child() {
        return;
    }
    let _d = common::deadline("fork_and_watch", common::TEST_DEADLINE);
    let seen = std::rc::Rc::new(std::cell::Cell::new(None));
    let s = seen.clone();
    let pid = os::fork_and_watch(Some(Box::new(move |pid, status| {
        s.set(Some((pid, libc::WEXITSTATUS(status))))
    })))
    .unwrap();
    if pid == 0 {
        // A stuck child must not outlive the test (no deadline thread
        // survives the fork).
        // SAFETY: alarm(2) on this process.
        unsafe { libc::alarm(20) };
        sleep(0.1).unwrap();
        // SAFETY: leave the forked child at once.
        unsafe { libc::_exit(7) };
    }
    let (got, status) = waitpid(-1, 0).unwrap();
    assert_eq!((got, libc::WEXITSTATUS(status)), (pid, 7));
    sleep(0.01).unwrap();
    assert_eq!(seen.get(), Some((pid, 7)));
    println!("fork_and_watch_child: ok");
}

#[test]
fn fork_watchers_run_once_in_the_child_even_when_forked_from_a_callback() {
    in_child("fork_watcher_child");
}

/// The main greenlet resumed by a thread-pool completion (delivered in
/// the hub's callbacks, after libev's point for fork watchers in that
/// iteration) forks: the fork watcher still runs in the child, once.
#[test]
#[ignore = "child process of fork_watchers_run_once_in_the_child_even_when_forked_from_a_callback"]
fn fork_watcher_child() {
    if !is_child() {
        return;
    }
    let _d = common::deadline("fork_watcher", common::TEST_DEADLINE);
    let hub = gevent::get_hub();
    let hits = std::rc::Rc::new(std::cell::Cell::new(0));
    let w = hub.loop_().fork().unwrap();
    w.set_ref(false);
    let h = hits.clone();
    w.start(move || h.set(h.get() + 1)).unwrap();
    hub.threadpool().unwrap().apply(|| ()).unwrap();
    let pid = gevent::fork().unwrap();
    if pid == 0 {
        // A stuck child must not outlive the test (no deadline thread
        // survives the fork).
        // SAFETY: alarm(2) on this process.
        unsafe { libc::alarm(20) };
        for _ in 0..3 {
            sleep(0.001).unwrap();
        }
        // SAFETY: leave the forked child at once.
        unsafe { libc::_exit(hits.get()) };
    }
    let (_, status) = waitpid(pid, 0).unwrap();
    assert_eq!(
        libc::WEXITSTATUS(status),
        1,
        "fork watcher runs in the child"
    );
    assert_eq!(hits.get(), 0, "and not in the parent");
    println!("fork_watcher_child: ok");
}

#[test]
fn fork_while_workers_finish_tasks_leaves_no_lock_behind() {
    in_child("fork_stress_child");
}

/// Forks 20 times while the pool's workers keep finishing tasks (posting
/// completions to the hub); every child must get a working pool at once.
#[test]
#[ignore = "child process of fork_while_workers_finish_tasks_leaves_no_lock_behind"]
fn fork_stress_child() {
    if !is_child() {
        return;
    }
    let _d = common::deadline("fork_stress", 60.0);
    let pool = gevent::threadpool::ThreadPool::new(4).unwrap();
    for round in 0..20 {
        let busy: Vec<_> = (0..8)
            .map(|i| {
                pool.spawn(move || std::thread::sleep(std::time::Duration::from_micros(200 * i)))
                    .unwrap()
            })
            .collect();
        sleep(0.0005 * (round % 4) as f64).unwrap();
        let pid = gevent::fork().unwrap();
        if pid == 0 {
            // A stuck child must not outlive the test (no deadline thread
            // survives the fork).
            // SAFETY: alarm(2) on this process.
            unsafe { libc::alarm(20) };
            let ok = pool.apply(|| 6 * 7).map(|v| v == 42).unwrap_or(false);
            // SAFETY: leave the forked child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let (_, status) = waitpid(pid, 0).unwrap();
        assert!(libc::WIFEXITED(status), "round {round}: {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "round {round}");
        for r in busy {
            r.get().unwrap();
        }
    }
    println!("fork_stress_child: ok");
}
