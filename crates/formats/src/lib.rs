//! Other systems' files, read into Tally's entries and written back out.
//!
//! Pure parsing and rendering: no I/O beyond the readers and writers passed in, no signing,
//! no network. The CLI's `import` and `export` commands sign and submit what this crate reads.

pub mod journal;
pub mod shopify;
