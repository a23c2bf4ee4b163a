//! tokio TCP echo server, the Rust peer in the echo benchmark.
//!
//! ```text
//! tokio_echo PORT [--flavor current|multi] [--workers N]
//! ```
//!
//! * `current` (the default): a current-thread runtime, one thread, the same
//!   shape as one gevent hub or one libev loop.
//! * `multi`: the work-stealing multi-thread runtime, one worker per core
//!   unless `--workers` says otherwise.
//!
//! Binds 127.0.0.1:PORT (0 picks a free port), backlog 1024, and prints
//! `listening PORT` on stdout once it accepts. One task per connection:
//! read up to 64 KiB, `write_all` it back, TCP_NODELAY.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::exit;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const USAGE: &str = "usage: tokio_echo PORT [--flavor current|multi] [--workers N]";

fn bad_usage(msg: &str) -> ! {
    eprintln!("tokio_echo: {msg}\n{USAGE}");
    exit(2)
}

/// 10k connections need 10k descriptors: lift the soft limit to the hard one.
fn raise_nofile() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or fill the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

fn main() {
    let mut port: Option<u16> = None;
    let mut flavor = "current".to_string();
    let mut workers: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| bad_usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            "--flavor" => flavor = value("--flavor"),
            "--workers" => {
                let v = value("--workers");
                workers = Some(v.parse().unwrap_or_else(|_| bad_usage("bad --workers")));
            }
            p if port.is_none() && !p.starts_with('-') => {
                port = Some(p.parse().unwrap_or_else(|_| bad_usage("bad PORT")));
            }
            other => bad_usage(&format!("unknown argument {other}")),
        }
    }
    let port = port.unwrap_or_else(|| bad_usage("PORT is required"));
    raise_nofile();
    let runtime = match flavor.as_str() {
        "current" => tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build(),
        "multi" => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = workers {
                b.worker_threads(n);
            }
            b.enable_io().build()
        }
        other => bad_usage(&format!("unknown flavor {other}")),
    };
    let runtime = runtime.unwrap_or_else(|e| {
        eprintln!("tokio_echo: runtime: {e}");
        exit(1)
    });
    if let Err(e) = runtime.block_on(serve(port)) {
        eprintln!("tokio_echo: {e}");
        exit(1);
    }
}

async fn serve(port: u16) -> std::io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let listener = socket.listen(1024)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {}", listener.local_addr()?.port())?;
        out.flush()?;
    }
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            Err(e) => {
                // EMFILE and friends: say so and back off rather than spin.
                // (No timer driver is enabled, to keep the runtime minimal;
                // a short blocking sleep on this error path is fine here.)
                eprintln!("tokio_echo: accept: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
