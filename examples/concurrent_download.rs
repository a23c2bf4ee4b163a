//! Spawn multiple workers and wait for them to complete (gevent's
//! `examples/concurrent_download.py`): each worker downloads one URL over
//! a cooperative socket, so the downloads overlap.
//!
//! `cargo run --example concurrent_download [URL ...]`
//!
//! gevent's example fetches three sites over HTTPS with `requests`; this
//! crate has no TLS or HTTP client, so the worker speaks plain HTTP/1.0
//! itself and takes `http://` URLs (by default the same three sites over
//! plain HTTP; the tests pass URLs of a local server).

use std::io::Read;

use gevent::socket::create_connection;

/// `http://host[:port]/path` → (host, port, path).
fn parse(url: &str) -> gevent::Result<(String, u16, String)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        gevent::Error::InvalidArgument(format!("{url}: only http:// URLs").into())
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|_| gevent::Error::InvalidArgument(format!("{url}: bad port").into()))?,
        ),
        None => (hostport, 80),
    };
    Ok((host.to_string(), port, path.to_string()))
}

/// The body of `url`.
fn get(url: &str) -> gevent::Result<Vec<u8>> {
    let (host, port, path) = parse(url)?;
    let sock = create_connection((host.as_str(), port), Some(30.0))?;
    sock.sendall(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    (&sock).read_to_end(&mut response)?;
    let body = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => response.split_off(i + 4),
        None => response,
    };
    Ok(body)
}

fn print_head(url: String) -> gevent::Result<()> {
    println!("Starting {url}");
    let data = get(&url)?;
    let text = String::from_utf8_lossy(&data);
    let head: String = text.chars().take(50).collect();
    println!("{url}: {} bytes: {head:?}", text.len());
    Ok(())
}

fn main() -> gevent::Result<()> {
    env_logger::init();
    let mut urls: Vec<String> = std::env::args().skip(1).collect();
    if urls.is_empty() {
        urls = [
            "http://www.google.com/",
            "http://www.apple.com/",
            "http://www.python.org/",
        ]
        .map(String::from)
        .to_vec();
    }
    let jobs: Vec<_> = urls
        .into_iter()
        .map(|url| gevent::spawn(move || print_head(url)))
        .collect();
    gevent::wait(&jobs)?;
    let mut failed = false;
    for job in &jobs {
        if let Err(e) = job.get() {
            eprintln!("failed: {e}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
