//! gevent's `benchmarks/bench_get_memory.py`. Despite its name it does not
//! measure memory use: it times `get_memory(data)`, the step that turns
//! the argument of `socket.sendall` into a buffer view (a `memoryview`,
//! gevent issue #1318), for three kinds of data: `bytestring` (`bytes`),
//! `bytearray` and `memoryview`; N = 100 calls per inner loop; ns per
//! call.
//!
//! ```text
//! cargo bench -j1 --bench bench_get_memory
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! [`LOOPS`] x N calls, after one untimed warm-up rep).
//!
//! The crate's `Socket::sendall` takes `&[u8]`, so the Rust step is
//! borrowing the data as a slice (`AsRef<[u8]>`): from a `&'static [u8; 6]`
//! literal (`bytes`), a `Vec<u8>` (`bytearray`) and a `&[u8]` into another
//! buffer (a `memoryview`, already a view). gevent times four implementations of the function;
//! only `inst-cy` (gevent's compiled `_greenlet_primitives.get_memory`,
//! the one `gevent.socket` calls) is ported: the three pure-Python
//! variants (`gevent14-py`, `inst-py`, `is-py`) are alternative Python
//! spellings with no Rust counterpart. No RSS is read: nothing here
//! allocates.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{Runner, secs};

/// Calls per inner loop.
const N: usize = 100;
/// Inner loops per timed rep (pyperf calibrates this; fixed here).
const LOOPS: usize = 10_000;

/// gevent's `get_memory(data)`: the data as a byte view, here a slice.
#[inline(never)]
fn get_memory<D: AsRef<[u8]> + ?Sized>(data: &D) -> &[u8] {
    data.as_ref()
}

/// gevent's `test`: [`LOOPS`] x N calls of `get_memory(data)` (the data
/// and the result pass through `black_box`, so none is optimised away):
/// ns per call.
fn test<D: AsRef<[u8]> + ?Sized>(data: &D) -> f64 {
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        for _ in 0..N {
            black_box(get_memory(black_box(data)));
        }
    }
    secs(t0) / (LOOPS * N) as f64 * 1e9
}

fn main() {
    let r = Runner::from_args();
    let bytestring: &'static [u8; 6] = b"abc123";
    let bytearray: Vec<u8> = b"abc123".to_vec();
    let viewed: Box<[u8]> = Box::new(*b"abc123");
    let memoryview: &[u8] = &viewed[..];
    r.case("bench_get_memory.inst_cy_bytestring", "ns", &mut || {
        test(bytestring)
    });
    r.case("bench_get_memory.inst_cy_bytearray", "ns", &mut || {
        test(&bytearray)
    });
    r.case("bench_get_memory.inst_cy_memoryview", "ns", &mut || {
        test(memoryview)
    });
}
