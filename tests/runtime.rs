//! Our own tests for what gevent's suite does not pin: unwinding on kill,
//! hub destroy and thread exit (drop counters), scale, stack overflow
//! reporting, panics contained, the stack pool.

mod common;

use gevent::*;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn thread_exit_unwinds_suspended_greenlets() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        for _ in 0..10 {
            let d = d.clone();
            spawn(move || {
                let _guard = DropCount(d);
                sleep(1000.0)?;
                Ok(())
            });
        }
        // A raw greenlet parked forever, too.
        let d2 = d.clone();
        spawn_raw(move || {
            let _guard = DropCount(d2);
            let w: Waiter<()> = Waiter::new();
            let _ = w.get();
        });
        sleep(0.01).unwrap();
        // Returning ends the thread with 11 greenlets suspended.
    })
    .join()
    .unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 11);
}

#[test]
fn kill_unwinds_and_blocking_in_destructor_does_not_switch() {
    struct BlocksInDrop(Rc<Cell<Option<bool>>>);
    impl Drop for BlocksInDrop {
        fn drop(&mut self) {
            // A blocking call while unwinding fails at once instead of
            // switching away from a half-unwound stack.
            self.0.set(Some(sleep(1.0).is_err()));
        }
    }
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    let g = spawn(move || {
        let _b = BlocksInDrop(s);
        sleep(1000.0)?;
        Ok(())
    });
    sleep(0.0).unwrap();
    // Destroying the hub forces an unwind (kill only throws GreenletExit,
    // which the body propagates with `?`, dropping normally).
    get_hub().destroy();
    assert_eq!(seen.get(), Some(true));
    assert!(!g.ready() || g.successful());
}

#[test]
fn panic_in_greenlet_is_contained() {
    let errors = Rc::new(Cell::new(0));
    let e = errors.clone();
    get_hub().set_handle_error(move |_, err| {
        assert!(matches!(err, Error::Panicked(_)));
        e.set(e.get() + 1);
    });
    let bad = spawn(|| -> Result<()> { panic!("boom") });
    let good = spawn(|| {
        sleep(0.01)?;
        Ok(5)
    });
    assert_eq!(good.get().unwrap(), 5);
    match bad.get() {
        Err(Error::Panicked(m)) => assert!(m.contains("boom")),
        other => panic!("{other:?}"),
    }
    assert_eq!(errors.get(), 1);
}

#[test]
fn panic_in_callback_is_contained() {
    let errors = Rc::new(Cell::new(0));
    let e = errors.clone();
    let hub = get_hub();
    hub.set_handle_error(move |_, _| e.set(e.get() + 1));
    hub.run_callback(|| -> Result<()> { panic!("callback boom") })
        .unwrap();
    let t = hub.loop_().timer(0.001, 0.0).unwrap();
    t.start(|| panic!("timer boom")).unwrap();
    sleep(0.02).unwrap();
    assert_eq!(errors.get(), 2);
}

#[test]
fn hundred_thousand_blocked_greenlets() {
    // More than vm.max_map_count / 2: impossible with one mapping plus a
    // guard mapping per stack. (Fewer under valgrind, which checks the
    // memory use here, not the scale.)
    let n = common::scaled(100_000);
    let mut waiters = Vec::with_capacity(n);
    let mut gs = Vec::with_capacity(n);
    for i in 0..n {
        let w: Waiter<usize> = Waiter::new();
        waiters.push(w.clone());
        gs.push(spawn(move || Ok(w.get()? + i)));
    }
    sleep(0.0).unwrap();
    let stats = gevent::greenlet::raw::stack_stats();
    assert!(stats.live_greenlets > n, "{stats:?}");
    assert!(stats.stacks_in_use > n, "{stats:?}");
    let maps = std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count();
    assert!(maps < 20_000, "{maps} mappings for {n} greenlets");
    for w in &waiters {
        w.switch(1);
    }
    joinall(&gs).unwrap();
    for (i, g) in gs.iter().enumerate() {
        assert_eq!(g.value(), Some(i + 1));
    }
    let stats = gevent::greenlet::raw::stack_stats();
    assert_eq!(stats.live_greenlets, 1, "{stats:?}"); // the hub
}

#[test]
fn stack_overflow_is_reported() {
    if std::env::var("GEVENT_TEST_OVERFLOW_CHILD").is_ok() {
        #[allow(unconditional_recursion)]
        fn recurse(n: u64) -> u64 {
            let buf = [n as u8; 512];
            std::hint::black_box(&buf);
            recurse(n + 1) + buf[0] as u64
        }
        let g = spawn(|| Ok(recurse(0)));
        g.set_name("deep-recursion");
        let _ = g.join();
        unreachable!("the overflow must abort");
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "stack_overflow_is_reported",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GEVENT_TEST_OVERFLOW_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("greenlet stack overflow") && stderr.contains("deep-recursion"),
        "stderr: {stderr}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{:?}", out.status);
}

#[test]
fn stacks_are_reused() {
    // Serial spawn+join reuses one stack: no new slab, one stack in use.
    spawn(|| Ok(())).join().unwrap();
    let before = gevent::greenlet::raw::stack_stats();
    for _ in 0..20_000 {
        spawn(|| Ok(())).join().unwrap();
    }
    let after = gevent::greenlet::raw::stack_stats();
    assert_eq!(before.slabs, after.slabs);
    assert_eq!(after.stacks_in_use, 1, "{after:?}"); // the hub's
}

#[test]
fn spawned_greenlet_runs_without_a_handle() {
    // gevent: a spawned greenlet runs even if nobody keeps its handle.
    let ran = Rc::new(Cell::new(0));
    for _ in 0..3 {
        let r = ran.clone();
        spawn(move || {
            sleep(0.001)?;
            r.set(r.get() + 1);
            Ok(())
        });
    }
    let r = ran.clone();
    gevent::spawn_later(0.001, move || {
        r.set(r.get() + 1);
        Ok(())
    })
    .unwrap();
    sleep(0.05).unwrap();
    assert_eq!(ran.get(), 4);
}

#[test]
fn unstarted_greenlet_without_handle_is_freed() {
    // A greenlet never started holds no cycle: dropping the handle frees
    // its function.
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = DropCount(drops.clone());
    let g = Greenlet::new(move || {
        let _g = &guard;
        Ok(())
    });
    drop(g);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn join_timeout_with_custom_error_timeout_propagates() {
    // gevent's join swallows only its own Timeout, not a custom exception.
    let t = Timeout::with_error(Some(0.01), Error::msg("custom"));
    let g = spawn(|| sleep(10.0));
    let r = g.join_timeout(&t);
    assert!(matches!(r, Err(Error::Custom(_))), "{r:?}");
    g.kill().unwrap();
}

#[test]
fn pending_timeout_argument_is_not_restarted() {
    let t = Timeout::new(Some(0.2));
    t.start().unwrap();
    sleep(0.15).unwrap();
    let g = spawn(|| sleep(10.0));
    let t0 = std::time::Instant::now();
    let r = g.get_timeout(&t);
    assert!(t.caused(&r.unwrap_err()));
    assert!(t0.elapsed().as_secs_f64() < 0.15, "{:?}", t0.elapsed());
    g.kill().unwrap();
}

#[test]
fn signal_is_released_when_its_watcher_stops() {
    use std::sync::mpsc;
    let (tx, rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let a = std::thread::spawn(move || {
        let h = signal_handler(libc::SIGWINCH, || Ok(())).unwrap();
        sleep(0.01).unwrap();
        h.cancel();
        drop(h);
        tx.send(()).unwrap();
        // Keep this thread's loop alive while the other thread claims.
        done_rx.recv().unwrap();
    });
    rx.recv().unwrap();
    let h = signal_handler(libc::SIGWINCH, || Ok(()));
    assert!(h.is_ok(), "{:?}", h.err());
    drop(h);
    done_tx.send(()).unwrap();
    a.join().unwrap();
}
