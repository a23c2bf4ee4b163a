// Port of gevent 26.9.0 src/gevent/tests/test__core_async.py
//
// `thread.start_new_thread(watcher.send, ())` becomes a native thread
// calling the watcher's `AsyncSender::send` (the cross-thread handle).

mod common;

use std::time::Instant;

use gevent::{Timeout, get_hub, spawn_later};

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("test", common::TEST_DEADLINE);
        let hub = get_hub();
        let watcher = hub.loop_().async_().unwrap();

        // `assert hasattr(hub.loop, 'async')` (a Python < 3.7 alias) is
        // Python-only.

        let sender = watcher.sender();
        let _g = spawn_later(0.1, move || {
            std::thread::spawn(move || sender.send());
            Ok(())
        })
        .unwrap();

        let start = Instant::now();

        {
            // Large timeout for appveyor.
            let _t = Timeout::start_new(1.0);
            hub.wait(&watcher).unwrap();
        }

        println!(
            "Watcher {:?} reacted after {:.6} seconds",
            watcher,
            common::elapsed(start) - 0.1
        );
    }
}
