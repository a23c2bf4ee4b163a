// Port of gevent 26.9.0 src/gevent/tests/test__core.py
//
// gevent runs the WatcherTestMixin/LibevTestMixin methods once per loop
// implementation it has (TestLibevCext, TestLibevCffi, TestLibuvCffi). The
// crate has exactly one binding, libev through its own FFI, which is what
// TestLibevCext tests; the other classes are listed at the end.
// setUp makes `loop(default=False)`; tearDown destroys it.

mod common;

use gevent::Error;
use gevent::core::{self, Loop, READ, WRITE};
use gevent::libev as ev;

/// `setUp`/`tearDown`: a non-default loop, destroyed when dropped.
struct Fixture {
    lp: Loop,
}

impl Fixture {
    fn new() -> Fixture {
        let lp = Loop::new(0).unwrap();
        assert!(!lp.is_default());
        Fixture { lp }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.lp.destroy();
    }
}

fn is_value_error<T>(r: &gevent::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidArgument(_)))
}

fn body_test_get_version() {
    let _f = Fixture::new();
    let version = core::get_version();
    assert!(!version.is_empty());
    let header_version = core::get_header_version();
    assert!(!header_version.is_empty());
    assert_eq!(version, header_version);
}

fn body_test_events_conversion() {
    let _f = Fixture::new();
    assert_eq!(core::events_to_str(READ | WRITE), "READ|WRITE");
}

fn body_test_io() {
    let f = Fixture::new();
    // ValueError for a negative fd.
    let r = f.lp.io(-1, 1);
    assert!(is_value_error(&r), "{r:?}");

    // libev: ValueError for an event mask that is not an io flag.
    let r = f.lp.io(1, ev::EV_TIMER);
    assert!(is_value_error(&r), "{r:?}");

    // Test we can set events and io before it's started.
    let io = f.lp.io(1, READ).unwrap();
    io.set_fd(2).unwrap();
    assert_eq!(io.fd(), 2);
    io.set_events(WRITE).unwrap();
    // libev: gevent's `io.events` is libev's raw field, which carries the
    // internal _IOFDSET bit after ev_io_set (`raw_events` here).
    assert_eq!(core::events_to_str(io.raw_events()), "WRITE|_IOFDSET");
    io.start(|| {}).unwrap();
    io.close();
}

fn body_test_timer_constructor() {
    let f = Fixture::new();
    let r = f.lp.timer(1.0, -1.0);
    assert!(is_value_error(&r), "{r:?}");
}

fn body_test_signal_constructor() {
    let f = Fixture::new();
    let r = f.lp.signal(1000);
    assert!(is_value_error(&r), "{r:?}");
}

fn body_test_flags_conversion() {
    let _f = Fixture::new();
    // core.loop(2, default=False).backend_int == 2
    let lp = Loop::new(2).unwrap();
    assert_eq!(lp.backend_int(), 2);
    lp.destroy();
    // core.loop('select', default=False).backend == 'select'
    let lp = Loop::with_backend("select").unwrap();
    assert_eq!(lp.backend(), "select");
    lp.destroy();
    // _flags_to_int(None) == 0
    assert_eq!(core::flags_from_names::<&str>(&[]).unwrap(), 0);
    // _flags_to_int(['kqueue', 'SELECT']) == BACKEND_KQUEUE | BACKEND_SELECT
    assert_eq!(
        core::flags_from_names(&["kqueue", "SELECT"]).unwrap(),
        ev::EVBACKEND_KQUEUE | ev::EVBACKEND_SELECT
    );
    // _flags_to_list(BACKEND_PORT | BACKEND_POLL) == ['port', 'poll']
    assert_eq!(
        core::flags_to_list(ev::EVBACKEND_PORT | ev::EVBACKEND_POLL),
        vec!["port", "poll"]
    );
    // assertRaises(ValueError, core.loop, ['port', 'blabla'])
    let r = Loop::with_backend("port,blabla");
    assert!(is_value_error(&r), "{r:?}");
    // `core.loop(object())` raising TypeError is a compile-time matter in
    // Rust (flags are u32 or names).
}

#[allow(non_snake_case)]
mod TestLibevCext {
    use super::*;

    #[test]
    fn test_get_version() {
        let _d = common::deadline("test_get_version", common::TEST_DEADLINE);
        body_test_get_version();
    }

    #[test]
    fn test_events_conversion() {
        let _d = common::deadline("test_events_conversion", common::TEST_DEADLINE);
        body_test_events_conversion();
    }

    #[test]
    fn test_io() {
        let _d = common::deadline("test_io", common::TEST_DEADLINE);
        body_test_io();
    }

    #[test]
    fn test_timer_constructor() {
        let _d = common::deadline("test_timer_constructor", common::TEST_DEADLINE);
        body_test_timer_constructor();
    }

    #[test]
    fn test_signal_constructor() {
        let _d = common::deadline("test_signal_constructor", common::TEST_DEADLINE);
        body_test_signal_constructor();
    }

    #[test]
    fn test_flags_conversion() {
        let _d = common::deadline("test_flags_conversion", common::TEST_DEADLINE);
        body_test_flags_conversion();
    }
}

// Not ported:
// - TestLibevCext.test_EVENTS: checks `str(core.EVENTS)` and
//   `repr(core.EVENTS)` of a Python module-level sentinel; Python-only.
// - TestLibevCffi (all methods): the same libev tests through gevent's CFFI
//   binding; the crate has a single libev binding, ported above as
//   TestLibevCext.
// - TestLibuvCffi (all methods, incl. test_io_multiplex_events): libuv
//   backend; the crate has no libuv loop.
