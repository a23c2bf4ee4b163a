// Port of gevent 26.9.0 src/gevent/tests/test__nondefaultloop.py
// (a script, gevent issue #210).
//
// gevent guards the script with `alarm(1)`; here the per-test deadline
// plays that role. Adaptation: the #[test] runs on its own thread (not the
// process's main thread, which owns libev's default loop); the loop under
// test is `core.loop(default=False)` in both, so nothing else changes.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use gevent::core::Loop;

#[allow(non_snake_case)]
#[test]
fn test__nondefaultloop() {
    let _d = common::deadline("test__nondefaultloop", common::TEST_DEADLINE);
    let log = Rc::new(RefCell::new(Vec::new()));
    let lp = Loop::new(0).unwrap();
    assert!(!lp.is_default());
    let l = log.clone();
    lp.run_callback(move || l.borrow_mut().push(1)).unwrap();
    lp.run();
    assert_eq!(*log.borrow(), vec![1]);
}
