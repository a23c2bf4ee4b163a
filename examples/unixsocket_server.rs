//! A server on a Unix-domain socket (gevent's
//! `examples/unixsocket_server.py`): it binds `./unixsocket_server.sock`
//! (or the path given as the first argument), removing a stale file first,
//! and answers every HTTP request with `200 OK` and an empty body, as
//! gevent's example does through its WSGI application.
//!
//! `cargo run --example unixsocket_server [PATH]`, then
//! `cargo run --example unixsocket_client [PATH]`.
//!
//! gevent serves the request with `pywsgi`; this crate has no WSGI
//! server, so the handler reads the request head and writes the same
//! response itself, on a [`StreamServer`] made from the listener exactly
//! as gevent's `WSGIServer(listener, application)` is.

use std::io::BufRead;

use gevent::server::StreamServer;
use gevent::socket::{Address, Socket};

fn application(socket: Socket, _peer: Address) -> gevent::Result<()> {
    let mut request = socket.makefile();
    // The request line and headers, up to the empty line.
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if request.read_until(b'\n', &mut line)? == 0 || line.trim_ascii().is_empty() {
            break;
        }
        head.push(String::from_utf8_lossy(&line).trim_end().to_string());
    }
    log::info!("request: {}", head.first().map_or("(none)", |s| s.as_str()));
    socket.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

fn main() -> gevent::Result<()> {
    env_logger::init();
    let sockname = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./unixsocket_server.sock".to_string());
    if std::path::Path::new(&sockname).exists() {
        std::fs::remove_file(&sockname)?;
    }
    let listener = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
    listener.bind(sockname.as_str())?;
    listener.listen(1)?;
    let server = StreamServer::from_listener(listener, application);
    server.start()?;
    println!("Serving on {}", server.local_address()?);
    server.serve_forever()
}
