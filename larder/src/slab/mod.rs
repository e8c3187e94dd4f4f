//! The bottom of the engine: each shard's entries in a slab of stable `u32` indices, and the
//! intrusive lists the eviction policies thread through them.
//!
//! This module imports nothing from the crate but `crate::sync` (the std/shuttle shim for
//! the entry's atomic use count): the engine and the policies both build on it, and it
//! knows neither. Start at `entry.rs` (what one slot holds), then `slots.rs` (the slab) and
//! `list.rs` (a doubly linked list through the entries' own links).

mod entry;
mod list;
mod slots;

pub(crate) use entry::{Entry, Idx, ListId};
pub(crate) use list::List;
pub(crate) use slots::Slab;
