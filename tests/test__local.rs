//! Port of gevent 26.9.0 `src/gevent/tests/test__local.py`: greenlet-local
//! values are isolated between greenlets, independent between locals,
//! copied by `copy()`, and freed once their greenlet is dead (#387) or the
//! local is unreferenced (#981).
//!
//! gevent monkey-patches `threading`, so its `Thread` is a greenlet and
//! `threading.local` is `gevent.local.local`; here `Thread` is
//! `Greenlet::spawn` and `local` is `gevent::local::Local`. gevent's
//! `local` has per-greenlet *attributes*, a `Local<T>` one value: an
//! attribute becomes a `Local` (or a field of its value), a class
//! attribute or `__init__` the initialiser, `getattr` raising
//! `AttributeError` `try_get()` returning `None`, `del` `take()`, and
//! `copy(local)` `duplicate()`. Methods that are not ported are listed,
//! with the reason, at the end of the file; our own tests follow the
//! ported ones.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gevent::local::Local;
use gevent::*;

/// gevent's `Obj`: an object compared by identity, with an `echo`
/// attribute.
#[derive(Default)]
struct Obj {
    echo: RefCell<String>,
}

/// gevent's `A(local)`: `__init__(obj)` sets `obj` and `path = ''` in each
/// greenlet.
struct A<O> {
    obj: Rc<O>,
    path: RefCell<String>,
}

impl<O> Clone for A<O> {
    /// A shallow copy, as `copy()`: `obj` is the same object.
    fn clone(&self) -> Self {
        A {
            obj: self.obj.clone(),
            path: self.path.clone(),
        }
    }
}

/// `A(obj)`.
fn new_a<O: 'static>(obj: O) -> Local<A<O>> {
    let obj = Rc::new(obj);
    Local::new(move || A {
        obj: obj.clone(),
        path: RefCell::new(String::new()),
    })
}

/// gevent's `Sentinel` and the `created_sentinels` / `deleted_sentinels`
/// lists (counted here).
#[derive(Clone, Default)]
struct Sentinels {
    created: Rc<Cell<usize>>,
    deleted: Rc<Cell<usize>>,
}

struct Sentinel(Rc<Cell<usize>>);

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

impl Sentinels {
    fn reset(&self) {
        self.created.set(0);
        self.deleted.set(0);
    }
}

/// gevent's `MyLocal(local)`: `__init__` sets `self.sentinel = Sentinel()`.
struct MyLocal {
    sentinel: RefCell<Option<Sentinel>>,
}

fn new_my_local(s: &Sentinels) -> Local<MyLocal> {
    let s = s.clone();
    Local::new(move || {
        s.created.set(s.created.get() + 1);
        MyLocal {
            sentinel: RefCell::new(Some(Sentinel(s.deleted.clone()))),
        }
    })
}

#[allow(non_snake_case)]
mod TestGeventLocal {
    use super::*;

    #[test]
    fn test_local_opts_not_subclassed() {
        let _d = common::deadline("test_local_opts_not_subclassed", common::TEST_DEADLINE);
        // l = local(); l.attr = 1
        let attr: Local<i32> = Local::default();
        attr.set(1);
        assert_eq!(*attr.get(), 1);
    }

    #[test]
    fn test_delete_with_no_dict() {
        let _d = common::deadline("test_delete_with_no_dict", common::TEST_DEADLINE);
        // delattr(l, 'thing') on a local never set: AttributeError.
        let thing: Local<i32> = Local::default();
        assert!(thing.take().is_none());

        let t = thing.clone();
        let del_local = Greenlet::spawn(move || Ok(t.take().is_none()));
        assert!(del_local.get().unwrap());
    }

    #[test]
    fn test_attribute_error() {
        let _d = common::deadline("test_attribute_error", common::TEST_DEADLINE);
        let a = new_a(Obj::default());
        // `fizz_buzz`, an attribute of `a` that its `__init__` does not set.
        let fizz_buzz: Local<i32> = Local::default();
        a.get();
        assert!(fizz_buzz.try_get().is_none());

        let f = fizz_buzz.clone();
        let greenlet = Greenlet::spawn(move || {
            f.set(1);
            Ok(())
        });
        greenlet.join().unwrap();

        assert!(fizz_buzz.try_get().is_none());
    }

    #[test]
    fn test_getattr_called() {
        let _d = common::deadline("test_getattr_called", common::TEST_DEADLINE);
        // WithGetattr's `__getattr__` answers 42 for `foo` until it is set:
        // the initialiser's value.
        let foo: Local<String> = Local::new(|| "42".to_string());
        assert_eq!(*foo.get(), "42");
        foo.set("baz".to_string());
        assert_eq!(*foo.get(), "baz");
    }

    #[test]
    fn test_copy() {
        let _d = common::deadline("test_copy", common::TEST_DEADLINE);
        let a = new_a(Obj::default());
        a.get().path.replace("123".into());
        a.get().obj.echo.replace("test".into());
        let b = a.duplicate();

        // Copy makes a shallow copy: `path` is independent in the original
        // and the copy, `obj` is a reference to the same Obj.
        assert_eq!(
            *a.get().path.borrow(),
            *b.get().path.borrow(),
            "The values in the two objects must be equal"
        );
        assert!(
            Rc::ptr_eq(&a.get().obj, &b.get().obj),
            "The values must be equal"
        );

        b.get().path.replace("321".into());
        assert_ne!(
            *a.get().path.borrow(),
            *b.get().path.borrow(),
            "The values in the two objects must be different"
        );

        a.get().obj.echo.replace("works".into());
        assert!(
            Rc::ptr_eq(&a.get().obj, &b.get().obj),
            "The values must be equal"
        );
        assert_eq!(*b.get().obj.echo.borrow(), "works");
    }

    #[test]
    fn test_copy_no_subclass() {
        let _d = common::deadline("test_copy_no_subclass", common::TEST_DEADLINE);
        let a: Local<i32> = Local::default();
        a.set(42);
        let b = a.duplicate();
        assert_eq!(*b.get(), 42);
        // a.__dict__ is not b.__dict__
        assert!(!Rc::ptr_eq(&a.get(), &b.get()));
    }

    #[test]
    fn test_objects() {
        let _d = common::deadline("test_objects", common::TEST_DEADLINE);
        // Test which failed in the eventlet?!
        let a = new_a(HashMap::<String, i32>::new());
        a.get().path.replace("123".into());
        let b = new_a(HashMap::from([("one".to_string(), 2)]));
        b.get().path.replace("123".into());
        assert_eq!(
            *a.get().path.borrow(),
            *b.get().path.borrow(),
            "The values in the two objects must be equal"
        );

        b.get().path.replace("321".into());

        assert_ne!(
            *a.get().path.borrow(),
            *b.get().path.borrow(),
            "The values in the two objects must be different"
        );
    }

    #[test]
    fn test_class_attr() {
        let _d = common::deadline("test_class_attr", common::TEST_DEADLINE);
        // MyLocal.CLASS_PROP = 42: the value every greenlet starts from.
        let class_prop: Local<i32> = Local::new(|| 42);
        assert_eq!(*class_prop.get(), 42);

        class_prop.set(1);
        assert_eq!(*class_prop.get(), 1);
        // mylocal.__dict__['CLASS_PROP'] == 1: the greenlet's own value.
        assert_eq!(class_prop.try_get().as_deref(), Some(&1));

        // del mylocal.CLASS_PROP: back to the class's value.
        assert_eq!(class_prop.take().as_deref(), Some(&1));
        assert_eq!(*class_prop.get(), 42);
    }

    #[test]
    fn test_locals_collected_when_greenlet_dead_but_still_referenced() {
        let _d = common::deadline(
            "test_locals_collected_when_greenlet_dead_but_still_referenced",
            common::TEST_DEADLINE,
        );
        // https://github.com/gevent/gevent/issues/387
        let sentinels = Sentinels::default();
        let my_local = new_my_local(&sentinels);
        my_local.get().sentinel.replace(None);

        sentinels.reset();

        // Create and reference greenlets
        let greenlets: Vec<Greenlet<()>> = (0..5)
            .map(|_| {
                let l = my_local.clone();
                Greenlet::new(move || {
                    // Get the important parts
                    let _ = l.get().sentinel.borrow().is_some();
                    Ok(())
                })
            })
            .collect();
        for t in &greenlets {
            t.start();
        }
        sleep(0.0).unwrap();

        assert_eq!(sentinels.created.get(), greenlets.len());

        for g in &greenlets {
            assert!(g.dead());
        }
        sleep(0.0).unwrap(); // let the callbacks run

        // The sentinels should be gone too
        assert_eq!(sentinels.deleted.get(), greenlets.len());
    }

    #[test]
    fn test_locals_collected_when_unreferenced_even_in_running_greenlet() {
        let _d = common::deadline(
            "test_locals_collected_when_unreferenced_even_in_running_greenlet",
            common::TEST_DEADLINE,
        );
        // https://github.com/gevent/gevent/issues/981
        let sentinels = Sentinels::default();
        let count = 1000;

        let running_greenlet: Rc<RefCell<Option<Greenlet<()>>>> = Rc::default();

        let (s, rg) = (sentinels.clone(), running_greenlet.clone());
        let g = Greenlet::new(move || {
            for _ in 0..1000 {
                let x = new_my_local(&s);
                assert!(x.get().sentinel.borrow().is_some());
                drop(x);
            }

            assert_eq!(count, s.created.get());
            // They're all dead, even though this greenlet is still running
            assert_eq!(count, s.deleted.get());

            // The links were removed as well.
            let me = rg.borrow().clone();
            assert_eq!(me.map(|g| g.has_links()), Some(0));
            Ok(())
        });
        running_greenlet.replace(Some(g.clone()));
        g.start();
        sleep(0.0).unwrap();
        g.join().unwrap();
        running_greenlet.replace(None);
        assert!(g.successful(), "{:?}", g.exception());

        assert_eq!(count, sentinels.deleted.get());
    }
}

// ---------------------------------------------------------------------------
// Our own tests: what the port does not pin.

/// Counts drops and records the greenlet each drop ran in.
#[derive(Clone, Default)]
struct Drops(Rc<RefCell<Vec<u64>>>);

impl Drops {
    fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.borrow().len()
    }

    fn greenlets(&self) -> Vec<u64> {
        let mut v = self.0.borrow().clone();
        v.sort_unstable();
        v
    }
}

struct DropToken(Rc<RefCell<Vec<u64>>>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.borrow_mut().push(getcurrent().id());
    }
}

#[test]
fn values_are_dropped_when_their_greenlet_ends_on_its_own_stack() {
    let _d = common::deadline("values_are_dropped_when_their_greenlet_ends", 30.0);
    let drops = Drops::default();
    let local: Local<Option<DropToken>> = Local::default();
    let spawn_one = |fail: bool| {
        let (l, d) = (local.clone(), drops.clone());
        Greenlet::spawn(move || {
            l.set(Some(d.token()));
            sleep(0.001)?;
            if fail {
                return Err(Error::msg("expected failure"));
            }
            Ok(getcurrent().id())
        })
    };
    let log = common::ErrorLog::install();
    let ok = spawn_one(false);
    let failed = spawn_one(true);
    ok.join().unwrap();
    failed.join().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(drops.count(), 2);
    let mut ids = vec![ok.raw().id(), failed.raw().id()];
    ids.sort_unstable();
    assert_eq!(drops.greenlets(), ids);
    // The main greenlet's value lives on.
    local.set(Some(drops.token()));
    assert_eq!(drops.count(), 2);
}

#[test]
fn values_of_a_killed_greenlet_are_dropped() {
    let _d = common::deadline("values_of_a_killed_greenlet_are_dropped", 30.0);
    let drops = Drops::default();
    let inits = Rc::new(Cell::new(0));
    let local: Local<DropToken> = {
        let (d, i) = (drops.clone(), inits.clone());
        Local::new(move || {
            i.set(i.get() + 1);
            d.token()
        })
    };
    let spawn_one = || {
        let l = local.clone();
        Greenlet::spawn(move || {
            l.get();
            sleep(60.0)
        })
    };
    let blocked = spawn_one();
    let never_started = spawn_one();
    never_started.kill().unwrap();
    sleep(0.0).unwrap();
    assert_eq!(inits.get(), 1);
    assert_eq!(drops.count(), 0);
    blocked.kill().unwrap();
    assert!(blocked.dead());
    assert_eq!(drops.greenlets(), vec![blocked.raw().id()]);
}

#[test]
fn values_are_dropped_at_hub_destroy() {
    let _d = common::deadline("values_are_dropped_at_hub_destroy", 30.0);
    let drops = Drops::default();
    let local: Local<Option<DropToken>> = Local::default();
    let greenlets: Vec<Greenlet<()>> = (0..3)
        .map(|_| {
            let (l, d) = (local.clone(), drops.clone());
            Greenlet::spawn(move || {
                l.set(Some(d.token()));
                sleep(60.0)
            })
        })
        .collect();
    // A value set from a hub callback belongs to the hub greenlet.
    local.set(Some(drops.token()));
    let (l, d) = (local.clone(), drops.clone());
    let hub = get_hub();
    let hub_id = hub.greenlet().id();
    hub.run_callback(move || l.set(Some(d.token()))).unwrap();
    sleep(0.0).unwrap();
    assert_eq!(drops.count(), 0);

    hub.destroy();
    let mut expected: Vec<u64> = greenlets.iter().map(|g| g.raw().id()).collect();
    expected.push(hub_id);
    expected.sort_unstable();
    assert_eq!(drops.greenlets(), expected);
    // The main greenlet's value is still there.
    assert!(local.try_get().is_some_and(|v| v.is_some()));
    assert_eq!(drops.count(), 4);
}

#[test]
fn dropping_the_last_handle_drops_every_greenlets_value() {
    let _d = common::deadline("dropping_the_last_handle_drops_every_value", 30.0);
    let drops = Drops::default();
    let local: Local<Option<DropToken>> = Local::default();
    local.set(Some(drops.token()));
    let greenlets: Vec<Greenlet<()>> = (0..3)
        .map(|_| {
            let (l, d) = (local.clone(), drops.clone());
            Greenlet::spawn(move || {
                l.set(Some(d.token()));
                drop(l);
                sleep(60.0)
            })
        })
        .collect();
    sleep(0.0).unwrap();
    assert_eq!(drops.count(), 0);
    drop(local);
    // Dropped here, in the main greenlet, while the others still run.
    assert_eq!(drops.count(), 4);
    assert!(drops.greenlets().iter().all(|&id| id == getcurrent().id()));
    killall(&greenlets).unwrap();
    assert_eq!(drops.count(), 4);
}

#[test]
fn initialiser_runs_lazily_once_per_greenlet() {
    let _d = common::deadline("initialiser_runs_lazily_once_per_greenlet", 30.0);
    let inits = Rc::new(Cell::new(0));
    let i = inits.clone();
    let local: Local<u64> = Local::new(move || {
        i.set(i.get() + 1);
        getcurrent().id()
    });
    assert_eq!(inits.get(), 0);
    assert!(local.try_get().is_none());
    assert!(!local.is_set());
    assert_eq!(inits.get(), 0);
    assert_eq!(*local.get(), getcurrent().id());
    assert_eq!(local.with(|v| *v), getcurrent().id());
    assert!(local.is_set());
    assert_eq!(inits.get(), 1);

    let greenlets: Vec<Greenlet<bool>> = (0..3)
        .map(|_| {
            let l = local.clone();
            Greenlet::spawn(move || {
                let me = getcurrent().id();
                Ok(l.try_get().is_none() && *l.get() == me && l.with(|v| *v) == me)
            })
        })
        .collect();
    for g in &greenlets {
        assert!(g.get().unwrap());
    }
    assert_eq!(inits.get(), 4);
    assert_eq!(*local.get(), getcurrent().id());
}

#[test]
fn values_are_not_inherited_by_spawned_greenlets() {
    let _d = common::deadline("values_are_not_inherited_by_spawned_greenlets", 30.0);
    let local: Local<&'static str> = Local::new(|| "fresh");
    local.set("parent");
    let l = local.clone();
    let parent = Greenlet::spawn(move || {
        l.set("child");
        let l2 = l.clone();
        let grandchild =
            Greenlet::spawn(move || Ok(l2.try_get().is_none() && *l2.get() == "fresh"));
        let seen = grandchild.get()?;
        Ok(seen && *l.get() == "child")
    });
    assert!(parent.get().unwrap());
    assert_eq!(*local.get(), "parent");
}

#[test]
fn set_replace_take() {
    let _d = common::deadline("set_replace_take", 30.0);
    let local: Local<i32> = Local::new(|| 7);
    assert!(local.replace(1).is_none());
    assert_eq!(local.replace(2).as_deref(), Some(&1));
    local.set(3);
    assert_eq!(*local.get(), 3);
    let held = local.get();
    assert_eq!(local.take().as_deref(), Some(&3));
    assert!(local.take().is_none());
    assert!(!local.is_set());
    // A value read before `take` stays valid.
    assert_eq!(*held, 3);
    assert_eq!(*local.get(), 7);
}

#[test]
fn a_blocking_initialiser_keeps_greenlets_isolated() {
    let _d = common::deadline("a_blocking_initialiser_keeps_greenlets_isolated", 30.0);
    let local: Local<u64> = Local::new(|| {
        let me = getcurrent().id();
        let _ = sleep(0.01);
        me
    });
    let greenlets: Vec<Greenlet<bool>> = (0..3)
        .map(|_| {
            let l = local.clone();
            Greenlet::spawn(move || {
                let me = getcurrent().id();
                let v = l.with(|v| {
                    let _ = sleep(0.001);
                    *v
                });
                Ok(v == me && *l.get() == me)
            })
        })
        .collect();
    for g in &greenlets {
        assert!(g.get().unwrap());
    }
}

#[test]
fn an_initialiser_that_sets_the_local_keeps_that_value() {
    let _d = common::deadline("an_initialiser_that_sets_the_local", 30.0);
    let slot: Rc<RefCell<Option<Local<&'static str>>>> = Rc::default();
    let s = slot.clone();
    let local: Local<&'static str> = Local::new(move || {
        if let Some(l) = s.borrow().as_ref() {
            l.set("set by the initialiser");
        }
        "returned by the initialiser"
    });
    slot.replace(Some(local.clone()));
    assert_eq!(*local.get(), "set by the initialiser");
    // Break the cycle.
    slot.replace(None);
}

#[test]
fn values_holding_locals_are_dropped_cleanly() {
    let _d = common::deadline("values_holding_locals_are_dropped_cleanly", 30.0);
    let drops = Drops::default();
    let inner: Local<Option<DropToken>> = Local::default();
    let outer: Local<Option<Local<Option<DropToken>>>> = Local::default();
    let (i, o, d) = (inner.clone(), outer.clone(), drops.clone());
    // The only handles of `inner` end up inside `outer`'s value.
    drop(inner);
    let g = Greenlet::spawn(move || {
        i.set(Some(d.token()));
        o.set(Some(i));
        drop(o);
        sleep(0.001)
    });
    g.join().unwrap();
    assert!(g.successful());
    assert_eq!(drops.greenlets(), vec![g.raw().id()]);
    drop(outer);
}

#[test]
fn thread_local_is_shared_by_every_greenlet() {
    let _d = common::deadline("thread_local_is_shared_by_every_greenlet", 30.0);
    thread_local! {
        static THREAD_WIDE: Cell<u32> = const { Cell::new(0) };
    }
    let local: Local<Cell<u32>> = Local::default();
    THREAD_WIDE.with(|v| v.set(1));
    local.with(|v| v.set(1));
    let l = local.clone();
    Greenlet::spawn(move || {
        THREAD_WIDE.with(|v| v.set(2));
        l.with(|v| v.set(2));
        Ok(())
    })
    .join()
    .unwrap();
    assert_eq!(THREAD_WIDE.with(|v| v.get()), 2);
    assert_eq!(local.get().get(), 1);
}

/// Counts drops across threads.
struct ArcDrop(Arc<AtomicUsize>);

impl Drop for ArcDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn main_greenlet_values_are_dropped_at_thread_exit() {
    let _d = common::deadline("main_greenlet_values_are_dropped_at_thread_exit", 30.0);
    thread_local! {
        static IN_TLS: Local<Option<ArcDrop>> = Local::default();
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        // A value of the main greenlet.
        let local: Local<Option<ArcDrop>> = Local::default();
        local.set(Some(ArcDrop(d.clone())));
        // A value of a greenlet still blocked at thread exit.
        let (l, d2) = (local.clone(), d.clone());
        let _blocked = Greenlet::spawn(move || {
            l.set(Some(ArcDrop(d2)));
            sleep(60.0)
        });
        sleep(0.0).unwrap();
        // A local held by a thread-local, and a value holding the last
        // handle of a local: both dropped while the thread is torn down.
        IN_TLS.with(|l| l.set(Some(ArcDrop(d.clone()))));
        let holder: Local<Option<Local<Option<ArcDrop>>>> = Local::default();
        // (`holder` itself is leaked, so its value stays in the main
        // greenlet's map until the greenlet state is torn down.)
        holder.set(Some(local));
        std::mem::forget(holder);
    })
    .join()
    .unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------------------
// Not ported:
//
// TestGeventLocal
// - test_create_local_subclass_init_args: `local("foo")` raising TypeError;
//   `Local::new` takes exactly an initialiser, checked at compile time.
// - test_cannot_set_delete_dict: assigning and deleting `__dict__`, Python
//   object model.
// - test_slot_and_type_attributes: `__slots__`, descriptors and type
//   attributes seen through a local, Python object model (shared state is a
//   value outside the `Local` in Rust).
// - test_class_attr_subclass: test_class_attr run on a Python subclass;
//   there is no subclassing in Rust (test_class_attr is ported).
// - test_local_dicts_for_greenlet: `all_local_dicts_for_greenlet`, an
//   internal debug helper of gevent's Python implementation ("subject to
//   change or removal"); the crate has no equivalent.
// - test_local_with_abc, test_local_with_staticmethod,
//   test_local_with_classmethod: ABCs, static and class methods in a
//   local subclass's MRO, Python object model.
// - The `self.assertIs(mylocal, mylocal.desc)` line of test_class_attr: a
//   property returning the instance, Python object model.
//
// TestLocalInterface
// - test_provides: zope.interface declarations on a local subclass.
//
// TestCExt, TestPure
// - test_c_extension, test_extension: which Python module implements
//   `local` (Cython or pure Python).
