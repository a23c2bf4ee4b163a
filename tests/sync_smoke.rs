//! Quick checks of event, lock and queue basics (the full gevent ports of
//! test__event, test__semaphore and test__queue are separate files).

use gevent::event::{AsyncResult, Event};
use gevent::lock::{BoundedSemaphore, RLock, Semaphore};
use gevent::queue::{Channel, Queue};
use gevent::*;
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn event_set_then_clear_wakes_all_waiters() {
    let ev = Event::new();
    let woken = Rc::new(RefCell::new(Vec::new()));
    let gs: Vec<_> = (0..5)
        .map(|i| {
            let (e, w) = (ev.clone(), woken.clone());
            spawn(move || {
                let r = e.wait()?;
                w.borrow_mut().push((i, r));
                Ok(())
            })
        })
        .collect();
    sleep(0.0).unwrap();
    ev.set();
    ev.clear();
    joinall(&gs).unwrap();
    assert_eq!(
        *woken.borrow(),
        (0..5).map(|i| (i, true)).collect::<Vec<_>>()
    );
    assert!(!ev.wait_timeout(0.01).unwrap());
}

#[test]
fn async_result_value_and_error() {
    let r: AsyncResult<i32> = AsyncResult::new();
    let r2 = r.clone();
    spawn(move || {
        sleep(0.01)?;
        r2.set(7);
        Ok(())
    });
    assert_eq!(r.get().unwrap(), 7);
    let e: AsyncResult<i32> = AsyncResult::new();
    assert!(matches!(e.get_timeout(0.01), Err(Error::Timeout(_))));
    e.set_exception(Error::msg("bad"));
    assert!(matches!(e.get(), Err(Error::Custom(_))));
    assert!(!e.successful());
}

#[test]
fn semaphore_fifo_and_bounded() {
    let sem = Semaphore::new(0).unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let gs: Vec<_> = (0..3)
        .map(|i| {
            let (s, o) = (sem.clone(), order.clone());
            spawn(move || {
                s.acquire()?;
                o.borrow_mut().push(i);
                Ok(())
            })
        })
        .collect();
    sleep(0.0).unwrap();
    for _ in 0..3 {
        sem.release().unwrap();
    }
    joinall(&gs).unwrap();
    assert_eq!(*order.borrow(), vec![0, 1, 2]);
    assert!(!sem.acquire_timeout(0.01).unwrap());
    let b = BoundedSemaphore::new(1).unwrap();
    assert!(b.release().is_err());
    assert!(Semaphore::new(-1).is_err());
    let l = RLock::new();
    l.acquire().unwrap();
    l.acquire().unwrap();
    l.release().unwrap();
    assert!(l.locked());
    l.release().unwrap();
    assert!(!l.locked());
    assert!(l.release().is_err());
}

#[test]
fn queue_bounded_and_channel() {
    let q: Queue<i32> = Queue::new(Some(1));
    let q2 = q.clone();
    let p = spawn(move || {
        for i in 0..5 {
            q2.put(i)?;
        }
        Ok(())
    });
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(q.get().unwrap());
    }
    p.join().unwrap();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert!(matches!(q.get_timeout(0.01), Err(Error::Empty)));
    q.try_put(1).unwrap();
    assert!(matches!(q.try_put(2), Err(Error::Full)));

    let ch: Channel<&'static str> = Channel::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (c, l) = (ch.clone(), log.clone());
    let putter = spawn(move || {
        l.borrow_mut().push("sending");
        c.put("hello")?;
        l.borrow_mut().push("sent hello");
        Ok(())
    });
    let (c, l) = (ch.clone(), log.clone());
    let getter = spawn(move || {
        let v = c.get()?;
        l.borrow_mut().push(v);
        Ok(())
    });
    joinall(&[putter, getter]).unwrap();
    assert_eq!(*log.borrow(), vec!["sending", "hello", "sent hello"]);
}

#[test]
fn greenlet_links_to_queue_and_result() {
    let q: Queue<Greenlet<i32>> = Queue::new(None);
    let r: AsyncResult<i32> = AsyncResult::new();
    let g = spawn(|| Ok(100));
    let (q2, r2) = (q.clone(), r.clone());
    g.link(move |g| {
        let _ = q2.put(g.clone());
    });
    g.link(move |g| r2.set_from(g));
    assert_eq!(q.get().unwrap().get().unwrap(), 100);
    assert_eq!(r.get().unwrap(), 100);
    let objs = [r.clone()];
    let w = wait(&objs).unwrap();
    assert_eq!(w.len(), 1);
}

#[test]
fn bad_timeouts_are_errors_not_hangs() {
    let ev = Event::new();
    assert!(matches!(
        ev.wait_timeout(-1.0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        ev.wait_timeout(f64::NAN),
        Err(Error::InvalidArgument(_))
    ));
    let r: AsyncResult<i32> = AsyncResult::new();
    assert!(matches!(
        r.get_timeout(-0.5),
        Err(Error::InvalidArgument(_))
    ));
    let sem = Semaphore::new(0).unwrap();
    assert!(matches!(
        sem.acquire_timeout(-1.0),
        Err(Error::InvalidArgument(_))
    ));
    let q: Queue<i32> = Queue::new(None);
    assert!(matches!(
        q.get_timeout(-1.0),
        Err(Error::InvalidArgument(_))
    ));
    let g = spawn(|| sleep(10.0));
    assert!(matches!(
        g.join_timeout(-1.0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        g.kill_timeout(f64::NAN),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        get_hub().join_timeout(-1.0),
        Err(Error::InvalidArgument(_))
    ));
    let objs = [ev.clone()];
    assert!(matches!(
        wait_timeout(&objs, -1.0),
        Err(Error::InvalidArgument(_))
    ));
    g.kill().unwrap();
    // Blocking from inside the hub is an error, never a hang.
    let ev2 = ev.clone();
    let out = std::rc::Rc::new(std::cell::RefCell::new(None));
    let o = out.clone();
    get_hub()
        .run_callback(move || *o.borrow_mut() = Some(ev2.wait()))
        .unwrap();
    sleep(0.0).unwrap();
    assert!(matches!(
        *out.borrow(),
        Some(Err(Error::BlockingSwitchOut(_)))
    ));
}
