//! `gevent::threadpool::ThreadPool`, the core: results come back to the
//! waiting greenlet while the loop keeps running, panics are results, a
//! task in flight keeps the loop alive, `maxsize` bounds the threads, `join`
//! waits for all, `kill` fails what is queued.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gevent::threadpool::ThreadPool;
use gevent::{Error, get_hub, sleep, spawn};

#[test]
fn spawn_and_apply_return_results_while_the_loop_runs() {
    let _d = common::deadline("tp_results", common::TEST_DEADLINE);
    let pool = ThreadPool::new(2).unwrap();
    let slow = pool
        .spawn(|| {
            std::thread::sleep(Duration::from_secs_f64(0.05 * common::time_scale()));
            "slow"
        })
        .unwrap();
    // Meanwhile a greenlet runs: the hub is not blocked by the task.
    let ticks = spawn(|| {
        let mut n = 0;
        for _ in 0..5 {
            sleep(0.005)?;
            n += 1;
        }
        Ok(n)
    });
    assert_eq!(ticks.get().unwrap(), 5);
    assert!(!slow.ready(), "the ticks finished first");
    assert_eq!(slow.get().unwrap(), "slow");
    assert_eq!(pool.apply(|| 2 + 2).unwrap(), 4);
    assert_eq!(pool.unfinished(), 0);
}

#[test]
fn a_panicking_task_is_its_result() {
    let pool = ThreadPool::new(1).unwrap();
    let r = pool.spawn(|| -> u8 { panic!("in a worker") }).unwrap();
    match r.get() {
        Err(Error::Panicked(m)) => assert!(m.contains("in a worker")),
        other => panic!("{other:?}"),
    }
    // The worker survives.
    assert_eq!(pool.apply(|| 1).unwrap(), 1);
}

#[test]
fn a_task_in_flight_keeps_the_loop_alive() {
    let _d = common::deadline("tp_keeps_alive", common::TEST_DEADLINE);
    let pool = ThreadPool::new(1).unwrap();
    let r = pool
        .spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            7
        })
        .unwrap();
    // Nothing else is in the loop: without the task's reference this
    // would be LoopExit.
    assert!(get_hub().join().unwrap());
    assert_eq!(r.try_get().unwrap(), 7);
}

#[test]
fn maxsize_bounds_the_threads_and_map_keeps_order() {
    let _d = common::deadline("tp_maxsize", common::TEST_DEADLINE);
    let pool = ThreadPool::new(3).unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let out = pool
        .map(
            move |x: u32| {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                r.fetch_sub(1, Ordering::SeqCst);
                x * x
            },
            0..12,
        )
        .unwrap();
    assert_eq!(out, (0..12).map(|x| x * x).collect::<Vec<_>>());
    assert!(most.load(Ordering::SeqCst) <= 3);
    assert!(pool.size() <= 3);
}

#[test]
fn join_waits_for_every_task() {
    let _d = common::deadline("tp_join", common::TEST_DEADLINE);
    let pool = ThreadPool::new(2).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..6 {
        let d = done.clone();
        let _ = pool
            .spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                d.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    pool.join().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 6);
    assert!(pool.join_timeout(0.0).unwrap());
}

#[test]
fn kill_fails_queued_tasks_and_refuses_new_ones() {
    let _d = common::deadline("tp_kill", common::TEST_DEADLINE);
    let pool = ThreadPool::new(1).unwrap();
    let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = started.clone();
    let running = pool
        .spawn(move || {
            s.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            1
        })
        .unwrap();
    let queued = pool.spawn(|| 2).unwrap();
    // The only worker is busy with the first task: the second stays queued.
    let t0 = std::time::Instant::now();
    while !started.load(Ordering::SeqCst) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the worker never started"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    pool.kill();
    assert!(matches!(queued.get(), Err(Error::GreenletExit)));
    assert_eq!(running.get().unwrap(), 1, "a running task finishes");
    assert!(matches!(pool.spawn(|| 3), Err(Error::InvalidArgument(_))));
}

#[test]
fn apply_async_calls_back_in_the_hub() {
    let _d = common::deadline("tp_apply_async", common::TEST_DEADLINE);
    let pool = ThreadPool::new(1).unwrap();
    let seen = std::rc::Rc::new(std::cell::Cell::new(0));
    let s = seen.clone();
    let r = pool.apply_async(|| 11, move |v| s.set(v)).unwrap();
    assert_eq!(r.get().unwrap(), 11);
    sleep(0.0).unwrap();
    assert_eq!(seen.get(), 11);
}

#[test]
fn the_hub_has_its_own_pool() {
    let hub = get_hub();
    let a = hub.threadpool().unwrap();
    let b = hub.threadpool().unwrap();
    assert_eq!(a.maxsize(), gevent::threadpool::DEFAULT_SIZE);
    a.set_maxsize(4).unwrap();
    assert_eq!(b.maxsize(), 4, "the same pool");
}

#[test]
fn maxsize_zero_holds_tasks_until_raised_and_set_size_bounds_threads() {
    let _d = common::deadline("maxsize_zero", common::TEST_DEADLINE);
    let pool = ThreadPool::new(0).unwrap();
    let r = pool.spawn(|| 7).unwrap();
    sleep(0.05).unwrap();
    assert!(!r.ready(), "ran with maxsize 0");
    assert_eq!(pool.size(), 0);
    pool.set_maxsize(2).unwrap();
    assert_eq!(r.get().unwrap(), 7);
    assert!(matches!(pool.set_size(3), Err(Error::InvalidArgument(_))));
    pool.set_size(2).unwrap();
    assert_eq!(pool.size(), 2);
    pool.set_size(0).unwrap();
    let t0 = std::time::Instant::now();
    while pool.size() > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "threads did not exit"
        );
        sleep(0.01).unwrap();
    }
    // Back to work: a new task starts a thread again.
    assert_eq!(pool.apply(|| 8).unwrap(), 8);
}

#[test]
fn destroying_the_hub_ends_its_pool_without_leaking_loop_references() {
    let _d = common::deadline("tp_destroy", common::TEST_DEADLINE);
    let hub = get_hub();
    let pool = hub.threadpool().unwrap();
    let running = pool
        .spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            1
        })
        .unwrap();
    let queued: Vec<_> = (0..12).map(|i| pool.spawn(move || i).unwrap()).collect();
    hub.destroy();
    // Running: HubDestroyed; still queued (the worker had not picked it
    // up yet): dropped, GreenletExit.
    let r = running.try_get();
    assert!(
        matches!(r, Err(Error::HubDestroyed | Error::GreenletExit)),
        "{r:?}"
    );
    assert!(queued.iter().all(|r| r.ready()));
    assert!(matches!(pool.spawn(|| 0), Err(Error::InvalidArgument(_))));
    // The next hub has a pool of its own, and its loop ends when idle (no
    // reference left over from the old tasks).
    std::thread::sleep(Duration::from_millis(40)); // the late completion
    let hub2 = get_hub();
    let pool2 = hub2.threadpool().unwrap();
    assert_eq!(pool2.apply(|| 5).unwrap(), 5);
    assert!(hub2.join_timeout(2.0).unwrap(), "the loop did not end");
}

#[test]
fn imap_keeps_item_order_and_takes_items_lazily() {
    let _d = common::deadline("imap", common::TEST_DEADLINE);
    let pool = ThreadPool::new(3).unwrap();
    let taken = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let t = taken.clone();
    // Later items finish first; the order stays the items'.
    let items = (0..12u64).inspect(move |_| t.set(t.get() + 1));
    let mut it = pool.imap(
        |x: u64| {
            std::thread::sleep(std::time::Duration::from_millis((12 - x) * 2));
            x * 10
        },
        items,
    );
    assert_eq!(it.next().unwrap().unwrap(), 0);
    // Only a window of twice maxsize items is taken ahead of the reader.
    assert!(taken.get() <= 1 + 2 * 3, "took {} items", taken.get());
    let rest: Vec<u64> = it.map(|r| r.unwrap()).collect();
    assert_eq!(rest, (1..12).map(|x| x * 10).collect::<Vec<_>>());
    assert_eq!(taken.get(), 12);
}

#[test]
fn imap_unordered_yields_in_completion_order() {
    let _d = common::deadline("imap_unordered", common::TEST_DEADLINE);
    let pool = ThreadPool::new(4).unwrap();
    let delays = [300u64, 10, 150, 60];
    let got: Vec<u64> = pool
        .imap_unordered(
            |ms: u64| {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                ms
            },
            delays,
        )
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got, [10, 60, 150, 300]);
}

#[test]
fn imap_reports_a_panic_in_place_and_goes_on() {
    let pool = ThreadPool::new(2).unwrap();
    let got: Vec<gevent::Result<u32>> = pool
        .imap(
            |x: u32| {
                if x == 2 {
                    panic!("two");
                }
                x
            },
            0..4,
        )
        .collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got[1].as_ref().unwrap(), &1);
    assert!(
        matches!(&got[2], Err(Error::Panicked(m)) if m.contains("two")),
        "{:?}",
        got[2]
    );
    assert_eq!(got[3].as_ref().unwrap(), &3);
    // An empty input is an empty iterator, and a non-Clone result works.
    assert_eq!(pool.imap(|x: u8| x, Vec::new()).count(), 0);
    let files: Vec<_> = pool.imap(|_: u8| std::sync::Mutex::new(1), [1u8]).collect();
    assert_eq!(*files[0].as_ref().unwrap().lock().unwrap(), 1);
}

#[test]
fn imap_after_kill_reports_the_refusal() {
    let pool = ThreadPool::new(1).unwrap();
    pool.kill();
    let got: Vec<gevent::Result<u8>> = pool.imap(|x: u8| x, [1, 2]).collect();
    assert_eq!(got.len(), 1);
    assert!(matches!(got[0], Err(Error::InvalidArgument(_))), "{got:?}");
}

/// A thread ends while one of its greenlets waits for a pool task: the
/// greenlet is unwound during the thread's exit, its pool handle dropped
/// while the thread's locals go away, and nothing panics (a panic there
/// would abort the process).
#[test]
fn a_thread_may_end_while_a_greenlet_waits_on_its_pool() {
    for _ in 0..5 {
        std::thread::spawn(|| {
            let pool = ThreadPool::new(1).unwrap();
            let _g = spawn(move || pool.apply(|| std::thread::sleep(Duration::from_millis(100))));
            sleep(0.01).unwrap();
        })
        .join()
        .unwrap();
        std::thread::spawn(|| {
            let _g = spawn(|| gevent::socket::gethostbyname("localhost"));
            gevent::idle().unwrap();
        })
        .join()
        .unwrap();
    }
}
