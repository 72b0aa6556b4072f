//! The queue of threads to poll (`Kernel::to_poll`): a ring of thread ids.
//!
//! A thread whose call completes joins the queue at every step, and the driver (or the
//! call's own inline steps, `Kernel::step_inline`) takes it off again. It holds a few ids
//! at most. `VecDeque`'s `push_back` was left out of line in the large functions that
//! complete calls (`step_thread`, the calls' polls), about 20 instructions a push where
//! the work is a store and two additions (issue 13); this ring's operations are small
//! enough to be inlined everywhere. Its order is `VecDeque`'s: first in, first out.

use super::Tid;

/// Thread ids in the order they were queued. The buffer's length is its capacity, a power
/// of two (or 0 before the first push); `head` is the first id's slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct PollQueue {
    buf: Vec<Tid>,
    head: usize,
    len: usize,
}

impl PollQueue {
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many ids it holds without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    #[inline(always)]
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// The first id queued, if any.
    #[inline(always)]
    pub(crate) fn front(&self) -> Option<&Tid> {
        match self.len {
            0 => None,
            _ => self.buf.get(self.head),
        }
    }

    /// Queues `tid` last.
    #[inline(always)]
    pub(crate) fn push_back(&mut self, tid: Tid) {
        if self.len == self.buf.len() {
            self.grow();
        }
        let at = (self.head + self.len) & (self.buf.len() - 1);
        self.buf[at] = tid;
        self.len += 1;
    }

    /// Takes the first id queued, if any.
    #[inline(always)]
    pub(crate) fn pop_front(&mut self) -> Option<Tid> {
        if self.len == 0 {
            return None;
        }
        let tid = self.buf[self.head];
        self.head = (self.head + 1) & (self.buf.len() - 1);
        self.len -= 1;
        Some(tid)
    }

    /// Keeps only the ids for which `keep` is true, in their order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Tid) -> bool) {
        let mask = self.buf.len().wrapping_sub(1);
        let mut kept = 0;
        for i in 0..self.len {
            let tid = self.buf[(self.head + i) & mask];
            if keep(&tid) {
                self.buf[(self.head + kept) & mask] = tid;
                kept += 1;
            }
        }
        self.len = kept;
    }

    /// The ids in order, first to last.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Tid> + '_ {
        let mask = self.buf.len().wrapping_sub(1);
        (0..self.len).map(move |i| self.buf[(self.head + i) & mask])
    }

    /// Doubles the buffer (at least 4 slots), the ids moved to its start in order.
    #[inline(never)]
    fn grow(&mut self) {
        let cap = (self.buf.len() * 2).max(4);
        let mut buf = Vec::with_capacity(cap);
        buf.extend(self.iter());
        buf.resize(cap, 0);
        self.buf = buf;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::PollQueue;
    use std::collections::VecDeque;

    /// The ring answers as a `VecDeque` does through pushes, pops, growth, wrap-around
    /// and `retain` (the driver's order of polling depends on it).
    #[test]
    fn matches_a_vec_deque() {
        let mut q = PollQueue::default();
        let mut model: VecDeque<u32> = VecDeque::new();
        let mut x: u32 = 7;
        for step in 0..5_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match (x >> 16) % 8 {
                0..=3 => {
                    q.push_back(step * 4);
                    model.push_back(step * 4);
                }
                4..=5 => assert_eq!(q.pop_front(), model.pop_front()),
                6 => {
                    let m = (x >> 8) % 3;
                    q.retain(|t| (t / 4) % 3 != m);
                    model.retain(|t| (t / 4) % 3 != m);
                }
                _ if step % 97 == 0 => {
                    q.clear();
                    model.clear();
                }
                _ => {}
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
            assert_eq!(q.front(), model.front());
            assert!(q.iter().eq(model.iter().copied()));
        }
    }
}
