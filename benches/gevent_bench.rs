//! Micro-benchmarks named like `shared/anchors/gevent_bench.py`, so the two
//! columns can be compared line by line:
//!
//! ```text
//! cargo bench --bench gevent_bench                 # all metrics, 5 reps
//! cargo bench --bench gevent_bench -- --only sleep0 --reps 9
//! ```
//!
//! Output: `name value unit  # min .. max n=..` (value = median of the
//! timed reps, after one untimed warm-up). The memory metrics run each rep
//! in a fresh child process so RSS starts from the same place.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use common::fmt;
use gevent::event::{AsyncResult, Event};
use gevent::lock::Semaphore;
use gevent::queue::Queue;
use gevent::{RawGreenlet, Waiter, get_hub, joinall, sleep, spawn};

/// Bare raw-greenlet switch ping-pong, no hub: ns per switch.
fn greenlet_raw_switch(n: usize) -> f64 {
    let half = n / 2;
    let main = RawGreenlet::current();
    let g = RawGreenlet::new(
        move |_| {
            for _ in 0..half {
                main.switch(None)?;
            }
            Ok(None)
        },
        None,
    );
    let t0 = Instant::now();
    for _ in 0..half {
        g.switch(None).unwrap();
    }
    let dt = t0.elapsed().as_secs_f64();
    g.switch(None).unwrap();
    dt / n as f64 * 1e9
}

/// The floor under `greenlet_raw_switch`: the `context` crate's own
/// resume ping-pong between the native stack and one 64 KiB stack (no
/// greenlet bookkeeping): ns per switch.
fn context_raw_switch(n: usize) -> f64 {
    use context::stack::ProtectedFixedSizeStack;
    use context::{Context, Transfer};
    extern "C" fn bounce(mut t: Transfer) -> ! {
        loop {
            // SAFETY: `t.context` is the suspended main side, resumed once.
            t = unsafe { t.context.resume(t.data) };
        }
    }
    let stack = ProtectedFixedSizeStack::new(64 << 10).unwrap();
    // SAFETY: the stack outlives the context (both dropped at the end, the
    // context suspended inside `bounce`, which never returns).
    let mut ctx = unsafe { Context::new(&stack, bounce) };
    let half = n / 2;
    let t0 = Instant::now();
    for i in 0..half {
        // SAFETY: `ctx` is the suspended `bounce` side, resumed once.
        let t = unsafe { ctx.resume(i) };
        ctx = t.context;
        std::hint::black_box(t.data);
    }
    let dt = t0.elapsed().as_secs_f64();
    dt / n as f64 * 1e9
}

/// Two greenlets alternating with sleep(0): ns per sleep(0) handoff.
fn switch_sleep0(n: usize) -> f64 {
    let half = n / 2;
    let worker = move || {
        for _ in 0..half {
            sleep(0.0)?;
        }
        Ok(())
    };
    let t0 = Instant::now();
    joinall(&[spawn(worker), spawn(worker)]).unwrap();
    t0.elapsed().as_secs_f64() / n as f64 * 1e9
}

/// Targeted handoff with Waiter + loop.run_callback, as gevent's
/// bench_handoff_waiter (its `box` dict of two keys is two slots here):
/// ns per handoff.
fn handoff_waiter(n: usize) -> f64 {
    let half = n / 2;
    let lp = get_hub().loop_().clone();
    #[derive(Default)]
    struct Slots {
        ping: Cell<Option<Waiter<()>>>,
        pong: Cell<Option<Waiter<()>>>,
    }
    let boxes: Rc<Slots> = Rc::default();
    let (b1, lp1) = (boxes.clone(), lp.clone());
    let ponger = move || {
        for _ in 0..half {
            let w = Waiter::new();
            b1.pong.set(Some(w.clone()));
            w.get()?;
            let ping = b1.ping.take().unwrap();
            lp1.run_callback(move || ping.switch(())).unwrap();
        }
        Ok(())
    };
    let (b2, lp2) = (boxes.clone(), lp.clone());
    let pinger = move || {
        for _ in 0..half {
            let w = Waiter::new();
            b2.ping.set(Some(w.clone()));
            let pong = b2.pong.take().unwrap();
            lp2.run_callback(move || pong.switch(())).unwrap();
            w.get()?;
        }
        Ok(())
    };
    let t0 = Instant::now();
    joinall(&[spawn(ponger), spawn(pinger)]).unwrap();
    t0.elapsed().as_secs_f64() / n as f64 * 1e9
}

/// Ping-pong through two Events (set / wait / clear): ns per handoff.
fn handoff_event(n: usize) -> f64 {
    let half = n / 2;
    let (ea, eb) = (Event::new(), Event::new());
    let (a1, b1) = (ea.clone(), eb.clone());
    let ponger = move || {
        for _ in 0..half {
            b1.wait()?;
            b1.clear();
            a1.set();
        }
        Ok(())
    };
    let (a2, b2) = (ea.clone(), eb.clone());
    let pinger = move || {
        for _ in 0..half {
            b2.set();
            a2.wait()?;
            a2.clear();
        }
        Ok(())
    };
    let t0 = Instant::now();
    joinall(&[spawn(ponger), spawn(pinger)]).unwrap();
    t0.elapsed().as_secs_f64() / n as f64 * 1e9
}

/// Ping-pong with a fresh AsyncResult per message: ns per handoff.
fn handoff_asyncresult(n: usize) -> f64 {
    let half = n / 2;
    type Req = AsyncResult<AsyncResult<()>>;
    let req: Rc<Cell<Option<Req>>> = Rc::new(Cell::new(Some(AsyncResult::new())));
    let r1 = req.clone();
    let ponger = move || {
        for _ in 0..half {
            let cur = r1.take().unwrap();
            r1.set(Some(cur.clone()));
            let reply = cur.get()?;
            r1.set(Some(AsyncResult::new()));
            reply.set(());
        }
        Ok(())
    };
    let r2 = req.clone();
    let pinger = move || {
        for _ in 0..half {
            let reply = AsyncResult::new();
            let cur = r2.take().unwrap();
            r2.set(Some(cur.clone()));
            cur.set(reply.clone());
            reply.get()?;
        }
        Ok(())
    };
    let t0 = Instant::now();
    joinall(&[spawn(ponger), spawn(pinger)]).unwrap();
    t0.elapsed().as_secs_f64() / n as f64 * 1e9
}

/// Producer -> Queue -> consumer: ns per item.
fn queue_run(n: usize, maxsize: Option<usize>) -> f64 {
    let q: Queue<usize> = Queue::new(maxsize);
    let (qp, qc) = (q.clone(), q.clone());
    let t0 = Instant::now();
    let c = spawn(move || {
        let mut s = 0usize;
        for _ in 0..n {
            s += qc.get()?;
        }
        Ok(s)
    });
    let p = spawn(move || {
        for i in 0..n {
            qp.put(i)?;
        }
        Ok(0)
    });
    joinall(&[p, c.clone()]).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert_eq!(c.value(), Some(n * (n - 1) / 2));
    dt / n as f64 * 1e9
}

/// Semaphore(1) acquire+release by one greenlet: ns per pair.
fn lock_uncontended(n: usize) -> f64 {
    let lock = Semaphore::new(1).unwrap();
    let t0 = Instant::now();
    for _ in 0..n {
        lock.acquire().unwrap();
        lock.release().unwrap();
    }
    t0.elapsed().as_secs_f64() / n as f64 * 1e9
}

/// Two greenlets: acquire; sleep(0); release; sleep(0). Returns (ns per
/// pair, minus the same rep's 2 x sleep(0) baseline).
fn lock_contended(n: usize) -> (f64, f64) {
    let half = n / 2;
    let lock = Semaphore::new(1).unwrap();
    let worker = |l: Semaphore| {
        move || {
            for _ in 0..half {
                l.acquire()?;
                sleep(0.0)?;
                l.release()?;
                sleep(0.0)?;
            }
            Ok(())
        }
    };
    let baseline = move || {
        for _ in 0..half {
            sleep(0.0)?;
            sleep(0.0)?;
        }
        Ok(())
    };
    let t0 = Instant::now();
    joinall(&[spawn(worker(lock.clone())), spawn(worker(lock.clone()))]).unwrap();
    let t1 = Instant::now();
    joinall(&[spawn(baseline), spawn(baseline)]).unwrap();
    let t2 = Instant::now();
    let raw = (t1 - t0).as_secs_f64() / n as f64 * 1e9;
    (raw, raw - (t2 - t1).as_secs_f64() / n as f64 * 1e9)
}

/// Two Semaphore(0) as binary signals: ns per handoff.
fn sem_pingpong(n: usize) -> f64 {
    let half = n / 2;
    let (sa, sb) = (Semaphore::new(0).unwrap(), Semaphore::new(0).unwrap());
    let (a1, b1) = (sa.clone(), sb.clone());
    let ponger = move || {
        for _ in 0..half {
            b1.acquire()?;
            a1.release()?;
        }
        Ok(())
    };
    let (a2, b2) = (sa.clone(), sb.clone());
    let pinger = move || {
        for _ in 0..half {
            b2.release()?;
            a2.acquire()?;
        }
        Ok(())
    };
    let t0 = Instant::now();
    joinall(&[spawn(ponger), spawn(pinger)]).unwrap();
    t0.elapsed().as_secs_f64() / n as f64 * 1e9
}

/// spawn(noop) n times, then joinall: us per greenlet.
fn spawn_joinall(n: usize) -> f64 {
    let t0 = Instant::now();
    let gs: Vec<_> = (0..n).map(|_| spawn(|| Ok(()))).collect();
    joinall(&gs).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    assert!(gs.iter().all(|g| g.successful()));
    dt / n as f64 * 1e6
}

/// Greenlet::spawn(noop).join() one at a time: us per spawn+join.
fn spawn_join_serial(n: usize) -> f64 {
    let t0 = Instant::now();
    for _ in 0..n {
        spawn(|| Ok(())).join().unwrap();
    }
    t0.elapsed().as_secs_f64() / n as f64 * 1e6
}

/// 100k greenlets each sleeping uniform(0, 10 ms) (fixed seed), joinall:
/// wall seconds.
fn timers(n: usize) -> f64 {
    // xorshift with a fixed seed: the same delays every rep.
    let mut x: u64 = 12345;
    let delays: Vec<f64> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 * 0.010
        })
        .collect();
    let t0 = Instant::now();
    let gs: Vec<_> = delays
        .into_iter()
        .map(|d| spawn(move || sleep(d)))
        .collect();
    joinall(&gs).unwrap();
    t0.elapsed().as_secs_f64()
}

fn rss_kib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// In a fresh process: RSS growth per greenlet when `n` spawned greenlets
/// are all parked on one `Event.wait()`, KiB (gevent's mem_child).
fn mem_child(n: usize) -> f64 {
    let ev = Event::new();
    get_hub();
    let warm: Vec<_> = (0..10)
        .map(|_| {
            let e = ev.clone();
            spawn(move || e.wait())
        })
        .collect();
    sleep(0.0).unwrap();
    ev.set();
    joinall(&warm).unwrap();
    ev.clear();
    drop(warm);
    let parked = Rc::new(Cell::new(0usize));
    let before = rss_kib();
    let mut gs = Vec::with_capacity(n);
    for _ in 0..n {
        let e = ev.clone();
        let p = parked.clone();
        gs.push(spawn(move || {
            p.set(p.get() + 1);
            e.wait()
        }));
    }
    sleep(0.0).unwrap();
    assert_eq!(parked.get(), n);
    let after = rss_kib();
    (after - before) / n as f64
}

fn mem_parent(n: usize) -> f64 {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--mem-child", &n.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn report(name: &str, unit: &str, reps: usize, f: &mut dyn FnMut() -> f64) {
    f(); // warm-up
    let mut v: Vec<f64> = (0..reps).map(|_| f()).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = v[v.len() / 2];
    println!(
        "{name:<24} {} {unit}  # min {} max {} n={reps}",
        fmt(med),
        fmt(v[0]),
        fmt(v[v.len() - 1])
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--mem-child") {
        let n: usize = args[i + 1].parse().unwrap();
        println!("{}", mem_child(n));
        return;
    }
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args[i + 1].clone());
    let reps = args
        .iter()
        .position(|a| a == "--reps")
        .map_or(5, |i| args[i + 1].parse().unwrap());
    let want = |name: &str| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    println!(
        "# gevent crate {} libev {} backend {}",
        env!("CARGO_PKG_VERSION"),
        gevent::core::get_version(),
        get_hub().loop_().backend()
    );
    if want("greenlet_raw_switch") {
        report("greenlet_raw_switch", "ns/switch", reps, &mut || {
            greenlet_raw_switch(200_000)
        });
    }
    if want("context_raw_switch") {
        report("context_raw_switch", "ns/switch", reps, &mut || {
            context_raw_switch(200_000)
        });
    }
    if want("switch_sleep0") {
        report("switch_sleep0", "ns/switch", reps, &mut || {
            switch_sleep0(200_000)
        });
    }
    if want("handoff_waiter") {
        report("handoff_waiter", "ns/handoff", reps, &mut || {
            handoff_waiter(100_000)
        });
    }
    if want("handoff_event") {
        report("handoff_event", "ns/handoff", reps, &mut || {
            handoff_event(100_000)
        });
    }
    if want("handoff_asyncresult") {
        report("handoff_asyncresult", "ns/handoff", reps, &mut || {
            handoff_asyncresult(100_000)
        });
    }
    if want("spawn_joinall_100k") {
        report("spawn_joinall_100k", "us/greenlet", reps, &mut || {
            spawn_joinall(100_000)
        });
    }
    if want("spawn_join_serial_50k") {
        report("spawn_join_serial_50k", "us/greenlet", reps, &mut || {
            spawn_join_serial(50_000)
        });
    }
    if want("timers_100k") {
        let mut walls = Vec::new();
        report("timers_100k_wall", "s", reps, &mut || {
            let w = timers(100_000);
            walls.push(w);
            w
        });
        walls.remove(0);
        walls.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let med = walls[walls.len() / 2];
        println!(
            "{:<24} {} ms  # from the median wall",
            "timers_100k_overhead",
            fmt((med - 0.010) * 1e3)
        );
        println!(
            "{:<24} {} us/greenlet  # from the median wall",
            "timers_100k_overhead_per",
            fmt((med - 0.010) / 100_000.0 * 1e6)
        );
    }
    if want("queue_unbounded") {
        report("queue_unbounded", "ns/item", reps, &mut || {
            queue_run(200_000, None)
        });
    }
    if want("queue_bounded1") {
        report("queue_bounded1", "ns/item", reps, &mut || {
            queue_run(200_000, Some(1))
        });
    }
    if want("lock_uncontended") {
        report("lock_uncontended", "ns/pair", reps, &mut || {
            lock_uncontended(100_000)
        });
    }
    if want("lock_contended") {
        let mut nets = Vec::new();
        report("lock_contended", "ns/pair", reps, &mut || {
            let (raw, net) = lock_contended(100_000);
            nets.push(net);
            raw
        });
        nets.remove(0);
        nets.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{:<24} {} ns/pair  # median of the same reps",
            "lock_contended_net",
            fmt(nets[nets.len() / 2])
        );
    }
    if want("sem_pingpong") {
        report("sem_pingpong", "ns/handoff", reps, &mut || {
            sem_pingpong(100_000)
        });
    }
    if want("mem_blocked_10k") {
        report("mem_blocked_10k", "KiB/greenlet", reps, &mut || {
            mem_parent(10_000)
        });
    }
    if want("mem_blocked_100k") {
        report("mem_blocked_100k", "KiB/greenlet", reps, &mut || {
            mem_parent(100_000)
        });
    }
}
