//! The C embedding: `examples/embed_c/main.c`, a C program with its own
//! libev loop and watchers, compiled here with the system C compiler
//! against `include/gevent.h` and the static library, runs C-function
//! greenlets and a Rust echo service (`examples/embed_c/echo_service.rs`)
//! on its loop, and calls `ev_run` itself. Also under valgrind.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// target/<profile>, from this test binary's path (…/deps/embed_c-…).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the static libraries (`cargo test` alone builds the rlib only).
fn build_libs() {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--lib", "--example", "embed_echo_service"]);
    if target_dir().ends_with("release") {
        cmd.arg("--release");
    }
    let status = cmd.status().unwrap();
    assert!(
        status.success(),
        "cargo build of the static libraries failed"
    );
}

/// `cc <defines> <src> -I include -I libev <lib> -l... -o <out>`.
fn cc(src: &Path, lib: &Path, defines: &[&str], out: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new("cc")
        .args(defines)
        .arg(src)
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("libev"))
        .arg(lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(out)
        .output()
        .expect("the system C compiler (cc)")
}

/// A temporary path for a test's build product.
fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gevent-{name}-{}", std::process::id()))
}

/// Compiles main.c with `cc` and the given library and defines; the
/// executable's path.
fn compile(lib: &Path, defines: &[&str], name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = temp(name);
    let out = cc(&root.join("examples/embed_c/main.c"), lib, defines, &exe);
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn libgevent() -> PathBuf {
    target_dir().join("libgevent.a")
}

fn libservice() -> PathBuf {
    target_dir().join("examples/libembed_echo_service.a")
}

/// What every run of main.c prints, in this order.
const EXPECTED: &[&str] = &[
    "second attach: EEXIST",
    "sleep in main: EDEADLK",
    "sleeper: start",
    "waiter: start",
    "reader: start",
    "second reader: EBUSY",
    "consumer: sum 6",
    "timed out: ETIMEDOUT",
    "closed waiter: EBADF",
    "killed: ECANCELED",
    // At 60 ms a greenlet writes to a pipe the C program watches itself.
    "host io watcher: got ! from a greenlet",
    // A 100 ms blocking call on the thread pool, then a lookup there.
    "pooled: thread",
    "getaddrinfo localhost: ok",
    "sleeper: woke, sets the event",
    "waiter: got the event",
    "reader: read ping",
    "ev_run returned",
    "dead greenlets: 12",
    "host ticks: 20",
    "sleep in a host callback: EDEADLK",
    "detached",
];

/// main.c's lines are [`EXPECTED`] (in order, or in any order when the
/// timers' order cannot be relied on, under valgrind), plus its timing
/// line.
fn assert_lines(out: &str, skip: impl Fn(&str) -> bool, ordered: bool) {
    let mut lines: Vec<&str> = out
        .lines()
        .filter(|l| !skip(l) && !l.starts_with("timing: "))
        .collect();
    let mut expected = EXPECTED.to_vec();
    if !ordered {
        lines.sort();
        expected.sort();
    }
    assert_eq!(lines, expected, "the C program printed:\n{out}");
}

/// The host's 10 ms timer kept its rate while the greenlets ran: it fired
/// at least 5 times during the sleeper's 200 ms (about 19 expected), and
/// its 20 ticks took well under 2 s (about 190 ms expected).
fn assert_host_kept_its_rate(out: &str) {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("timing: ticks while the sleeper slept "))
        .unwrap_or_else(|| panic!("no timing line in\n{out}"));
    let (during, rest) = line.split_once(", 20 ticks in ").unwrap();
    let during: u32 = during.parse().unwrap();
    let ms: f64 = rest.trim_end_matches(" ms").parse().unwrap();
    assert!(during >= 5, "{line}");
    assert!(ms < 2000.0, "{line}");
}

#[test]
fn a_c_program_runs_greenlets_beside_its_own_watchers() {
    build_libs();
    let exe = compile(&libgevent(), &[], "embed_c");
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_file(&exe);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert_lines(&stdout, |_| false, true);
    assert_host_kept_its_rate(&stdout);
}

#[test]
fn a_rust_service_serves_on_the_c_programs_loop() {
    build_libs();
    let exe = compile(&libservice(), &["-DWITH_ECHO_SERVICE"], "embed_echo");
    let mut child = Command::new(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let port: u16 = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "ended early:\n{seen}"
        );
        seen.push_str(&line);
        if let Some(p) = line.trim().strip_prefix("echo service on port ") {
            break p.parse().unwrap();
        }
    };
    let conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut w = conn;
    let mut line = String::new();
    for msg in ["hello\n", "from the test\n", "panic\n"] {
        w.write_all(msg.as_bytes()).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, msg);
    }
    // A panicking Rust greenlet did not take the C program down: the
    // service still echoes.
    w.write_all(b"still there\n").unwrap();
    line.clear();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "still there\n");
    // "shutdown" stops the service; the C program's ev_run then returns
    // by itself.
    w.write_all(b"shutdown\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = std::fs::remove_file(&exe);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(
        err.contains("a Rust greenlet panicked"),
        "not reported: {err}"
    );
    let all = format!("{seen}{rest}");
    assert_lines(&all, |l| l.starts_with("echo service on port "), true);
    assert_host_kept_its_rate(&all);
}

#[test]
fn the_c_program_is_clean_under_valgrind() {
    build_libs();
    let exe = compile(&libgevent(), &[], "embed_c_vg");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("valgrind")
        .args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ])
        .arg(format!(
            "--suppressions={}",
            root.join("tests/valgrind.supp").display()
        ))
        .arg(&exe)
        .output()
        .expect("valgrind (on every machine of this project's kind)");
    let _ = std::fs::remove_file(&exe);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?}; valgrind reported:\n{stderr}\nthe program printed:\n{stdout}",
        out.status
    );
    // Under valgrind the greenlets start slowly, so timers started
    // moments apart may come due in another order: the lines are checked
    // as a set, and the rate not at all.
    assert_lines(&stdout, |_| false, false);
}

/// The README's "Using from C" example compiles with its link line and
/// prints what it promises.
#[test]
fn the_readmes_c_example_works() {
    build_libs();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme.split("## Using from C").nth(1).unwrap();
    let code = section
        .split("```c\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .unwrap();
    let src = temp("readme").with_extension("c");
    std::fs::write(&src, code).unwrap();
    let exe = src.with_extension("");
    assert!(cc(&src, &libgevent(), &[], &exe).status.success());
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&exe);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a 0\nb 0\na 1\nb 1\na 2\nb 2\n"
    );
}

/// A mismatch between the header and the library fails loudly: at
/// compile time for another libev configuration, at attach time
/// (`EPROTO`) for another ABI number.
#[test]
fn a_mismatched_header_fails_at_compile_or_attach_time() {
    build_libs();
    let cc = |code: &str, name: &str| {
        let src = temp(name).with_extension("c");
        std::fs::write(&src, code).unwrap();
        let exe = src.with_extension("");
        let out = cc(&src, &libgevent(), &[], &exe);
        let _ = std::fs::remove_file(&src);
        (out, exe)
    };
    // Another configuration of libev's struct layouts: a compile error.
    let (out, _) = cc(
        "#define EV_MULTIPLICITY 0\n#include \"gevent.h\"\nint main(void) { return 0; }\n",
        "badconfig",
    );
    assert!(!out.status.success(), "compiled with EV_MULTIPLICITY 0");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("EV_MULTIPLICITY must be 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another ABI number at attach: EPROTO, and no hub.
    let (out, exe) = cc(
        "#include <errno.h>\n#include \"gevent.h\"\n\
         static void nap(void *a) { (void)a; gevent_sleep(1.0); }\n\
         int main(void) {\n\
           struct ev_loop *l = ev_loop_new(0);\n\
           if (gevent_attach_abi(l, GEVENT_EV_ABI + 1) != -1 || errno != EPROTO) return 1;\n\
           if (gevent_sleep(0) != -1 || errno != ENXIO) return 2;\n\
           if (gevent_attach(l) != 0) return 3;\n\
           if (gevent_keep_loop_alive(0) != 0) return 4;\n\
           gevent_greenlet_t *g = gevent_spawn(nap, NULL);\n\
           ev_run(l, 0);  /* returns at once: the greenlets do not keep it */\n\
           if (gevent_dead(g) != 0) return 5;\n\
           gevent_greenlet_free(g);\n\
           gevent_detach();\n\
           ev_loop_destroy(l);\n\
           return 0;\n\
         }\n",
        "badabi",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).status().unwrap();
    let _ = std::fs::remove_file(&exe);
    assert_eq!(run.code(), Some(0), "exit code names the failed check");
}
