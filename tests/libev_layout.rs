//! The Rust view of libev's structs (`gevent::libev`) has the sizes and
//! field offsets the C compiler gave them, with the same configuration
//! (`src/c/layout.c`, compiled by build.rs beside libev).

use gevent::libev::*;
use std::collections::HashMap;
use std::ffi::CStr;
use std::mem::{offset_of, size_of};

fn c_layout() -> HashMap<String, usize> {
    let mut m = HashMap::new();
    // SAFETY: gevent_libev_layout returns a static table ending with a
    // null name.
    unsafe {
        let mut p = gevent_libev_layout();
        while !(*p).name.is_null() {
            let name = CStr::from_ptr((*p).name).to_str().unwrap().to_string();
            m.insert(name, (*p).value);
            p = p.add(1);
        }
    }
    m
}

macro_rules! check {
    ($m:expr, sizeof $t:ident) => {
        assert_eq!(
            $m[concat!("sizeof ", stringify!($t))],
            size_of::<$t>(),
            concat!("sizeof ", stringify!($t))
        );
    };
    ($m:expr, $t:ident . $f:ident) => {
        check!($m, $t . $f => $f);
    };
    ($m:expr, $t:ident . $f:ident => $($rf:tt)+) => {
        assert_eq!(
            $m[concat!("offsetof ", stringify!($t), ".", stringify!($f))],
            offset_of!($t, $($rf)+),
            concat!("offsetof ", stringify!($t), ".", stringify!($f))
        );
    };
}

#[test]
fn struct_sizes_match_c() {
    let m = c_layout();
    check!(m, sizeof ev_watcher);
    check!(m, sizeof ev_io);
    check!(m, sizeof ev_timer);
    check!(m, sizeof ev_periodic);
    check!(m, sizeof ev_signal);
    check!(m, sizeof ev_child);
    check!(m, sizeof ev_stat);
    check!(m, sizeof ev_idle);
    check!(m, sizeof ev_prepare);
    check!(m, sizeof ev_check);
    check!(m, sizeof ev_fork);
    check!(m, sizeof ev_cleanup);
    check!(m, sizeof ev_async);
    check!(m, sizeof ev_statdata);
}

#[test]
fn field_offsets_match_c() {
    let m = c_layout();
    check!(m, ev_watcher.active);
    check!(m, ev_watcher.pending);
    check!(m, ev_watcher.priority);
    check!(m, ev_watcher.data);
    check!(m, ev_watcher.cb);
    check!(m, ev_io.next);
    check!(m, ev_io.fd);
    check!(m, ev_io.events);
    check!(m, ev_timer.at);
    check!(m, ev_timer.repeat);
    check!(m, ev_periodic.offset);
    check!(m, ev_periodic.interval);
    check!(m, ev_periodic.reschedule_cb);
    check!(m, ev_signal.signum);
    check!(m, ev_child.flags);
    check!(m, ev_child.pid);
    check!(m, ev_child.rpid);
    check!(m, ev_child.rstatus);
    check!(m, ev_stat.timer);
    check!(m, ev_stat.interval);
    check!(m, ev_stat.path);
    check!(m, ev_stat.prev);
    check!(m, ev_stat.attr);
    check!(m, ev_stat.wd);
    check!(m, ev_async.sent);
}

#[test]
fn constants_match_c() {
    let m = c_layout();
    assert_eq!(m["EV_MINPRI"] as i32 - 1000, EV_MINPRI);
    assert_eq!(m["EV_MAXPRI"] as i32 - 1000, EV_MAXPRI);
    assert_eq!(m["EV_VERSION_MAJOR"] as i32, EV_VERSION_MAJOR);
    assert_eq!(m["EV_VERSION_MINOR"] as i32, EV_VERSION_MINOR);
    // SAFETY: pure queries of the linked library.
    unsafe {
        assert_eq!(ev_version_major(), EV_VERSION_MAJOR);
        assert_eq!(ev_version_minor(), EV_VERSION_MINOR);
    }
}
