//! Simple server that listens on port 16000 and echoes back every input to
//! the client (gevent's `examples/echoserver.py`).
//!
//! `cargo run --example echoserver [PORT]` (PORT 0 picks a free port; the
//! port is printed), then connect with `telnet 127.0.0.1 16000`. Type
//! `quit` to end the connection.

use std::io::BufRead;
use std::net::SocketAddr;

use gevent::server::StreamServer;
use gevent::socket::Socket;

/// This handler runs for each incoming connection in a dedicated greenlet.
fn echo(socket: Socket, address: SocketAddr) -> gevent::Result<()> {
    println!("New connection from {address}");
    socket.sendall(b"Welcome to the echo server! Type quit to exit.\r\n")?;
    // Using a makefile because we want to use read_line().
    let mut rfileobj = socket.makefile();
    loop {
        let mut line = Vec::new();
        rfileobj.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            println!("client disconnected");
            break;
        }
        if line.trim_ascii().eq_ignore_ascii_case(b"quit") {
            println!("client quit");
            break;
        }
        socket.sendall(&line)?;
        println!("echoed {:?}", String::from_utf8_lossy(&line));
    }
    Ok(())
}

fn main() -> gevent::Result<()> {
    env_logger::init();
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("PORT must be a number"))
        .unwrap_or(16000);
    let server = StreamServer::new(("127.0.0.1", port), echo);
    // To start the server asynchronously, use its start() method; we use
    // the blocking serve_forever() here because we have no other jobs.
    server.start()?;
    println!("Starting echo server on port {}", server.server_port()?);
    server.serve_forever()
}
