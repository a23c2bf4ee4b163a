//! The waiter list every blocking object keeps: FIFO order, and removal of
//! any entry by its key in O(1).
//!
//! A greenlet that stops waiting (woken, timed out, killed) takes its entry
//! out by key; with a plain `VecDeque` that was a linear search, so waking
//! N waiters of one object cost O(N²) in all. Here entries live in a slab
//! of slots threaded on a doubly linked list of indices: push, pop and
//! remove are O(1), and slots are reused through a free list. A key names
//! one slot *and* one occupancy of it (a generation counter), so removing
//! with the key of an entry that is already gone is a cheap `None`, even
//! after the slot was reused.

const NIL: u32 = u32::MAX;

/// Names one entry of a [`WaitList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    index: u32,
    generation: u64,
}

struct Slot<T> {
    /// Bumped each time the slot is emptied: stale keys stop matching.
    generation: u64,
    prev: u32,
    next: u32,
    value: Option<T>,
}

/// An ordered list with O(1) push, pop and removal by [`Key`].
pub(crate) struct WaitList<T> {
    slots: Vec<Slot<T>>,
    head: u32,
    tail: u32,
    /// Head of the chain of empty slots (linked through `next`).
    free: u32,
    len: usize,
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
        }
    }
}

impl<T> WaitList<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An empty slot, taken from the free chain or added at the end.
    fn alloc(&mut self, value: T) -> u32 {
        if self.free != NIL {
            let i = self.free;
            let s = &mut self.slots[i as usize];
            self.free = s.next;
            s.value = Some(value);
            return i;
        }
        let i = u32::try_from(self.slots.len())
            .ok()
            .filter(|i| *i != NIL)
            .expect("gevent: more than 4 billion waiters on one object");
        self.slots.push(Slot {
            generation: 0,
            prev: NIL,
            next: NIL,
            value: Some(value),
        });
        i
    }

    fn key(&self, i: u32) -> Key {
        Key {
            index: i,
            generation: self.slots[i as usize].generation,
        }
    }

    /// Appends `value`; its key removes it later.
    #[inline]
    pub(crate) fn push_back(&mut self, value: T) -> Key {
        let i = self.alloc(value);
        let s = &mut self.slots[i as usize];
        s.prev = self.tail;
        s.next = NIL;
        match self.tail {
            NIL => self.head = i,
            t => self.slots[t as usize].next = i,
        }
        self.tail = i;
        self.len += 1;
        self.key(i)
    }

    /// Unthreads slot `i` and frees it; returns its value.
    fn unlink(&mut self, i: u32) -> T {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n as usize].prev = prev,
        }
        let s = &mut self.slots[i as usize];
        s.generation = s.generation.wrapping_add(1);
        s.next = self.free;
        s.prev = NIL;
        self.free = i;
        self.len -= 1;
        s.value.take().expect("a linked slot holds a value")
    }

    /// Takes the oldest entry.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<(Key, T)> {
        if self.head == NIL {
            return None;
        }
        let i = self.head;
        let key = self.key(i);
        Some((key, self.unlink(i)))
    }

    /// The oldest entry.
    pub(crate) fn front(&self) -> Option<&T> {
        match self.head {
            NIL => None,
            i => self.slots[i as usize].value.as_ref(),
        }
    }

    /// True while the entry `key` names is in the list.
    fn holds(&self, key: Key) -> bool {
        self.slots
            .get(key.index as usize)
            .is_some_and(|s| s.generation == key.generation && s.value.is_some())
    }

    /// Takes out the entry `key` names; `None` if it already left.
    #[inline]
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        if !self.holds(key) {
            return None;
        }
        Some(self.unlink(key.index))
    }

    /// Empties the list, returning the entries in order.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        while let Some((_, v)) = self.pop_front() {
            out.push(v);
        }
        // The slots stay (with their generations): keys handed out before
        // must not match entries added after.
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_removal_anywhere() {
        let mut l = WaitList::default();
        let keys: Vec<Key> = (0..6).map(|i| l.push_back(i)).collect();
        assert_eq!(l.remove(keys[2]), Some(2));
        assert_eq!(l.remove(keys[0]), Some(0));
        assert_eq!(l.remove(keys[5]), Some(5));
        assert_eq!(l.remove(keys[5]), None, "a key removes once");
        assert_eq!(l.len(), 3);
        assert_eq!(l.front(), Some(&1));
        let rest: Vec<i32> = std::iter::from_fn(|| l.pop_front().map(|(_, v)| v)).collect();
        assert_eq!(rest, vec![1, 3, 4]);
        assert!(l.is_empty());
    }

    #[test]
    fn stale_key_does_not_remove_a_reused_slot() {
        let mut l = WaitList::default();
        let a = l.push_back("a");
        assert_eq!(l.pop_front(), Some((a, "a")));
        let b = l.push_back("b");
        assert_eq!(l.remove(a), None);
        assert_eq!(l.remove(b), Some("b"));
    }

    #[test]
    fn take_all_keeps_order() {
        let mut l = WaitList::default();
        for i in 0..4 {
            l.push_back(i);
        }
        let k = l.push_back(9);
        l.remove(k);
        assert_eq!(l.take_all(), vec![0, 1, 2, 3]);
        assert!(l.is_empty());
        let n = l.push_back(7);
        assert_eq!(l.remove(k), None, "old keys stay stale after take_all");
        assert_eq!(l.remove(n), Some(7));
    }
}
