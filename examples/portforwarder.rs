//! A port forwarder (gevent's `examples/portforwarder.py`): every
//! connection to the source address is forwarded to the destination, in
//! both directions, by two greenlets.
//!
//! `cargo run --example portforwarder 127.0.0.1:8080 127.0.0.1:80`
//! (source port 0 picks a free one; it is printed). SIGTERM or SIGINT
//! closes the server.

use gevent::server::StreamServer;
use gevent::socket::{Socket, create_connection};
use gevent::{joinall, spawn};

/// Copies `source` to `dest` until end of stream, then closes both.
fn forward(source: Socket, dest: Socket) -> gevent::Result<()> {
    let name = |s: &Socket| {
        s.getpeername()
            .ok()
            .flatten()
            .map_or_else(|| "?".into(), |a| a.to_string())
    };
    let (source_address, dest_address) = (name(&source), name(&dest));
    let r = (|| loop {
        let data = source.recv(1024)?;
        log::info!("{source_address}->{dest_address}: {data:?}");
        if data.is_empty() {
            return Ok(());
        }
        dest.sendall(&data)?;
    })();
    source.close();
    dest.close();
    match r {
        // The other direction closed the sockets: not a failure.
        Err(gevent::Error::Io(e)) if e.raw_os_error() == Some(libc::EBADF) => Ok(()),
        r => r,
    }
}

fn main() -> gevent::Result<()> {
    env_logger::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("Usage: portforwarder source-address destination-address");
        std::process::exit(1);
    }
    let dest = args[1].clone();
    let d = dest.clone();
    let server = StreamServer::new(args[0].as_str(), move |source, address| {
        log::info!("{address} accepted");
        let dest = match create_connection(d.as_str(), None) {
            Ok(s) => s,
            Err(e) => {
                log::info!("{address} failed to connect to {d}: {e}");
                return Ok(());
            }
        };
        let forwarders = [
            spawn({
                let (s, t) = (source.clone(), dest.clone());
                move || forward(s, t)
            }),
            spawn(move || forward(dest, source)),
        ];
        // If we return, the stream is closed out from under us: wait for
        // the two directions.
        joinall(&forwarders)?;
        Ok(())
    });
    server.start()?;
    println!("Starting port forwarder {} -> {dest}", server.address()?);
    let (s1, s2) = (server.clone(), server.clone());
    let _term = gevent::signal::signal_handler(gevent::signal::SIGTERM, move || {
        s1.close();
        Ok(())
    })?;
    let _int = gevent::signal::signal_handler(gevent::signal::SIGINT, move || {
        s2.close();
        Ok(())
    })?;
    gevent::wait_loop()?;
    Ok(())
}
