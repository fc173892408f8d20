//! Field encryption for Tally: seals the sensitive fields of entries (a customer's name,
//! address, phone, e-mail; a partner's bank details) so that only members granted their
//! category's key can read them, while every validator still checks them.
//!
//! # The scheme
//!
//! - **Epochs.** Each key category (`customer-pii`, `partner-banking`) has a sequence of epochs;
//!   an epoch is an X25519 key pair. Its [`EpochPublicKey`] is recorded on the chain when it
//!   opens; its [`EpochSecret`] is granted to the category's readers. Rotation opens a new epoch.
//! - **Grants.** [`wrap_key`] wraps an epoch secret to one member with HPKE (RFC 9180, mode Base,
//!   DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM), binding chain, category, epoch,
//!   epoch public key and member as HPKE `info`. The member's X25519 key is derived from its
//!   Ed25519 key ([`SealPublicKey::from_member`]), so the member certificate on the chain binds
//!   it and a member keeps one secret. [`unwrap_key`] also checks the unwrapped secret against
//!   the epoch public key on the chain, so a granter cannot hand out a wrong key unnoticed.
//! - **Fields.** A writer draws an AES-256 [`FieldKey`] per category epoch: the secret HPKE
//!   exports from a fresh encapsulation to the epoch's public key ([`derive_field_key`]), so the
//!   entry's `tally_ledger::SealKey` carries only the encapsulation (keys sealed before carry a
//!   random key wrapped, [`wrap_field_key`]; [`unwrap_field_key`] reads both). It [`seal`]s each
//!   value with AES-256-GCM under it: the nonce is the first 12 bytes of the field's commitment
//!   (keyed, so distinct per field and value), and the associated data binds the chain id, the
//!   entry id, the field name, the category, the epoch and the commitment, so a ciphertext moved
//!   to another entry, chain, name or epoch does not open. An entry's fields of one category and
//!   epoch are sealed together ([`seal_group`]): the same commitment per field, one root over
//!   them ([`group_root`]) on the chain, and one AES-256-GCM of all the values, with one tag and
//!   the nonce taken from the root. [`Sealer`] does all of this, one field key per batch of
//!   entries. A writer needs only public keys: it seals what it cannot read.
//! - **Commitments.** Each field carries a [`commitment`]: SHA-256 over a domain tag, the
//!   category, the name, the salt and the value. Whoever opened a field can hand its value and
//!   salt to someone without any key ([`Disclosure`]), who checks them against the chain; a
//!   field of a group travels with the group's commitments, which hide the other values, and
//!   is checked against the root.
//! - **Reading.** A reader keeps its epoch secrets in a [`Keyring`]; [`Keyring::open_group`]
//!   ([`Keyring::open`]) unwraps the entry's seal key and opens the group (the field).
//!
//! # What the chain checks without keys
//!
//! A validator holds no epoch key. It checks a sealed field's shape (name, category, bounds of
//! the ciphertext, which tell the value's length) and that the category and epoch exist, but not
//! that the ciphertext decrypts or that the commitment is the value's: a faulty client can
//! record garbage or a false commitment. [`open`] catches both ([`OpenError::Authentication`],
//! [`OpenError::CommitmentMismatch`]) for whoever reads the field later, and never returns a
//! value that does not match the commitment.
//!
//! # What erasure means, and its limit
//!
//! Erasing an epoch (a customer's right to be forgotten) destroys its secret: [`Keyring::erase`]
//! wipes this keyring's copy, and every grantee is asked to do the same (the chain drops the
//! epoch's grants from its state and refuses the epoch from then on). The sealed fields
//! then stay on the chain, their hashes and the hash chain intact, but unreadable. This holds
//! only as far as every copy of the key is gone. A grantee that kept the unwrapped secret, or that
//! still has its member secret key, can unwrap its old grant from the blocks that carried it and
//! read the epoch's fields: erasure cannot take back what was granted. So can a writer that kept
//! a field key it drew, for the entries it sealed with it. Revocation likewise only stops future
//! epochs being granted to a member. Commitments are salted, so erasing the key leaves no way to
//! test a guessed value against them.
//!
//! # Determinism
//!
//! Nothing here reads the clock or does I/O; randomness comes only through the `rng` argument
//! (a seeded generator in tests, the commonware runtime's context, or [`os_rng`]).

pub use commonware_rand_core as rand_core;

mod disclosure;
mod encoding;
mod grant;
mod group;
mod key;
mod keyring;
mod seal;
mod sealer;

pub use disclosure::{Disclosure, DisclosureError, FieldCommitment};
pub use grant::{
    derive_field_key, unwrap_field_key, unwrap_field_key_as_member, unwrap_key, wrap_field_key,
    wrap_field_key_for_member, wrap_key, GrantContext, PartyContext, SealKeyContext, SealPublicKey,
    SealSecretKey, UnwrapError, WrapError, WrappedKey, SEAL_PUBLIC_KEY_BYTES, WRAPPED_KEY_BYTES,
    WRAP_TAG_BYTES,
};
pub use group::{group_root, open_group, seal_group, OpenedField};
pub use key::{
    EpochPublicKey, EpochSecret, FieldKey, EPOCH_PUBLIC_KEY_BYTES, EPOCH_SECRET_BYTES,
    FIELD_KEY_BYTES,
};
pub use keyring::{Keyring, KeyringError, ReadError};
pub use seal::{commitment, open, seal, OpenError, Opened, SealContext, SealError};
pub use sealer::{EntrySealError, Sealer, FIELDS_PER_FIELD_KEY_MAX};

/// The operating system's generator, for the command line and the node.
///
/// It panics if the operating system cannot give random bytes (a broken system, not an input);
/// tests pass a seeded generator instead.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// A ChaCha20 generator seeded with 256 bits from the operating system, for sealing many
/// fields: each sealed field draws a salt and a nonce, and asking the kernel for each (a system
/// call per draw) took a tenth of the sealing time. ChaCha20 from a fresh OS seed is the same
/// construction as the kernel's own generator and `rand`'s `StdRng`.
pub fn sealing_rng() -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng as _;
    rand_chacha::ChaCha20Rng::from_rng(&mut os_rng())
}
