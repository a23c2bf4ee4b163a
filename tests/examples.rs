//! The examples run and print what they promise (`cargo test` builds them;
//! this runs the binaries).

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join(name)
}

/// The example's binary, built if `cargo test --test examples` alone did
/// not build it.
fn built(name: &str) -> PathBuf {
    let path = example(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

#[test]
fn hello_runs_greenlets_concurrently() {
    let path = built("hello");
    let out = Command::new(&path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("finish order [0.1, 0.2, 0.3]"),
        "unexpected output: {stdout}"
    );
    // The three sleeps overlap: about 0.3 s in total, not 0.6 s.
    let total: f64 = stdout
        .rsplit("total ")
        .next()
        .and_then(|s| s.trim().trim_end_matches('s').parse().ok())
        .unwrap();
    assert!((0.29..0.55).contains(&total), "total {total}");
}

#[test]
fn actors_ping_pong_through_their_inboxes() {
    let out = Command::new(built("actors")).arg("3").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, ["start", "ping", "pong", "ping", "pong", "ping"]);
}

/// Kills the child process when dropped (the server runs forever).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server example `name` with `args` and stdout piped; returns
/// it, its stdout, and the port `port_of` finds in its first line.
fn start_server(
    name: &str,
    args: &[String],
    port_of: fn(&str) -> Option<u16>,
) -> (Child, std::io::BufReader<std::process::ChildStdout>, u16) {
    use std::io::BufRead;
    let mut child = Child(
        Command::new(built(name))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = port_of(first.trim()).unwrap_or_else(|| panic!("no port in {first:?}"));
    (child, out, port)
}

/// gevent's `test__example_echoserver`: the welcome line, two echoed
/// lines, `quit` closing the connection, and a second client served too.
#[test]
fn echoserver_welcomes_echoes_and_quits() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    let (_child, _out, port) = start_server("echoserver", &["0".into()], |l| {
        l.rsplit(' ').next()?.parse().ok()
    });
    for _ in 0..2 {
        let conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut w = conn;
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "Welcome to the echo server! Type quit to exit.\r\n");
        for msg in ["hello\r\n", "second line\r\n"] {
            w.write_all(msg.as_bytes()).unwrap();
            line.clear();
            reader.read_line(&mut line).unwrap();
            assert_eq!(line, msg);
        }
        w.write_all(b"quit\r\n").unwrap();
        line.clear();
        assert_eq!(reader.read_line(&mut line).unwrap(), 0, "closed after quit");
    }
}

/// gevent's `test__example_udp_server` and `test__example_udp_client`:
/// the server replies to every datagram with its length, and the client
/// prints what it sent and got.
#[test]
fn udp_server_replies_to_udp_client() {
    use std::io::BufRead;

    let (_server, mut out, port) = start_server("udp_server", &["0".into()], |l| {
        l.rsplit(':').next()?.parse().ok()
    });
    let client = Command::new(built("udp_client"))
        .args([format!("--port={port}"), "Test".into(), "udp_server".into()])
        .output()
        .unwrap();
    assert!(client.status.success(), "{client:?}");
    let stdout = String::from_utf8_lossy(&client.stdout);
    assert!(
        stdout.contains("Sending 15 bytes to 127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("got \"Received 15 bytes\""), "{stdout}");
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "127.0.0.1: got \"Test udp_server\"");
}

/// gevent's `test__example_portforwarder`: data goes through the forwarder
/// to an echo server and back; SIGTERM ends the forwarder.
#[test]
fn portforwarder_forwards_both_ways_and_ends_on_sigterm() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    // The destination: a plain echo server on a thread, one connection.
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_port = echo.local_addr().unwrap().port();
    let echo_thread = std::thread::spawn(move || {
        let (mut c, _) = echo.accept().unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = c.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            c.write_all(&buf[..n]).unwrap();
        }
    });
    let args = ["127.0.0.1:0".to_string(), format!("127.0.0.1:{echo_port}")];
    let (mut child, _out, port) = start_server("portforwarder", &args, |l| {
        l.split_whitespace()
            .nth(3)?
            .rsplit(':')
            .next()?
            .parse()
            .ok()
    });
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for msg in [&b"hello"[..], b"through the forwarder"] {
        conn.write_all(msg).unwrap();
        let mut got = vec![0u8; msg.len()];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(got, msg);
    }
    drop(conn);
    echo_thread.join().unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) }, 0);
    let t0 = std::time::Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// gevent's `unixsocket_server` / `unixsocket_client` pair: the client's
/// request over the Unix socket gets the server's `200 OK`.
#[test]
fn unixsocket_client_gets_the_servers_reply() {
    let path = std::env::temp_dir().join(format!("gevent-example-{}.sock", std::process::id()));
    let p = path.to_str().unwrap().to_string();
    let (server, _out, _) = start_server("unixsocket_server", std::slice::from_ref(&p), |l| {
        l.starts_with("Serving on ").then_some(0)
    });
    let client = Command::new(built("unixsocket_client"))
        .arg(&p)
        .output()
        .unwrap();
    assert!(client.status.success(), "{client:?}");
    let stdout = String::from_utf8_lossy(&client.stdout);
    let expected = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert!(
        stdout.starts_with(&format!("received {} bytes\n", expected.len())),
        "{stdout}"
    );
    assert!(stdout.contains("HTTP/1.1 200 OK"), "{stdout}");
    drop(server);
    let _ = std::fs::remove_file(&path);
}

/// gevent's `threadpool` example: 4 one-second sleeps on 3 threads take
/// about 2 s (not 1, not 4).
#[test]
fn threadpool_runs_four_sleeps_on_three_threads_in_two_seconds() {
    let out = Command::new(built("threadpool")).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secs: f64 = stdout
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|s| s.trim_end_matches('s').parse().ok())
        .unwrap_or_else(|| panic!("no time in {stdout:?}"));
    assert!((1.95..3.5).contains(&secs), "{stdout}");
}

/// gevent's `dns_mass_resolve` example, offline: localhost and numeric
/// names resolve, `.invalid` ones fail, and the count line is printed.
#[test]
fn dns_mass_resolve_resolves_concurrently_within_two_seconds() {
    let out = Command::new(built("dns_mass_resolve"))
        .arg("300")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("localhost = 127.0.0.1\n"), "{stdout}");
    assert!(stdout.contains("127.0.0.2 = 127.0.0.2\n"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    let (done, total) = last
        .strip_prefix("finished within 2 seconds: ")
        .and_then(|s| s.split_once('/'))
        .unwrap_or_else(|| panic!("{last:?}"));
    let done: usize = done.parse().unwrap();
    assert_eq!(total, "300");
    // Every finished job printed exactly one line.
    let printed = stdout
        .lines()
        .filter(|l| l.contains(" = ") || l.contains(" failed with "))
        .count();
    assert_eq!(printed, done, "{stdout}");
    assert!(done <= 300);
}

/// gevent's `concurrent_download` example against a local HTTP server:
/// the three downloads overlap (each response is held back 300 ms, and
/// all three finish in well under 3 × 300 ms).
#[test]
fn concurrent_download_fetches_urls_concurrently() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let server_thread = std::thread::spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..3 {
            let (conn, _) = server.accept().unwrap();
            handlers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request_line.split(' ').nth(1).unwrap().to_string();
                std::thread::sleep(std::time::Duration::from_millis(300));
                let body = format!("<html>page {path}</html>");
                let mut conn = conn;
                write!(
                    conn,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }));
        }
        for h in handlers {
            h.join().unwrap();
        }
    });
    let urls: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|p| format!("http://127.0.0.1:{port}/{p}"))
        .collect();
    let t0 = std::time::Instant::now();
    let out = Command::new(built("concurrent_download"))
        .args(&urls)
        .output()
        .unwrap();
    let took = t0.elapsed().as_secs_f64();
    assert!(out.status.success(), "{out:?}");
    server_thread.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (url, p) in urls.iter().zip(["a", "b", "c"]) {
        assert!(stdout.contains(&format!("Starting {url}\n")), "{stdout}");
        let body = format!("<html>page /{p}</html>");
        assert!(
            stdout.contains(&format!("{url}: {} bytes: {body:?}\n", body.len())),
            "{stdout}"
        );
    }
    // All three start before any finishes.
    let first_done = stdout.find(" bytes: ").unwrap();
    assert_eq!(
        stdout[..first_done].matches("Starting ").count(),
        3,
        "{stdout}"
    );
    // One after another would take at least 3 × 300 ms.
    assert!(took < 0.89, "took {took:.3}s: not concurrent");
}
