//! `gevent::socket::Socket`, the core: try-first syscalls with waits on
//! the socket's two persistent watchers, gevent's timeout rules, close
//! waking the blocked greenlets with EBADF (and no stale event on a reused
//! fd), one waiter per direction, and the fairness budget. Loopback and
//! socketpair only, bounded in count and time.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Instant;

use gevent::socket::{BUDGET, Socket, create_connection, socketpair, wait_read, wait_write};
use gevent::{Error, joinall, sleep, spawn};

fn errno(e: &Error) -> Option<i32> {
    match e {
        Error::Io(io) => io.raw_os_error(),
        _ => None,
    }
}

fn listener() -> (Socket, std::net::SocketAddr) {
    let l = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    l.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .unwrap();
    l.bind("127.0.0.1:0").unwrap();
    l.listen(16).unwrap();
    let addr = l.getsockname().unwrap().unwrap();
    (l, addr)
}

#[test]
fn tcp_echo_over_loopback() {
    let _d = common::deadline("tcp_echo", common::TEST_DEADLINE);
    let (l, addr) = listener();
    let server = spawn(move || {
        let (conn, peer) = l.accept()?;
        assert!(peer.ip().is_loopback());
        loop {
            let data = conn.recv(4096)?;
            if data.is_empty() {
                return Ok(());
            }
            conn.sendall(&data)?;
        }
    });
    let c = create_connection(addr, Some(5.0)).unwrap();
    assert_eq!(c.getpeername().unwrap(), Some(addr));
    for i in 0..50u32 {
        let msg = format!("message {i}");
        c.sendall(msg.as_bytes()).unwrap();
        let mut got = Vec::new();
        while got.len() < msg.len() {
            got.extend(c.recv(4096).unwrap());
        }
        assert_eq!(got, msg.as_bytes());
    }
    c.shutdown(libc::SHUT_WR).unwrap();
    server.get().unwrap();
    assert!(c.recv(10).unwrap().is_empty(), "end of stream");
}

#[test]
fn sendall_with_a_slow_reader_loses_and_duplicates_nothing() {
    let _d = common::deadline("sendall_backpressure", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    let data: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let writer = spawn(move || {
        a.sendall(&data)?;
        a.close();
        Ok(())
    });
    let reader = spawn(move || {
        let mut got = Vec::with_capacity(expected.len());
        let mut buf = [0u8; 7000];
        loop {
            let n = b.recv_into(&mut buf)?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.len() % 65536 < 7000 {
                sleep(0.0)?; // a slow reader
            }
        }
        Ok(got == expected)
    });
    joinall(&[writer.any(), reader.any()]).unwrap();
    writer.get().unwrap();
    assert!(reader.get().unwrap(), "bytes lost, reordered or duplicated");
}

#[test]
fn recv_times_out_per_wait() {
    let _d = common::deadline("recv_timeout", common::TEST_DEADLINE);
    let (a, _b) = socketpair().unwrap();
    a.settimeout(Some(0.05)).unwrap();
    let t0 = Instant::now();
    let e = a.recv(10).unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    common::assert_between(common::elapsed(t0), 0.04, 0.05 + 0.5);
}

#[test]
fn nonblocking_socket_returns_eagain() {
    let (a, _b) = socketpair().unwrap();
    a.setblocking(false);
    assert_eq!(a.gettimeout(), Some(0.0));
    assert_eq!(errno(&a.recv(10).unwrap_err()), Some(libc::EAGAIN));
}

#[test]
fn close_wakes_a_greenlet_blocked_in_recv_with_ebadf() {
    let _d = common::deadline("close_recv", common::TEST_DEADLINE);
    let (a, _b) = socketpair().unwrap();
    let a2 = a.clone();
    let blocked = spawn(move || a2.recv(10));
    sleep(0.01).unwrap();
    a.close();
    let e = blocked.get().unwrap_err();
    assert_eq!(errno(&e), Some(libc::EBADF), "{e:?}");
    assert!(a.closed());
    assert_eq!(errno(&a.recv(1).unwrap_err()), Some(libc::EBADF));
    a.close(); // twice is harmless
}

#[test]
fn close_wakes_a_greenlet_blocked_in_accept_with_ebadf() {
    let _d = common::deadline("close_accept", common::TEST_DEADLINE);
    let (l, _) = listener();
    let l2 = l.clone();
    let blocked = spawn(move || l2.accept().map(|_| ()));
    sleep(0.01).unwrap();
    l.close();
    assert_eq!(errno(&blocked.get().unwrap_err()), Some(libc::EBADF));
}

#[test]
fn reused_fd_number_gets_no_stale_event() {
    let _d = common::deadline("fd_reuse", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    let a2 = a.clone();
    let blocked = spawn(move || a2.recv(10));
    sleep(0.01).unwrap();
    // Data arrives for the old socket in the same iteration it is closed.
    b.sendall(b"stale").unwrap();
    let old_fd = a.fileno();
    a.close();
    let (c, d) = socketpair().unwrap();
    let reused = c.fileno() == old_fd || d.fileno() == old_fd;
    let fresh = if c.fileno() == old_fd { c } else { d };
    fresh.settimeout(Some(0.05)).unwrap();
    assert_eq!(errno(&blocked.get().unwrap_err()), Some(libc::EBADF));
    // Nothing was sent to the new socket: it must time out, not read.
    assert!(matches!(fresh.recv(10), Err(Error::Timeout(_))));
    assert!(reused || old_fd >= 0);
}

#[test]
fn second_reader_gets_concurrent_object_use() {
    let _d = common::deadline("concurrent_use", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    let a2 = a.clone();
    let first = spawn(move || a2.recv(10));
    sleep(0.01).unwrap();
    assert!(matches!(a.recv(10), Err(Error::ConcurrentObjectUse(_))));
    b.sendall(b"x").unwrap();
    assert_eq!(first.get().unwrap(), b"x");
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let _d = common::deadline("connect_refused", common::TEST_DEADLINE);
    // Bound but not listening: the port stays ours, so no other test's
    // socket can take it meanwhile (as it could a closed listener's).
    let holder = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    holder.bind("127.0.0.1:0").unwrap();
    let addr = holder.getsockname().unwrap().unwrap();
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    assert_eq!(
        errno(&s.connect(addr).unwrap_err()),
        Some(libc::ECONNREFUSED)
    );
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    assert_eq!(s.connect_ex(addr).unwrap(), libc::ECONNREFUSED);
}

#[test]
fn bad_addresses_are_invalid_arguments() {
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    assert!(matches!(s.bind("no port"), Err(Error::InvalidArgument(_))));
    // A name that cannot be looked up (a NUL byte): a gaierror, no query.
    let e = s.connect(("bad\0host", 1)).unwrap_err();
    assert!(e.is::<gevent::socket::GaiError>(), "{e:?}");
    assert!(matches!(
        s.settimeout(Some(-1.0)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(Socket::from_fd(-1), Err(Error::Io(_))));
}

#[test]
fn read_and_write_traits() {
    let _d = common::deadline("read_write", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    (&a).write_all(b"through Write").unwrap();
    let mut buf = [0u8; 13];
    (&b).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"through Write");
    b.settimeout(Some(0.01)).unwrap();
    let e = (&b).read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn wait_read_and_wait_write_on_a_raw_fd() {
    let _d = common::deadline("wait_fd", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    wait_write(a.fileno(), Some(1.0)).unwrap();
    assert!(matches!(
        wait_read(a.fileno(), Some(0.02)),
        Err(Error::Timeout(_))
    ));
    b.sendall(b"!").unwrap();
    wait_read(a.fileno(), Some(1.0)).unwrap();
}

#[test]
fn a_busy_socket_yields_to_others_after_its_budget() {
    let _d = common::deadline("budget", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    // Enough data waiting that none of the reads below ever waits.
    let ops = 4 * BUDGET as usize;
    b.sendall(&vec![7u8; ops]).unwrap();
    let other_ran = Rc::new(Cell::new(0u32));
    let o = other_ran.clone();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let other = spawn(move || {
        while !d.get() {
            o.set(o.get() + 1);
            sleep(0.0)?;
        }
        Ok(())
    });
    let busy = spawn(move || {
        let mut buf = [0u8; 1];
        for _ in 0..ops {
            assert_eq!(a.recv_into(&mut buf)?, 1);
        }
        Ok(())
    });
    busy.get().unwrap();
    let seen = other_ran.get();
    done.set(true);
    other.get().unwrap();
    assert!(
        seen >= 3,
        "the other greenlet ran only {seen} times during {ops} reads"
    );
}

#[test]
fn short_read_then_next_recv_still_gets_later_data() {
    let _d = common::deadline("short_read", common::TEST_DEADLINE);
    let (a, b) = socketpair().unwrap();
    b.sendall(b"abc").unwrap();
    assert_eq!(a.recv(100).unwrap(), b"abc"); // short: marks drained
    let b2 = b.clone();
    let later = spawn(move || {
        sleep(0.01)?;
        b2.sendall(b"def")
    });
    assert_eq!(a.recv(100).unwrap(), b"def"); // waits first, then reads
    later.get().unwrap();
    // Data already there when the drained socket reads: still read.
    b.sendall(b"ghi").unwrap();
    assert_eq!(a.recv(3).unwrap(), b"ghi"); // full read: not drained
    b.sendall(b"jkl").unwrap();
    assert_eq!(a.recv(10).unwrap(), b"jkl");
}

/// After a wait the socket's read watcher stays started but idle: it
/// holds no loop reference (a socket nobody waits on does not keep the
/// loop alive), data arriving while nobody waits stops it instead of
/// firing every turn, and the next recv still gets that data.
#[test]
fn an_idle_socket_neither_keeps_the_loop_alive_nor_spins() {
    let (a, b) = socketpair().unwrap();
    let lp = gevent::get_hub().loop_().clone();
    let base = lp.activecnt();
    // One wait, then idle: data written from another greenlet after a
    // sleep makes recv wait first.
    let b2 = b.clone();
    let writer = spawn(move || {
        sleep(0.01)?;
        b2.sendall(b"one")
    });
    let mut buf = [0u8; 16];
    assert_eq!(a.recv_into(&mut buf).unwrap(), 3);
    writer.join().unwrap();
    assert_eq!(
        lp.activecnt(),
        base,
        "an idle socket holds no reference on the loop"
    );
    // Data arriving while nobody waits: the loop turns a few times, not
    // once per turn for as long as the data sits unread.
    b.sendall(b"two").unwrap();
    let it0 = lp.iteration();
    sleep(0.05).unwrap();
    let turns = lp.iteration() - it0;
    assert!(
        turns < 10,
        "{turns} loop turns in 50 ms for one unread event"
    );
    // Nothing waits on anything: a join returns instead of hanging.
    let t0 = Instant::now();
    gevent::get_hub().join().unwrap();
    assert!(t0.elapsed().as_secs_f64() < 5.0);
    // The data is still there, and a second round trip works.
    assert_eq!(a.recv_into(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"two");
    let b3 = b.clone();
    let writer = spawn(move || {
        sleep(0.01)?;
        b3.sendall(b"three")
    });
    assert_eq!(a.recv_into(&mut buf).unwrap(), 5);
    writer.join().unwrap();
}

/// A second greenlet waiting on a socket whose watcher is idle (left
/// started by an earlier wait) still gets `ConcurrentObjectUse` while the
/// first waits, and can wait once the first is done.
#[test]
fn an_idle_watcher_still_has_one_waiter_at_a_time() {
    let (a, b) = socketpair().unwrap();
    let b2 = b.clone();
    let w = spawn(move || {
        sleep(0.01)?;
        b2.sendall(b"x")
    });
    let mut buf = [0u8; 4];
    assert_eq!(a.recv_into(&mut buf).unwrap(), 1);
    w.join().unwrap();
    // The watcher is idle now; a reader waits on it again.
    let a2 = a.clone();
    let reader = spawn(move || {
        let mut buf = [0u8; 4];
        a2.recv_into(&mut buf)
    });
    sleep(0.01).unwrap();
    let second = a.recv_into(&mut buf);
    assert!(
        matches!(second, Err(Error::ConcurrentObjectUse(_))),
        "{second:?}"
    );
    b.sendall(b"y").unwrap();
    assert_eq!(reader.get().unwrap(), 1);
}
