// Port of gevent 26.9.0 src/gevent/tests/test__core_loop_run.py (a
// script).
//
// The script prints what it expects ("must exit immediately", "must exit
// after 0.5 seconds"); those expectations are asserted here, with the
// timing windows of tests/common.

mod common;

use std::time::Instant;

use gevent::core::Loop;

#[allow(non_snake_case)]
#[test]
fn test__core_loop_run() {
    let _d = common::deadline("test__core_loop_run", common::TEST_DEADLINE);
    let lp = Loop::new(0).unwrap();

    // signal = signal(2, sys.stderr.write, 'INTERRUPT!'): installed on this
    // thread's hub (gevent: the main thread's), not on the loop under
    // test; unref'd, it keeps nothing alive. Kept until the script ends.
    let signal = gevent::signal_handler(2, || {
        eprint!("INTERRUPT!");
        Ok(())
    })
    .unwrap();

    // must exit immediately...
    let t = Instant::now();
    lp.run();
    common::assert_no_time(common::elapsed(t));
    // ...and once more (repeating does not fail)
    let t = Instant::now();
    lp.run();
    common::assert_no_time(common::elapsed(t));

    // must exit after 0.5 seconds.
    let timer = lp.timer(0.5, 0.0).unwrap();
    timer.start(|| {}).unwrap();
    let t = Instant::now();
    lp.run();
    common::assert_time_about(common::elapsed(t), 0.5);
    timer.close();
    lp.destroy();
    drop(lp);
    drop(signal);
}
