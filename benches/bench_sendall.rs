//! gevent's `benchmarks/bench_sendall.py`: `sendall` of 50 MiB to a
//! `StreamServer` on 127.0.0.1 whose handler reads (`recv(4096)`) until
//! the end, both in this thread's hub; N = 10 sendalls per inner loop.
//! The value is ms per 50 MiB `sendall` (50 / value x 1000 = MiB/s,
//! gevent's `~ MB/s` line).
//!
//! ```text
//! cargo bench -j1 --bench bench_sendall
//! cargo bench -j1 --bench bench_sendall -- --reps 3
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! N sendalls on one connection, after one untimed warm-up rep).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use gevent::server::StreamServer;
use gevent::socket::{Socket, create_connection};

use common::{Runner, secs};

/// Sendalls per inner loop.
const N: usize = 10;
/// The size of one sendall: 50 MiB.
const LENGTH: usize = 50 * 1024 * 1024;

/// gevent's `recvall` handler: reads 4096 bytes at a time until the end.
fn recvall(sock: &Socket) -> gevent::Result<()> {
    while !sock.recv(4096)?.is_empty() {}
    Ok(())
}

/// `sendall`: N x `conn.sendall(data)` of [`LENGTH`] bytes to the
/// server's reading handler: ms per sendall.
fn sendall(conn: &Socket, data: &[u8]) -> f64 {
    let t0 = Instant::now();
    for _ in 0..N {
        conn.sendall(data).unwrap();
    }
    secs(t0) / N as f64 * 1e3
}

fn main() {
    let r = Runner::from_args();
    if !r.wants("bench_sendall.sendall") {
        return;
    }
    let server = StreamServer::new("127.0.0.1:0", |sock, _| recvall(&sock));
    server.start().unwrap();
    let data = vec![b'x'; LENGTH];
    let conn = create_connection(server.address().unwrap(), None).unwrap();
    r.case("bench_sendall.sendall", "ms/50MiB", &mut || {
        sendall(&conn, &data)
    });
    conn.close();
    server.stop(Some(1.0)).unwrap();
}
