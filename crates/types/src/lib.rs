//! Value types shared by every tpr crate.
//!
//! Types here are parsed and checked at the edge (config loading, command line) and passed
//! inward as values that cannot be wrong: a [`Region`] is always two upper-case ASCII letters,
//! a [`Location`] always has a 1-based line and column.

#![deny(missing_docs)]

#[cfg(feature = "counting-alloc")]
pub mod counting_alloc;
mod diagnostic;
pub mod digits;
mod location;
mod prefetch;
mod region;
mod text;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use location::{LineIndex, Location};
pub use prefetch::{Lines, prefetch, prefetch_lines, prefetch_slice, prefetch_span};
pub use region::{Region, RegionError};
pub use text::read_utf8;
