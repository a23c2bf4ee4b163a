//! A client for `unixsocket_server` (gevent's
//! `examples/unixsocket_client.py`): sends one HTTP request over the Unix
//! socket `./unixsocket_server.sock` (or the path given as the first
//! argument) and prints the reply.

use gevent::socket::Socket;

fn main() -> gevent::Result<()> {
    env_logger::init();
    let sockname = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./unixsocket_server.sock".to_string());
    let s = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
    s.connect(sockname.as_str())?;
    s.send(b"GET / HTTP/1.0\r\n\r\n")?;
    let data = s.recv(1024)?;
    println!("received {} bytes", data.len());
    println!("{}", String::from_utf8_lossy(&data));
    s.close();
    Ok(())
}
