//! `gevent::server::StreamServer`, the core: a handler greenlet per
//! connection, the socket closed when it returns, a pool bounding the
//! handlers (accepting pauses while it is full), stop joining then
//! killing, a graceful stop_accepting, and failures that do not stop the
//! server. Loopback only, bounded in count and time.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use gevent::pool::Pool;
use gevent::server::StreamServer;
use gevent::socket::create_connection;
use gevent::{Error, sleep, spawn};

fn echo_once(sock: gevent::socket::Socket, _peer: std::net::SocketAddr) -> gevent::Result<()> {
    let data = sock.recv(1024)?;
    sock.sendall(&data)
}

#[test]
fn serves_many_clients_and_closes_each_socket_after_its_handler() {
    let _d = common::deadline("serves_many", common::TEST_DEADLINE);
    let server = StreamServer::new("127.0.0.1:0", echo_once);
    server.start().unwrap();
    assert!(server.started());
    let addr = server.address().unwrap();
    assert_eq!(server.server_port().unwrap(), addr.port());
    let clients: Vec<_> = (0..20)
        .map(|i| {
            spawn(move || {
                let c = create_connection(addr, Some(5.0))?;
                let msg = format!("client {i}");
                c.sendall(msg.as_bytes())?;
                let got = c.recv(1024)?;
                // The server closed its side once the handler returned.
                let eof = c.recv(1024)?;
                Ok(got == msg.as_bytes() && eof.is_empty())
            })
        })
        .collect();
    for c in &clients {
        assert!(c.get().unwrap());
    }
    server.stop(Some(1.0)).unwrap();
    assert!(!server.started());
    assert!(
        create_connection(addr, Some(1.0)).is_err(),
        "still listening"
    );
}

#[test]
fn a_full_pool_pauses_accepting_until_a_slot_frees() {
    let _d = common::deadline("pool_pauses", common::TEST_DEADLINE);
    let running = Rc::new(Cell::new(0usize));
    let most = Rc::new(Cell::new(0usize));
    let (r, m) = (running.clone(), most.clone());
    let server = StreamServer::new("127.0.0.1:0", move |sock, _| {
        r.set(r.get() + 1);
        m.set(m.get().max(r.get()));
        sleep(0.02)?;
        r.set(r.get() - 1);
        sock.sendall(b"done")
    });
    server.set_pool(Pool::new(2).unwrap());
    server.start().unwrap();
    let addr = server.address().unwrap();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            spawn(move || {
                let c = create_connection(addr, Some(5.0))?;
                c.recv(10)
            })
        })
        .collect();
    for c in &clients {
        assert_eq!(c.get().unwrap(), b"done");
    }
    assert_eq!(most.get(), 2, "the pool bounds the handlers");
    server.stop(Some(1.0)).unwrap();
}

#[test]
fn stop_with_a_pool_kills_handlers_left_after_the_timeout() {
    let _d = common::deadline("stop_kills", common::TEST_DEADLINE);
    let killed = Rc::new(Cell::new(false));
    let k = killed.clone();
    let server = StreamServer::new("127.0.0.1:0", move |_sock, _| {
        let r = sleep(30.0);
        k.set(matches!(r, Err(Error::GreenletExit)));
        r
    });
    server.set_pool(Pool::new(4).unwrap());
    server.start().unwrap();
    let addr = server.address().unwrap();
    let _c = create_connection(addr, Some(5.0)).unwrap();
    sleep(0.02).unwrap();
    server.stop(Some(0.05)).unwrap();
    assert!(killed.get(), "the stuck handler was killed");
}

#[test]
fn stop_accepting_keeps_connections_waiting_until_accepting_resumes() {
    let _d = common::deadline("stop_accepting", common::TEST_DEADLINE);
    let server = StreamServer::new("127.0.0.1:0", echo_once);
    server.start().unwrap();
    let addr = server.address().unwrap();
    server.stop_accepting().unwrap();
    // The kernel completes the handshake (backlog); nobody answers yet.
    let c = create_connection(addr, Some(5.0)).unwrap();
    c.sendall(b"later").unwrap();
    c.settimeout(Some(0.05)).unwrap();
    assert!(matches!(c.recv(10), Err(Error::Timeout(_))));
    server.start_accepting();
    c.settimeout(Some(5.0)).unwrap();
    assert_eq!(c.recv(10).unwrap(), b"later");
    server.stop(None).unwrap();
}

#[test]
fn a_failing_handler_is_reported_and_the_server_goes_on() {
    let _d = common::deadline("handler_fails", common::TEST_DEADLINE);
    let log = common::ErrorLog::install();
    let n = Rc::new(Cell::new(0u32));
    let n2 = n.clone();
    let server = StreamServer::new("127.0.0.1:0", move |sock, _| {
        n2.set(n2.get() + 1);
        if n2.get() == 1 {
            return Err(Error::msg("first handler fails"));
        }
        sock.sendall(b"ok")
    });
    server.start().unwrap();
    let addr = server.address().unwrap();
    let first = create_connection(addr, Some(5.0)).unwrap();
    assert!(
        first.recv(10).unwrap().is_empty(),
        "closed after the failure"
    );
    let second = create_connection(addr, Some(5.0)).unwrap();
    assert_eq!(second.recv(10).unwrap(), b"ok");
    server.stop(None).unwrap();
    assert_eq!(log.len(), 1, "{:?}", log.errors());
}

#[test]
fn serve_forever_returns_once_stopped() {
    let _d = common::deadline("serve_forever", common::TEST_DEADLINE);
    let server = StreamServer::new("127.0.0.1:0", echo_once);
    let s2 = server.clone();
    let stopper = spawn(move || {
        sleep(0.02)?;
        s2.stop(None)
    });
    server.serve_forever().unwrap();
    stopper.get().unwrap();
    assert!(!server.started());
}

#[test]
fn bad_address_and_address_in_use_are_errors() {
    let s = StreamServer::new("no port", echo_once);
    assert!(matches!(s.start(), Err(Error::InvalidArgument(_))));
    let a = StreamServer::new("127.0.0.1:0", echo_once);
    a.start().unwrap();
    let b = StreamServer::new(a.address().unwrap(), echo_once);
    match b.start() {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE)),
        other => panic!("{other:?}"),
    }
    a.stop(None).unwrap();
}

#[test]
fn datagram_server_answers_every_datagram() {
    use gevent::server::DatagramServer;
    use gevent::socket::Socket;
    let _d = common::deadline("datagram_server", common::TEST_DEADLINE);
    let server = DatagramServer::new("127.0.0.1:0", |srv, data, peer| {
        let mut reply = b"re:".to_vec();
        reply.extend(data);
        srv.sendto(&reply, peer).map(|_| ())
    });
    server.start().unwrap();
    let addr = server.address().unwrap();
    let client = Socket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    client.settimeout(Some(5.0)).unwrap();
    let mut got = Vec::new();
    for i in 0..20 {
        client.sendto(format!("{i}").as_bytes(), addr).unwrap();
        let (data, from) = client.recvfrom(100).unwrap();
        assert_eq!(from, Some(addr));
        got.push(String::from_utf8(data).unwrap());
    }
    assert_eq!(got[19], "re:19");
    // An oversize datagram is a clear error, not a silent loss.
    let huge = vec![0u8; 70_000];
    match client.sendto(&huge, addr) {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE)),
        other => panic!("{other:?}"),
    }
    server.stop().unwrap();
    assert!(!server.started());
    assert!(server.sendto(b"x", addr).is_err());
}

/// One hub and one server per thread on one port (`set_reuse_port`): the
/// kernel spreads the connections, and every one is served.
#[test]
fn one_server_per_thread_on_one_port_with_reuse_port() {
    use std::io::Read;
    use std::sync::mpsc;

    let probe = gevent::socket::Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    probe
        .setsockopt(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)
        .unwrap();
    probe.bind("127.0.0.1:0").unwrap();
    let port = probe.getsockname().unwrap().unwrap().port();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let stop_rx = std::sync::Arc::new(std::sync::Mutex::new(stop_rx));
    let threads: Vec<_> = (0..2u8)
        .map(|i| {
            let (ready, stop) = (ready_tx.clone(), stop_rx.clone());
            std::thread::spawn(move || -> gevent::Result<()> {
                let server =
                    StreamServer::new(("127.0.0.1", port), move |s, _| s.sendall(&[b'0' + i]));
                server.set_reuse_port(true);
                server.start()?;
                ready.send(()).unwrap();
                // Serve until told to stop (polling the std channel).
                while stop.lock().unwrap().try_recv().is_err() {
                    gevent::sleep(0.005)?;
                }
                server.stop(None)
            })
        })
        .collect();
    for _ in 0..2 {
        ready_rx.recv().unwrap();
    }
    drop(probe);
    let mut seen = [0usize; 2];
    for _ in 0..40 {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        seen[(b[0] - b'0') as usize] += 1;
    }
    for _ in 0..2 {
        stop_tx.send(()).unwrap();
    }
    for t in threads {
        t.join().unwrap().unwrap();
    }
    assert_eq!(seen[0] + seen[1], 40);
    // The kernel hashes each connection to a listener: with 40, both
    // get some unless chance is 1 in 2^39 against it.
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
}

const EMFILE_CHILD: &str = "GEVENT_TEST_EMFILE_CHILD";

/// Out of fds (`EMFILE`), the server refuses the pending connections
/// (their clients read end of stream instead of hanging), reports the
/// error, and serves again once fds are free. The server runs in a child
/// process with a low `RLIMIT_NOFILE`; the clients are this process's.
#[test]
fn out_of_fds_the_server_refuses_pending_clients_and_keeps_serving() {
    use std::io::{BufRead, Read, Write};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let _d = common::deadline("emfile", common::TEST_DEADLINE);
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "emfile_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EMFILE_CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
        // The harness's "test emfile_child ... " may precede it.
        if let Some((_, p)) = line.trim().rsplit_once("port ") {
            break p.parse().unwrap();
        }
    };
    let connect = || {
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c
    };
    // Served while fds last (each handler holds its connection open).
    let mut served = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        let mut c = connect();
        let mut b = [0u8; 2];
        match c.read(&mut b) {
            Ok(2) => served.push(c),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("a client was left hanging")
            }
            // End of stream or a reset: refused, not left hanging.
            Ok(0) | Err(_) => {
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(!served.is_empty(), "nothing was served");
    assert_eq!(refused, 3, "never ran out of fds ({} served)", served.len());
    // Free the handlers' fds: the server serves again.
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "release").unwrap();
    drop(served);
    let t0 = std::time::Instant::now();
    loop {
        let mut c = connect();
        let mut b = [0u8; 2];
        if matches!(c.read(&mut b), Ok(2)) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the server did not recover"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    assert!(
        err.contains("Too many open files"),
        "the error was not reported: {err}"
    );
}

#[test]
#[ignore = "child process of out_of_fds_the_server_refuses_pending_clients_and_keeps_serving"]
fn emfile_child() {
    if std::env::var(EMFILE_CHILD).is_err() {
        return;
    }
    let open_fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    let limit = libc::rlimit {
        rlim_cur: open_fds + 16,
        rlim_max: open_fds + 16,
    };
    // SAFETY: lowers this child process's own fd limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let release = gevent::event::Event::new();
    let r = release.clone();
    let server = StreamServer::new("127.0.0.1:0", move |sock, _| {
        sock.sendall(b"hi")?;
        r.wait()?;
        Ok(())
    });
    server.start().unwrap();
    println!("port {}", server.server_port().unwrap());
    // Wait for the parent's "release" on stdin, then for stdin to close.
    gevent::os::make_nonblocking(0).unwrap();
    let line = gevent::os::nb_read(0, 100).unwrap();
    assert!(String::from_utf8_lossy(&line).contains("release"));
    release.set();
    while !gevent::os::nb_read(0, 100).unwrap().is_empty() {}
    server.stop(None).unwrap();
}
