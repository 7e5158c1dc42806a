//! burner-redis: an embedded, Redis-compatible engine for redis-py.
//!
//! Layers (see ARCHITECTURE.md): `types` (data structures) <- `engine` (store, clients, blocking,
//! expiry) <- `cmd` + `commands` (table, dispatcher, handlers) <- front doors (`py`, `server`,
//! `scripting`). Only `py` imports pyo3.

pub mod alloc;
pub mod cmd;
pub mod commands;
pub mod engine;
pub mod error;
pub mod glob;
pub mod persistence;
pub mod py;
pub mod reply;
pub mod scripting;
pub mod server;
pub mod types;

/// Every Rust allocation of the library is counted (see [`alloc`]): `used_memory` and `maxmemory`
/// read that count.
#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;
