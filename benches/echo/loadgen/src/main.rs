//! Closed-loop TCP echo load generator. It knows nothing about the server:
//! any program that sends back what it receives will do.
//!
//! ```text
//! loadgen --addr HOST:PORT --conns C --msgs M --size S
//!         [--warmup W] [--threads T] [--server-pid PID[,PID...]] [--duration SECS]
//! ```
//!
//! All C connections (TCP_NODELAY) are opened first. Each then makes W
//! untimed round trips; when every connection is done with its warm-up, a
//! barrier starts the timed phase for all of them at once. A round trip
//! writes S bytes and reads exactly S bytes back, and the bytes are compared
//! (a mismatch, an early close or a 120 s stall is an error exit, status 1).
//! The timed phase is M round trips per connection, or SECS seconds of them
//! with `--duration`.
//!
//! Threads: by default one OS thread per connection, each doing blocking
//! round trips (the canonical closed loop). With `--threads T` (T < C) each
//! thread drives about C/T connections in lock-step: it writes the request
//! on every one of its connections, then reads every echo in turn. That
//! costs the generator far fewer context switches, so on a small machine it
//! saturates the server rather than itself. A latency sample runs from a
//! connection's write to the end of its read.
//!
//! Output on stdout, one `name value unit` per line:
//!
//! ```text
//! echo_rps            requests / wall time of the timed phase    req/s
//! echo_p50, _p99, _p999   round-trip latency percentiles        us
//! srv_cpu_us_per_req  with --server-pid: the server's CPU time    us/req
//! gen_cpu_us_per_req  the generator's own CPU time               us/req
//! ```
//!
//! CPU time is the first field of `/proc/PID/task/*/schedstat` (ns spent on
//! a CPU, user + kernel) summed over every thread of the process, taken just
//! before and just after the timed phase; it includes the kernel's TCP work
//! done inside the process's own send and recv calls. Several server PIDs
//! (one server forked into processes) are given comma-separated.
//!
//! S must fit in the socket buffers (up to 64 KiB is safe on Linux): a
//! connection writes its whole message before it reads the echo.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Thread stack size: a worker keeps its buffers on the heap.
const STACK: usize = 64 * 1024;
/// A read or write that makes no progress for this long fails the run.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to keep retrying a refused connect (server still starting).
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: loadgen --addr HOST:PORT --conns C --msgs M --size S \
[--warmup W=10] [--threads T=C] [--server-pid PID[,PID...]] [--duration SECS]";

struct Opts {
    addr: SocketAddr,
    conns: usize,
    msgs: usize,
    size: usize,
    warmup: usize,
    threads: usize,
    server_pids: Vec<u32>,
    duration: Option<Duration>,
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    exit(1)
}

fn bad_usage(msg: &str) -> ! {
    eprintln!("loadgen: {msg}\n{USAGE}");
    exit(2)
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| bad_usage(&format!("{flag}: not a number: {v}")))
}

fn parse_args() -> Opts {
    let mut addr = None;
    let mut conns = 1;
    let mut msgs = 10_000;
    let mut size = 64;
    let mut warmup = 10;
    let mut threads = 0;
    let mut server_pids = Vec::new();
    let mut duration = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            exit(0);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let val = inline
            .or_else(|| args.next())
            .unwrap_or_else(|| bad_usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--addr" => {
                let resolved = val.to_socket_addrs().ok().and_then(|mut it| it.next());
                addr = Some(resolved.unwrap_or_else(|| bad_usage(&format!("bad --addr {val}"))));
            }
            "--conns" => conns = parse_num(&flag, &val),
            "--msgs" => msgs = parse_num(&flag, &val),
            "--size" => size = parse_num(&flag, &val),
            "--warmup" => warmup = parse_num(&flag, &val),
            "--threads" => threads = parse_num(&flag, &val),
            "--server-pid" => {
                server_pids.extend(val.split(',').map(|p| parse_num::<u32>(&flag, p)))
            }
            "--duration" => {
                let secs: f64 = parse_num(&flag, &val);
                if !(secs > 0.0 && secs.is_finite()) {
                    bad_usage("--duration must be > 0");
                }
                duration = Some(Duration::from_secs_f64(secs));
            }
            _ => bad_usage(&format!("unknown option {flag}")),
        }
    }
    let addr = addr.unwrap_or_else(|| bad_usage("--addr is required"));
    if conns == 0 || size == 0 || (msgs == 0 && duration.is_none()) {
        bad_usage("--conns, --msgs and --size must be > 0");
    }
    if threads == 0 || threads > conns {
        threads = conns;
    }
    Opts {
        addr,
        conns,
        msgs,
        size,
        warmup,
        threads,
        server_pids,
        duration,
    }
}

/// Lifts the soft RLIMIT_NOFILE to the hard limit: 10k connections need
/// 10k descriptors, and the usual soft default is 1024.
fn raise_nofile() -> libc::rlim_t {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or fill the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 0;
        }
        if rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit {
                rlim_cur: rl.rlim_max,
                rlim_max: rl.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                rl.rlim_cur = rl.rlim_max;
            }
        }
    }
    rl.rlim_cur
}

/// Sum of the first schedstat field (ns on a CPU) over every thread of
/// `pid` ("self" for this process). Threads that vanish meanwhile are
/// skipped; a missing process counts as 0.
fn cpu_ns(pid: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut total = 0;
    for task in dir.flatten() {
        let mut path = task.path();
        path.push("schedstat");
        if let Ok(text) = std::fs::read_to_string(&path) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

fn servers_cpu_ns(pids: &[u32]) -> u64 {
    pids.iter().map(|p| cpu_ns(&p.to_string())).sum()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let give_up = Instant::now() + CONNECT_PATIENCE;
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => {
                let setup = s
                    .set_nodelay(true)
                    .and_then(|_| s.set_read_timeout(Some(IO_TIMEOUT)))
                    .and_then(|_| s.set_write_timeout(Some(IO_TIMEOUT)));
                if let Err(e) = setup {
                    die(&format!("socket options: {e}"));
                }
                return s;
            }
            Err(e) if Instant::now() < give_up && retryable(&e) => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => die(&format!("connect {addr}: {e}")),
        }
    }
}

fn retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
    )
}

/// One connection with its request buffer. The first 8 bytes of a request
/// carry the round number (when S >= 8), so an echo of an older request, or
/// of another connection's, fails the comparison.
struct Conn {
    id: usize,
    stream: TcpStream,
    out: Vec<u8>,
    sent_at: Instant,
}

impl Conn {
    fn new(id: usize, stream: TcpStream, size: usize) -> Conn {
        let out = (0..size)
            .map(|i| (i.wrapping_mul(31) ^ id.wrapping_mul(131)) as u8)
            .collect();
        Conn {
            id,
            stream,
            out,
            sent_at: Instant::now(),
        }
    }

    fn send(&mut self, round: u64) {
        let n = self.out.len().min(8);
        self.out[..n].copy_from_slice(&round.to_le_bytes()[..n]);
        self.sent_at = Instant::now();
        if let Err(e) = self.stream.write_all(&self.out) {
            die(&format!("connection {}: write: {e}", self.id));
        }
    }

    /// Reads the echo into `inb` and checks it; returns the latency in ns.
    fn recv(&mut self, inb: &mut [u8]) -> u64 {
        if let Err(e) = self.stream.read_exact(inb) {
            let why = if e.kind() == io::ErrorKind::UnexpectedEof {
                "the server closed the connection".to_string()
            } else {
                e.to_string()
            };
            die(&format!("connection {}: read: {why}", self.id));
        }
        let ns = self.sent_at.elapsed().as_nanos() as u64;
        if *inb != self.out[..] {
            let at = inb.iter().zip(&self.out).position(|(a, b)| a != b);
            die(&format!(
                "connection {}: echo differs from the request at byte {}",
                self.id,
                at.unwrap_or(0)
            ));
        }
        ns
    }
}

/// The three meeting points of the workers and the main thread.
struct Sync {
    /// Every worker has finished its warm-up.
    ready: Barrier,
    /// The main thread has taken its CPU snapshots: go.
    go: Barrier,
    /// Every worker has finished the timed phase.
    done: Barrier,
    /// The main thread has read the CPU counters: workers may exit now
    /// (an exited thread's schedstat is gone, so they must wait for this).
    measured: Barrier,
    /// Set by the main thread when `--duration` runs out.
    stop: AtomicBool,
}

fn worker(
    mut conns: Vec<Conn>,
    size: usize,
    warmup: usize,
    msgs: usize,
    timed: bool,
    sync: Arc<Sync>,
) -> Vec<u64> {
    let mut inb = vec![0u8; size];
    let mut round = 0u64;
    let mut step = |conns: &mut [Conn], lat: Option<&mut Vec<u64>>| {
        for c in conns.iter_mut() {
            c.send(round);
        }
        match lat {
            Some(lat) => lat.extend(conns.iter_mut().map(|c| c.recv(&mut inb))),
            None => conns.iter_mut().for_each(|c| {
                c.recv(&mut inb);
            }),
        }
        round += 1;
    };
    for _ in 0..warmup {
        step(&mut conns, None);
    }
    sync.ready.wait();
    sync.go.wait();
    let mut lat = Vec::with_capacity(if timed { 1 << 16 } else { msgs * conns.len() });
    let mut n = 0;
    while if timed {
        !sync.stop.load(Ordering::Relaxed)
    } else {
        n < msgs
    } {
        step(&mut conns, Some(&mut lat));
        n += 1;
    }
    sync.done.wait();
    sync.measured.wait();
    lat
}

/// Nearest-rank percentile of sorted ns samples, in us.
fn percentile_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e3
}

fn main() {
    let o = parse_args();
    let nofile = raise_nofile();
    if nofile != 0 && (o.conns as libc::rlim_t) + 64 > nofile {
        die(&format!(
            "{} connections need more descriptors than RLIMIT_NOFILE allows ({nofile})",
            o.conns
        ));
    }

    let mut groups: Vec<Vec<Conn>> = (0..o.threads).map(|_| Vec::new()).collect();
    for id in 0..o.conns {
        groups[id % o.threads].push(Conn::new(id, connect(o.addr), o.size));
    }

    let sync = Arc::new(Sync {
        ready: Barrier::new(o.threads + 1),
        go: Barrier::new(o.threads + 1),
        done: Barrier::new(o.threads + 1),
        measured: Barrier::new(o.threads + 1),
        stop: AtomicBool::new(false),
    });
    let timed = o.duration.is_some();
    let mut handles = Vec::with_capacity(o.threads);
    for (t, group) in groups.into_iter().enumerate() {
        let sync = sync.clone();
        let (size, warmup, msgs) = (o.size, o.warmup, o.msgs);
        let spawned = thread::Builder::new()
            .name(format!("lg{t}"))
            .stack_size(STACK)
            .spawn(move || worker(group, size, warmup, msgs, timed, sync));
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => die(&format!(
                "cannot start thread {t} of {}: {e} (use --threads to drive several \
                 connections per thread)",
                o.threads
            )),
        }
    }

    sync.ready.wait();
    let srv0 = servers_cpu_ns(&o.server_pids);
    let gen0 = cpu_ns("self");
    let t0 = Instant::now();
    sync.go.wait();
    if let Some(d) = o.duration {
        thread::sleep(d);
        sync.stop.store(true, Ordering::Relaxed);
    }
    sync.done.wait();
    let wall = t0.elapsed().as_secs_f64();
    let srv1 = servers_cpu_ns(&o.server_pids);
    let gen1 = cpu_ns("self");
    sync.measured.wait();

    let mut lat: Vec<u64> = Vec::new();
    for h in handles {
        match h.join() {
            Ok(v) => lat.extend(v),
            Err(_) => die("a worker thread panicked"),
        }
    }
    lat.sort_unstable();
    let n = lat.len();
    if n == 0 {
        die("no round trip completed in the timed phase");
    }
    println!("echo_rps {:.0} req/s", n as f64 / wall);
    println!("echo_p50 {:.1} us", percentile_us(&lat, 0.50));
    println!("echo_p99 {:.1} us", percentile_us(&lat, 0.99));
    println!("echo_p999 {:.1} us", percentile_us(&lat, 0.999));
    if !o.server_pids.is_empty() {
        let srv = srv1.saturating_sub(srv0) as f64 / 1e3 / n as f64;
        println!("srv_cpu_us_per_req {srv:.3} us/req");
    }
    let generator = gen1.saturating_sub(gen0) as f64 / 1e3 / n as f64;
    println!("gen_cpu_us_per_req {generator:.3} us/req");
    eprintln!(
        "loadgen: addr={} conns={} threads={} size={} warmup={} requests={n} wall={wall:.3}s",
        o.addr, o.conns, o.threads, o.size, o.warmup
    );
}
