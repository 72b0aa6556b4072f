//! A map from thread or process ids to objects, indexed directly by the id.
//!
//! Process and thread ids come from one pool of multiples of 4 that only grows
//! (`Kernel::next_cid`), so `id / 4` indexes a vector: a lookup is one bounds check and one
//! load, whatever the number of threads (a `BTreeMap` costs a tree walk per lookup, and the
//! kernel looks a thread up several times per step). Iteration is in id order, as the
//! `BTreeMap` it replaces iterated.

/// Ids (multiples of 4, though any `u32` works) to values.
#[derive(Clone)]
pub(crate) struct IdMap<V> {
    slots: Vec<Option<V>>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap { slots: Vec::new() }
    }
}

impl<V> IdMap<V> {
    fn index(id: u32) -> usize {
        // Ids are multiples of 4; another id still gets its own slot (id / 4 collides
        // only between ids of one group of four, which the kernel never hands out).
        (id / 4) as usize
    }

    #[inline]
    pub(crate) fn get(&self, id: &u32) -> Option<&V> {
        self.slots.get(Self::index(*id)).and_then(Option::as_ref).filter(|_| id.is_multiple_of(4))
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &u32) -> Option<&mut V> {
        if !id.is_multiple_of(4) {
            return None;
        }
        self.slots.get_mut(Self::index(*id)).and_then(Option::as_mut)
    }

    /// The number of slots it keeps memory for.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Removes every entry, dropping the values in id order (as a `BTreeMap` does).
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
    }

    pub(crate) fn contains_key(&self, id: &u32) -> bool {
        self.get(id).is_some()
    }

    /// Inserts `v` at `id` (a multiple of 4); returns the value it replaces.
    pub(crate) fn insert(&mut self, id: u32, v: V) -> Option<V> {
        assert!(id.is_multiple_of(4), "simulator bug: id {id} is not a multiple of 4");
        let i = Self::index(id);
        if i == self.slots.len() {
            // The next id: a push (ids come from one growing pool).
            self.slots.push(Some(v));
            return None;
        }
        if i > self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(v)
    }

    pub(crate) fn remove(&mut self, id: &u32) -> Option<V> {
        if !id.is_multiple_of(4) {
            return None;
        }
        self.slots.get_mut(Self::index(*id)).and_then(Option::take)
    }

    /// The entries in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &V)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, v)| v.as_ref().map(|v| (i as u32 * 4, v)))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.slots.iter().filter_map(Option::as_ref)
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for IdMap<V> {
    /// As a `BTreeMap` shows itself: `{4: .., 8: ..}` (the footprint hashes this text).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> std::ops::Index<&u32> for IdMap<V> {
    type Output = V;
    fn index(&self, id: &u32) -> &V {
        self.get(id).unwrap_or_else(|| panic!("simulator bug: no entry for id {id}"))
    }
}

impl<'a, V> IntoIterator for &'a IdMap<V> {
    type Item = (u32, &'a V);
    type IntoIter = Box<dyn Iterator<Item = (u32, &'a V)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;

    #[test]
    fn behaves_as_an_ordered_map_of_multiples_of_four() {
        let mut m = IdMap::default();
        assert_eq!(m.insert(8, 'b'), None);
        assert_eq!(m.insert(4, 'a'), None);
        assert_eq!(m.insert(8, 'c'), Some('b'));
        assert_eq!(m.iter().count(), 2);
        assert_eq!(m.get(&8), Some(&'c'));
        assert_eq!(m.get(&9), None, "an id that is not a multiple of 4 names nothing");
        assert_eq!(m.get(&400), None);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(4, &'a'), (8, &'c')]);
        assert_eq!(format!("{m:?}"), "{4: 'a', 8: 'c'}");
        assert_eq!(m.remove(&4), Some('a'));
        assert_eq!(m.remove(&4), None);
        assert_eq!(m.iter().map(|(k, _)| k).collect::<Vec<_>>(), vec![8]);
    }
}
#[cfg(test)]
mod sizes {
    /// Every call's result moves through several layers (handler, `Exec`, the thread, the
    /// API future); kept small, it moves in registers instead of through `memcpy`
    /// (docs/performance.md, issue 13). A large `Value` payload belongs in a `Box`.
    #[test]
    fn a_reply_and_a_request_stay_small() {
        assert!(std::mem::size_of::<crate::kernel::Reply>() <= 64, "Reply grew past 64 bytes");
        assert!(std::mem::size_of::<crate::kernel::request::Request>() <= 128, "Request grew past 128 bytes");
    }
}
