//! Maps keyed by the crate's own ids (greenlet ids, sequence numbers, fds):
//! small integers that no outsider chooses, so they need no DoS-resistant
//! hash. One multiply (Fibonacci hashing) instead of SipHash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by integers the crate hands out itself.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Multiplies the integer by 2^64 / phi: the high bits, which hashbrown
/// uses for its control bytes, and the low bits, its bucket index, both
/// spread consecutive ids.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by integer keys; a plain fold keeps it correct for
        // anything else.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(n as u32 as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;

    #[test]
    fn holds_and_finds_every_key() {
        let mut m: IdMap<u64, u64> = IdMap::default();
        for k in 0..10_000u64 {
            m.insert(k * 3, k);
        }
        assert_eq!(m.len(), 10_000);
        assert!((0..10_000u64).all(|k| m.get(&(k * 3)) == Some(&k)));
        assert!(!m.contains_key(&1));
        let mut t: IdMap<(i32, i32), u8> = IdMap::default();
        t.insert((3, 1), 1);
        t.insert((1, 3), 2);
        assert_eq!((t[&(3, 1)], t[&(1, 3)]), (1, 2));
    }
}
