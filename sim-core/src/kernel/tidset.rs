//! A set of thread ids as a two-level bitmap: the runnable set (`Kernel::parked`).
//!
//! Thread ids are multiples of 4 from a pool that only grows (`Kernel::next_cid`), so
//! `id / 4` indexes a bit. A thread parks and is stepped at every call, so insertion and
//! removal are two word updates each (a `BTreeSet` walks and rebalances nodes, and
//! allocates when it grows). Iteration is in id order, as the `BTreeSet` it replaces
//! iterated: a summary word per 64 words says which words have a bit set, so iterating
//! skips empty stretches 4,096 ids at a time (100,000 idle threads cost 25 summary
//! words a scan).
//!
//! While the set is small (at most `LISTED` ids, the usual case: a few runnable threads
//! among any number of blocked ones) it also keeps its ids as a sorted list, so the
//! scheduler's options each step are a copy of a few words, not a scan of the bitmap
//! (issue 13: 83 instructions a step on the mutex + events producer/consumer went to
//! the scan).

use super::Tid;

/// How many ids the sorted list keeps before the set is listed from its bitmap only.
const LISTED: usize = 32;

/// Thread ids (multiples of 4), in id order.
#[derive(Clone, Default)]
pub(crate) struct TidSet {
    /// Bit `i % 64` of word `i / 64` is set when id `4 * i` is in the set.
    words: Vec<u64>,
    /// Bit `w % 64` of summary word `w / 64` is set when word `w` is not zero.
    summary: Vec<u64>,
    len: usize,
    /// The first `listed` entries are the ids in increasing order, while `unlisted` is
    /// false.
    list: [Tid; LISTED],
    listed: u8,
    /// The set grew past `LISTED` ids: `list` is not kept until it is small again.
    unlisted: bool,
}

impl TidSet {
    fn index(tid: Tid) -> usize {
        assert!(tid.is_multiple_of(4), "simulator bug: thread id {tid} is not a multiple of 4");
        (tid / 4) as usize
    }

    /// Empties the set, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.words.clear();
        self.summary.clear();
        self.len = 0;
        self.listed = 0;
        self.unlisted = false;
    }

    /// The memory it keeps, in words.
    pub(crate) fn capacity(&self) -> usize {
        self.words.capacity() + self.summary.capacity()
    }

    /// Adds `tid`; returns whether it was not there.
    #[inline]
    pub(crate) fn insert(&mut self, tid: Tid) -> bool {
        let i = Self::index(tid);
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        if w >= self.words.len() {
            self.grow(w);
        }
        let word = &mut self.words[w];
        if *word & bit != 0 {
            return false;
        }
        *word |= bit;
        self.summary[w / 64] |= 1u64 << (w % 64);
        self.len += 1;
        if !self.unlisted {
            self.list_insert(tid);
        }
        true
    }

    /// Puts a new id into the sorted list (a few ids: shifted in place, no memmove call),
    /// or stops keeping the list once the set is large.
    #[inline]
    fn list_insert(&mut self, tid: Tid) {
        let n = self.listed as usize;
        if n == LISTED {
            self.unlisted = true;
            return;
        }
        let mut i = n;
        while i > 0 && self.list[i - 1] > tid {
            self.list[i] = self.list[i - 1];
            i -= 1;
        }
        self.list[i] = tid;
        self.listed += 1;
    }

    /// Takes an id out of the sorted list, or lists the set again once it is small (at
    /// most half of `LISTED`: a set hovering at the limit is not listed anew each time).
    #[inline]
    fn list_remove(&mut self, tid: Tid) {
        if !self.unlisted {
            let n = self.listed as usize;
            if let Some(at) = self.list[..n].iter().position(|&t| t == tid) {
                for j in at..n - 1 {
                    self.list[j] = self.list[j + 1];
                }
                self.listed -= 1;
            }
        } else if self.len <= LISTED / 2 {
            self.relist();
        }
    }

    /// Lists the set from its bitmap (out of line: after a large set shrank).
    #[cold]
    #[inline(never)]
    fn relist(&mut self) {
        let mut ids = Vec::with_capacity(self.len);
        self.scan_into(&mut ids);
        self.list[..ids.len()].copy_from_slice(&ids);
        self.listed = ids.len() as u8;
        self.unlisted = false;
    }

    /// Makes room for word `w` (out of line: a set grows a few times a run, and a thread
    /// parks at every call).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, w: usize) {
        self.words.resize(w + 1, 0);
        self.summary.resize(w / 64 + 1, 0);
    }

    /// Removes `tid`; returns whether it was there.
    #[inline]
    pub(crate) fn remove(&mut self, tid: &Tid) -> bool {
        if !tid.is_multiple_of(4) {
            return false;
        }
        let i = (tid / 4) as usize;
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        match self.words.get_mut(w) {
            Some(word) if *word & bit != 0 => {
                *word &= !bit;
                if *word == 0 {
                    self.summary[w / 64] &= !(1u64 << (w % 64));
                }
                self.len -= 1;
                self.list_remove(*tid);
                true
            }
            _ => false,
        }
    }

    /// Appends the ids to `out` in increasing order (the scheduler's options each step).
    #[inline]
    pub(crate) fn extend_into(&self, out: &mut Vec<Tid>) {
        if self.unlisted {
            self.scan_into(out);
        } else {
            out.extend_from_slice(&self.list[..self.listed as usize]);
        }
    }

    /// Appends the ids to `out` in increasing order, read from the bitmap.
    fn scan_into(&self, out: &mut Vec<Tid>) {
        out.reserve(self.len);
        for (s, &summary) in self.summary.iter().enumerate() {
            let mut words = summary;
            while words != 0 {
                let w = s * 64 + words.trailing_zeros() as usize;
                words &= words - 1;
                let mut bits = self.words[w];
                while bits != 0 {
                    out.push(((w * 64 + bits.trailing_zeros() as usize) * 4) as Tid);
                    bits &= bits - 1;
                }
            }
        }
    }

    /// The ids in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Tid> + '_ {
        let mut ids = Vec::new();
        self.extend_into(&mut ids);
        ids.into_iter()
    }
}

impl PartialEq for TidSet {
    fn eq(&self, other: &TidSet) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for TidSet {
    /// As a `BTreeSet` shows itself: `{4, 8}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Tid> for TidSet {
    fn from_iter<I: IntoIterator<Item = Tid>>(iter: I) -> TidSet {
        let mut s = TidSet::default();
        for t in iter {
            s.insert(t);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::TidSet;
    use std::collections::BTreeSet;

    #[test]
    fn behaves_as_an_ordered_set_of_multiples_of_four() {
        let mut s = TidSet::default();
        let mut model = BTreeSet::new();
        // A deterministic mix of inserts and removals over ids that span several summary
        // words (4 * 64 * 64 = 16,384 ids a summary word).
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let tid = ((x >> 8) % 40_000) * 4;
            if (x >> 4).is_multiple_of(3) {
                assert_eq!(s.remove(&tid), model.remove(&tid));
            } else {
                assert_eq!(s.insert(tid), model.insert(tid));
            }
            assert_eq!(s.len, model.len());
        }
        assert!(s.iter().eq(model.iter().copied()));
        assert!(!s.remove(&5) && !s.remove(&400_000));
        for t in model.clone() {
            assert!(s.remove(&t));
        }
        assert!(s.len == 0 && s.iter().next().is_none());
        let s: TidSet = [8, 4, 4096 * 4].into_iter().collect();
        assert_eq!(format!("{s:?}"), "{4, 8, 16384}");
    }

    /// The sorted list kept while the set is small agrees with the bitmap through growing
    /// past `LISTED`, shrinking back (listed again), and hovering around both limits.
    #[test]
    fn the_list_of_a_small_set_agrees_with_its_bitmap() {
        let mut s = TidSet::default();
        let mut model = BTreeSet::new();
        let mut x: u32 = 777;
        for round in 0..40_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            // The population drifts between a few ids and about 3 * LISTED.
            let span = 4 + (round / 500 % 24) * 4;
            let tid = ((x >> 8) % span) * 4;
            if (x >> 4) & 1 == 0 {
                assert_eq!(s.remove(&tid), model.remove(&tid));
            } else {
                assert_eq!(s.insert(tid), model.insert(tid));
            }
            let mut listed = Vec::new();
            s.extend_into(&mut listed);
            assert!(listed.iter().eq(model.iter()), "round {round}: {listed:?}");
            // Past the limit the list is dropped; at half of it or below it is kept again.
            if model.len() > super::LISTED {
                assert!(s.unlisted, "round {round}: {} ids listed", model.len());
            }
            if model.len() <= super::LISTED / 2 {
                assert!(!s.unlisted, "round {round}: {} ids not listed", model.len());
            }
        }
        s.clear();
        assert!(!s.unlisted && s.iter().next().is_none());
    }
}
