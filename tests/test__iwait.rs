//! Port of gevent's `src/gevent/tests/test__iwait.py`: `iwait` returns an
//! iterator, and leaving it (gevent's context-manager exit, here dropping
//! the `Iwait`) unlinks what it still watches.
//!
//! gevent's `assertEqual(sem, ready)` compares semaphores by identity (they
//! define no `__eq__`); `iwait` yields references into the slice it was
//! given, so identity is `std::ptr::eq` with that slice's element.

mod common;

use gevent::lock::Semaphore;
use gevent::{iwait, iwait_timeout, spawn};

#[allow(non_snake_case)]
mod Testiwait {
    use super::*;

    #[test]
    fn test_noiter() {
        let _d = common::deadline("test_noiter", common::TEST_DEADLINE);
        // Test that gevent.iwait returns objects which can be iterated upon
        // without additional calls to iter()

        // Semaphore() has the default value 1.
        let sem1 = Semaphore::new(1).unwrap();
        let sem2 = Semaphore::new(1).unwrap();

        let s = sem1.clone();
        spawn(move || s.release());
        let objs = [sem1, sem2];
        let ready = iwait(&objs).next().unwrap().unwrap();
        assert!(std::ptr::eq(&objs[0], ready), "{:?} != {ready:?}", objs[0]);
    }

    #[test]
    fn test_iwait_partial() {
        let _d = common::deadline("test_iwait_partial", common::TEST_DEADLINE);
        // Test that the iwait context manager allows the iterator to be
        // consumed partially without a memory leak.

        let sem = Semaphore::new(1).unwrap();
        let s = sem.clone();
        let let_ = spawn(move || s.release());
        let objs = [sem];
        {
            let mut iterator = iwait_timeout(&objs, 0.01).unwrap();
            let next = iterator.next().unwrap().unwrap();
            assert!(std::ptr::eq(&objs[0], next), "{:?} != {next:?}", objs[0]);
        }
        let_.get().unwrap();
    }

    #[test]
    fn test_iwait_nogarbage() {
        let _d = common::deadline("test_iwait_nogarbage", common::TEST_DEADLINE);
        let sem1 = Semaphore::new(1).unwrap();
        let sem2 = Semaphore::new(1).unwrap();
        let s = sem1.clone();
        let let_ = spawn(move || s.release());
        let objs = [sem1, sem2.clone()];
        {
            let mut iterator = iwait(&objs);
            let next = iterator.next().unwrap().unwrap();
            assert!(std::ptr::eq(&objs[0], next), "{:?} != {next:?}", objs[0]);
            assert_eq!(sem2.linkcount(), 1);
        }

        assert_eq!(sem2.linkcount(), 0);
        let_.get().unwrap();
    }
}
