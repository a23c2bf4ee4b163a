//! Scale programs: many greenlets, many timers, many connections on one
//! hub. Each prints its figures as `name value unit` lines and exits
//! non-zero if anything was lost or failed.
//!
//! ```text
//! cargo run --release --example scale -- event [N=1000000]
//! cargo run --release --example scale -- sleep [N=1000000]
//! cargo run --release --example scale -- tcp [CONNS=10000] [ROUNDS=20]
//! ```
//!
//! * `event`: N greenlets spawned and all parked on one `Event`, then
//!   woken by one `set()` and joined: the cost per greenlet of each phase,
//!   the RSS per parked greenlet and the peak RSS.
//! * `sleep`: N greenlets each sleeping a random 0-1 s (fixed seed), then
//!   joined: the wall time past the longest sleep, per greenlet, and the
//!   peak RSS.
//! * `tcp`: CONNS connections, all open at once, to a `StreamServer` on
//!   this process's hub; the clients run as greenlets on one hub in a
//!   child process (two processes, so each stays below the fd limit, whose
//!   soft value both raise to the hard one). Every connection sends ROUNDS
//!   messages of random sizes (1 B - 16 KiB) and checks every echoed byte;
//!   both sides keep a checksum of the bytes they saw. It prints the
//!   connections, bytes, errors, checksums, time and each side's RSS.
//!   `--duration SECS` instead keeps every connection echoing for that
//!   long (a soak) and prints a line of figures every second.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gevent::event::Event;
use gevent::server::StreamServer;
use gevent::socket::{Socket, create_connection};
use gevent::{Greenlet, joinall, sleep, spawn};

/// A small deterministic generator (xorshift64*): the same seed gives the
/// same program.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

/// Raises the soft fd limit to the hard one; returns the new soft limit.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out-parameter for getrlimit/setrlimit.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

fn line(name: &str, value: impl std::fmt::Display, unit: &str) {
    println!("{name} {value} {unit}");
}

fn per(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

/// N greenlets parked on one Event, woken by one `set()`.
fn event(n: usize) -> gevent::Result<()> {
    let ev = Event::new();
    let parked = Rc::new(Cell::new(0usize));
    let woke = Rc::new(Cell::new(0usize));
    let rss0 = status_kib("VmRSS");
    let t0 = Instant::now();
    let gs: Vec<Greenlet<()>> = (0..n)
        .map(|_| {
            let (e, p, w) = (ev.clone(), parked.clone(), woke.clone());
            spawn(move || {
                p.set(p.get() + 1);
                e.wait()?;
                w.set(w.get() + 1);
                Ok(())
            })
        })
        .collect();
    let spawned = t0.elapsed();
    // One turn of the loop runs them all until they park.
    sleep(0.0)?;
    let parked_at = t0.elapsed();
    let rss_parked = status_kib("VmRSS");
    assert_eq!(parked.get(), n, "every greenlet parked");
    let t1 = Instant::now();
    ev.set();
    sleep(0.0)?;
    let wake = t1.elapsed();
    assert_eq!(woke.get(), n, "every greenlet woke");
    let t2 = Instant::now();
    joinall(&gs)?;
    let failed = gs.iter().filter(|g| !g.successful()).count();
    drop(gs);
    let join = t2.elapsed();
    line("event_greenlets", n, "greenlets");
    line(
        "event_spawn",
        format!("{:.3}", per(spawned, n)),
        "us/greenlet",
    );
    line(
        "event_park",
        format!("{:.3}", per(parked_at - spawned, n)),
        "us/greenlet",
    );
    line("event_wake", format!("{:.3}", per(wake, n)), "us/greenlet");
    line("event_join", format!("{:.3}", per(join, n)), "us/greenlet");
    line(
        "event_rss_per_parked",
        format!("{:.3}", (rss_parked - rss0) / n as f64),
        "KiB/greenlet",
    );
    line(
        "event_rss_peak",
        format!("{:.0}", status_kib("VmHWM") / 1024.0),
        "MiB",
    );
    line("event_failed", failed, "greenlets");
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// N greenlets each sleeping a random 0-1 s.
fn sleeps(n: usize) -> gevent::Result<()> {
    let mut rng = Rng(0x5eed);
    let delays: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
    let longest = delays.iter().copied().fold(0.0, f64::max);
    let woke = Rc::new(Cell::new(0usize));
    let t0 = Instant::now();
    let gs: Vec<Greenlet<()>> = delays
        .iter()
        .map(|&d| {
            let w = woke.clone();
            spawn(move || {
                sleep(d)?;
                w.set(w.get() + 1);
                Ok(())
            })
        })
        .collect();
    joinall(&gs)?;
    let wall = t0.elapsed().as_secs_f64();
    let failed = gs.iter().filter(|g| !g.successful()).count();
    line("sleep_greenlets", n, "greenlets");
    line("sleep_wall", format!("{wall:.3}"), "s");
    line("sleep_overhead", format!("{:.3}", wall - longest), "s");
    line(
        "sleep_overhead_per",
        format!("{:.3}", (wall - longest) * 1e6 / n as f64),
        "us/greenlet",
    );
    line(
        "sleep_rss_peak",
        format!("{:.0}", status_kib("VmHWM") / 1024.0),
        "MiB",
    );
    line("sleep_woke", woke.get(), "greenlets");
    if failed > 0 || woke.get() != n {
        std::process::exit(1);
    }
    Ok(())
}

/// FNV-1a over `data`, continuing from `h`.
fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

/// What one side saw.
#[derive(Default)]
struct Tally {
    bytes: Cell<u64>,
    /// Sum of the per-connection checksums (order-independent).
    sum: Cell<u64>,
    errors: Cell<u64>,
    done: Cell<u64>,
}

impl Tally {
    fn add(&self, bytes: u64, sum: u64) {
        self.bytes.set(self.bytes.get() + bytes);
        self.sum.set(self.sum.get().wrapping_add(sum));
        self.done.set(self.done.get() + 1);
    }
}

/// The server side: echoes and checksums what it echoed, per connection.
fn serve_conn(sock: &Socket, tally: &Tally) -> gevent::Result<()> {
    // 16 KiB, not 64: ten thousand of these are live at once.
    let mut buf = vec![0u8; 16 << 10];
    let (mut h, mut bytes) = (FNV0, 0u64);
    loop {
        let n = sock.recv_into(&mut buf)?;
        if n == 0 {
            tally.add(bytes, h);
            return Ok(());
        }
        h = fnv(h, &buf[..n]);
        bytes += n as u64;
        sock.sendall(&buf[..n])?;
    }
}

/// How long the client side keeps echoing.
#[derive(Clone, Copy)]
enum Until {
    Rounds(usize),
    Deadline(Instant),
}

/// One client connection: messages of random sizes, every echoed byte
/// checked.
fn client_conn(sock: &Socket, seed: u64, until: Until) -> gevent::Result<(u64, u64)> {
    let mut rng = Rng(seed | 1);
    let (mut h, mut bytes) = (FNV0, 0u64);
    let mut back = Vec::new();
    let mut round = 0usize;
    loop {
        match until {
            Until::Rounds(r) if round >= r => break,
            Until::Deadline(d) if Instant::now() >= d => break,
            _ => {}
        }
        round += 1;
        let size = 1 + (rng.next() % (16 << 10)) as usize;
        let msg: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        sock.sendall(&msg)?;
        back.resize(size, 0);
        let mut got = 0;
        while got < size {
            let n = sock.recv_into(&mut back[got..size])?;
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
            got += n;
        }
        if back[..size] != msg[..] {
            return Err(std::io::Error::other("echo came back changed").into());
        }
        h = fnv(h, &msg);
        bytes += size as u64;
    }
    sock.shutdown(libc::SHUT_WR)?;
    // Wait for the server's end of stream: the server has then counted
    // this connection.
    back.resize(1, 0);
    while sock.recv_into(&mut back)? > 0 {}
    Ok((bytes, h))
}

/// The client process: `conns` connections opened all at once, then
/// echoing; prints its tally.
fn tcp_client(port: u16, conns: usize, until: Until) -> gevent::Result<()> {
    raise_fd_limit();
    let tally = Rc::new(Tally::default());
    let connected = Rc::new(Cell::new(0usize));
    let all_open = Event::new();
    let t0 = Instant::now();
    let gs: Vec<Greenlet<()>> = (0..conns)
        .map(|i| {
            let (tally, connected, all_open) = (tally.clone(), connected.clone(), all_open.clone());
            spawn(move || {
                let sock = create_connection(("127.0.0.1", port), Some(60.0));
                // Every connection, made or failed, arrives once; the last
                // one starts them all.
                connected.set(connected.get() + 1);
                if connected.get() == conns {
                    all_open.set();
                }
                let sock = match sock {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("connect: {e}");
                        tally.errors.set(tally.errors.get() + 1);
                        return Ok(());
                    }
                };
                all_open.wait()?;
                sock.settimeout(Some(60.0))?;
                match client_conn(&sock, i as u64 + 1, until) {
                    Ok((bytes, h)) => tally.add(bytes, h),
                    Err(e) => {
                        eprintln!("connection {i}: {e}");
                        tally.errors.set(tally.errors.get() + 1);
                    }
                }
                Ok(())
            })
        })
        .collect();
    let reporter = match until {
        Until::Deadline(_) => Some(report_every_second(&tally, &connected)),
        Until::Rounds(_) => None,
    };
    joinall(&gs)?;
    if let Some(r) = reporter {
        gevent::kill(&r);
    }
    let t = t0.elapsed().as_secs_f64();
    println!(
        "client {} {} {} {} {t:.3} {:.0}",
        tally.done.get(),
        tally.bytes.get(),
        tally.sum.get(),
        tally.errors.get(),
        status_kib("VmHWM") / 1024.0
    );
    Ok(())
}

/// The soak's progress line, once a second, until the client is done.
fn report_every_second(tally: &Rc<Tally>, connected: &Rc<Cell<usize>>) -> Greenlet<()> {
    let (tally, connected) = (tally.clone(), connected.clone());
    let t0 = Instant::now();
    spawn(move || {
        loop {
            sleep(1.0)?;
            eprintln!(
                "t={:.0}s open={} done={} errors={} rss={:.0}MiB",
                t0.elapsed().as_secs_f64(),
                connected.get(),
                tally.done.get(),
                tally.errors.get(),
                status_kib("VmRSS") / 1024.0
            );
        }
    })
}

/// The server process: serves until the client child exits, then checks
/// that both sides saw the same bytes.
fn tcp(conns: usize, rounds: usize, duration: Option<f64>) -> gevent::Result<()> {
    let limit = raise_fd_limit();
    if (limit as usize) < conns + 64 {
        eprintln!("the fd limit {limit} is below {conns} connections");
        std::process::exit(2);
    }
    let tally = Rc::new(Tally::default());
    let t = tally.clone();
    let server = StreamServer::new(("127.0.0.1", 0), move |sock, _| {
        if let Err(e) = serve_conn(&sock, &t) {
            eprintln!("server side: {e}");
            t.errors.set(t.errors.get() + 1);
        }
        Ok(())
    });
    server.set_backlog(conns.min(65535) as i32);
    server.start()?;
    let port = server.server_port()?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["tcp-client", &port.to_string(), &conns.to_string()]);
    match duration {
        Some(d) => cmd.args(["--duration", &d.to_string()]),
        None => cmd.arg(rounds.to_string()),
    };
    // The child runs while this hub serves: wait for it on a pool thread.
    let out = gevent::get_hub()
        .threadpool()?
        .apply(move || cmd.output().map_err(|e| e.to_string()))?
        .map_err(|e| gevent::Error::Io(std::io::Error::other(e).into()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("client "))
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if !out.status.success() || fields.len() != 6 {
        eprintln!("client failed: {:?}\n{stdout}", out.status);
        std::process::exit(1);
    }
    // The client waited for every end of stream, so the server has
    // counted every connection by now.
    let num = |i: usize| fields[i].parse::<u64>().unwrap_or(u64::MAX);
    let (c_done, c_bytes, c_sum, c_errors) = (num(0), num(1), num(2), num(3));
    server.stop(None)?;
    line("tcp_connections", conns, "connections");
    line("tcp_completed", c_done, "connections");
    line("tcp_bytes", c_bytes, "bytes");
    line("tcp_bytes_server", tally.bytes.get(), "bytes");
    line("tcp_errors", c_errors + tally.errors.get(), "errors");
    line(
        "tcp_checksums_match",
        u8::from(c_sum == tally.sum.get()),
        "bool",
    );
    line("tcp_wall", fields[4], "s");
    line("tcp_rss_client_peak", fields[5], "MiB");
    line(
        "tcp_rss_server_peak",
        format!("{:.0}", status_kib("VmHWM") / 1024.0),
        "MiB",
    );
    let ok = c_done == conns as u64
        && tally.done.get() == conns as u64
        && c_errors == 0
        && tally.errors.get() == 0
        && c_bytes == tally.bytes.get()
        && c_sum == tally.sum.get();
    if !ok {
        eprintln!("bytes lost, duplicated or failed");
        std::process::exit(1);
    }
    Ok(())
}

fn main() -> gevent::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let duration = args.iter().position(|a| a == "--duration").map(|i| {
        let secs = args.get(i + 1).and_then(|d| d.parse::<f64>().ok());
        args.drain(i..(i + 2).min(args.len()));
        secs.expect("--duration SECS")
    });
    let arg = |i: usize, default: usize| -> usize {
        args.get(i)
            .map(|a| a.parse().expect("a number"))
            .unwrap_or(default)
    };
    match args.first().map(String::as_str) {
        Some("event") => event(arg(1, 1_000_000)),
        Some("sleep") => sleeps(arg(1, 1_000_000)),
        Some("tcp") => tcp(arg(1, 10_000), arg(2, 20), duration),
        Some("tcp-client") => {
            let until = match duration {
                Some(d) => Until::Deadline(Instant::now() + Duration::from_secs_f64(d)),
                None => Until::Rounds(arg(3, 20)),
            };
            tcp_client(arg(1, 0) as u16, arg(2, 0), until)
        }
        _ => {
            eprintln!(
                "usage: scale event [N] | sleep [N] | tcp [CONNS] [ROUNDS] [--duration SECS]"
            );
            std::process::exit(2);
        }
    }
}
