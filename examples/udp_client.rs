//! Sends a datagram to 127.0.0.1:9001 and receives a datagram back
//! (gevent's `examples/udp_client.py`; run a UDP server there, such as the
//! `udp_server` example).
//!
//! `cargo run --example udp_client [--port=PORT] MESSAGE...`

use gevent::socket::Socket;

fn main() -> gevent::Result<()> {
    env_logger::init();
    let mut port = 9001;
    let mut words = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.strip_prefix("--port=") {
            Some(p) => port = p.parse().expect("--port takes a number"),
            None => words.push(arg),
        }
    }
    let address = ("127.0.0.1", port);
    let message = words.join(" ");
    let sock = Socket::new(libc::AF_INET, libc::SOCK_DGRAM)?;
    sock.settimeout(Some(10.0))?;
    sock.connect(address)?;
    println!(
        "Sending {} bytes to {}:{}",
        message.len(),
        address.0,
        address.1
    );
    sock.send(message.as_bytes())?;
    let (data, from) = sock.recvfrom(8192)?;
    let from = from.expect("an IP peer");
    println!(
        "{}:{}: got {:?}",
        from.ip(),
        from.port(),
        String::from_utf8_lossy(&data)
    );
    sock.close();
    Ok(())
}
