//! Port of gevent's `src/gevent/tests/test__sleep0.py` (script): a stream
//! of `sleep(0)` must not starve timers, so a silent `Timeout(0.01, False)`
//! around `while True: sleep(0)` ends the loop.

mod common;

use gevent::sleep;
use gevent::timeout::with_timeout_silent;

#[test]
#[allow(non_snake_case)]
fn test__sleep0() {
    let _d = common::deadline("test__sleep0", common::TEST_DEADLINE);
    // gevent.testing.util.alarm(3): the script must finish within 3 s.
    let _alarm = common::deadline("test__sleep0 (alarm(3))", 3.0);

    // with gevent.Timeout(0.01, False):
    //     while True:
    //         gevent.sleep(0)
    let r = with_timeout_silent(0.01, || -> gevent::Result<()> {
        loop {
            sleep(0.0)?;
        }
    });
    assert!(matches!(r, Ok(None)), "{r:?}");
}
