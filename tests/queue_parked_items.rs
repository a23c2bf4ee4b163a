//! A blocked `put` keeps its item in its own frame, and a blocked channel
//! `get` its answer: whatever ends the wait (a kill, a timeout, the hub
//! being destroyed), the queue never touches that frame afterwards.

use gevent::queue::{Channel, Queue};
use gevent::{Error, get_hub, sleep, spawn};

#[test]
fn a_killed_putter_leaves_nothing_behind() {
    let q: Queue<String> = Queue::new(Some(1));
    q.put("first".into()).unwrap();
    let q2 = q.clone();
    let putter = spawn(move || q2.put("killed".into()));
    sleep(0.01).unwrap();
    assert_eq!(q.putters(), 1);
    putter.kill().unwrap();
    assert_eq!(q.putters(), 0);
    assert_eq!(q.get().unwrap(), "first");
    // The killed putter's item was not put.
    assert!(matches!(q.get_timeout(0.02), Err(Error::Empty)));
    // A timed-out putter leaves nothing either; a later one is served.
    let q3 = q.clone();
    q.put("x".into()).unwrap();
    assert!(matches!(
        q3.put_timeout("late".into(), 0.01),
        Err(Error::Full)
    ));
    assert_eq!(q.get().unwrap(), "x");
    assert!(matches!(q.get_timeout(0.02), Err(Error::Empty)));
}

#[test]
fn a_channel_hands_items_between_parked_frames() {
    let ch: Channel<Vec<u8>> = Channel::new();
    let c2 = ch.clone();
    let getter = spawn(move || c2.get());
    let c3 = ch.clone();
    let putter = spawn(move || c3.put(vec![1, 2, 3]));
    assert_eq!(getter.get().unwrap(), vec![1, 2, 3]);
    putter.get().unwrap();
    // A getter that times out takes nothing, and the next one is served.
    assert!(matches!(ch.get_timeout(0.01), Err(Error::Empty)));
    let c4 = ch.clone();
    let putter = spawn(move || c4.put(vec![4]));
    assert_eq!(ch.get().unwrap(), vec![4]);
    putter.get().unwrap();
}

#[test]
fn destroying_the_hub_unwinds_blocked_putters_and_getters() {
    std::thread::spawn(|| {
        let q: Queue<Vec<u8>> = Queue::new(Some(1));
        q.put(vec![0; 100]).unwrap();
        let ch: Channel<Vec<u8>> = Channel::new();
        let mut gs = Vec::new();
        for i in 0..4u8 {
            let q = q.clone();
            gs.push(spawn(move || q.put(vec![i; 100])));
            let ch = ch.clone();
            gs.push(spawn(move || ch.get().map(drop)));
        }
        sleep(0.01).unwrap();
        assert_eq!(q.putters(), 4);
        get_hub().destroy();
        // Every wait ended and left its list: the queue can be dropped.
        assert_eq!(q.putters(), 0);
        drop((q, ch, gs));
    })
    .join()
    .unwrap();
}
