//! The kernel's arenas: its objects by `ObjectId` and its pending operations by `OpId`,
//! with the keys, versions, slot reuse and iteration order of `slotmap::SlotMap` (which
//! they replaced, issue 13), so that every id, state hash and trace is the same as before.
//!
//! Why not the slot map: an object is a few hundred bytes, and `SlotMap::insert` built
//! each one on the stack and copied it three times on its way into its slot (the body
//! into the object, the object into the slot, the slot into the vector), and `remove`
//! moved it out whole to drop it. An operation (176 bytes) was built on the stack, moved
//! into the insert's closure and copied from there into its slot by an insert that was not
//! inlined. Here a vacant slot holds a small stand-in value (`Vacant`) that owns nothing,
//! so that a new value is written into the slot itself, and a removed one is dropped
//! where it lies (`ObjectArena::remove_in_place`) or, owning nothing, left there
//! (`OpArena::remove_plain`). A look-up costs what the slot map's does: one bound check
//! and one version comparison, since a vacant slot's even version never equals a key's
//! odd one.

use crate::kernel::ops::{Op, OpId};
use crate::objects::{Body, Header, Object, ObjectId};
use slotmap::{Key, KeyData};
use std::marker::PhantomData;

/// A value an arena holds, with the stand-in its vacant slots hold: a value that owns
/// nothing (it is overwritten without being dropped), never seen through the arena's
/// look-ups or iterators.
pub(crate) trait Vacant {
    fn stand_in() -> Self;
}

/// One slot: its version (odd while a value lives in it, even while vacant, as the
/// slot map's), the next vacant slot while vacant, and the value or its stand-in.
/// In this order (`repr(C)`): the version a look-up compares then sits beside the
/// value's first fields (an object's header and body tag) that the look-up's caller
/// reads next, in one cache line (issue 13; in Rust's order it was past the object, 528
/// bytes on).
#[repr(C)]
struct Slot<V> {
    version: u32,
    next_free: u32,
    value: V,
}

/// Values by key (see the module's comment).
pub(crate) struct Arena<K, V> {
    /// Slot 0 is never used (the slot map's sentinel: its keys start at 1).
    slots: Vec<Slot<V>>,
    /// The vacant slot the next value goes into: the one vacated last, or past the end.
    free_head: u32,
    len: u32,
    keys: PhantomData<K>,
}

/// The kernel's objects.
pub(crate) type ObjectArena = Arena<ObjectId, Object>;

/// The kernel's pending operations.
pub(crate) type OpArena = Arena<OpId, Op>;

impl Vacant for Object {
    /// An empty header and an event's body, the smallest.
    fn stand_in() -> Object {
        Object { hdr: Header::vacant(), body: stand_in_body() }
    }
}

/// The stand-in's body (`Object::stand_in`).
#[inline(always)]
fn stand_in_body() -> Body {
    Body::Event(crate::objects::sync::Event { manual_reset: false, signalled: false })
}

#[inline(always)]
fn parts<K: Key>(id: K) -> (usize, u32) {
    let ffi = id.data().as_ffi();
    ((ffi & 0xffff_ffff) as usize, (ffi >> 32) as u32)
}

#[inline(always)]
fn key<K: Key>(idx: u32, version: u32) -> K {
    KeyData::from_ffi((u64::from(version) << 32) | u64::from(idx)).into()
}

impl<K: Key, V: Vacant> Arena<K, V> {
    /// An arena with room for `capacity` values before its first growth.
    pub(crate) fn with_capacity(capacity: usize) -> Arena<K, V> {
        let mut slots = Vec::with_capacity(capacity + 1);
        slots.push(Slot { version: 0, next_free: 0, value: V::stand_in() });
        let mut arena = Arena { slots, free_head: 1, len: 0, keys: PhantomData };
        arena.add_vacant(capacity);
        arena
    }

    /// An arena of no slots, not allocated: only to be dropped or replaced (it has not
    /// even slot 0, which an insert needs).
    pub(crate) fn empty() -> Arena<K, V> {
        Arena { slots: Vec::new(), free_head: 1, len: 0, keys: PhantomData }
    }

    /// How many slots the arena has (vacant ones and slot 0 included).
    pub(crate) fn slots_len(&self) -> usize {
        self.slots.len()
    }

    /// Adds `n` vacant slots past the end, each naming the next as the next vacant one:
    /// the free list goes on past the end in index order, as the slot map's did (its
    /// next slot was a new one at the end), so the keys are the same. Every value then
    /// goes into a vacant slot, written in place.
    #[inline(never)]
    fn add_vacant(&mut self, n: usize) {
        let start = self.slots.len();
        assert!(start + n < u32::MAX as usize, "simulator bug: an arena is full");
        self.slots.extend((start..start + n).map(|i| Slot {
            version: 0,
            next_free: i as u32 + 1,
            value: V::stand_in(),
        }));
    }

    /// The vacant slot the next value goes into (`free_head`), made if the arena is
    /// full: at most 64 at a time, so that memory is touched only a little ahead of use,
    /// as the slot map's vector's spare capacity was not touched at all (10,000 threads'
    /// peak memory rose by 3 MB when the vacant slots doubled the arena).
    #[inline(always)]
    fn vacant_slot(&mut self) -> &mut Slot<V> {
        let idx = self.free_head;
        if idx as usize == self.slots.len() {
            self.add_vacant(self.slots.len().clamp(8, 64));
        }
        let slot = &mut self.slots[idx as usize];
        debug_assert!(slot.version.is_multiple_of(2), "simulator bug: the free list names an occupied slot");
        slot
    }

    /// Marks the vacant slot at `free_head`, its value written, occupied: its key.
    #[inline(always)]
    fn occupy_vacant(&mut self) -> K {
        let idx = self.free_head;
        let slot = &mut self.slots[idx as usize];
        slot.version |= 1;
        self.free_head = slot.next_free;
        self.len += 1;
        key(idx, slot.version)
    }

    /// The number of values.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether `id`'s value still exists.
    #[inline(always)]
    pub(crate) fn contains_key(&self, id: K) -> bool {
        let (idx, version) = parts(id);
        self.slots.get(idx).is_some_and(|s| s.version == version)
    }

    /// `id`'s value, if it still exists.
    #[inline(always)]
    pub(crate) fn get(&self, id: K) -> Option<&V> {
        let (idx, version) = parts(id);
        self.slots.get(idx).filter(|s| s.version == version).map(|s| &s.value)
    }

    /// `id`'s value, if it still exists.
    #[inline(always)]
    pub(crate) fn get_mut(&mut self, id: K) -> Option<&mut V> {
        let (idx, version) = parts(id);
        self.slots.get_mut(idx).filter(|s| s.version == version).map(|s| &mut s.value)
    }

    /// The values of two distinct ids at once, if both still exist (`None` for the same
    /// id twice).
    #[inline(always)]
    pub(crate) fn get_pair_mut(&mut self, a: K, b: K) -> Option<(&mut V, &mut V)> {
        let ((ia, va), (ib, vb)) = (parts(a), parts(b));
        let [sa, sb] = self.slots.get_disjoint_mut([ia, ib]).ok()?;
        (sa.version == va && sb.version == vb).then_some((&mut sa.value, &mut sb.value))
    }

    /// Takes `id`'s value out of its slot, if it still exists.
    pub(crate) fn remove(&mut self, id: K) -> Option<V> {
        let (idx, version) = parts(id);
        let slot = self.slots.get_mut(idx).filter(|s| s.version == version)?;
        let value = std::mem::replace(&mut slot.value, V::stand_in());
        self.vacate(idx);
        Some(value)
    }

    /// Puts slot `idx` at the head of the free list, its version made even.
    #[inline(always)]
    fn vacate(&mut self, idx: usize) {
        let slot = &mut self.slots[idx];
        slot.version = slot.version.wrapping_add(1);
        slot.next_free = self.free_head;
        self.free_head = idx as u32;
        self.len -= 1;
    }

    /// The values with their ids, in slot order (the slot map's order).
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter { slots: self.slots.iter().enumerate(), keys: PhantomData }
    }

    /// The ids, in slot order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.iter().map(|(id, _)| id)
    }

    /// The values, in slot order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl ObjectArena {
    /// Drops every object where it lies and makes the arena as a new one with as many
    /// slots: every version even and 0, the free list in index order from slot 1 (the
    /// slots past the end follow, as in a new arena), so that the same inserts give the
    /// same keys as in a new arena (the kernel keeps an arena for the next run, `Spare`).
    pub(crate) fn reset(&mut self) {
        for (i, slot) in self.slots.iter_mut().enumerate().skip(1) {
            if slot.version % 2 == 1 {
                slot.value.hdr = Header::vacant();
                slot.value.body = stand_in_body();
            }
            slot.version = 0;
            slot.next_free = i as u32 + 1;
        }
        self.free_head = 1;
        self.len = 0;
    }

    /// Makes an object named `name`, of `serial` and made at `step`, with `body`, in a
    /// vacant slot: the one vacated last (or the first never used), as the slot map did.
    /// The body is written into the slot, and the header's three fields: a vacant slot's
    /// header is `Header::vacant()` (`remove_in_place` leaves it so), and writing only
    /// these leaves the compiler no drop of the old header to call, and no copy of the
    /// body kept for it (issue 13).
    #[inline(never)]
    pub(crate) fn insert(&mut self, serial: u32, name: Option<String>, step: u64, body: Body) -> ObjectId {
        let slot = self.vacant_slot();
        debug_assert!(slot.value.hdr.is_vacant(), "simulator bug: a vacant slot's header is not empty");
        // The stand-in holds nothing to free: it is forgotten, not dropped, which leaves
        // the compiler no drop to call between the body's arrival and its copy into the
        // slot (with one, it kept a second copy of the body for unwinding).
        debug_assert!(matches!(slot.value.body, Body::Event(_)), "simulator bug: a vacant slot holds an object");
        std::mem::forget(std::mem::replace(&mut slot.value.body, body));
        let hdr = &mut slot.value.hdr;
        hdr.serial = serial;
        hdr.created_step = step;
        if name.is_some() {
            hdr.name = name;
        }
        self.occupy_vacant()
    }

    /// Vacates `id`'s slot, its object dropped where it lies; false if it was gone.
    #[inline]
    pub(crate) fn remove_in_place(&mut self, id: ObjectId) -> bool {
        let (idx, version) = parts(id);
        let Some(slot) = self.slots.get_mut(idx).filter(|s| s.version == version) else { return false };
        slot.value.hdr = Header::vacant();
        slot.value.body = stand_in_body();
        self.vacate(idx);
        true
    }
}

impl OpArena {
    /// The vacant slot the next operation goes into (the one vacated last, or the first
    /// never used, as the slot map did), for its fields to be written there one by one
    /// (`Kernel::make_op_kept`), and then `occupy`: built elsewhere and moved in whole, an
    /// operation was built on the stack and copied (issue 13). It holds the stand-in or
    /// an operation that owns nothing (`remove_plain`): overwritten, not dropped.
    #[inline(always)]
    pub(crate) fn vacant(&mut self) -> &mut Op {
        &mut self.vacant_slot().value
    }

    /// The vacant slot `vacant` gave, its operation written, made occupied: its key.
    #[inline(always)]
    pub(crate) fn occupy(&mut self) -> OpId {
        self.occupy_vacant()
    }

    /// Vacates `id`'s slot, leaving its operation there: the caller has made sure it owns
    /// nothing (`Op::owns_nothing`), so that the next insert may overwrite it without a
    /// drop. False if it was gone.
    #[inline(always)]
    pub(crate) fn remove_plain(&mut self, id: OpId) -> bool {
        let (idx, version) = parts(id);
        let Some(slot) = self.slots.get(idx).filter(|s| s.version == version) else { return false };
        debug_assert!(slot.value.owns_nothing(), "simulator bug: an operation left in its slot owns memory");
        self.vacate(idx);
        true
    }
}

/// An arena's values with their ids, in slot order.
pub(crate) struct Iter<'a, K, V> {
    slots: std::iter::Enumerate<std::slice::Iter<'a, Slot<V>>>,
    keys: PhantomData<K>,
}

impl<'a, K: Key, V> Iterator for Iter<'a, K, V> {
    type Item = (K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.slots.find(|(_, s)| s.version % 2 == 1).map(|(i, s)| (key(i as u32, s.version), &s.value))
    }
}

impl<'a, K: Key, V: Vacant> IntoIterator for &'a Arena<K, V> {
    type Item = (K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: Key, V: Vacant> std::ops::Index<K> for Arena<K, V> {
    type Output = V;
    #[inline(always)]
    fn index(&self, id: K) -> &V {
        match self.get(id) {
            Some(v) => v,
            None => panic!("invalid key"),
        }
    }
}

impl<K: Key, V: Vacant> std::ops::IndexMut<K> for Arena<K, V> {
    #[inline(always)]
    fn index_mut(&mut self, id: K) -> &mut V {
        match self.get_mut(id) {
            Some(v) => v,
            None => panic!("invalid key"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotmap::SlotMap;

    fn event_body(signalled: bool) -> Body {
        Body::Event(crate::objects::sync::Event { manual_reset: true, signalled })
    }

    /// The arena gives the keys, reuse and order the slot map gave, over a seeded mix of
    /// inserts and removes (its ids reach state hashes and traces).
    #[test]
    fn matches_the_slot_map() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut arena = ObjectArena::with_capacity(3);
        let mut map: SlotMap<ObjectId, u32> = SlotMap::with_capacity_and_key(3);
        let mut live: Vec<ObjectId> = Vec::new();
        for serial in 0..2_000u32 {
            if live.is_empty() || rng.random_range(0..3) > 0 {
                let a = arena.insert(serial, None, 0, event_body(serial.is_multiple_of(2)));
                let m = map.insert(serial);
                assert_eq!(a, m);
                live.push(a);
            } else {
                let id = live.swap_remove(rng.random_range(0..live.len()));
                if rng.random_range(0..2) == 0 {
                    assert!(arena.remove_in_place(id));
                } else {
                    assert_eq!(arena.remove(id).map(|o| o.hdr.serial), map.get(id).copied());
                }
                assert!(map.remove(id).is_some());
                assert!(!arena.contains_key(id));
                assert!(arena.get(id).is_none());
                assert!(!arena.remove_in_place(id));
            }
            assert_eq!(arena.len(), map.len());
        }
        let ours: Vec<(ObjectId, u32)> = arena.iter().map(|(k, o)| (k, o.hdr.serial)).collect();
        let theirs: Vec<(ObjectId, u32)> = map.iter().map(|(k, &v)| (k, v)).collect();
        assert_eq!(ours, theirs);
        for (id, serial) in theirs {
            assert_eq!(arena[id].hdr.serial, serial);
            assert!(
                matches!(arena[id].body, Body::Event(crate::objects::sync::Event { signalled, .. }) if signalled == serial.is_multiple_of(2))
            );
        }
    }

    /// A reset arena gives the keys and order a new one gives, over the same seeded mix of
    /// inserts and removes (the kernel keeps an arena for the next run: its ids reach
    /// state hashes and traces), and drops what it held.
    #[test]
    fn a_reset_arena_is_a_new_one() {
        use rand::{Rng, SeedableRng};
        let run = |arena: &mut ObjectArena| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
            let mut live: Vec<ObjectId> = Vec::new();
            let mut keys = Vec::new();
            for serial in 0..500u32 {
                if live.is_empty() || rng.random_range(0..3) > 0 {
                    let id = arena.insert(serial, Some(format!("o{serial}")), 0, event_body(false));
                    keys.push(id);
                    live.push(id);
                } else {
                    let id = live.swap_remove(rng.random_range(0..live.len()));
                    assert!(arena.remove_in_place(id));
                }
            }
            let order: Vec<(ObjectId, u32)> = arena.iter().map(|(k, o)| (k, o.hdr.serial)).collect();
            (keys, order)
        };
        let mut fresh = ObjectArena::with_capacity(7);
        let expected = run(&mut fresh);
        // Reset with objects still in it (a run that ended in a deadlock), and again empty.
        let mut kept = ObjectArena::with_capacity(7);
        run(&mut kept);
        assert!(kept.len() > 0);
        kept.reset();
        assert_eq!(kept.len(), 0);
        assert_eq!(kept.iter().count(), 0);
        assert!(kept.slots.iter().all(|s| s.value.hdr.is_vacant() && matches!(s.value.body, Body::Event(_))));
        assert_eq!(run(&mut kept), expected);
        kept.reset();
        assert_eq!(run(&mut kept), expected);
        // A slot used and vacated before the reset gives the first key again, as new.
        let mut small = ObjectArena::with_capacity(7);
        let a = small.insert(1, None, 0, event_body(false));
        assert!(small.remove_in_place(a));
        small.reset();
        let b = small.insert(2, None, 0, event_body(false));
        assert_eq!(b, ObjectArena::with_capacity(7).insert(2, None, 0, event_body(false)));
    }

    /// An operation written into a vacant slot field by field (`OpArena::vacant`, as
    /// `Kernel::make_op_kept` does), of `serial`; a sleep's, which owns nothing.
    fn insert_op(ops: &mut OpArena, serial: u64) -> OpId {
        let op = ops.vacant();
        op.serial = serial;
        op.tid = 4;
        std::mem::forget(std::mem::replace(&mut op.kind, crate::kernel::ops::OpKind::Sleep));
        ops.occupy()
    }

    /// The operations' arena gives the keys, reuse and order the slot map gave (their ids
    /// reach state hashes and traces), whether an operation is removed whole or left in
    /// its slot owning nothing (`remove_plain`), over a seeded mix of inserts and removes;
    /// a slot reused after either holds the new operation, not the old.
    #[test]
    fn the_operations_arena_matches_the_slot_map() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut ops = OpArena::with_capacity(4);
        let mut map: SlotMap<OpId, u64> = SlotMap::with_capacity_and_key(4);
        let mut live: Vec<OpId> = Vec::new();
        for serial in 1..2_000u64 {
            if live.is_empty() || rng.random_range(0..3) > 0 {
                let a = insert_op(&mut ops, serial);
                assert_eq!(a, map.insert(serial));
                assert_eq!(ops[a].serial, serial);
                live.push(a);
            } else {
                let id = live.swap_remove(rng.random_range(0..live.len()));
                if rng.random_range(0..2) == 0 {
                    assert!(ops.remove_plain(id));
                } else {
                    assert_eq!(ops.remove(id).map(|o| o.serial), map.get(id).copied());
                }
                assert!(map.remove(id).is_some());
                assert!(!ops.contains_key(id));
                assert!(ops.get(id).is_none());
                assert!(!ops.remove_plain(id));
                assert!(ops.remove(id).is_none());
            }
            assert_eq!(ops.len(), map.len());
        }
        let ours: Vec<(OpId, u64)> = ops.iter().map(|(k, o)| (k, o.serial)).collect();
        let theirs: Vec<(OpId, u64)> = map.iter().map(|(k, &v)| (k, v)).collect();
        assert_eq!(ours, theirs);
    }

    /// A key of another slot map, or of a slot never used, finds nothing.
    #[test]
    fn a_stale_or_foreign_key_finds_nothing() {
        let mut arena = ObjectArena::with_capacity(1);
        assert!(arena.get(ObjectId::default()).is_none());
        let id = arena.insert(1, None, 0, event_body(false));
        assert!(arena.remove_in_place(id));
        let again = arena.insert(2, Some("two".into()), 5, event_body(false));
        assert_ne!(id, again, "a reused slot gets a new version");
        assert!(arena.get(id).is_none());
        assert_eq!(
            arena.get(again).map(|o| (o.hdr.serial, o.hdr.name.as_deref(), o.hdr.created_step)),
            Some((2, Some("two"), 5))
        );
        assert!(arena.remove_in_place(again));
        let third = arena.insert(3, None, 6, event_body(false));
        assert_eq!(
            arena.get(third).map(|o| (o.hdr.serial, o.hdr.name.as_deref())),
            Some((3, None)),
            "the old name went with its object"
        );
        assert_eq!(arena.keys().collect::<Vec<_>>(), vec![third]);
    }
}
