//! The two key wraps, both HPKE (RFC 9180, mode Base; DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! AES-256-GCM, the field cipher, so no second AEAD is linked in):
//!
//! - a **grant** wraps an epoch secret to one member's X25519 key, derived from its Ed25519 key
//!   (see `tally_identity::PublicKey::to_x25519`), so the member certificate binds it;
//! - a **seal key** wraps a field key to an epoch's public key (`tally_ledger::SealKey`).
//!
//! Each binds what it is for into HPKE's `info` (a domain tag and length-prefixed parts), so a
//! wrap copied to another chain, category, epoch or member does not unwrap.

use std::fmt;

use commonware_rand_core::CryptoRng;
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, HpkeError, Kem, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};
use tally_identity::{PublicKey, SecretKey};
use tally_ledger::{Category, SealKey, ENCAPPED_KEY_BYTES};
use zeroize::Zeroize;

use crate::encoding::{hex_bytes, hex_vec, Frame};
use crate::key::{EpochPublicKey, EpochSecret, FieldKey, WrapKem, EPOCH_SECRET_BYTES};

/// Bytes of a member's X25519 public key.
pub const SEAL_PUBLIC_KEY_BYTES: usize = 32;

/// Bytes of the AES-256-GCM tag that ends a wrapped key.
pub const WRAP_TAG_BYTES: usize = 16;

/// Bytes of a wrapped key (an epoch secret or a field key, both 32 bytes), tag included.
pub const WRAPPED_KEY_BYTES: usize = 32 + WRAP_TAG_BYTES;

/// Domain tag of a grant's HPKE `info`.
const GRANT_INFO_TAG: &str = "key-grant";

/// Domain tag of a seal key's HPKE `info`.
const SEAL_KEY_INFO_TAG: &str = "seal-key";

/// Domain tag of the HPKE `info` of a contract's field key wrapped to a party's member.
const PARTY_KEY_INFO_TAG: &str = "party-key";

/// A member's public X25519 key, to which epoch secrets are granted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SealPublicKey([u8; SEAL_PUBLIC_KEY_BYTES]);

impl SealPublicKey {
    /// The seal key of a member: the Montgomery form of its Ed25519 key.
    pub fn from_member(member: &PublicKey) -> SealPublicKey {
        SealPublicKey(member.to_x25519())
    }

    /// The 32-byte X25519 encoding.
    pub fn to_bytes(&self) -> [u8; SEAL_PUBLIC_KEY_BYTES] {
        self.0
    }
}

impl fmt::Debug for SealPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealPublicKey({})", hex::encode(self.0))
    }
}

/// A member's secret X25519 key, which unwraps the grants made to it. Wiped when dropped (the
/// inner HPKE key is); `Debug` shows only the public key.
#[derive(Clone)]
pub struct SealSecretKey(<WrapKem as Kem>::PrivateKey);

impl SealSecretKey {
    /// The seal key of a member: its Ed25519 secret scalar, clamped.
    pub fn from_member(member: &SecretKey) -> SealSecretKey {
        let mut bytes = member.to_x25519_secret();
        let key = match <WrapKem as Kem>::PrivateKey::from_bytes(&bytes) {
            Ok(key) => key,
            // Unreachable: the only error is a length other than 32. A key derived from the
            // same secret stays secret; it just unwraps nothing.
            Err(_) => <WrapKem as Kem>::derive_keypair(&bytes).0,
        };
        bytes.zeroize();
        SealSecretKey(key)
    }

    /// The matching public key.
    pub fn public_key(&self) -> SealPublicKey {
        SealPublicKey(<WrapKem as Kem>::sk_to_pk(&self.0).to_bytes().into())
    }
}

impl fmt::Debug for SealSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealSecretKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// What a grant is for, bound as HPKE `info`: it unwraps only for this chain, category, epoch,
/// epoch public key and member.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GrantContext<'a> {
    /// The chain the grant is recorded on.
    pub chain_id: &'a str,
    /// The category.
    pub category: &'a Category,
    /// The epoch.
    pub epoch: u32,
    /// The epoch's public key, as the chain records it.
    pub epoch_key: &'a EpochPublicKey,
    /// The member it is granted to.
    pub member: &'a PublicKey,
}

impl GrantContext<'_> {
    fn info(&self) -> Vec<u8> {
        Frame::new(GRANT_INFO_TAG)
            .part(self.chain_id.as_bytes())
            .part(self.category.as_str().as_bytes())
            .number(self.epoch)
            .part(self.epoch_key.as_bytes())
            .part(self.member.as_bytes())
            .finish()
    }
}

/// What a seal key is for, bound as HPKE `info`: it unwraps only for this chain, category and
/// epoch. (Not the entry: a writer may reuse one field key for many entries; each field's own
/// associated data binds its entry.)
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SealKeyContext<'a> {
    /// The chain the entry is written to.
    pub chain_id: &'a str,
    /// The category.
    pub category: &'a Category,
    /// The epoch.
    pub epoch: u32,
}

impl SealKeyContext<'_> {
    fn info(&self) -> Vec<u8> {
        Frame::new(SEAL_KEY_INFO_TAG)
            .part(self.chain_id.as_bytes())
            .part(self.category.as_str().as_bytes())
            .number(self.epoch)
            .finish()
    }
}

/// What a consortium contract's field key is wrapped for, bound as HPKE `info`: it unwraps only
/// for this chain, contract and member. Contracts have no key epochs: their private terms are
/// readable by the members of their parties, each sent the contract's field key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PartyContext<'a> {
    /// The consortium chain.
    pub chain_id: &'a str,
    /// The contract whose terms the key seals.
    pub contract_id: &'a str,
    /// The party's member it is wrapped to.
    pub member: &'a PublicKey,
}

impl PartyContext<'_> {
    fn info(&self) -> Vec<u8> {
        Frame::new(PARTY_KEY_INFO_TAG)
            .part(self.chain_id.as_bytes())
            .part(self.contract_id.as_bytes())
            .part(self.member.as_bytes())
            .finish()
    }
}

/// An epoch secret wrapped to one member (the chain's key grant carries these two parts).
/// Serialized with both in hex for JSON, as raw bytes in binary formats.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The sender's ephemeral X25519 public key.
    #[serde(with = "hex_bytes")]
    pub encapped: [u8; ENCAPPED_KEY_BYTES],
    /// The secret, encrypted, then the tag ([`WRAPPED_KEY_BYTES`] long).
    #[serde(with = "hex_vec")]
    pub ciphertext: Vec<u8>,
}

/// Why a key cannot be wrapped.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WrapError {
    /// The recipient's X25519 key is a point of small order, with which every exchange gives
    /// zero. No member key converts to one; an epoch public key read from a damaged or hostile
    /// chain could be one.
    #[error("cannot wrap a key to {recipient}: its X25519 key {key} is of small order")]
    SmallOrder {
        /// "member <key>" or "customer-pii epoch 3".
        recipient: String,
        /// The X25519 key, in hex.
        key: String,
    },
}

/// Why a wrapped key does not unwrap.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum UnwrapError {
    /// A grant that fails authentication.
    #[error("the key grant for {category} (epoch {epoch}) does not unwrap with this member's key: it was made for another member, chain, category or epoch, or it was altered")]
    NotForYou {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
    /// A grant that unwraps, to a secret other than the epoch's: the granter wrapped a wrong key.
    #[error("the key grant for {category} (epoch {epoch}) holds a secret that is not the epoch's: its public key differs from the one on the chain")]
    WrongEpochSecret {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
    /// A wrapped seal key that fails authentication. (A derived one cannot fail: another secret
    /// derives another field key, and the fields then do not open.)
    #[error("the seal key for {category} (epoch {epoch}) does not unwrap with this epoch secret: wrong secret or chain, or the seal key was altered")]
    SealKeyAuthentication {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
    /// A contract's field key that fails authentication for this member.
    #[error("the key of contract '{contract}' does not unwrap with this member's key: it was wrapped for another member, chain or contract, or it was altered")]
    NotForMember {
        /// The contract.
        contract: String,
    },
    /// A contract's wrapped field key with malformed bytes.
    #[error("the key of contract '{contract}' is malformed: {problem}")]
    MalformedPartyKey {
        /// The contract.
        contract: String,
        /// What is wrong.
        problem: String,
    },
    /// Malformed bytes: a wrong length, or an encapsulated key of small order.
    #[error("the {what} for {category} (epoch {epoch}) is malformed: {problem}")]
    Malformed {
        /// "key grant" or "seal key".
        what: &'static str,
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
        /// What is wrong.
        problem: String,
    },
}

/// Wraps `secret`, the epoch secret of `context`'s category and epoch, to `context.member`.
pub fn wrap_key(
    secret: &EpochSecret,
    context: &GrantContext<'_>,
    rng: &mut impl CryptoRng,
) -> Result<WrappedKey, WrapError> {
    let mut plaintext = secret.to_bytes();
    let wrapped = wrap_to_member(context.member, &context.info(), &plaintext, rng);
    plaintext.zeroize();
    wrapped
}

/// HPKE-wraps 32 key bytes to a member's X25519 key with `info`.
fn wrap_to_member(
    member: &PublicKey,
    info: &[u8],
    plaintext: &[u8; 32],
    rng: &mut impl CryptoRng,
) -> Result<WrappedKey, WrapError> {
    let to = SealPublicKey::from_member(member);
    let (encapped, ciphertext) =
        hpke_wrap(&to.0, info, plaintext, rng).ok_or_else(|| WrapError::SmallOrder {
            recipient: format!("member {member}"),
            key: hex::encode(to.0),
        })?;
    Ok(WrappedKey {
        encapped,
        ciphertext,
    })
}

/// Unwraps a grant with the member's secret key, and checks the secret against the epoch's
/// public key in `context`.
pub fn unwrap_key(
    wrapped: &WrappedKey,
    secret: &SealSecretKey,
    context: &GrantContext<'_>,
) -> Result<EpochSecret, UnwrapError> {
    let (category, epoch) = (context.category, context.epoch);
    let mut bytes = hpke_unwrap(
        &secret.0,
        &wrapped.encapped,
        &wrapped.ciphertext,
        &context.info(),
    )
    .map_err(|failure| match failure {
        Failure::Authentication => UnwrapError::NotForYou {
            category: *category,
            epoch,
        },
        Failure::Malformed(problem) => UnwrapError::Malformed {
            what: "key grant",
            category: *category,
            epoch,
            problem,
        },
    })?;
    let epoch_secret = EpochSecret::from_bytes(bytes);
    bytes.zeroize();
    if epoch_secret.public_key() != *context.epoch_key {
        return Err(UnwrapError::WrongEpochSecret {
            category: *category,
            epoch,
        });
    }
    Ok(epoch_secret)
}

/// Wraps a field key to the public key of `context`'s category epoch, as the entry records it.
pub fn wrap_field_key(
    key: &FieldKey,
    to: &EpochPublicKey,
    context: &SealKeyContext<'_>,
    rng: &mut impl CryptoRng,
) -> Result<SealKey, WrapError> {
    let (encapped, wrapped) = hpke_wrap(to.as_bytes(), &context.info(), key.as_bytes(), rng)
        .ok_or_else(|| WrapError::SmallOrder {
            recipient: format!("{} epoch {}", context.category, context.epoch),
            key: hex::encode(to.as_bytes()),
        })?;
    Ok(SealKey {
        category: *context.category,
        epoch: context.epoch,
        encapped,
        wrapped,
    })
}

/// HPKE exporter context of a field key derived from an encapsulation (RFC 9180, section 5.3).
const FIELD_KEY_EXPORT_TAG: &[u8] = b"tally/field-key";

/// Draws a field key for `context`'s category epoch: the secret HPKE exports from a fresh
/// encapsulation to the epoch's public key `to` (RFC 9180, section 5.3), with the same `info` as
/// [`wrap_field_key`] (chain, category, epoch).
///
/// The seal key carries only the encapsulation (`wrapped` is empty): a holder of the epoch
/// secret derives the same field key from it ([`unwrap_field_key`]). That is 49 bytes less on
/// every entry than a random key wrapped, and a writer still needs only the public key. A seal
/// key whose encapsulation was altered gives another field key, with which no field opens.
pub fn derive_field_key(
    to: &EpochPublicKey,
    context: &SealKeyContext<'_>,
    rng: &mut impl CryptoRng,
) -> Result<(FieldKey, SealKey), WrapError> {
    let small_order = || WrapError::SmallOrder {
        recipient: format!("{} epoch {}", context.category, context.epoch),
        key: hex::encode(to.as_bytes()),
    };
    // Any 32 bytes decode (RFC 7748 takes `u` modulo p); a small-order key fails to encapsulate.
    let recipient =
        <WrapKem as Kem>::PublicKey::from_bytes(to.as_bytes()).map_err(|_| small_order())?;
    let (encapped, sender) = hpke::setup_sender_with_rng::<AesGcm256, HkdfSha256, WrapKem>(
        &OpModeS::Base,
        &recipient,
        &context.info(),
        rng,
    )
    .map_err(|_| small_order())?;
    let mut bytes = [0u8; 32];
    sender
        .export(FIELD_KEY_EXPORT_TAG, &mut bytes)
        .expect("32 bytes are far within HKDF-SHA256's export limit");
    let key = FieldKey::from_bytes(bytes);
    bytes.zeroize();
    Ok((
        key,
        SealKey {
            category: *context.category,
            epoch: context.epoch,
            encapped: encapped.to_bytes().into(),
            wrapped: Vec::new(),
        },
    ))
}

/// The field key of an entry's seal key, with the secret of its category epoch, on chain
/// `chain_id`: derived from the encapsulation when `wrapped` is empty ([`derive_field_key`]),
/// else unwrapped ([`wrap_field_key`]).
pub fn unwrap_field_key(
    seal_key: &SealKey,
    secret: &EpochSecret,
    chain_id: &str,
) -> Result<FieldKey, UnwrapError> {
    let context = SealKeyContext {
        chain_id,
        category: &seal_key.category,
        epoch: seal_key.epoch,
    };
    // An empty `wrapped`: the field key was derived from the encapsulation (see
    // [`derive_field_key`]).
    let derived = if seal_key.wrapped.is_empty() {
        hpke_export(secret.hpke(), &seal_key.encapped, &context.info())
    } else {
        hpke_unwrap(
            secret.hpke(),
            &seal_key.encapped,
            &seal_key.wrapped,
            &context.info(),
        )
    };
    let mut bytes = derived.map_err(|failure| match failure {
        Failure::Authentication => UnwrapError::SealKeyAuthentication {
            category: seal_key.category,
            epoch: seal_key.epoch,
        },
        Failure::Malformed(problem) => UnwrapError::Malformed {
            what: "seal key",
            category: seal_key.category,
            epoch: seal_key.epoch,
            problem,
        },
    })?;
    let key = FieldKey::from_bytes(bytes);
    bytes.zeroize();
    Ok(key)
}

/// Wraps a contract's field key to one member of one of its parties.
pub fn wrap_field_key_for_member(
    key: &FieldKey,
    context: &PartyContext<'_>,
    rng: &mut impl CryptoRng,
) -> Result<WrappedKey, WrapError> {
    wrap_to_member(context.member, &context.info(), key.as_bytes(), rng)
}

/// Unwraps a contract's field key with a party member's secret key.
pub fn unwrap_field_key_as_member(
    wrapped: &WrappedKey,
    secret: &SealSecretKey,
    context: &PartyContext<'_>,
) -> Result<FieldKey, UnwrapError> {
    let contract = context.contract_id.to_owned();
    let mut bytes = hpke_unwrap(
        &secret.0,
        &wrapped.encapped,
        &wrapped.ciphertext,
        &context.info(),
    )
    .map_err(|failure| match failure {
        Failure::Authentication => UnwrapError::NotForMember {
            contract: contract.clone(),
        },
        Failure::Malformed(problem) => UnwrapError::MalformedPartyKey {
            contract: contract.clone(),
            problem,
        },
    })?;
    let key = FieldKey::from_bytes(bytes);
    bytes.zeroize();
    Ok(key)
}

/// HPKE single-shot seal of a 32-byte key to an X25519 public key; `None` if that key is of
/// small order.
fn hpke_wrap(
    recipient: &[u8; 32],
    info: &[u8],
    plaintext: &[u8; 32],
    rng: &mut impl CryptoRng,
) -> Option<([u8; ENCAPPED_KEY_BYTES], Vec<u8>)> {
    // Any 32 bytes decode (RFC 7748 takes `u` modulo p); a small-order key fails to encapsulate.
    let recipient = <WrapKem as Kem>::PublicKey::from_bytes(recipient).ok()?;
    let (encapped, ciphertext) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, WrapKem>(
        &OpModeS::Base,
        &recipient,
        info,
        plaintext,
        &[],
        rng,
    )
    .ok()?;
    debug_assert_eq!(ciphertext.len(), WRAPPED_KEY_BYTES);
    Some((encapped.to_bytes().into(), ciphertext))
}

/// Why an HPKE unwrap failed.
enum Failure {
    Authentication,
    Malformed(String),
}

/// The 32-byte field key HPKE exports from `encapped` (see [`derive_field_key`]).
fn hpke_export(
    secret: &<WrapKem as Kem>::PrivateKey,
    encapped: &[u8; ENCAPPED_KEY_BYTES],
    info: &[u8],
) -> Result<[u8; 32], Failure> {
    let small_order =
        || Failure::Malformed("its encapsulated key is a point of small order".to_owned());
    let encapped =
        <WrapKem as Kem>::EncappedKey::from_bytes(encapped).map_err(|_| small_order())?;
    let receiver = hpke::setup_receiver::<AesGcm256, HkdfSha256, WrapKem>(
        &OpModeR::Base,
        secret,
        &encapped,
        info,
    )
    .map_err(|_| small_order())?;
    let mut key = [0u8; 32];
    receiver
        .export(FIELD_KEY_EXPORT_TAG, &mut key)
        .expect("32 bytes are far within HKDF-SHA256's export limit");
    Ok(key)
}

/// HPKE single-shot open of a wrapped 32-byte key.
fn hpke_unwrap(
    secret: &<WrapKem as Kem>::PrivateKey,
    encapped: &[u8; ENCAPPED_KEY_BYTES],
    ciphertext: &[u8],
    info: &[u8],
) -> Result<[u8; 32], Failure> {
    if ciphertext.len() != WRAPPED_KEY_BYTES {
        return Err(Failure::Malformed(format!(
            "its ciphertext is {} bytes long (expected {WRAPPED_KEY_BYTES})",
            ciphertext.len()
        )));
    }
    let small_order =
        || Failure::Malformed("its encapsulated key is a point of small order".to_owned());
    // Any 32 bytes are an X25519 public key; the length is fixed by the type.
    let encapped =
        <WrapKem as Kem>::EncappedKey::from_bytes(encapped).map_err(|_| small_order())?;
    let mut plaintext = match hpke::single_shot_open::<AesGcm256, HkdfSha256, WrapKem>(
        &OpModeR::Base,
        secret,
        &encapped,
        info,
        ciphertext,
        &[],
    ) {
        Ok(plaintext) => plaintext,
        Err(HpkeError::DecapError) => return Err(small_order()),
        Err(_) => return Err(Failure::Authentication),
    };
    let key = <[u8; EPOCH_SECRET_BYTES]>::try_from(plaintext.as_slice());
    plaintext.zeroize();
    // The plaintext's length is the ciphertext's less the tag, checked above.
    key.map_err(|_| Failure::Authentication)
}
