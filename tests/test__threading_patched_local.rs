//! Port of gevent 26.9.0 `src/gevent/tests/test__threading_patched_local.py`
//! (a script): the isolation contract of greenlet-locals. A value set in
//! the main greenlet is not visible in a new "thread" (with gevent's
//! monkey-patching, a greenlet), which starts with no values at all, and
//! the main greenlet keeps its value.
//!
//! `threading.local()` is `gevent::local::Local`, `threading.Thread` is
//! `Greenlet::spawn`; `getattr` raising `AttributeError` and an empty
//! `__dict__` are `try_get()` returning `None`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use gevent::Greenlet;
use gevent::local::Local;

#[test]
#[allow(non_snake_case)]
fn test__threading_patched_local() {
    let _d = common::deadline("test__threading_patched_local", common::TEST_DEADLINE);
    let localdata: Local<&'static str> = Local::default();
    localdata.set("hello");
    assert_eq!(*localdata.get(), "hello");
    let success: Rc<RefCell<Vec<i32>>> = Rc::default();

    let func = {
        let (localdata, success) = (localdata.clone(), success.clone());
        move || {
            // getattr(localdata, 'x') must raise AttributeError
            assert!(
                localdata.try_get().is_none(),
                "localdata.x must raise AttributeError"
            );
            // We really want to check this is exactly empty, not just
            // anything falsey: no value at all, not a default one.
            assert!(!localdata.is_set());
            success.borrow_mut().push(1);
            Ok(())
        }
    };

    let t = Greenlet::spawn(func);
    t.join().unwrap();
    assert_eq!(*success.borrow(), vec![1], "test failed");
    assert_eq!(*localdata.get(), "hello");
}
