//! Scenarios that wake many waiters of one object, shared by the bounded
//! scaling test (`tests/wake_scaling.rs`) and the bench
//! (`benches/wake_many.rs`). Each parks `n` greenlets, then returns the
//! seconds from the wake-up call to all of them done: linear code costs the
//! same per waiter at 10k and 100k, quadratic code does not.
#![allow(dead_code)]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use gevent::event::Event;
use gevent::lock::Semaphore;
use gevent::queue::Queue;
use gevent::{Greenlet, joinall, killall, sleep, spawn};

/// `n` greenlets parked on `ev.wait()` (started and parked on return).
fn parked_on(ev: &Event, n: usize) -> Vec<Greenlet<bool>> {
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let e = ev.clone();
            spawn(move || e.wait())
        })
        .collect();
    sleep(0.0).unwrap();
    gs
}

/// `Event.set()` with `n` waiters, until all are joined.
pub fn event_set(n: usize) -> f64 {
    let ev = Event::new();
    let gs = parked_on(&ev, n);
    let t0 = Instant::now();
    ev.set();
    joinall(&gs).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert!(gs.iter().all(|g| g.value() == Some(true)));
    dt
}

/// `n` waiters in `Event.wait_timeout`, all timing out together (libev
/// fires their timers in heap order, so links leave from anywhere in the
/// list); timed from the first waiter's wake-up.
pub fn event_wait_timeout(n: usize) -> f64 {
    let ev = Event::new();
    let first: Rc<Cell<Option<Instant>>> = Rc::default();
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let e = ev.clone();
            let first = first.clone();
            spawn(move || {
                let r = e.wait_timeout(0.005);
                if first.get().is_none() {
                    first.set(Some(Instant::now()));
                }
                r
            })
        })
        .collect();
    joinall(&gs).unwrap();
    let dt = first.get().expect("woken").elapsed().as_secs_f64();
    assert!(gs.iter().all(|g| g.value() == Some(false)));
    assert_eq!(ev.linkcount(), 0);
    dt
}

/// A `Semaphore(0)` released once down a chain of `n` acquirers (each
/// releases after it acquired).
pub fn semaphore_chain(n: usize) -> f64 {
    let sem = Semaphore::new(0).unwrap();
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let s = sem.clone();
            spawn(move || {
                s.acquire()?;
                s.release()
            })
        })
        .collect();
    sleep(0.0).unwrap();
    let t0 = Instant::now();
    sem.release().unwrap();
    joinall(&gs).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(sem.counter(), 1);
    dt
}

/// `n` getters blocked on an empty `Queue`, then `n` puts.
pub fn queue_getters(n: usize) -> f64 {
    let q: Queue<usize> = Queue::new(None);
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let q = q.clone();
            spawn(move || q.get())
        })
        .collect();
    sleep(0.0).unwrap();
    assert_eq!(q.getters(), n);
    let t0 = Instant::now();
    for i in 0..n {
        q.put(i).unwrap();
    }
    joinall(&gs).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(q.getters(), 0);
    dt
}

/// `n` greenlets joining one greenlet, which then ends.
pub fn joiners(n: usize) -> f64 {
    let ev = Event::new();
    let e = ev.clone();
    let target = spawn(move || e.wait());
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let t = target.clone();
            spawn(move || t.join())
        })
        .collect();
    sleep(0.0).unwrap();
    let t0 = Instant::now();
    ev.set();
    joinall(&gs).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert!(gs.iter().all(|g| g.successful()));
    assert_eq!(target.has_links(), 0);
    dt
}

/// `killall` of `n` greenlets parked on one `Event`, oldest first or
/// newest first (each killed greenlet takes its link out of the event).
pub fn killall_order(n: usize, newest_first: bool) -> f64 {
    let ev = Event::new();
    let mut gs = parked_on(&ev, n);
    if newest_first {
        gs.reverse();
    }
    let t0 = Instant::now();
    killall(&gs).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert!(gs.iter().all(|g| g.killed()));
    assert_eq!(ev.linkcount(), 0);
    dt
}

/// Every scenario but the hub's destruction, by name.
/// A scenario: waiters in, seconds out.
pub type Scenario = fn(usize) -> f64;

pub const SCENARIOS: &[(&str, Scenario)] = &[
    ("event_set", event_set),
    ("event_wait_timeout", event_wait_timeout),
    ("semaphore_chain", semaphore_chain),
    ("queue_getters", queue_getters),
    ("joiners", joiners),
    ("killall_oldest_first", |n| killall_order(n, false)),
    ("killall_newest_first", |n| killall_order(n, true)),
];

/// Destroying the hub with `n` suspended greenlets (each unwound).
pub fn hub_destroy(n: usize) -> f64 {
    let ev = Event::new();
    let gs = parked_on(&ev, n);
    let t0 = Instant::now();
    gevent::get_hub().destroy();
    let dt = t0.elapsed().as_secs_f64();
    assert!(gs.iter().all(|g| g.ready()));
    dt
}
