//! Cross-thread wake-ups: other threads set events and results and release
//! semaphores through `Send` handles; the change happens on the owner's
//! thread, through the hub's thread-safe callback queue.

use gevent::event::{AsyncResult, Event};
use gevent::lock::Semaphore;
use gevent::*;
use std::time::Duration;

#[test]
fn async_result_set_from_native_thread_wakes_waiter() {
    let r: AsyncResult<String> = AsyncResult::new();
    let remote = r.threadsafe().unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        remote.set("from thread".to_string()).unwrap();
    });
    // No greenlet or watcher of this thread could set it: only the remote
    // handle keeps this wait from being a LoopExit.
    assert_eq!(r.get_timeout(5.0).unwrap(), "from thread");
    t.join().unwrap();
}

#[test]
fn async_result_exception_from_native_thread() {
    let r: AsyncResult<i32> = AsyncResult::new();
    let remote = r.threadsafe().unwrap();
    std::thread::spawn(move || remote.set_exception(Error::msg("remote failure")).unwrap())
        .join()
        .unwrap();
    assert!(matches!(r.get_timeout(5.0), Err(Error::Custom(_))));
}

#[test]
fn event_set_from_many_threads() {
    let ev = Event::new();
    let remote = ev.threadsafe().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let r = remote.clone();
            std::thread::spawn(move || r.set().unwrap())
        })
        .collect();
    drop(remote);
    assert!(ev.wait_timeout(5.0).unwrap());
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn semaphore_released_from_hubless_thread() {
    // gevent issue 2013: a release from a thread without a hub wakes the
    // waiter on the owner thread.
    let sem = Semaphore::new(0).unwrap();
    let remote = sem.threadsafe().unwrap();
    let waiter = {
        let s = sem.clone();
        spawn(move || s.acquire())
    };
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        remote.release().unwrap();
    });
    assert!(waiter.get_timeout(5.0).unwrap());
}

#[test]
fn dropped_handles_let_the_loop_exit() {
    // Once every remote handle is gone, nothing can set the result: the
    // wait ends in LoopExit instead of hanging.
    let r: AsyncResult<i32> = AsyncResult::new();
    let remote = r.threadsafe().unwrap();
    std::thread::spawn(move || drop(remote)).join().unwrap();
    match r.get() {
        Err(Error::LoopExit(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn handle_refuses_after_hub_destroyed() {
    let ev = Event::new();
    let remote = ev.threadsafe().unwrap();
    get_hub().destroy();
    let r = std::thread::spawn(move || remote.set()).join().unwrap();
    assert!(matches!(r, Err(Error::HubDestroyed)), "{r:?}");
}

#[test]
fn run_callback_threadsafe_runs_in_order_on_the_owner_thread() {
    let hub = get_hub();
    let handle = hub.threadsafe_handle().unwrap();
    let owner = std::thread::current().id();
    let (tx, rx) = std::sync::mpsc::channel();
    let r: AsyncResult<Vec<u32>> = AsyncResult::new();
    let remote = r.threadsafe().unwrap();
    std::thread::spawn(move || {
        for i in 0..100u32 {
            let tx = tx.clone();
            handle
                .run_callback_threadsafe(move || {
                    tx.send((i, std::thread::current().id())).unwrap();
                })
                .unwrap();
        }
        remote.set(vec![]).unwrap();
    });
    r.get_timeout(5.0).unwrap();
    let got: Vec<_> = rx.try_iter().collect();
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|(_, t)| *t == owner));
    assert_eq!(
        got.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
}
