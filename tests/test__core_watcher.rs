// Port of gevent 26.9.0 src/gevent/tests/test__core_watcher.py
//
// setUp makes `config.loop(default=False)` and `loop.timer(0.01)`;
// tearDown closes the timer (if still held) and destroys the loop.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use gevent::Error;
use gevent::core::{Loop, READ, Timer, WRITE};

/// `setUp` / `tearDown`.
struct Fixture {
    lp: Loop,
    timer: Option<Timer>,
}

impl Fixture {
    fn new() -> Fixture {
        let lp = Loop::new(0).unwrap();
        let timer = lp.timer(0.01, 0.0).unwrap();
        Fixture {
            lp,
            timer: Some(timer),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            t.close();
        }
        self.lp.destroy();
    }
}

/// What a callback recorded: `Args` is gevent's `args` tuple (always `()`
/// here), `Value` what `reset` appends.
#[derive(Debug, PartialEq)]
enum Entry {
    Args(()),
    Value(i32),
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_run() {
        let _d = common::deadline("test_run", common::TEST_DEADLINE);
        let mut fx = Fixture::new();
        let lp = fx.lp.clone();
        let lst: Rc<RefCell<Vec<Entry>>> = Rc::new(RefCell::new(Vec::new()));

        let l = lst.clone();
        let timer = fx.timer.clone().unwrap();
        timer
            .start(move || l.borrow_mut().push(Entry::Args(())))
            .unwrap();

        lp.run();
        lp.update_now();

        assert_eq!(*lst.borrow(), vec![Entry::Args(())]);

        // Even if we lose all references to it, the ref in the callback
        // keeps it alive.
        let watcher = timer.clone();
        let l = lst.clone();
        // `reset(watcher, lst)`: gevent also sets `watcher.args = None` and
        // `watcher.callback = lambda: None` first; the Rust watcher has no
        // args, and a callback can only be replaced by starting it again
        // (which gevent's attribute assignment does not do).
        timer
            .start(move || {
                l.borrow_mut().push(Entry::Value(25));
                watcher.close();
            })
            .unwrap();
        drop(timer);
        fx.timer = None;
        lp.run();
        assert_eq!(*lst.borrow(), vec![Entry::Args(()), Entry::Value(25)]);
    }

    #[test]
    fn test_invalid_fd() {
        let _d = common::deadline("test_invalid_fd", common::TEST_DEADLINE);
        let fx = Fixture::new();
        let lp = &fx.lp;

        // Negative case caught everywhere: ValueError on POSIX (OSError or
        // IOError on Windows).
        let r = lp.io(-1, READ);
        assert!(
            matches!(r, Err(Error::InvalidArgument(_) | Error::Io(_))),
            "{r:?}"
        );
    }

    #[test]
    fn test_reuse_io() {
        let _d = common::deadline("test_reuse_io", common::TEST_DEADLINE);
        let fx = Fixture::new();
        let lp = &fx.lp;

        // Watchers aren't reused once all outstanding refs go away, BUT
        // THEY MUST BE CLOSED.
        let tty_watcher = lp.io(1, WRITE).unwrap();
        let watcher_handle = tty_watcher.clone();
        tty_watcher.close();
        drop(tty_watcher);

        let tty_watcher = lp.io(1, WRITE).unwrap();
        assert!(!tty_watcher.ptr_eq(&watcher_handle));
        tty_watcher.close();
    }
}

// Not ported:
// - test_non_callable_to_start: `start(None)` / `start(5)` raising
//   TypeError; a Rust callback is a closure, checked at compile time.
// - test_non_callable_after_start: assigning a non-callable `callback`
//   raising TypeError; compile-time in Rust (and there is no callback
//   attribute to assign).
// - test_args_can_be_changed_after_start: watcher `args` (a tuple that can
//   be reassigned, TypeError for non-tuples); Rust callbacks are closures
//   that capture their arguments, there is no `args`.
