//! Per-process handle tables, shaped like Windows' (and Wine's server/handle.c).
//!
//! A handle value is `(slot + 1) * 4`; the lowest free slot is reused, so a program that
//! uses a handle after closing it reproduces the same confusion in every run. The low two
//! bits of a value are ignored on lookup (§7.1). Every entry remembers where it came
//! from (its provenance), so a deadlock report can say "created by CreatePipe at step 3,
//! inherited by CreateProcess at step 5".
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use crate::objects::ObjectId;
use crate::types::{HANDLE, HANDLE_FLAG_INHERIT, HANDLE_FLAG_PROTECT_FROM_CLOSE};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// One step in a handle's history. (`api` and `how` are the kernel's constant texts,
/// borrowed: a handle's creation and its close allocate none, and a history's copy at a
/// close copies no text; issue 13.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The kernel step at which it happened.
    pub step: u64,
    /// The Win32 call that made this handle value (e.g. `CreatePipe`, `CreateProcess`).
    pub api: Cow<'static, str>,
    /// What the call did: `created`, `inherited`, `duplicated`, `opened`.
    pub how: Cow<'static, str>,
    /// Process id of the caller.
    pub by_pid: u32,
    /// Thread id of the caller (0 when the kernel itself acted).
    pub by_tid: u32,
    /// For inherited and duplicated handles: the source process id and handle value.
    pub from: Option<(u32, HANDLE)>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} by {} at step {} (P{}", self.how, self.api, self.step, self.by_pid)?;
        if self.by_tid != 0 {
            write!(f, "/T{}", self.by_tid)?;
        }
        f.write_str(")")?;
        if let Some((pid, h)) = self.from {
            write!(f, " from P{pid} handle {h}")?;
        }
        Ok(())
    }
}

/// A handle table entry.
#[derive(Clone, Debug)]
pub struct HandleEntry {
    /// The object this handle refers to.
    pub object: ObjectId,
    /// The granted access mask (generic rights already mapped).
    pub access: u32,
    /// `HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE` bits.
    pub flags: u32,
    /// Where this handle came from, oldest first (for an inherited handle: the creation in
    /// the parent, then the inheritance).
    pub history: Vec<Origin>,
}

impl HandleEntry {
    /// True when HANDLE_FLAG_INHERIT is set.
    pub fn inheritable(&self) -> bool {
        self.flags & HANDLE_FLAG_INHERIT != 0
    }
    /// True when HANDLE_FLAG_PROTECT_FROM_CLOSE is set.
    pub fn protected(&self) -> bool {
        self.flags & HANDLE_FLAG_PROTECT_FROM_CLOSE != 0
    }
}

/// A process's handle table.
#[derive(Clone, Debug, Default)]
pub struct HandleTable {
    // Invariant: `entries.len()` never exceeds the configured handles_max; trailing
    // `None`s are trimmed so the table does not grow without bound.
    entries: Vec<Option<HandleEntry>>,
    count: usize,
    // Invariant: exactly the indices of `None` slots in `entries`.
    free: std::collections::BTreeSet<usize>,
}

/// Converts a handle value to a slot index, ignoring the low two tag bits.
fn slot_of(h: HANDLE) -> Option<usize> {
    if h.0 <= 0 {
        return None;
    }
    let v = (h.0 as usize) >> 2;
    v.checked_sub(1)
}

/// The handle value of a slot.
pub fn handle_of(slot: usize) -> HANDLE {
    HANDLE(((slot + 1) * 4) as isize)
}

impl HandleTable {
    /// Number of open handles.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no handle is open.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Looks a handle up (low two bits ignored).
    #[inline]
    pub fn get(&self, h: HANDLE) -> Option<&HandleEntry> {
        // `slot_of`, with its two tests folded into the bounds check: a value below 4
        // wraps to `usize::MAX` and a negative one shifts to at least 2^61 - 1, both past any
        // table's end (issue 13: one test less at every call that names a handle).
        let slot = ((h.0 as usize) >> 2).wrapping_sub(1);
        debug_assert!(slot_of(h).is_some() || slot >= (1 << 61) - 1);
        self.entries.get(slot).and_then(|e| e.as_ref())
    }

    /// Looks a handle up mutably.
    pub fn get_mut(&mut self, h: HANDLE) -> Option<&mut HandleEntry> {
        slot_of(h).and_then(|s| self.entries.get_mut(s)).and_then(|e| e.as_mut())
    }

    /// Allocates the lowest free slot; `None` when the table holds `max` handles.
    pub fn alloc(&mut self, entry: HandleEntry, max: usize) -> Option<HANDLE> {
        if let Some(slot) = self.free.pop_first() {
            self.entries[slot] = Some(entry);
            self.count += 1;
            return Some(handle_of(slot));
        }
        if self.entries.len() >= max {
            return None;
        }
        self.entries.push(Some(entry));
        self.count += 1;
        Some(handle_of(self.entries.len() - 1))
    }

    /// Puts an entry at a specific value (inheritance keeps the parent's values). The slot
    /// must be free; returns false when it is not or is beyond `max`.
    pub fn insert_at(&mut self, h: HANDLE, entry: HandleEntry, max: usize) -> bool {
        let Some(slot) = slot_of(h) else { return false };
        if slot >= max {
            return false;
        }
        if self.entries.len() <= slot {
            self.free.extend(self.entries.len()..slot + 1);
            self.entries.resize_with(slot + 1, || None);
        }
        if self.entries[slot].is_some() {
            return false;
        }
        self.free.remove(&slot);
        self.entries[slot] = Some(entry);
        self.count += 1;
        true
    }

    /// Removes a handle, returning its entry.
    pub fn remove(&mut self, h: HANDLE) -> Option<HandleEntry> {
        let slot = slot_of(h)?;
        let e = self.entries.get_mut(slot)?.take()?;
        self.count -= 1;
        self.free.insert(slot);
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
            self.free.remove(&self.entries.len());
        }
        Some(e)
    }

    /// Iterates over open handles in value order.
    pub fn iter(&self) -> impl Iterator<Item = (HANDLE, &HandleEntry)> {
        self.entries.iter().enumerate().filter_map(|(i, e)| e.as_ref().map(|e| (handle_of(i), e)))
    }

    /// Checks the table's own invariants: the free set is exactly the empty slots below
    /// the end, the count is the number of entries, and the last slot is in use.
    pub fn check(&self) {
        let empty: std::collections::BTreeSet<usize> =
            self.entries.iter().enumerate().filter(|(_, e)| e.is_none()).map(|(i, _)| i).collect();
        assert_eq!(self.free, empty, "simulator bug: a handle table's free set is off");
        assert_eq!(self.count, self.entries.len() - empty.len(), "simulator bug: a handle table's count is off");
        assert!(!matches!(self.entries.last(), Some(None)), "simulator bug: a handle table ends with a free slot");
    }

    /// Takes every entry out as the table's slots (slot `i` holds handle `handle_of(i)`),
    /// without copying them out (process exit).
    /// An empty table over `entries`, an emptied slot vector kept for reuse.
    pub(crate) fn with_slots(entries: Vec<Option<HandleEntry>>) -> HandleTable {
        debug_assert!(entries.is_empty());
        HandleTable { entries, count: 0, free: Default::default() }
    }

    pub(crate) fn take_slots(&mut self) -> Vec<Option<HandleEntry>> {
        self.count = 0;
        self.free.clear();
        std::mem::take(&mut self.entries)
    }

    /// Takes every entry out, in value order (process exit).
    pub fn drain(&mut self) -> Vec<(HANDLE, HandleEntry)> {
        self.take_slots().into_iter().enumerate().filter_map(|(i, e)| e.map(|e| (handle_of(i), e))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotmap::KeyData;

    fn entry() -> HandleEntry {
        HandleEntry { object: ObjectId::from(KeyData::from_ffi(1)), access: 0, flags: 0, history: vec![] }
    }

    #[test]
    fn values_are_multiples_of_four_and_lowest_free_is_reused() {
        let mut t = HandleTable::default();
        let a = t.alloc(entry(), 100).unwrap();
        let b = t.alloc(entry(), 100).unwrap();
        let c = t.alloc(entry(), 100).unwrap();
        assert_eq!((a.0, b.0, c.0), (4, 8, 12));
        t.remove(a).unwrap();
        assert_eq!(t.alloc(entry(), 100).unwrap().0, 4);
        // Low two bits are ignored (§7.1).
        assert!(t.get(HANDLE(9)).is_some());
        assert!(t.get(HANDLE(11)).is_some());
        assert!(t.get(HANDLE(0)).is_none());
        assert!(t.get(HANDLE(-1)).is_none());
    }

    #[test]
    fn free_slots_stay_in_step_with_inserts_at_values() {
        let mut t = HandleTable::default();
        // Inheritance puts entries at the parent's values, leaving holes below.
        assert!(t.insert_at(HANDLE(16), entry(), 100));
        assert_eq!(t.alloc(entry(), 100).unwrap().0, 4);
        assert!(t.insert_at(HANDLE(8), entry(), 100));
        assert!(!t.insert_at(HANDLE(8), entry(), 100), "slot taken");
        assert_eq!(t.alloc(entry(), 100).unwrap().0, 12);
        assert_eq!(t.alloc(entry(), 100).unwrap().0, 20);
        t.remove(HANDLE(20)).unwrap();
        t.remove(HANDLE(16)).unwrap();
        assert_eq!(t.alloc(entry(), 100).unwrap().0, 16);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn limit_is_enforced() {
        let mut t = HandleTable::default();
        assert!(t.alloc(entry(), 1).is_some());
        assert!(t.alloc(entry(), 1).is_none());
    }
}
