//! `examples/echoserver_bench` (the server `benches/compare.sh` measures)
//! echoes every byte back, with one hub and with one hub per thread on a
//! shared port.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::example::Example;

/// Starts the server with `args`, returns it and its port.
fn start(args: &[&str]) -> (Example, u16) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let ex = Example::start("echoserver_bench", &args);
    let port = ex
        .first_line
        .trim()
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("first line: {:?}", ex.first_line));
    (ex, port)
}

/// `conns` connections, each echoing messages of several sizes (up to
/// 200 KB, more than one recv) and checking every byte.
fn echo_on(port: u16, conns: usize) {
    let mut socks: Vec<TcpStream> = (0..conns)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            s
        })
        .collect();
    for (i, s) in socks.iter_mut().enumerate() {
        for size in [1, 64, 16 << 10, 200_000] {
            let msg: Vec<u8> = (0..size).map(|k| (k * 7 + i) as u8).collect();
            // A writer thread: a 200 KB message does not fit the socket
            // buffers while nobody reads the echo.
            let mut w = s.try_clone().unwrap();
            let sent = msg.clone();
            let writer = std::thread::spawn(move || w.write_all(&sent).unwrap());
            let mut got = vec![0u8; size];
            s.read_exact(&mut got)
                .unwrap_or_else(|e| panic!("connection {i}, {size} bytes: {e}"));
            writer.join().unwrap();
            assert!(got == msg, "connection {i}: {size} bytes came back changed");
        }
    }
}

#[test]
fn one_hub_echoes_every_byte() {
    let (_ex, port) = start(&["0"]);
    echo_on(port, 8);
}

#[test]
fn two_hubs_share_the_port_and_both_serve() {
    // The kernel spreads 24 connections over both listeners (all on one is
    // a 2^-23 chance); a hub that did not serve would hang its share until
    // the read timeout.
    let (_ex, port) = start(&["0", "--hubs", "2"]);
    echo_on(port, 24);
}
