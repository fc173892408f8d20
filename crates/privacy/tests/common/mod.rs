//! Fixtures shared by the tests: seeded generators, names and a context.

#![allow(dead_code)]

use rand_chacha::ChaCha20Rng;
use tally_ledger::{Category, FieldName};
use tally_privacy::rand_core::SeedableRng;
use tally_privacy::SealContext;

/// A generator with a fixed seed, so every run draws the same salts, nonces and keys.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A field name that is known to be valid.
pub fn name(text: &str) -> FieldName {
    FieldName::new(text).unwrap()
}

/// The customer-pii category.
pub fn pii() -> Category {
    Category::customer_pii()
}

/// The context most tests seal in.
pub const CONTEXT: SealContext<'static> = SealContext {
    chain_id: "merchant",
    entry_id: "order-1001",
};
