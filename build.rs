//! Compiles the vendored libev 4.33 (`libev/`, unmodified) and the crate's
//! small C helpers. Every libev configuration macro is stated once, in
//! `include/gevent_ev_config.h`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=libev");
    println!("cargo:rerun-if-changed=src/c");
    println!("cargo:rerun-if-changed=include");

    let mut build = cc::Build::new();
    build
        // libev's configuration, stated once: include/gevent_ev_config.h,
        // which C programs using the crate's libev include too.
        .include("include")
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
