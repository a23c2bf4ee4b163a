// Port of gevent 26.9.0 src/gevent/tests/test__core_callback.py
//
// gevent's callback object is truthy while pending; here that is
// `Callback::pending()`.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use gevent::{get_hub, sleep};

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("test", common::TEST_DEADLINE);
        let hub = get_hub();
        let lp = hub.loop_();
        let called = Rc::new(RefCell::new(Vec::new()));

        let f = {
            let called = called.clone();
            move || {
                let called = called.clone();
                move || called.borrow_mut().push(1)
            }
        };

        let x = lp.run_callback(f()).unwrap();

        assert!(x.pending(), "{x:?}");
        sleep(0.0).unwrap();
        assert_eq!(*called.borrow(), vec![1]);
        assert!(!x.pending(), "{x:?}");

        let x = lp.run_callback(f()).unwrap();
        assert!(x.pending(), "{x:?}");
        x.stop();
        assert!(!x.pending(), "{x:?}");
        sleep(0.0).unwrap();
        assert_eq!(*called.borrow(), vec![1]);
        assert!(!x.pending(), "{x:?}");
    }
}
