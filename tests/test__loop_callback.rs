// Port of gevent 26.9.0 src/gevent/tests/test__loop_callback.py
//
// Adaptation: gevent runs this in the main thread, where `get_hub().loop`
// is libev's default loop. Every Rust #[test] runs on its own thread, whose
// hub has a non-default loop of its own (the default loop belongs to the
// process's main thread), so this checks the same contract on that
// per-thread loop: a callback queued with run_callback runs once and
// `loop.run()` returns once the queue is empty.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use gevent::get_hub;

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("test", common::TEST_DEADLINE);
        let count = Rc::new(Cell::new(0));

        let c = count.clone();
        let incr = move || c.set(c.get() + 1);

        let hub = get_hub();
        let lp = hub.loop_();
        lp.run_callback(incr).unwrap();
        lp.run();
        assert_eq!(count.get(), 1);
    }
}
