//! The canonical byte encoding behind [`crate::Ledger::state_digest`].
//!
//! Every node computes the digest after each block and compares it with its
//! peers', so the encoding must be identical on every machine and every
//! version of this crate that claims the same version tag. It therefore uses
//! only sorted maps, fixed-width big-endian integers and length-prefixed text,
//! never a general-purpose serializer whose output could change with a
//! dependency update.
//!
//! Encoding, version 2 (all integers big-endian, fixed width):
//!
//! ```text
//! bytes(STATE_DIGEST_DOMAIN)
//! u64 number of accounts
//! for each account, ascending by code:
//!     str code, str name, u8 kind (asset 0, liability 1, equity 2, revenue 3, expense 4),
//!     u16 posting-role bits (admin bit 0 ... bookkeeper bit 7),
//!     sub-ledger: u8 0, or u8 1 then str tag,
//!     u8 no_negative (0/1), u8 open (0/1)
//! u64 number of balances whose debit or credit total is non-zero
//! for each such balance, ascending by account code then currency code:
//!     str account code, str currency code, u8 currency exponent,
//!     u128 debit total, u128 credit total
//! closed_through: u8 0, or u8 1 then u32 date as yyyymmdd
//! closing (a close under way): u8 0, or u8 1 then u32 date as yyyymmdd
//! u64 number of open dates with movements
//! for each such date, ascending:
//!     u32 date as yyyymmdd, u64 number of (account, currency) sums,
//!     for each, ascending by account code then currency code:
//!         str account code, str currency code, u8 currency exponent,
//!         u128 debit sum, u128 credit sum
//! u64 number of entries applied
//! ```
//!
//! where `bytes(x)` and `str x` are a u64 byte length followed by the bytes.
//!
//! Version 1 had neither `closing` nor the movements.

use sha2::{Digest, Sha256};

use crate::account::AccountKind;
use crate::date::Date;

/// Domain and version tag hashed first. It keeps ledger digests apart from any
/// other SHA-256 in the system, and must change whenever the encoding does, so
/// that digests of different encodings can never be mistaken for each other.
pub const STATE_DIGEST_DOMAIN: &[u8] = b"tally-ledger/state-digest/v2";

/// Feeds canonical encodings of values into SHA-256.
pub(crate) struct Encoder {
    hasher: Sha256,
}

impl Encoder {
    /// A fresh encoder that has already absorbed the domain tag.
    pub(crate) fn new() -> Encoder {
        let mut encoder = Encoder {
            hasher: Sha256::new(),
        };
        encoder.bytes(STATE_DIGEST_DOMAIN);
        encoder
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.hasher.update([value]);
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.hasher.update(value.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.hasher.update(value.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.hasher.update(value.to_be_bytes());
    }

    pub(crate) fn u128(&mut self, value: u128) {
        self.hasher.update(value.to_be_bytes());
    }

    /// A count or length. `usize` is at most 64 bits on every platform Rust
    /// supports, so widening to `u64` loses nothing.
    pub(crate) fn len(&mut self, len: usize) {
        self.u64(len as u64);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.hasher.update(bytes);
    }

    pub(crate) fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    /// An optional date: u8 0, or u8 1 then the date as yyyymmdd.
    pub(crate) fn date(&mut self, date: Option<Date>) {
        match date {
            None => self.u8(0),
            Some(date) => {
                self.u8(1);
                self.u32(date.packed());
            }
        }
    }

    pub(crate) fn kind(&mut self, kind: AccountKind) {
        // Spelled out rather than `kind as u8` so that reordering the enum
        // cannot silently change every digest.
        self.u8(match kind {
            AccountKind::Asset => 0,
            AccountKind::Liability => 1,
            AccountKind::Equity => 2,
            AccountKind::Revenue => 3,
            AccountKind::Expense => 4,
        });
    }

    pub(crate) fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefix_separates_fields() {
        // "ab" + "c" and "a" + "bc" must not collide.
        let mut first = Encoder::new();
        first.str("ab");
        first.str("c");
        let mut second = Encoder::new();
        second.str("a");
        second.str("bc");
        assert_ne!(first.finish(), second.finish());
    }

    #[test]
    fn empty_encoder_is_stable() {
        // Pinned so that an accidental change of the domain tag or the framing
        // shows up as a failing test rather than as a network-wide disagreement.
        let mut expected = Sha256::new();
        expected.update((STATE_DIGEST_DOMAIN.len() as u64).to_be_bytes());
        expected.update(STATE_DIGEST_DOMAIN);
        let expected: [u8; 32] = expected.finalize().into();
        assert_eq!(Encoder::new().finish(), expected);
    }
}
