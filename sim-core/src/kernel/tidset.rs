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
//! among any number of blocked ones) it is a sorted list only, and its bitmap is empty:
//! the scheduler's options each step are a copy of a few words, not a scan of the bitmap
//! (issue 13: 83 instructions a step on the mutex + events producer/consumer went to the
//! scan), and a thread parking and being stepped moves a few words of the list instead
//! of updating both the list and the bitmap (121 instructions a step on the pipe
//! producer/consumer went to the two). Past `LISTED` ids the set is a bitmap only, until
//! it falls to half of that.
//!
//! The first 64 ids (0 to 252: a run's first threads, which make most of its calls) are
//! one word beside all that, `low`: a thread parking there and being stepped sets and
//! clears a bit, and listing them is a walk over that word's bits (issue 13: the list's
//! insertion, removal and copy cost 109 instructions a step on the producer/consumers,
//! with two threads runnable). The list and the bitmap hold the ids from 256 on.

use super::Tid;

/// How many ids the sorted list holds before the set moves to its bitmap.
const LISTED: usize = 32;

/// Ids below this are bits of `TidSet::low`.
pub(crate) const LOW: Tid = 64 * 4;

/// Thread ids (multiples of 4), in id order.
#[derive(Clone, Default)]
pub(crate) struct TidSet {
    /// Bit `id / 4` is set when id `id` (below `LOW`) is in the set.
    low: u64,
    /// While `unlisted`: bit `i % 64` of word `i / 64` is set when id `4 * i` is in the
    /// set. Otherwise every word is zero.
    words: Vec<u64>,
    /// While `unlisted`: bit `w % 64` of summary word `w / 64` is set when word `w` is not
    /// zero. Otherwise every word is zero.
    summary: Vec<u64>,
    /// The ids from `LOW` on (those in `low` are not counted).
    len: usize,
    /// While not `unlisted`: the first `len` entries are the ids, in increasing order.
    list: [Tid; LISTED],
    /// The set grew past `LISTED` ids: it is kept in the bitmap until it is small again.
    unlisted: bool,
}

impl TidSet {
    fn index(tid: Tid) -> usize {
        assert!(tid.is_multiple_of(4), "simulator bug: thread id {tid} is not a multiple of 4");
        (tid / 4) as usize
    }

    /// Empties the set, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.low = 0;
        self.words.clear();
        self.summary.clear();
        self.len = 0;
        self.unlisted = false;
    }

    /// How many ids it holds.
    pub(crate) fn len(&self) -> usize {
        self.low.count_ones() as usize + self.len
    }

    /// The memory it keeps, in words.
    pub(crate) fn capacity(&self) -> usize {
        self.words.capacity() + self.summary.capacity()
    }

    /// Adds `tid`; returns whether it was not there.
    #[inline(always)]
    pub(crate) fn insert(&mut self, tid: Tid) -> bool {
        if tid < LOW {
            assert!(tid.is_multiple_of(4), "simulator bug: thread id {tid} is not a multiple of 4");
            let bit = 1u64 << (tid / 4);
            let added = self.low & bit == 0;
            self.low |= bit;
            return added;
        }
        // The first id from `LOW` on, in line (a program past its first 64 ids whose
        // runnable threads are few: issue 13). (The bitmap is left at more than
        // `LISTED / 2` ids: an empty set is listed.)
        if self.len == 0 && tid.is_multiple_of(4) {
            debug_assert!(!self.unlisted);
            self.list[0] = tid;
            self.len = 1;
            return true;
        }
        self.insert_high(tid)
    }

    /// `insert` of an id from `LOW` on.
    #[inline(never)]
    fn insert_high(&mut self, tid: Tid) -> bool {
        if self.unlisted {
            return self.bit_insert(tid);
        }
        assert!(tid.is_multiple_of(4), "simulator bug: thread id {tid} is not a multiple of 4");
        let n = self.len;
        // From the end: a thread parking usually has the highest id of the few listed.
        let mut i = n;
        while i > 0 && self.list[i - 1] > tid {
            i -= 1;
        }
        if i > 0 && self.list[i - 1] == tid {
            return false;
        }
        if n == LISTED {
            self.move_to_bitmap();
            return self.bit_insert(tid);
        }
        let mut j = n;
        while j > i {
            self.list[j] = self.list[j - 1];
            j -= 1;
        }
        self.list[i] = tid;
        self.len = n + 1;
        true
    }

    /// Removes `tid`; returns whether it was there.
    #[inline(always)]
    pub(crate) fn remove(&mut self, tid: &Tid) -> bool {
        let tid = *tid;
        if tid < LOW {
            if !tid.is_multiple_of(4) {
                return false;
            }
            let bit = 1u64 << (tid / 4);
            let removed = self.low & bit != 0;
            self.low &= !bit;
            return removed;
        }
        // The last id from `LOW` on, in line (as `insert`'s first). (One id is listed.)
        if self.len == 1 && self.list[0] == tid {
            debug_assert!(!self.unlisted);
            self.len = 0;
            return true;
        }
        self.remove_high(&tid)
    }

    /// `remove` of an id from `LOW` on.
    #[inline(never)]
    fn remove_high(&mut self, tid: &Tid) -> bool {
        if self.unlisted {
            return self.bit_remove(*tid);
        }
        let n = self.len;
        let Some(at) = self.list[..n].iter().position(|t| t == tid) else { return false };
        for j in at..n - 1 {
            self.list[j] = self.list[j + 1];
        }
        self.len = n - 1;
        true
    }

    /// The set grows past `LISTED` ids: its list goes into the bitmap.
    #[cold]
    #[inline(never)]
    fn move_to_bitmap(&mut self) {
        let n = self.len;
        self.len = 0;
        self.unlisted = true;
        for k in 0..n {
            let tid = self.list[k];
            self.bit_insert(tid);
        }
    }

    fn bit_insert(&mut self, tid: Tid) -> bool {
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
        true
    }

    fn bit_remove(&mut self, tid: Tid) -> bool {
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
                if self.len <= LISTED / 2 {
                    self.relist();
                }
                true
            }
            _ => false,
        }
    }

    /// The set is small again: its bitmap goes back into the list, and is left empty
    /// (the words that were set are cleared; the memory is kept).
    #[cold]
    #[inline(never)]
    fn relist(&mut self) {
        let mut n = 0;
        for s in 0..self.summary.len() {
            let mut words = std::mem::take(&mut self.summary[s]);
            while words != 0 {
                let w = s * 64 + words.trailing_zeros() as usize;
                words &= words - 1;
                let mut bits = std::mem::take(&mut self.words[w]);
                while bits != 0 {
                    self.list[n] = ((w * 64 + bits.trailing_zeros() as usize) * 4) as Tid;
                    n += 1;
                    bits &= bits - 1;
                }
            }
        }
        debug_assert_eq!(n, self.len);
        self.unlisted = false;
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, w: usize) {
        self.words.resize(w + 1, 0);
        self.summary.resize(w / 64 + 1, 0);
    }

    /// The set as one word, when every id in it is below `LOW` (the usual case): bit
    /// `id / 4` set for each id, as in `low`. `None` when it holds an id from `LOW` on.
    #[inline(always)]
    pub(crate) fn low_only(&self) -> Option<u64> {
        if self.len == 0 { Some(self.low) } else { None }
    }

    /// The ids, in increasing order, when the set holds one or two and one of them is
    /// from `LOW` on (where `low_only` answers `None`): a program's threads past its first
    /// 64 ids, with the rest blocked, choose among them without a list (issue 13).
    /// `None` for an empty set, one that `low_only` answers, or one of three ids or more.
    #[inline]
    pub(crate) fn few_high(&self) -> Option<(Tid, Option<Tid>)> {
        if self.unlisted {
            return None;
        }
        let low = self.low;
        match self.len {
            1 if low == 0 => Some((self.list[0], None)),
            // Every id in `low` is below every listed one.
            1 if low & (low - 1) == 0 => Some((low.trailing_zeros() * 4, Some(self.list[0]))),
            2 if low == 0 => Some((self.list[0], Some(self.list[1]))),
            _ => None,
        }
    }

    /// Appends the ids, in increasing order, to `out`.
    #[inline(always)]
    pub(crate) fn extend_into(&self, out: &mut Vec<Tid>) {
        let mut bits = self.low;
        while bits != 0 {
            out.push(bits.trailing_zeros() * 4);
            bits &= bits - 1;
        }
        if self.len > 0 {
            self.extend_high_into(out);
        }
    }

    /// `extend_into` of the ids from `LOW` on.
    #[inline(never)]
    fn extend_high_into(&self, out: &mut Vec<Tid>) {
        if self.unlisted {
            self.scan_into(out);
        } else {
            out.extend_from_slice(&self.list[..self.len]);
        }
    }

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
        self.len() == other.len() && self.iter().eq(other.iter())
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
            assert_eq!(s.len(), model.len());
        }
        assert!(s.iter().eq(model.iter().copied()));
        assert!(!s.remove(&5) && !s.remove(&400_000));
        for t in model.clone() {
            assert!(s.remove(&t));
        }
        assert!(s.len() == 0 && s.low == 0 && s.iter().next().is_none());
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
            // The population drifts between a few ids and about 3 * LISTED, above the
            // ids kept in `low` (and, every fourth stretch, among them too).
            let span = 4 + (round / 500 % 24) * 4;
            let base = if (round / 500).is_multiple_of(4) { super::LOW - 32 } else { super::LOW };
            let tid = base + ((x >> 8) % span) * 4;
            if (x >> 4) & 1 == 0 {
                assert_eq!(s.remove(&tid), model.remove(&tid));
            } else {
                assert_eq!(s.insert(tid), model.insert(tid));
            }
            let mut listed = Vec::new();
            s.extend_into(&mut listed);
            assert!(listed.iter().eq(model.iter()), "round {round}: {listed:?}");
            // One or two ids, one of them past `low`: `few_high` gives them in order
            // (issue 13); a set of the word's ids only is `low_only`'s.
            assert_eq!(s.few_high(), few_high_of(&model), "round {round}: {model:?}");
            let word = model.range(..super::LOW).fold(0u64, |w, &t| w | 1 << (t / 4));
            let only_low = model.last().is_none_or(|&last| last < super::LOW);
            assert_eq!(s.low_only(), only_low.then_some(word), "round {round}");
            // Past the limit the list is dropped; at half of it or below it is kept again.
            let high = model.range(super::LOW..).count();
            if high > super::LISTED {
                assert!(s.unlisted, "round {round}: {high} ids listed");
            }
            if high <= super::LISTED / 2 {
                assert!(!s.unlisted, "round {round}: {high} ids not listed");
            }
            // A listed set leaves its bitmap empty.
            if !s.unlisted {
                assert!(s.words.iter().chain(&s.summary).all(|&w| w == 0), "round {round}: bits set while listed");
            }
        }
        s.clear();
        assert!(!s.unlisted && s.iter().next().is_none());
    }

    /// What `few_high` answers for the set `model`: its ids, in order, when they are one
    /// or two and one is from `LOW` on.
    fn few_high_of(model: &BTreeSet<u32>) -> Option<(u32, Option<u32>)> {
        match (model.len(), model.last()) {
            (1..=2, Some(&last)) if last >= super::LOW => {
                let mut ids = model.iter().copied();
                ids.next().map(|first| (first, ids.next()))
            }
            _ => None,
        }
    }

    /// Issue 13: a set of a few ids on both sides of `LOW` (the runnable threads of a
    /// program past its first 64 ids) answers `few_high` with its one or two ids, in
    /// order, through every shape (one listed id, a word's id and a listed one, two listed
    /// ids), and `None` otherwise; the in-line insertion of the first listed id and
    /// removal of the last keep the set as the model.
    #[test]
    fn a_few_ids_past_the_word_are_given_without_a_list() {
        let mut s = TidSet::default();
        let mut model = BTreeSet::new();
        let mut shapes = [0; 4];
        let mut x: u32 = 4242;
        for round in 0..5_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let tid = super::LOW - 8 + ((x >> 8) % 5) * 4;
            if (x >> 4) & 1 == 0 {
                assert_eq!(s.remove(&tid), model.remove(&tid));
            } else {
                assert_eq!(s.insert(tid), model.insert(tid));
            }
            assert!(s.iter().eq(model.iter().copied()), "round {round}");
            let few = s.few_high();
            assert_eq!(few, few_high_of(&model), "round {round}: {model:?}");
            match few {
                Some((_, None)) => shapes[0] += 1,
                Some((first, Some(_))) if first < super::LOW => shapes[1] += 1,
                Some(_) => shapes[2] += 1,
                None => shapes[3] += 1,
            }
        }
        assert!(shapes.iter().all(|&n| n > 0), "{shapes:?}");
    }
}
