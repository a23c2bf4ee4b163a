//! gevent's `benchmarks/bench_queue.py`, case by case: N = 1000 items per
//! inner loop; each case prints `name value ns/item` (median of 5 reps of
//! 200 inner loops, after a warm-up).
//!
//! ```text
//! cargo bench --bench bench_queue
//! ```

use std::time::Instant;

use gevent::queue::{Channel, PriorityQueue, Queue};
use gevent::{get_hub, spawn};

const N: usize = 1000;
const LOOPS: usize = 200;

/// put N then get N without blocking.
fn no_block<Q: QueueLike>(q: &Q) {
    for i in 0..N {
        q.put(i);
    }
    for i in 0..N {
        assert_eq!(q.get(), i);
    }
}

trait QueueLike: Clone + 'static {
    fn put(&self, v: usize);
    fn get(&self) -> usize;
}

impl QueueLike for Queue<usize> {
    fn put(&self, v: usize) {
        Queue::put(self, v).unwrap()
    }
    fn get(&self) -> usize {
        Queue::get(self).unwrap()
    }
}

impl QueueLike for PriorityQueue<usize> {
    fn put(&self, v: usize) {
        PriorityQueue::put(self, v).unwrap()
    }
    fn get(&self) -> usize {
        PriorityQueue::get(self).unwrap()
    }
}

impl QueueLike for Channel<usize> {
    fn put(&self, v: usize) {
        Channel::put(self, v).unwrap()
    }
    fn get(&self) -> usize {
        Channel::get(self).unwrap()
    }
}

/// A getter greenlet takes N items that the main greenlet puts into a
/// Queue(1) or a Channel: every item is a handoff.
fn block<Q: QueueLike>(q: Q) {
    let q2 = q.clone();
    let g = spawn(move || {
        for i in 0..N {
            assert_eq!(q2.get(), i);
        }
        Ok("Finished")
    });
    for i in 0..N {
        q.put(i);
    }
    assert_eq!(g.get().unwrap(), "Finished");
}

/// The same with the putter in a hub callback (gevent's `_hub` cases):
/// one callback puts all N items; each `put` from the hub lets the waiting
/// getter take its item and run until it waits again.
fn block_hub<Q: QueueLike>(q: Q) {
    let q2 = q.clone();
    let g = spawn(move || {
        for i in 0..N {
            assert_eq!(q2.get(), i);
        }
        Ok("Finished")
    });
    let hub = get_hub();
    let h = hub.clone();
    hub.run_callback(move || {
        assert!(h.is_current());
        for i in 0..N {
            q.put(i);
        }
    })
    .unwrap();
    hub.join().unwrap();
    assert_eq!(g.get().unwrap(), "Finished");
}

fn measure(name: &str, f: &mut dyn FnMut()) {
    f();
    let mut reps: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..LOOPS {
                f();
            }
            t0.elapsed().as_secs_f64() / (LOOPS * N) as f64 * 1e9
        })
        .collect();
    reps.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{name:<40} {:.1} ns/item  # min {:.1} max {:.1} n=5",
        reps[2], reps[0], reps[4]
    );
}

fn main() {
    measure("bench_unbounded_queue_noblock", &mut || {
        no_block(&Queue::<usize>::new(None))
    });
    measure("bench_bounded_queue_noblock", &mut || {
        no_block(&Queue::<usize>::new(Some(N + 1)))
    });
    measure("bench_bounded_queue_block", &mut || {
        block(Queue::<usize>::new(Some(1)))
    });
    measure("bench_channel", &mut || block(Channel::<usize>::new()));
    measure("bench_bounded_queue_block_hub", &mut || {
        block_hub(Queue::<usize>::new(Some(1)))
    });
    measure("bench_channel_hub", &mut || {
        block_hub(Channel::<usize>::new())
    });
    measure("bench_unbounded_priority_queue_noblock", &mut || {
        no_block(&PriorityQueue::<usize>::new(None))
    });
    measure("bench_bounded_priority_queue_noblock", &mut || {
        no_block(&PriorityQueue::<usize>::new(Some(N + 1)))
    });
}
