//! gevent's `benchmarks/bench_socket.py`: 50 MiB `sendall`s through an
//! `AF_UNIX` socketpair to a reader (a greenlet, a thread or a forked
//! child), and 50 MiB of 1000-byte UDP datagrams to 127.0.0.1, with the
//! crate's cooperative sockets (`gevent_*`) and with plain blocking ones
//! (`native_*`: std's sockets, as gevent uses Python's `socket`). N = 10
//! inner loops; every value is ms per inner loop, i.e. per 50 MiB.
//!
//! ```text
//! cargo bench -j1 --bench bench_socket
//! cargo bench -j1 --bench bench_socket -- --only udp --reps 3
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! one loop of N, after one untimed warm-up rep). Every reader receives
//! with `recv(4096)` into a fresh buffer, as Python's `sock.recv(4096)`
//! does.
//!
//! Two differences from gevent's file, the same in the Python twin:
//! - the UDP cases send to a socket of our own bound on 127.0.0.1:0 (and
//!   never read), not to the fixed port 55678, so nothing else on the
//!   machine can receive them;
//! - gevent's `_sendto` never resets its `sent` counter, so only its
//!   first inner loop sends anything and its number shrinks with pyperf's
//!   loop count; here every inner loop sends the 50 MiB.
//!
//! The forked children exit with `_exit(2)` once their reader sees the
//! end; the parent reaps them after the timing.

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use gevent::socket::{Socket, socketpair};
use gevent::{fork, spawn};

use common::{Runner, secs};

/// Inner loops.
const N: usize = 10;
/// One sendall, and the bytes one UDP inner loop sends: 50 MiB.
const LENGTH: usize = 50 * 1024 * 1024;
/// One UDP datagram.
const SMALL: usize = 1000;

/// gevent's `recvall` on a cooperative socket.
fn recvall(sock: &Socket) -> gevent::Result<()> {
    while !sock.recv(4096)?.is_empty() {}
    Ok(())
}

/// Python's `socket.recv(4096)` on a blocking std socket: a fresh buffer
/// each call; true while data came.
fn native_recv(sock: &mut UnixStream) -> bool {
    let mut buf = vec![0u8; 4096];
    let n = sock.read(&mut buf).unwrap();
    buf.truncate(n);
    !std::hint::black_box(buf).is_empty()
}

/// gevent's `recvall` on a blocking std socket.
fn native_recvall(mut sock: UnixStream) {
    while native_recv(&mut sock) {}
}

/// gevent's `_sendall` on a cooperative socket: N x `sendall(data)`, then
/// close (untimed). ms per sendall.
fn gevent_sendall(conn: &Socket, data: &[u8]) -> f64 {
    let t0 = Instant::now();
    for _ in 0..N {
        conn.sendall(data).unwrap();
    }
    let taken = secs(t0);
    conn.close();
    taken / N as f64 * 1e3
}

/// gevent's `_sendall` on a blocking std socket.
fn native_sendall(mut conn: UnixStream, data: &[u8]) -> f64 {
    let t0 = Instant::now();
    for _ in 0..N {
        conn.write_all(data).unwrap();
    }
    let taken = secs(t0);
    drop(conn);
    taken / N as f64 * 1e3
}

/// Waits for the forked reader to end.
fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waitpid(2) on our own child, with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
}

/// Ends a forked child at once: no destructors or atexit handlers of the
/// parent's state run twice.
fn child_exit(code: i32) -> ! {
    // SAFETY: _exit(2) never returns and touches no process state.
    unsafe { libc::_exit(code) }
}

/// `gevent socketpair sendall greenlet`: the reader is a greenlet on the
/// other end of a `gevent::socket::socketpair()`.
fn gevent_greenlet_socketpair(data: &[u8]) -> f64 {
    let (send, recv) = socketpair().unwrap();
    let reader = spawn(move || recvall(&recv));
    let v = gevent_sendall(&send, data);
    reader.get().unwrap();
    v
}

/// `native socketpair sendall thread`: blocking std sockets, the reader a
/// thread.
fn native_thread_socketpair(data: &[u8]) -> f64 {
    let (send, recv) = UnixStream::pair().unwrap();
    let t = std::thread::spawn(move || native_recvall(recv));
    let v = native_sendall(send, data);
    t.join().unwrap();
    v
}

/// `gevent socketpair sendall fork`: the reader is a forked child
/// (`gevent::fork`, which reinitialises the hub there) reading the
/// cooperative socket.
fn gevent_forked_socketpair(data: &[u8]) -> f64 {
    let (send, recv) = socketpair().unwrap();
    std::io::stdout().flush().unwrap();
    let pid = fork().unwrap();
    if pid == 0 {
        send.close();
        let ok = recvall(&recv).is_ok();
        recv.close();
        child_exit(if ok { 0 } else { 1 });
    }
    let v = gevent_sendall(&send, data);
    recv.close();
    reap(pid);
    v
}

/// `native socketpair sendall fork`: blocking std sockets, the reader a
/// child made by a plain `fork(2)`.
fn native_forked_socketpair(data: &[u8]) -> f64 {
    let (send, recv) = UnixStream::pair().unwrap();
    std::io::stdout().flush().unwrap();
    // SAFETY: this process has no other thread here (the thread case's
    // reader was joined); the child only reads its socket and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(send);
        native_recvall(recv);
        child_exit(0);
    }
    let v = native_sendall(send, data);
    drop(recv);
    reap(pid);
    v
}

/// A UDP socket of our own on 127.0.0.1 that the datagrams go to; it is
/// never read, so the kernel drops what its buffer cannot hold.
fn udp_sink() -> (UdpSocket, SocketAddr) {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sink.local_addr().unwrap();
    (sink, addr)
}

/// `native udp sendto`: N x (1000-byte `sendto` until 50 MiB are sent) on
/// a blocking std socket.
fn native_udp() -> f64 {
    let (_sink, addr) = udp_sink();
    let conn = UdpSocket::bind("127.0.0.1:0").unwrap();
    let small = [b'x'; SMALL];
    let mut spent = 0.0;
    for _ in 0..N {
        let mut sent = 0;
        let t0 = Instant::now();
        while sent < LENGTH {
            sent += conn.send_to(&small, addr).unwrap();
        }
        spent += secs(t0);
    }
    spent / N as f64 * 1e3
}

/// `gevent udp sendto`: the same on a cooperative
/// `Socket::new(AF_INET, SOCK_DGRAM)`.
fn gevent_udp() -> f64 {
    let (_sink, addr) = udp_sink();
    let conn = Socket::new(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    let small = [b'x'; SMALL];
    let mut spent = 0.0;
    for _ in 0..N {
        let mut sent = 0;
        let t0 = Instant::now();
        while sent < LENGTH {
            sent += conn.sendto(&small, addr).unwrap();
        }
        spent += secs(t0);
    }
    conn.close();
    spent / N as f64 * 1e3
}

fn main() {
    let r = Runner::from_args();
    let big = vec![b'x'; LENGTH];
    let u = "ms/50MiB";
    // gevent's order.
    r.case(
        "bench_socket.gevent_socketpair_sendall_greenlet",
        u,
        &mut || gevent_greenlet_socketpair(&big),
    );
    r.case(
        "bench_socket.native_socketpair_sendall_thread",
        u,
        &mut || native_thread_socketpair(&big),
    );
    r.case(
        "bench_socket.gevent_socketpair_sendall_fork",
        u,
        &mut || gevent_forked_socketpair(&big),
    );
    r.case(
        "bench_socket.native_socketpair_sendall_fork",
        u,
        &mut || native_forked_socketpair(&big),
    );
    r.case("bench_socket.native_udp_sendto", u, &mut native_udp);
    r.case("bench_socket.gevent_udp_sendto", u, &mut gevent_udp);
}
