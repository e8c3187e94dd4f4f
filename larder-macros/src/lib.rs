//! Attribute macros for [larder](https://docs.rs/larder).
//!
//! This crate is an implementation detail of `larder`: depend on `larder` and use the macros
//! through it. The `#[larder::cached]` and `#[larder::invalidates]` attributes arrive in a
//! later release; for now the crate only reserves its place in the workspace.
