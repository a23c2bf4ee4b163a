//! Port of gevent 26.9.0 `src/gevent/tests/test__monkey_queue.py`: the
//! stdlib's queue tests run on gevent's queues under
//! `monkey.patch_all()`, so every "thread" is a greenlet
//! (`threading.Thread(..).start()` spawns one, `Thread.join(10)` is
//! `join_timeout(10)`) and `time.sleep` is `gevent.sleep`.
//!
//! `put(x, block=0)`/`get(block=0)` are `try_put`/`try_get`,
//! `put(x, True, 10)`/`get(True, 10)` and `timeout=` are the `_timeout`
//! forms; `Queue.Full`/`Queue.Empty` are `Error::Full`/`Error::Empty`, and
//! `ValueError` is `Error::InvalidArgument`. A test class is a module; the
//! bodies of BaseQueueTest, which LifoQueueTest and PriorityQueueTest
//! inherit, are shared helper functions.
//!
//! Methods that are not ported are listed, with the reason, at the end of
//! the file.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use gevent::event::Event;
use gevent::queue::{JoinableQueue, LifoQueue, PriorityQueue, Queue};
use gevent::{Error, Greenlet, Result, sleep, spawn};

const QUEUE_SIZE: usize = 5;

/// `_TriggerThread(fn, args)` started: a greenlet that sleeps 0.01 s
/// (giving the blocking function a chance to block), sets its
/// `startedEvent`, then calls `fn`.
struct TriggerThread {
    g: Greenlet<()>,
    started_event: Event,
}

impl TriggerThread {
    fn start<R: 'static>(f: impl FnOnce() -> Result<R> + 'static) -> TriggerThread {
        let started_event = Event::new();
        let ev = started_event.clone();
        let g = spawn(move || {
            sleep(0.01)?;
            ev.set();
            f()?;
            Ok(())
        });
        TriggerThread { g, started_event }
    }
}

/// `BlockingTestMixin.do_blocking_test`: runs `block_func` (which must
/// block until `trigger_func`, run by a trigger thread, lets it go) and
/// returns its result.
fn do_blocking_test<R, S: 'static>(
    block_func: impl FnOnce() -> Result<R>,
    trigger_func: impl FnOnce() -> Result<S> + 'static,
) -> R {
    let t = TriggerThread::start(trigger_func);
    let result = block_func().expect("the blocking function failed");
    // If block_func returned before our thread made the call, we failed!
    assert!(
        t.started_event.is_set(),
        "blocking function appeared not to block"
    );
    t.g.join_timeout(10.0).unwrap(); // make sure the thread terminates
    assert!(t.g.dead(), "trigger function appeared to not return");
    t.g.get().expect("the trigger function failed");
    result
}

/// The queue kinds BaseQueueTest's `type2test` names.
trait QueueKind: Clone + 'static {
    /// `q.__class__.__name__`.
    const NAME: &'static str;
    fn make(maxsize: usize) -> Self;
    fn put(&self, item: i32) -> Result<()>;
    fn try_put(&self, item: i32) -> Result<()>;
    fn put_timeout(&self, item: i32, timeout: f64) -> Result<()>;
    fn get(&self) -> Result<i32>;
    fn try_get(&self) -> Result<i32>;
    fn get_timeout(&self, timeout: f64) -> Result<i32>;
    fn peek(&self) -> Result<i32>;
    fn empty(&self) -> bool;
    fn full(&self) -> bool;
    fn qsize(&self) -> usize;
}

macro_rules! impl_queue_kind {
    ($ty:ident, $name:literal) => {
        impl QueueKind for $ty<i32> {
            const NAME: &'static str = $name;
            fn make(maxsize: usize) -> Self {
                $ty::new(Some(maxsize))
            }
            fn put(&self, item: i32) -> Result<()> {
                $ty::put(self, item)
            }
            fn try_put(&self, item: i32) -> Result<()> {
                $ty::try_put(self, item)
            }
            fn put_timeout(&self, item: i32, timeout: f64) -> Result<()> {
                $ty::put_timeout(self, item, timeout)
            }
            fn get(&self) -> Result<i32> {
                $ty::get(self)
            }
            fn try_get(&self) -> Result<i32> {
                $ty::try_get(self)
            }
            fn get_timeout(&self, timeout: f64) -> Result<i32> {
                $ty::get_timeout(self, timeout)
            }
            fn peek(&self) -> Result<i32> {
                $ty::peek(self)
            }
            fn empty(&self) -> bool {
                $ty::empty(self)
            }
            fn full(&self) -> bool {
                $ty::full(self)
            }
            fn qsize(&self) -> usize {
                $ty::qsize(self)
            }
        }
    };
}

impl_queue_kind!(Queue, "Queue");
impl_queue_kind!(LifoQueue, "LifoQueue");
impl_queue_kind!(PriorityQueue, "PriorityQueue");

/// The bodies of `BaseQueueTest`, shared by its subclasses.
mod base_queue_test {
    use super::*;

    fn simple_queue_test<Q: QueueKind>(q: &Q) {
        assert!(q.empty(), "Call this function with an empty queue");
        // I guess we better check things actually queue correctly a little :)
        q.put(111).unwrap();
        q.put(333).unwrap();
        q.put(222).unwrap();
        q.put(444).unwrap();
        let target_first_item = match Q::NAME {
            "Queue" => 111,
            "LifoQueue" => 444,
            "PriorityQueue" => 111,
            other => unreachable!("{other}"),
        };
        let actual_first_item = (q.peek().unwrap(), q.get().unwrap());
        assert_eq!(
            actual_first_item,
            (target_first_item, target_first_item),
            "q.peek() and q.get() are not equal!"
        );
        let target_order = match Q::NAME {
            "Queue" => [333, 222, 444],
            "LifoQueue" => [222, 333, 111],
            "PriorityQueue" => [222, 333, 444],
            other => unreachable!("{other}"),
        };
        let actual_order = [q.get().unwrap(), q.get().unwrap(), q.get().unwrap()];
        assert_eq!(
            actual_order, target_order,
            "Didn't seem to queue the correct data!"
        );
        for i in 0..QUEUE_SIZE as i32 - 1 {
            q.put(i).unwrap();
            assert!(!q.empty(), "Queue should not be empty");
        }
        assert!(!q.full(), "Queue should not be full");
        q.put(999).unwrap();
        assert!(q.full(), "Queue should be full");
        let r = q.try_put(888);
        assert!(
            matches!(r, Err(Error::Full)),
            "Didn't appear to block with a full queue: {r:?}"
        );
        let r = q.put_timeout(888, 0.01);
        assert!(
            matches!(r, Err(Error::Full)),
            "Didn't appear to time-out with a full queue: {r:?}"
        );
        assert_eq!(q.qsize(), QUEUE_SIZE);
        // Test a blocking put
        let (qa, qb) = (q.clone(), q.clone());
        do_blocking_test(|| qa.put(888), move || qb.get());
        let (qa, qb) = (q.clone(), q.clone());
        do_blocking_test(|| qa.put_timeout(888, 10.0), move || qb.get());
        // Empty it
        for _ in 0..QUEUE_SIZE {
            q.get().unwrap();
        }
        assert!(q.empty(), "Queue should be empty");
        let r = q.try_get();
        assert!(
            matches!(r, Err(Error::Empty)),
            "Didn't appear to block with an empty queue: {r:?}"
        );
        let r = q.get_timeout(0.01);
        assert!(
            matches!(r, Err(Error::Empty)),
            "Didn't appear to time-out with an empty queue: {r:?}"
        );
        // Test a blocking get ('empty' is an int here)
        let (qa, qb) = (q.clone(), q.clone());
        do_blocking_test(|| qa.get(), move || qb.put(-1));
        let (qa, qb) = (q.clone(), q.clone());
        do_blocking_test(|| qa.get_timeout(10.0), move || qb.put(-1));
    }

    /// `worker`: sums items into `cum` until `None`, marking each done.
    fn worker(q: JoinableQueue<Option<i32>>, cum: Rc<Cell<i32>>) -> Result<()> {
        loop {
            let x = q.get()?;
            let Some(x) = x else {
                q.task_done()?;
                return Ok(());
            };
            // with self.cumlock:
            cum.set(cum.get() + x);
            q.task_done()?;
        }
    }

    fn queue_join_test(q: &JoinableQueue<Option<i32>>) {
        let cum = Rc::new(Cell::new(0));
        for _ in 0..2 {
            let (q, cum) = (q.clone(), cum.clone());
            spawn(move || worker(q, cum));
        }
        for i in 0..100 {
            q.put(Some(i)).unwrap();
        }
        q.join().unwrap();
        assert_eq!(
            cum.get(),
            (0..100).sum::<i32>(),
            "q.join() did not block until all tasks were done"
        );
        for _ in 0..2 {
            q.put(None).unwrap(); // instruct the threads to close
        }
        q.join().unwrap(); // verify that you can join twice
    }

    pub fn test_queue_task_done() {
        // Test to make sure a queue task completed successfully.
        let q: JoinableQueue<i32> = JoinableQueue::new(None); // self.type2test()
        // XXX the same test in subclasses
        let r = q.task_done();
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "Did not detect task count going negative: {r:?}"
        );
    }

    pub fn test_queue_join() {
        // Test that a queue join()s successfully, and before anything else
        // (done twice for insurance).
        let q: JoinableQueue<Option<i32>> = JoinableQueue::new(None); // self.type2test()
        // XXX the same test in subclass
        queue_join_test(&q);
        queue_join_test(&q);
        let r = q.task_done();
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "Did not detect task count going negative: {r:?}"
        );
    }

    pub fn test_queue_task_done_with_items() {
        // Passing items to the constructor allows for as
        // many task_done calls. Joining before all the task done
        // are called returns false
        // XXX the same test in subclass
        let l = [1, 2, 3];
        let q = JoinableQueue::from_items(None, l);
        for i in l {
            assert!(!q.join_timeout(0.001).unwrap());
            assert_eq!(i, q.get().unwrap());
            q.task_done().unwrap();
        }

        let r = q.task_done();
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "Did not detect task count going negative: {r:?}"
        );
        assert!(q.join_timeout(0.001).unwrap());
    }

    pub fn test_simple_queue<Q: QueueKind>() {
        // Do it a couple of times on the same queue.
        // Done twice to make sure works with same instance reused.
        let q = Q::make(QUEUE_SIZE);
        simple_queue_test(&q);
        simple_queue_test(&q);
    }
}

/// The `#[test]`s a BaseQueueTest class has, for `type2test = $ty`.
macro_rules! base_queue_tests {
    ($class:literal, $ty:ty) => {
        #[test]
        fn test_queue_task_done() {
            let _d = common::deadline(
                concat!($class, "::test_queue_task_done"),
                common::TEST_DEADLINE,
            );
            base_queue_test::test_queue_task_done();
        }

        #[test]
        fn test_queue_join() {
            let _d = common::deadline(concat!($class, "::test_queue_join"), common::TEST_DEADLINE);
            base_queue_test::test_queue_join();
        }

        #[test]
        fn test_queue_task_done_with_items() {
            let _d = common::deadline(
                concat!($class, "::test_queue_task_done_with_items"),
                common::TEST_DEADLINE,
            );
            base_queue_test::test_queue_task_done_with_items();
        }

        #[test]
        fn test_simple_queue() {
            let _d = common::deadline(
                concat!($class, "::test_simple_queue"),
                common::TEST_DEADLINE,
            );
            base_queue_test::test_simple_queue::<$ty>();
        }
    };
}

#[allow(non_snake_case)]
mod BaseQueueTest {
    //! `type2test = Queue.Queue`.
    use super::*;

    base_queue_tests!("BaseQueueTest", Queue<i32>);
}

#[allow(non_snake_case)]
mod LifoQueueTest {
    //! `type2test = Queue.LifoQueue`.
    use super::*;

    base_queue_tests!("LifoQueueTest", LifoQueue<i32>);
}

#[allow(non_snake_case)]
mod PriorityQueueTest {
    //! `type2test = Queue.PriorityQueue`.
    use super::*;

    base_queue_tests!("PriorityQueueTest", PriorityQueue<i32>);

    #[test]
    fn test__init() {
        let _d = common::deadline("PriorityQueueTest::test__init", common::TEST_DEADLINE);
        let item1 = (2, "b");
        let item2 = (1, "a");
        let q = PriorityQueue::from_items(None, [item1, item2]);
        assert_eq!(item2, q.try_get().unwrap());
        assert_eq!(item1, q.try_get().unwrap());
    }
}

// Not ported:
// - FailingQueueTest.test_failing_queue: Python subclass hooks
//   (`FailingQueue` overrides `_put`/`_get` to raise on demand); the
//   crate's queue types have no such hooks, and a Rust store cannot fail.
