//! Port of gevent's `src/gevent/tests/test__issue639.py` (idle after sleep).

mod common;

use gevent::{idle, sleep};

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        // gevent.sleep() with no argument sleeps 0.
        sleep(0.0).unwrap();
        idle().unwrap();
    }
}
