//! A simple UDP server (gevent's `examples/udp_server.py`): for every
//! datagram received it sends a reply back. Use the `udp_client` example
//! to send one.
//!
//! `cargo run --example udp_server [PORT]` (default 9000 on 127.0.0.1;
//! PORT 0 picks a free port, which is printed).

use gevent::server::DatagramServer;

fn main() -> gevent::Result<()> {
    env_logger::init();
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("PORT must be a number"))
        .unwrap_or(9000);
    // gevent's EchoServer(DatagramServer).handle(data, address)
    let server = DatagramServer::new(("127.0.0.1", port), |server, data, address| {
        println!("{}: got {:?}", address.ip(), String::from_utf8_lossy(&data));
        let reply = format!("Received {} bytes", data.len());
        server.sendto(reply.as_bytes(), address)?;
        Ok(())
    });
    server.start()?;
    println!("Receiving datagrams on :{}", server.address()?.port());
    server.serve_forever()
}
