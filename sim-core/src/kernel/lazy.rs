//! Subsystem state made on first change (`Lazy`).
//!
//! Most runs never touch COM, Winsock, the window manager, user-mode locks or the volume,
//! yet the kernel used to build and drop all their tables at every run. A `Lazy<T>` holds
//! nothing until the first mutable use; until then it reads as the fresh value
//! (`T::default()`), one shared per program (or per OS thread, for state that is not
//! `Sync`). Reads (`Debug`, state hashes, footprints) see exactly what a built value would
//! show, so nothing observable changes.

use std::ops::{Deref, DerefMut};

/// A state with a shared fresh value for `Lazy` to read before it is built.
pub trait Fresh: Default + 'static {
    /// The fresh value, equal to `Self::default()`.
    fn fresh() -> &'static Self;
}

/// Implements `Fresh` for a `Sync` type with a process-wide fresh value.
macro_rules! fresh_shared {
    ($t:ty) => {
        impl $crate::kernel::lazy::Fresh for $t {
            fn fresh() -> &'static $t {
                static FRESH: std::sync::OnceLock<$t> = std::sync::OnceLock::new();
                FRESH.get_or_init(<$t>::default)
            }
        }
    };
}

/// Implements `Fresh` for a type that is not `Sync` (it holds `Rc`s or boxed closures
/// once used): one fresh value per OS thread, made on that thread's first read and kept
/// for the thread's life (a few hundred bytes of empty collections).
macro_rules! fresh_per_thread {
    ($t:ty) => {
        impl $crate::kernel::lazy::Fresh for $t {
            fn fresh() -> &'static $t {
                thread_local! {
                    static FRESH: &'static $t = Box::leak(Box::new(<$t>::default()));
                }
                FRESH.with(|f| *f)
            }
        }
    };
}

/// Derefs a subsystem's state (`$outer`) to its lazily built tables (`$inner`, in field
/// `$field`), for a state that keeps a few eagerly written fields beside them.
macro_rules! deref_to_tables {
    ($outer:ty => $inner:ty, $field:ident) => {
        impl std::ops::Deref for $outer {
            type Target = $inner;
            #[inline]
            fn deref(&self) -> &$inner {
                &self.$field
            }
        }

        impl std::ops::DerefMut for $outer {
            #[inline]
            fn deref_mut(&mut self) -> &mut $inner {
                &mut self.$field
            }
        }
    };
}

pub(crate) use {deref_to_tables, fresh_per_thread, fresh_shared};

/// `T`, built on first mutable use; reads as `T::default()` until then.
pub struct Lazy<T: Fresh>(Option<Box<T>>);

impl<T: Fresh> Default for Lazy<T> {
    fn default() -> Self {
        Lazy(None)
    }
}

impl<T: Fresh + Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy(self.0.clone())
    }
}

impl<T: Fresh> Deref for Lazy<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match &self.0 {
            Some(t) => t,
            None => T::fresh(),
        }
    }
}

impl<T: Fresh> DerefMut for Lazy<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Fresh + std::fmt::Debug> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

fresh_shared!(std::collections::BTreeMap<String, crate::objects::ObjectId>);
fresh_shared!(std::collections::BTreeMap<crate::kernel::Tid, u32>);
