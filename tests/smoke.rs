use gevent::*;
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn spawn_sleep_join() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l1 = log.clone();
    let a = spawn(move || {
        l1.borrow_mut().push("a1");
        sleep(0.0)?;
        l1.borrow_mut().push("a2");
        Ok(1)
    });
    let l2 = log.clone();
    let b = spawn(move || {
        l2.borrow_mut().push("b1");
        sleep(0.0)?;
        l2.borrow_mut().push("b2");
        Ok(2)
    });
    let done = joinall(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(*log.borrow(), vec!["a1", "b1", "a2", "b2"]);
    assert_eq!(a.get().unwrap(), 1);
    assert_eq!(b.get().unwrap(), 2);
}

#[test]
fn sleep_timer() {
    let t = std::time::Instant::now();
    sleep(0.05).unwrap();
    let e = t.elapsed().as_secs_f64();
    assert!((0.045..0.5).contains(&e), "{e}");
}

#[test]
fn loop_exit() {
    let w: Waiter<()> = Waiter::new();
    match w.get() {
        Err(Error::LoopExit(m)) => assert!(m.contains("block forever"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kill_runs_destructors() {
    struct D(Rc<RefCell<bool>>);
    impl Drop for D {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let flag = Rc::new(RefCell::new(false));
    let f = flag.clone();
    let g = spawn(move || {
        let _d = D(f);
        sleep(10.0)?;
        Ok(())
    });
    sleep(0.01).unwrap();
    g.kill().unwrap();
    assert!(*flag.borrow());
    assert!(g.dead() && g.successful());
}

#[test]
fn hub_destroy_unwinds() {
    struct D(Rc<RefCell<u32>>);
    impl Drop for D {
        fn drop(&mut self) {
            *self.0.borrow_mut() += 1;
        }
    }
    let n = Rc::new(RefCell::new(0));
    for _ in 0..3 {
        let n = n.clone();
        spawn(move || {
            let _d = D(n);
            let w: Waiter<()> = Waiter::new();
            w.get()?;
            Ok(())
        });
    }
    sleep(0.0).unwrap();
    get_hub().destroy();
    assert_eq!(*n.borrow(), 3);
    sleep(0.001).unwrap();
}

#[test]
fn loop_fileno_and_activecnt() {
    let lp = gevent::core::Loop::with_backend("epoll").unwrap();
    let fd = lp.fileno().expect("epoll has an fd");
    assert!(
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .to_string_lossy()
            .contains("eventpoll")
    );
    let base = lp.activecnt();
    let t = lp.timer(10.0, 0.0).unwrap();
    t.start(|| ()).unwrap();
    assert_eq!(lp.activecnt(), base + 1);
    t.set_ref(false);
    assert_eq!(lp.activecnt(), base);
    t.stop();
    assert_eq!(lp.activecnt(), base);
    let sel = gevent::core::Loop::with_backend("select").unwrap();
    assert_eq!(sel.fileno(), None);
}
