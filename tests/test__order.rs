//! Port of gevent's `src/gevent/tests/test__order.py`: a greenlet's links
//! run in the order they were added (2, 3, 4 and 1000 links), and
//! `sleep(0)` round-robins the greenlets in spawn order.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::ErrorLog;
use gevent::{Greenlet, sleep, spawn, wait_loop};

/// gevent's `error_fatal`: no error may reach the hub during the test.
fn assert_no_errors(errors: &ErrorLog) {
    assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
}

/// gevent's `appender(lst, item)`: a link callable appending `item`.
fn appender(lst: &Rc<RefCell<Vec<usize>>>, item: usize) -> impl FnOnce(&Greenlet<()>) + 'static {
    let lst = lst.clone();
    move |_| lst.borrow_mut().push(item)
}

/// `Test.test_greenlet_link`, shared by the subclasses that only change
/// `count`.
fn greenlet_link(count: usize) {
    let errors = ErrorLog::install();
    let lst = Rc::new(RefCell::new(Vec::new()));

    // test that links are executed in the same order as they were added
    let l = lst.clone();
    let g = spawn(move || {
        l.borrow_mut().push(0);
        Ok(())
    });

    for i in 1..count {
        g.link(appender(&lst, i));
    }
    g.join().unwrap();
    assert_eq!(*lst.borrow(), (0..count).collect::<Vec<_>>());
    assert_no_errors(&errors);
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_greenlet_link() {
        let _d = common::deadline("Test::test_greenlet_link", common::TEST_DEADLINE);
        greenlet_link(2);
    }
}

#[allow(non_snake_case)]
mod Test3 {
    use super::*;

    #[test]
    fn test_greenlet_link() {
        let _d = common::deadline("Test3::test_greenlet_link", common::TEST_DEADLINE);
        greenlet_link(3);
    }
}

#[allow(non_snake_case)]
mod Test4 {
    use super::*;

    #[test]
    fn test_greenlet_link() {
        let _d = common::deadline("Test4::test_greenlet_link", common::TEST_DEADLINE);
        greenlet_link(4);
    }
}

#[allow(non_snake_case)]
mod TestM {
    use super::*;

    #[test]
    fn test_greenlet_link() {
        let _d = common::deadline("TestM::test_greenlet_link", common::TEST_DEADLINE);
        greenlet_link(1000);
    }
}

fn sleep0(lst: Rc<RefCell<Vec<String>>>, param: &str) -> gevent::Result<()> {
    lst.borrow_mut().push(format!("{param}A"));
    sleep(0)?;
    lst.borrow_mut().push(format!("{param}B"));
    Ok(())
}

#[allow(non_snake_case)]
mod TestSleep0 {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestSleep0::test", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let lst = Rc::new(RefCell::new(Vec::new()));
        let l = lst.clone();
        spawn(move || sleep0(l, "1"));
        let l = lst.clone();
        spawn(move || sleep0(l, "2"));
        wait_loop().unwrap();
        assert_eq!(lst.borrow().join(" "), "1A 2A 1B 2B");
        assert_no_errors(&errors);
    }
}

// Not ported: nothing; every gevent method of test__order.py has a port
// above (Test, Test3, Test4, TestM share the body `greenlet_link`).
