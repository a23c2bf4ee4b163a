//! The echo server the benchmarks measure (`benches/compare.sh`): the same
//! shape as gevent's benchmark echo, a `StreamServer` with one greenlet
//! per connection doing `recv(65536)` then `sendall`, `TCP_NODELAY` on.
//!
//! ```text
//! cargo run --release --example echoserver_bench -- PORT [--hubs N]
//! ```
//!
//! With `--hubs N` it runs N threads, each with its own hub and its own
//! server on the same port (`SO_REUSEPORT`: the kernel spreads the
//! connections over the listeners). PORT 0 picks a free port. It prints
//! `listening PORT` once every hub is accepting.

use std::sync::mpsc;

use gevent::server::StreamServer;
use gevent::socket::Socket;

/// One connection: echo until the peer closes.
fn echo(sock: Socket) -> gevent::Result<()> {
    sock.setsockopt(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    let mut buf = vec![0u8; 65536];
    loop {
        let n = sock.recv_into(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        sock.sendall(&buf[..n])?;
    }
}

/// Serves on `port` with the calling thread's hub; tells `ready` the
/// bound port (or why not) once accepting.
fn serve(port: u16, reuse_port: bool, ready: impl FnOnce(gevent::Result<u16>)) {
    let server = StreamServer::new(("127.0.0.1", port), |sock, _| {
        // A reset peer is the client's business, not the server's.
        let _ = echo(sock);
        Ok(())
    });
    server.set_reuse_port(reuse_port).set_backlog(4096);
    let started = server.start().and_then(|()| server.server_port());
    let failed = started.is_err();
    ready(started);
    if !failed && let Err(e) = server.serve_forever() {
        eprintln!("echoserver_bench: {e}");
        std::process::exit(1);
    }
}

/// Binds (without listening) a socket on `port` with `SO_REUSEPORT`, so
/// that every hub's server then binds the same port; returns it and the
/// port (the free one chosen for 0).
fn claim_port(port: u16) -> gevent::Result<(Socket, u16)> {
    let probe = Socket::new(libc::AF_INET, libc::SOCK_STREAM)?;
    probe.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    probe.bind(("127.0.0.1", port))?;
    let port = probe.getsockname()?.map_or(port, |a| a.port());
    Ok((probe, port))
}

fn listening(port: u16) {
    use std::io::Write;
    println!("listening {port}");
    let _ = std::io::stdout().flush();
}

fn main() -> gevent::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut port: u16 = 0;
    let mut hubs = 1usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--hubs" => {
                hubs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--hubs N (N >= 1)");
            }
            p => port = p.parse().expect("PORT must be a number"),
        }
    }
    if hubs == 1 {
        serve(port, false, |bound| match bound {
            Ok(p) => listening(p),
            Err(e) => {
                eprintln!("echoserver_bench: {e}");
                std::process::exit(1);
            }
        });
        return Ok(());
    }
    // Several hubs: the probe holds the port while the threads bind it.
    let (_probe, port) = claim_port(port)?;
    let (tx, rx) = mpsc::channel();
    for _ in 0..hubs {
        let tx = tx.clone();
        std::thread::spawn(move || serve(port, true, move |bound| tx.send(bound).unwrap()));
    }
    for _ in 0..hubs {
        rx.recv().expect("a hub thread died")?;
    }
    listening(port);
    // The hubs serve until the process is killed.
    loop {
        std::thread::park();
    }
}
