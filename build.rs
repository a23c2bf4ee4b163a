//! Compiles the vendored libev 4.33 (`libev/`, unmodified) and the crate's
//! small C helpers. Every libev configuration macro is stated once, here.

/// libev's configuration: `EV_STANDALONE` means "no config.h, take these".
/// Struct-layout macros (`EV_COMMON`, `EV_MULTIPLICITY`, priorities) keep
/// libev's defaults so that a C program including the stock `ev.h` sees the
/// same layouts as the compiled library.
const EV_DEFINES: &[(&str, &str)] = &[
    ("EV_STANDALONE", "1"),
    ("EV_MULTIPLICITY", "1"),
    ("EV_USE_EPOLL", "1"),
    ("EV_USE_POLL", "1"),
    ("EV_USE_SELECT", "1"),
    ("EV_USE_KQUEUE", "0"),
    ("EV_USE_PORT", "0"),
    ("EV_USE_LINUXAIO", "0"),
    ("EV_USE_IOURING", "0"),
    ("EV_USE_EVENTFD", "1"),
    ("EV_USE_SIGNALFD", "0"),
    ("EV_USE_TIMERFD", "1"),
    ("EV_USE_INOTIFY", "1"),
    ("EV_USE_MONOTONIC", "1"),
    ("EV_USE_REALTIME", "0"),
    ("EV_USE_CLOCK_SYSCALL", "0"),
    ("EV_USE_NANOSLEEP", "1"),
    ("EV_USE_FLOOR", "1"),
    ("EV_USE_4HEAP", "1"),
    ("HAVE_SYS_INOTIFY_H", "1"),
    ("HAVE_EVENTFD", "1"),
    ("HAVE_SYS_EVENTFD_H", "1"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=libev");
    println!("cargo:rerun-if-changed=src/c");

    let mut build = cc::Build::new();
    for (name, value) in EV_DEFINES {
        build.define(name, Some(*value));
    }
    build
        .include("libev")
        // ev_glue.c includes libev/ev.c unmodified and adds accessors.
        .file("src/c/ev_glue.c")
        .file("src/c/layout.c")
        // libev is vendored unmodified; its own warnings are not ours to fix.
        .warnings(false)
        // gevent issue 1864: never build with flags that flush subnormals.
        .flag_if_supported("-fno-fast-math")
        .compile("ev");
}
