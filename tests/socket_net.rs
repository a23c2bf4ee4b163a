//! The Rust-shaped wrappers (`TcpListener`, `TcpStream`, `UdpSocket`,
//! `UnixListener`, `UnixStream`), `AF_UNIX` paths on `Socket`, absolute
//! deadlines, `split()`, and closing a socket while greenlets are blocked
//! on it in every kind of wait (then reusing its fd number).

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gevent::socket::{
    Address, Socket, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream, socketpair,
    wait_read,
};
use gevent::{Error, sleep, spawn};

fn errno(e: &Error) -> Option<i32> {
    match e {
        Error::Io(io) => io.raw_os_error(),
        _ => None,
    }
}

/// A fresh socket path in the temp dir, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        let p = std::env::temp_dir().join(format!(
            "gevent-test-{}-{tag}-{:?}.sock",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn tcp_listener_and_stream_echo() {
    let _d = common::deadline("tcp_echo", common::TEST_DEADLINE);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
    let server = spawn(move || -> gevent::Result<SocketAddrPair> {
        let (mut conn, peer) = l.accept()?;
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf)?;
        conn.write_all(&buf)?;
        Ok((peer, conn.local_addr()?))
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    let (peer, local) = server.get().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(local, c.peer_addr().unwrap());
}

type SocketAddrPair = (std::net::SocketAddr, std::net::SocketAddr);

#[test]
fn incoming_yields_connections() {
    let _d = common::deadline("incoming", common::TEST_DEADLINE);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = spawn(move || -> gevent::Result<Vec<u8>> {
        let mut got = Vec::new();
        for conn in l.incoming().take(3) {
            let mut conn = conn?;
            let mut b = [0u8; 1];
            conn.read_exact(&mut b)?;
            got.push(b[0]);
        }
        Ok(got)
    });
    for i in 0..3u8 {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(&[b'a' + i]).unwrap();
    }
    assert_eq!(server.get().unwrap(), b"abc");
}

#[test]
fn split_halves_read_and_write_from_two_greenlets_at_once() {
    let _d = common::deadline("split", common::TEST_DEADLINE);
    let (a, b) = UnixStream::pair().unwrap();
    let (mut ar, mut aw) = a.split();
    let (mut br, mut bw) = b.split();
    // Each side reads in one greenlet while another writes 1 MiB: with a
    // single greenlet per stream both writers would fill the buffers and
    // deadlock.
    const N: usize = 1 << 20;
    let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let (d1, d2) = (data.clone(), data.clone());
    let wa = spawn(move || aw.write_all(&d1).map_err(Error::from));
    let wb = spawn(move || -> gevent::Result<()> {
        bw.write_all(&d2)?;
        bw.shutdown()
    });
    let ra = spawn(move || -> gevent::Result<Vec<u8>> {
        let mut v = Vec::new();
        ar.read_to_end(&mut v)?;
        Ok(v)
    });
    let rb = spawn(move || -> gevent::Result<Vec<u8>> {
        let mut v = vec![0u8; N];
        br.read_exact(&mut v)?;
        Ok(v)
    });
    wa.get().unwrap();
    wb.get().unwrap();
    assert_eq!(rb.get().unwrap(), data);
    assert_eq!(ra.get().unwrap(), data);
}

#[test]
fn read_timeout_is_per_wait_and_zero_is_refused() {
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(matches!(
        a.set_read_timeout(Some(Duration::ZERO)),
        Err(Error::InvalidArgument(_))
    ));
    a.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(a.read_timeout(), Some(Duration::from_millis(50)));
    assert_eq!(a.write_timeout(), None);
    let t0 = Instant::now();
    let e = (&a).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    common::assert_between(common::elapsed(t0), 0.04, 0.55);
}

#[test]
fn read_deadline_is_absolute_and_fails_even_when_data_is_ready() {
    let _d = common::deadline("deadline", common::TEST_DEADLINE);
    let (a, mut b) = UnixStream::pair().unwrap();
    let k = common::time_scale();
    let t0 = Instant::now();
    a.set_read_deadline(Some(t0 + Duration::from_secs_f64(0.1 * k)));
    // Three reads that each would wait 40 ms share one 100 ms deadline.
    let writer = spawn(move || -> gevent::Result<UnixStream> {
        for _ in 0..2 {
            sleep(0.04 * k)?;
            b.write_all(b"x")?;
        }
        Ok(b)
    });
    let mut buf = [0u8; 1];
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    let e = (&a).read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e:?}");
    common::assert_between(common::elapsed(t0), 0.09 * k, 0.6 * k);
    // Past the deadline a read fails at once even with data ready.
    let mut b = writer.take().unwrap();
    b.write_all(b"y").unwrap();
    sleep(0.01).unwrap();
    assert!(matches!(
        a.socket().recv(1).map(|_| ()),
        Err(Error::Timeout(_))
    ));
    // Writes have their own deadline and still work.
    (&a).write_all(b"ok").unwrap();
    // Clearing the deadline gives the data back: nothing was lost.
    a.set_read_deadline(None);
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    assert_eq!(&buf, b"y");
}

#[test]
fn connect_timeout_and_refused() {
    // A bound socket that does not listen holds the port (a port freed
    // by a closed listener could be taken by another test's client).
    let holder = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    holder.bind("127.0.0.1:0").unwrap();
    let addr = holder.getsockname().unwrap().unwrap();
    let e = TcpStream::connect(addr).unwrap_err();
    assert_eq!(errno(&e), Some(libc::ECONNREFUSED), "{e:?}");
    let e = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

#[test]
fn shutdown_write_gives_the_peer_end_of_stream() {
    let (a, mut b) = UnixStream::pair().unwrap();
    (&a).write_all(b"last").unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    let mut v = Vec::new();
    b.read_to_end(&mut v).unwrap();
    assert_eq!(v, b"last");
}

#[test]
fn nonblocking_stream_returns_would_block() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true);
    let e = (&a).read(&mut [0u8; 1]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
}

#[test]
fn udp_socket_send_to_and_recv_from() {
    let _d = common::deadline("udp", common::TEST_DEADLINE);
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let saddr = server.local_addr().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let echo = spawn(move || -> gevent::Result<usize> {
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf)?;
        server.send_to(&buf[..n], from)
    });
    client.send_to(b"ping", saddr).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from, saddr);
    assert_eq!(echo.get().unwrap(), 4);
    // Connected: send/recv; a short buffer cuts the datagram, as std.
    client.connect(saddr).unwrap();
    assert_eq!(client.peer_addr().unwrap(), saddr);
    client
        .set_read_timeout(Some(Duration::from_millis(30)))
        .unwrap();
    assert!(matches!(client.recv(&mut buf), Err(Error::Timeout(_))));
}

#[test]
fn udp_oversize_datagram_is_emsgsize() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    let big = vec![0u8; 70_000];
    assert_eq!(
        errno(&s.send_to(&big, addr).unwrap_err()),
        Some(libc::EMSGSIZE)
    );
}

#[test]
fn unix_listener_and_stream_over_a_path() {
    let _d = common::deadline("unix_path", common::TEST_DEADLINE);
    let path = TempPath::new("path");
    let l = UnixListener::bind(&path.0).unwrap();
    assert_eq!(l.local_addr().unwrap(), Address::Unix(path.0.clone()));
    let server = spawn(move || -> gevent::Result<Address> {
        let (mut conn, peer) = l.accept()?;
        let mut line = [0u8; 4];
        conn.read_exact(&mut line)?;
        conn.write_all(&line)?;
        Ok(peer)
    });
    let mut c = UnixStream::connect(&path.0).unwrap();
    assert_eq!(c.peer_addr().unwrap(), Address::Unix(path.0.clone()));
    assert_eq!(c.local_addr().unwrap(), Address::Unnamed);
    c.write_all(b"unix").unwrap();
    let mut back = [0u8; 4];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"unix");
    assert_eq!(server.get().unwrap(), Address::Unnamed);
    // The path is taken while the file exists (std's behaviour too).
    let e = UnixListener::bind(&path.0).unwrap_err();
    assert_eq!(errno(&e), Some(libc::EADDRINUSE), "{e:?}");
}

#[test]
fn unix_abstract_names() {
    let name = format!("gevent-test-{}-abstract", std::process::id()).into_bytes();
    let addr = Address::Abstract(name);
    let l = UnixListener::bind_addr(&addr).unwrap();
    assert_eq!(l.local_addr().unwrap(), addr);
    let c = UnixStream::connect_addr(&addr).unwrap();
    let (s, _) = l.accept().unwrap();
    (&c).write_all(b"@").unwrap();
    let mut b = [0u8; 1];
    (&s).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"@");
}

#[test]
fn gevent_style_socket_with_a_path_string() {
    let _d = common::deadline("unix_socket", common::TEST_DEADLINE);
    let path = TempPath::new("str");
    let p = path.0.to_str().unwrap().to_string();
    let l = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM).unwrap();
    // On an AF_UNIX socket a string is a path, as in Python.
    l.bind(p.as_str()).unwrap();
    l.listen(1).unwrap();
    assert_eq!(l.local_address().unwrap(), Address::Unix(path.0.clone()));
    // accept() reports an IP peer: on AF_UNIX it refuses before
    // accepting, so the pending connection is not lost.
    let c = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM).unwrap();
    c.connect(p.as_str()).unwrap();
    c.sendall(b"kept").unwrap();
    assert!(matches!(l.accept(), Err(Error::InvalidArgument(_))));
    let (s, peer) = l.accept_address().unwrap();
    assert_eq!(peer, Address::Unnamed);
    assert_eq!(s.recv(4).unwrap(), b"kept");
    assert_eq!(s.getpeername().unwrap(), None);
}

#[test]
fn unix_bad_paths_are_invalid_arguments() {
    let long = "x".repeat(200);
    assert!(matches!(
        UnixListener::bind(&long),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        UnixStream::connect("a\0b"),
        Err(Error::InvalidArgument(_))
    ));
    let e = UnixStream::connect("/nonexistent-gevent-dir/s").unwrap_err();
    assert_eq!(errno(&e), Some(libc::ENOENT), "{e:?}");
    // A path is not an IP address.
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    assert!(matches!(
        s.connect(std::path::Path::new("/tmp/x")),
        Err(Error::InvalidArgument(_))
    ));
}

const CLOSE_CHILD: &str = "GEVENT_TEST_CLOSE_REUSE_CHILD";

/// Closing sockets while greenlets are blocked on them in recv, accept,
/// connect, select and wait_read wakes each with EBADF; the sockets made
/// next get the same fd numbers, and none of them sees an event meant for
/// the old ones. In a child process, so no other test thread takes the fd
/// numbers meanwhile.
#[test]
fn close_while_blocked_everywhere_then_reuse_the_fds() {
    let (ok, out, err) = common::run_child("close_reuse_child", &[(CLOSE_CHILD, "1")]);
    assert!(ok, "child failed:\n{out}\n{err}");
    assert!(out.contains("close reuse child: ok"), "{out}\n{err}");
}

#[test]
#[ignore = "child process of close_while_blocked_everywhere_then_reuse_the_fds: it needs the fd table to itself"]
fn close_reuse_child() {
    if std::env::var(CLOSE_CHILD).is_err() {
        return;
    }
    let _d = common::deadline("close_reuse", common::TEST_DEADLINE);
    // recv
    let (r, r_peer) = socketpair().unwrap();
    // accept
    let l = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    l.bind("127.0.0.1:0").unwrap();
    l.listen(0).unwrap();
    // connect: a listener with a full backlog that never accepts.
    let full = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    full.bind("127.0.0.1:0").unwrap();
    full.listen(0).unwrap();
    let full_addr = full.getsockname().unwrap().unwrap();
    let mut fillers = Vec::new();
    let connecting = loop {
        let c = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
        c.settimeout(Some(0.2)).unwrap();
        match c.connect(full_addr) {
            Ok(()) => fillers.push(c),
            Err(Error::Timeout(_)) => break Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap(),
            Err(e) => panic!("connect: {e:?}"),
        }
        assert!(fillers.len() < 64, "the backlog never filled");
    };
    // select and wait_read on a socket's fd
    let (sel, sel_peer) = socketpair().unwrap();
    let (wr, wr_peer) = socketpair().unwrap();

    let old: Vec<i32> = [&r, &l, &connecting, &sel, &wr]
        .iter()
        .map(|s| s.fileno())
        .collect();
    let blocked = {
        let (r, l, c, sel, wr) = (
            r.clone(),
            l.clone(),
            connecting.clone(),
            sel.clone(),
            wr.clone(),
        );
        vec![
            spawn(move || r.recv(10).map(|_| ())),
            spawn(move || l.accept().map(|_| ())),
            spawn(move || c.connect(full_addr)),
            spawn(move || gevent::select::select(&[sel.fileno()], &[], &[], None).map(|_| ())),
            spawn(move || wait_read(wr.fileno(), None)),
        ]
    };
    sleep(0.05).unwrap();
    assert!(
        blocked.iter().all(|g| !g.ready()),
        "something did not block"
    );
    // Data arrives for two of them in the same iteration they close.
    r_peer.sendall(b"stale").unwrap();
    wr_peer.sendall(b"stale").unwrap();
    for s in [&r, &l, &connecting, &sel, &wr] {
        s.close();
    }
    for (i, g) in blocked.iter().enumerate() {
        let e = g.get().unwrap_err();
        assert_eq!(errno(&e), Some(libc::EBADF), "waiter {i}: {e:?}");
    }
    // The fds are closed by now, and new sockets take their numbers.
    let mut fresh = Vec::new();
    for _ in 0..old.len() {
        let (a, b) = socketpair().unwrap();
        fresh.push(a);
        fresh.push(b);
    }
    let reused: Vec<&Socket> = fresh.iter().filter(|s| old.contains(&s.fileno())).collect();
    assert_eq!(reused.len(), old.len(), "old {old:?}, fresh {fresh:?}");
    for s in &reused {
        s.settimeout(Some(0.05)).unwrap();
        // Nothing was sent to the new sockets: each must time out.
        assert!(matches!(s.recv(10), Err(Error::Timeout(_))), "{s:?}");
        let fd = s.fileno();
        assert!(matches!(
            gevent::select::select(&[fd], &[], &[], Some(0.05)),
            Ok((r, _, _)) if r.is_empty()
        ));
    }
    drop((r_peer, sel_peer, wr_peer, fillers, full));
    println!("close reuse child: ok");
}

#[test]
fn a_peer_reset_is_econnreset_and_writing_after_it_epipe() {
    let _d = common::deadline("peer_reset", common::TEST_DEADLINE);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    let reader = {
        let s = s.socket().clone();
        spawn(move || s.recv(10))
    };
    sleep(0.01).unwrap();
    // Close with SO_LINGER {on, 0}: the kernel sends a reset.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd and a linger struct of the size given.
    let rc = unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(c);
    let e = reader.get().unwrap_err();
    assert_eq!(errno(&e), Some(libc::ECONNRESET), "{e:?}");
    // The connection is gone: a write fails (EPIPE, no SIGPIPE) instead of
    // losing the data silently.
    let e = s.socket().sendall(b"lost?").unwrap_err();
    assert!(
        matches!(errno(&e), Some(libc::EPIPE | libc::ECONNRESET)),
        "{e:?}"
    );
}
