//! Port of gevent's `src/gevent/tests/test__core_stat.py`: a stat watcher
//! (`loop.stat(path, interval=-1)`) keeps its path and interval, and wakes
//! the hub's `wait` when the file is written to or removed, not before,
//! with `attr`/`prev` describing the file after and before.

mod common;

use std::ffi::CString;
use std::time::Instant;

use gevent::core::Stat;
use gevent::timeout::Timeout;
use gevent::{Hub, get_hub, spawn_later};

const DELAY: f64 = 0.5;

/// `TestCoreStat`'s fixture: a temporary file and a stat watcher on it.
struct Fixture {
    temp_path: String,
    hub: Hub,
    watcher: Stat,
}

impl Fixture {
    /// `setUp`.
    fn set_up() -> Fixture {
        get_hub().loop_().update_now();
        let dir = std::env::temp_dir();
        let template =
            CString::new(format!("{}/tmpXXXXXX.gevent_test_core_stat", dir.display())).unwrap();
        let mut buf = template.into_bytes_with_nul();
        let suffix_len = ".gevent_test_core_stat".len() as i32;
        // SAFETY: `buf` is a NUL-terminated template mkstemps rewrites in
        // place; the fd it returns is ours and closed at once.
        let fd = unsafe { libc::mkstemps(buf.as_mut_ptr().cast(), suffix_len) };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        // SAFETY: our own fd.
        unsafe { libc::close(fd) };
        buf.pop();
        let temp_path = String::from_utf8(buf).unwrap();
        let hub = get_hub();
        // If we don't specify an interval, we default to zero. libev
        // interprets that as meaning to use its default interval, which is
        // about 5 seconds. If we go below its minimum check threshold, it
        // bumps it up to the minimum.
        let watcher = hub.loop_().stat(&temp_path, -1.0).unwrap();
        Fixture {
            temp_path,
            hub,
            watcher,
        }
    }

    fn write(path: &str) {
        std::fs::write(path, b"x").unwrap();
    }

    /// `_check_attr(name, none)`.
    fn check_attr(&self, name: &str, none: bool) {
        let x = match name {
            "attr" => self.watcher.attr(),
            "prev" => self.watcher.prev(),
            _ => unreachable!(),
        };
        if none {
            assert!(x.is_none(), "{name}");
        } else {
            assert!(x.is_some(), "{name}");
        }
    }

    /// `_wait_on_greenlet(func)`: `func` runs after DELAY; the watcher
    /// must not fire before it.
    fn wait_on_greenlet(&self, func: impl FnOnce() + 'static) {
        let start = Instant::now();

        self.hub.loop_().update_now();
        let greenlet = spawn_later(DELAY, move || {
            func();
            Ok(())
        })
        .unwrap();
        let timeout = Timeout::new(Some(5.0 + DELAY + 0.5));
        timeout.run(|| self.hub.wait(&self.watcher)).unwrap();
        let wait_duration = start.elapsed().as_secs_f64();
        let reaction = wait_duration - DELAY;

        assert!(
            reaction >= 0.0,
            "Watcher {:?} reacted too early: {reaction:.3}s",
            self.watcher
        );

        greenlet.join().unwrap();
        assert!(greenlet.successful(), "{:?}", greenlet.exception());
    }
}

impl Drop for Fixture {
    /// `tearDown`.
    fn drop(&mut self) {
        self.watcher.close();
        let _ = std::fs::remove_file(&self.temp_path);
    }
}

#[allow(non_snake_case)]
mod TestCoreStat {
    use super::*;

    #[test]
    fn test_watcher_basics() {
        let _d = common::deadline("TestCoreStat::test_watcher_basics", common::TEST_DEADLINE);
        let f = Fixture::set_up();
        let watcher = &f.watcher;
        let filename = &f.temp_path;
        assert_eq!(watcher.path(), filename);
        assert_eq!(watcher.interval(), -1.0);
    }

    #[test]
    fn test_write() {
        let _d = common::deadline("TestCoreStat::test_write", common::TEST_DEADLINE);
        let f = Fixture::set_up();
        let path = f.temp_path.clone();
        f.wait_on_greenlet(move || Fixture::write(&path));

        f.check_attr("attr", false);
        f.check_attr("prev", false);
        // The watcher interval changed after it started; -1 is illegal
        assert_ne!(f.watcher.interval(), -1.0);
    }

    #[test]
    fn test_unlink() {
        let _d = common::deadline("TestCoreStat::test_unlink", common::TEST_DEADLINE);
        let f = Fixture::set_up();
        let path = f.temp_path.clone();
        f.wait_on_greenlet(move || std::fs::remove_file(&path).unwrap());

        f.check_attr("attr", true);
        f.check_attr("prev", false);
    }
}

// Not ported:
// - TestCoreStat.test_watcher_basics: only `watcher._paths` (the path as
//   bytes, a Python-level attribute) is left out; `path()` is the path.
// - The Windows branches of `_check_attr` do not apply (Linux only).
