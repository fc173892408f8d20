//! Member keys, signatures, domain separation and the key-file helpers.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{IdentityError, KeyFileError};
use crate::hexfmt::parse_lower_hex;

/// Length of an encoded public key: a compressed Edwards point.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Length of a signature: `R` (32 bytes) then `s` (32 bytes).
pub const SIGNATURE_BYTES: usize = 64;
/// Length of a secret key: the 32-byte Ed25519 seed.
pub const SECRET_KEY_BYTES: usize = 32;

/// Longest chain id accepted, in bytes. Chain ids are short names fixed in
/// the genesis configuration; a bound keeps every signed prefix small, and
/// it is far below the 65 535 bytes the `u16` length field could express,
/// so the length prefix is never truncated.
pub const MAX_CHAIN_ID_BYTES: usize = 128;

/// Largest key file read. A key file holds 64 hex characters and a newline;
/// refusing anything much larger keeps a wrong path (a log, a disk image)
/// from being read into memory.
pub const MAX_KEY_FILE_BYTES: u64 = 1024;

/// First bytes of every signed message. The version lets a future encoding
/// coexist without any signature being valid under both.
pub const SIGNING_PREFIX: &[u8] = b"tally/v1/";

/// What a signature is for. Each domain has its own tag in the signed bytes,
/// so a signature for one purpose is useless for another.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Domain {
    /// A member's ledger transaction.
    Transaction,
    /// A validator's signature over a batch (block) of transactions.
    Batch,
    /// The root's signature over a member certificate.
    Certificate,
    /// A client's signed API request.
    Request,
}

impl Domain {
    /// Every domain, for tests and tooling.
    pub const ALL: [Domain; 4] = [
        Domain::Transaction,
        Domain::Batch,
        Domain::Certificate,
        Domain::Request,
    ];

    /// The tag written into signed bytes. Tags never contain `0x00`, which
    /// terminates them, so no tag is a prefix of another's encoding.
    pub fn tag(self) -> &'static str {
        match self {
            Domain::Transaction => "transaction",
            Domain::Batch => "batch",
            Domain::Certificate => "certificate",
            Domain::Request => "request",
        }
    }
}

/// The exact bytes an Ed25519 signature covers:
///
/// ```text
/// b"tally/v1/" || domain.tag() || 0x00 || len(chain_id) as u16 big-endian || chain_id || message
/// ```
///
/// Fails only if `chain_id` is longer than [`MAX_CHAIN_ID_BYTES`].
pub fn signing_bytes(
    domain: Domain,
    chain_id: &str,
    message: &[u8],
) -> Result<Vec<u8>, IdentityError> {
    let chain = chain_id.as_bytes();
    if chain.len() > MAX_CHAIN_ID_BYTES {
        return Err(IdentityError::ChainIdTooLong { len: chain.len() });
    }
    // Cannot fail: MAX_CHAIN_ID_BYTES < u16::MAX.
    let chain_len = u16::try_from(chain.len())
        .map_err(|_| IdentityError::ChainIdTooLong { len: chain.len() })?;
    let tag = domain.tag().as_bytes();
    let mut out =
        Vec::with_capacity(SIGNING_PREFIX.len() + tag.len() + 3 + chain.len() + message.len());
    out.extend_from_slice(SIGNING_PREFIX);
    out.extend_from_slice(tag);
    out.push(0x00);
    out.extend_from_slice(&chain_len.to_be_bytes());
    out.extend_from_slice(chain);
    out.extend_from_slice(message);
    Ok(out)
}

/// `p = 2^255 - 19` in little-endian, the bound a canonical `y` stays below.
const FIELD_PRIME_LE: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// True if the `y` coordinate in a compressed point (its low 255 bits) is
/// reduced modulo `p`. The decompression in ed25519-dalek accepts `y >= p`,
/// which would give one point two encodings.
pub(crate) fn has_canonical_y(encoding: &[u8; 32]) -> bool {
    let mut y = *encoding;
    y[31] &= 0x7f;
    // Compare little-endian numbers from the most significant byte down.
    for i in (0..32).rev() {
        if y[i] != FIELD_PRIME_LE[i] {
            return y[i] < FIELD_PRIME_LE[i];
        }
    }
    false // y == p
}

/// Every encoding with a canonical `y` that ed25519-dalek decompresses to a
/// point of small order (the 8 points of order 1, 2, 4 and 8, plus the
/// "negative zero" sign-bit variants of the two points with `x = 0`).
/// Comparing bytes against this list is much cheaper than decompressing,
/// which matters for the `R` of every signature in a batch. The test
/// `small_order_list_is_complete` checks each entry with ed25519-dalek.
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 10] = {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut identity_neg = identity;
    identity_neg[31] = 0x80;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let mut minus_one_neg = minus_one;
    minus_one_neg[31] = 0xff;
    let order4 = [0u8; 32];
    let mut order4_neg = order4;
    order4_neg[31] = 0x80;
    let order8_a: [u8; 32] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    let mut order8_a_neg = order8_a;
    order8_a_neg[31] = 0xfa;
    let order8_b: [u8; 32] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ];
    let mut order8_b_neg = order8_b;
    order8_b_neg[31] = 0x85;
    [
        identity,
        identity_neg,
        minus_one,
        minus_one_neg,
        order4,
        order4_neg,
        order8_a,
        order8_a_neg,
        order8_b,
        order8_b_neg,
    ]
};

/// True if `encoding` could be the `R` of a strictly valid signature as
/// far as its encoding shows: canonical `y` and not a small-order point.
/// (Whether it is on the curve at all is left to the verification.)
pub(crate) fn acceptable_r(encoding: &[u8; 32]) -> bool {
    has_canonical_y(encoding) && !SMALL_ORDER_ENCODINGS.contains(encoding)
}

/// Decompresses a canonical encoding of a point of large order, or fails.
/// Used for public keys and for the `R` half of signatures.
pub(crate) fn decode_point(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    if !has_canonical_y(bytes) {
        return None;
    }
    let point = VerifyingKey::from_bytes(bytes).ok()?;
    if point.is_weak() {
        return None;
    }
    Some(point)
}

/// Most decompressed public keys kept by [`verifying_key_of`]. A chain has tens to thousands of
/// members; past the bound the cache starts afresh rather than track which key is coldest.
pub const VERIFYING_KEY_CACHE_MAX: usize = 16_384;

/// Decompressed public keys by encoding. Decompressing a point costs a field exponentiation (about
/// as much as a fifth of a signature check), and the same few member keys arrive in every
/// transaction a validator decodes and checks: a trade benchmark spent about a tenth of its CPU
/// decompressing keys it had decompressed before.
static VERIFYING_KEYS: std::sync::LazyLock<
    std::sync::RwLock<std::collections::HashMap<[u8; PUBLIC_KEY_BYTES], VerifyingKey>>,
> = std::sync::LazyLock::new(Default::default);

/// [`decode_point`] of a public key, remembered: only keys that decode are kept, so a cached key
/// is a checked one.
fn verifying_key_of(bytes: &[u8; PUBLIC_KEY_BYTES]) -> Option<VerifyingKey> {
    {
        let cache = VERIFYING_KEYS
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = cache.get(bytes) {
            return Some(*key);
        }
    }
    let key = decode_point(bytes)?;
    let mut cache = VERIFYING_KEYS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= VERIFYING_KEY_CACHE_MAX {
        cache.clear();
    }
    cache.insert(*bytes, key);
    Some(key)
}

/// A member's Ed25519 public key: a canonical encoding of a curve point of
/// large order (checked on construction).
///
/// Serialized (serde) as 64 lower-case hex characters; `Display` and
/// `FromStr` use the same form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_BYTES]);

impl PublicKey {
    /// Accepts the 32 bytes only if they are a canonical encoding of a
    /// point on the curve that is not of small order; otherwise
    /// [`IdentityError::BadPublicKey`]. (Small-order keys could never
    /// pass strict verification, so refusing them here loses nothing.)
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_BYTES]) -> Result<PublicKey, IdentityError> {
        match verifying_key_of(bytes) {
            Some(_) => Ok(PublicKey(*bytes)),
            None => Err(IdentityError::BadPublicKey),
        }
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.0
    }

    /// The 32-byte encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_BYTES] {
        &self.0
    }

    /// The dalek key. Cannot fail for a constructed `PublicKey`, but is
    /// handled as an error rather than a panic all the same.
    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, IdentityError> {
        verifying_key_of(&self.0).ok_or(IdentityError::BadPublicKey)
    }

    /// The member's X25519 public key (a Montgomery `u` coordinate), the birational image of
    /// this Edwards point, for HPKE key grants (tally-privacy).
    ///
    /// A member's X25519 key is derived from its Ed25519 key rather than issued separately, so
    /// the member certificate that binds the Ed25519 key binds the encryption key too, and a
    /// member has one secret to keep. [`SecretKey::to_x25519_secret`] gives the matching secret.
    pub fn to_x25519(&self) -> [u8; 32] {
        match self.verifying_key() {
            Ok(key) => key.to_montgomery().to_bytes(),
            // Cannot happen for a constructed `PublicKey`. The all-zero `u` is a point of small
            // order: every X25519 exchange with it gives the all-zero secret, which HPKE refuses,
            // so a grant to it fails with an error instead of encrypting to a key nobody holds.
            Err(_) => [0u8; 32],
        }
    }

    /// Strictly verifies `signature` over [`signing_bytes`]`(domain,
    /// chain_id, message)`. Errors: [`IdentityError::ChainIdTooLong`],
    /// [`IdentityError::BadSignature`].
    pub fn verify(
        &self,
        domain: Domain,
        chain_id: &str,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), IdentityError> {
        let bytes = signing_bytes(domain, chain_id, message)?;
        let key = self.verifying_key()?;
        key.verify_strict(&bytes, &signature.to_dalek())
            .map_err(|_| IdentityError::BadSignature)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<PublicKey, IdentityError> {
        let bytes = parse_lower_hex::<PUBLIC_KEY_BYTES>(text).map_err(|reason| {
            IdentityError::MalformedHex {
                what: "public key",
                reason,
            }
        })?;
        PublicKey::from_bytes(&bytes)
    }
}

// Human-readable formats (JSON) carry keys and signatures as hex; binary formats (postcard, what
// is signed, hashed and stored) as raw bytes, half the size and no formatting on the hot path.
impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_string())
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(HexVisitor::<PublicKey>::new(
                "a public key as 64 lower-case hex characters",
            ))
        } else {
            let bytes: [u8; PUBLIC_KEY_BYTES] =
                deserializer.deserialize_bytes(BytesVisitor::<PUBLIC_KEY_BYTES>)?;
            PublicKey::from_bytes(&bytes).map_err(serde::de::Error::custom)
        }
    }
}

/// serde visitor for exactly `N` raw bytes.
struct BytesVisitor<const N: usize>;

impl<'de, const N: usize> serde::de::Visitor<'de> for BytesVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{N} bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<[u8; N], E> {
        <[u8; N]>::try_from(bytes).map_err(|_| E::invalid_length(bytes.len(), &self))
    }
}

/// An Ed25519 signature, `R || s`. Any 64 bytes make a `Signature`; whether
/// it is valid is decided by verification.
///
/// Serialized (serde) as 128 lower-case hex characters; `Display` and
/// `FromStr` use the same form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; SIGNATURE_BYTES]);

impl Signature {
    /// Wraps 64 bytes.
    pub fn from_bytes(bytes: &[u8; SIGNATURE_BYTES]) -> Signature {
        Signature(*bytes)
    }

    /// The 64 bytes, `R || s`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_BYTES] {
        self.0
    }

    /// The 64 bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_BYTES] {
        &self.0
    }

    /// The `R` half.
    pub(crate) fn r_bytes(&self) -> [u8; 32] {
        let mut r = [0u8; 32];
        r.copy_from_slice(&self.0[..32]);
        r
    }

    pub(crate) fn to_dalek(self) -> ed25519_dalek::Signature {
        ed25519_dalek::Signature::from_bytes(&self.0)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Signature, IdentityError> {
        parse_lower_hex::<SIGNATURE_BYTES>(text)
            .map(Signature)
            .map_err(|reason| IdentityError::MalformedHex {
                what: "signature",
                reason,
            })
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_string())
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Signature, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(HexVisitor::<Signature>::new(
                "a signature as 128 lower-case hex characters",
            ))
        } else {
            let bytes = deserializer.deserialize_bytes(BytesVisitor::<SIGNATURE_BYTES>)?;
            Ok(Signature::from_bytes(&bytes))
        }
    }
}

/// serde visitor for any `FromStr` type read from a string.
struct HexVisitor<T> {
    expecting: &'static str,
    _marker: std::marker::PhantomData<T>,
}

impl<T> HexVisitor<T> {
    fn new(expecting: &'static str) -> Self {
        HexVisitor {
            expecting,
            _marker: std::marker::PhantomData,
        }
    }
}

impl<T> serde::de::Visitor<'_> for HexVisitor<T>
where
    T: FromStr<Err = IdentityError>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}

/// A member's Ed25519 signing key. Its `Debug` shows only the public key;
/// nothing in this crate prints the secret except [`SecretKey::to_hex`].
/// The inner dalek key wipes its memory when dropped.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from a cryptographic random number generator
    /// (e.g. `rand::rngs::OsRng`).
    pub fn generate(rng: &mut impl CryptoRngCore) -> SecretKey {
        SecretKey(SigningKey::generate(rng))
    }

    /// The key for a fixed 32-byte seed: deterministic, for tests and the
    /// demo. A real member's seed must come from [`SecretKey::generate`].
    pub fn from_seed(seed: [u8; SECRET_KEY_BYTES]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        // The public key of a signing key is a multiple of the basepoint:
        // canonical and of large order, so it is a valid `PublicKey`.
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs [`signing_bytes`]`(domain, chain_id, message)`.
    ///
    /// # Panics
    ///
    /// If `chain_id` is longer than [`MAX_CHAIN_ID_BYTES`]. The chain id
    /// comes from the node's own configuration, never from the network;
    /// use [`SecretKey::try_sign`] where it might not have been checked.
    pub fn sign(&self, domain: Domain, chain_id: &str, message: &[u8]) -> Signature {
        match self.try_sign(domain, chain_id, message) {
            Ok(signature) => signature,
            Err(error) => panic!("cannot sign: {error}"),
        }
    }

    /// Like [`SecretKey::sign`], but an over-long chain id is an error.
    pub fn try_sign(
        &self,
        domain: Domain,
        chain_id: &str,
        message: &[u8],
    ) -> Result<Signature, IdentityError> {
        let bytes = signing_bytes(domain, chain_id, message)?;
        Ok(Signature(self.0.sign(&bytes).to_bytes()))
    }

    /// The member's X25519 secret key, matching [`PublicKey::to_x25519`] of
    /// [`SecretKey::public_key`].
    ///
    /// It is the Ed25519 secret scalar: the first half of SHA-512 of the seed, clamped, the
    /// convention of libsodium's `crypto_sign_ed25519_sk_to_curve25519` and of age. X25519 with
    /// it gives the Montgomery form of the Ed25519 public key, so the member certificate binds
    /// the encryption key as well. This is secret material: the caller wipes it after use.
    pub fn to_x25519_secret(&self) -> [u8; 32] {
        let mut scalar = self.0.to_scalar_bytes();
        // Clamping (RFC 7748, section 5), as Ed25519 does to the same bytes before signing.
        scalar[0] &= 0b1111_1000;
        scalar[31] &= 0b0111_1111;
        scalar[31] |= 0b0100_0000;
        scalar
    }

    /// The 32-byte seed as 64 lower-case hex characters. This is the
    /// secret: never log it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// Parses 64 lower-case hex characters (the form of
    /// [`SecretKey::to_hex`]); surrounding whitespace is not accepted here.
    pub fn from_hex(text: &str) -> Result<SecretKey, KeyFileError> {
        parse_seed(text)
            .map(SecretKey::from_seed)
            .map_err(|reason| KeyFileError::BadHex { reason })
    }

    /// Writes the key as hex and a newline to a new file at `path`.
    ///
    /// On unix the file is created with mode `0o600`. An existing file is
    /// never overwritten (the error names it), so a second `init` cannot
    /// destroy a member's key.
    pub fn write_file(&self, path: &Path) -> Result<(), KeyFileError> {
        let io_error = |source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_error)?;
        let mut text = self.to_hex();
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)
    }

    /// Reads a key written by [`SecretKey::write_file`]: 64 lower-case hex
    /// characters, optionally surrounded by whitespace (a trailing newline,
    /// `\r\n`). Errors name the path and what is wrong.
    pub fn read_file(path: &Path) -> Result<SecretKey, KeyFileError> {
        let io_error = |source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let malformed = |reason: String| KeyFileError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(io_error)?;
        let mut raw = Vec::new();
        file.take(MAX_KEY_FILE_BYTES + 1)
            .read_to_end(&mut raw)
            .map_err(io_error)?;
        if raw.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(malformed(format!(
                "file is larger than {MAX_KEY_FILE_BYTES} bytes; a key file holds 64 hex characters and a newline"
            )));
        }
        let text = std::str::from_utf8(&raw)
            .map_err(|_| malformed("file is not text; expected 64 hex characters".to_owned()))?;
        let text = text.trim();
        if text.is_empty() {
            return Err(malformed(
                "file is empty; expected 64 hex characters".to_owned(),
            ));
        }
        parse_seed(text)
            .map(SecretKey::from_seed)
            .map_err(malformed)
    }
}

/// Parses a seed, describing the expected form in any error.
fn parse_seed(text: &str) -> Result<[u8; SECRET_KEY_BYTES], String> {
    parse_lower_hex::<SECRET_KEY_BYTES>(text)
        .map_err(|reason| format!("{reason} (a secret key is a 32-byte Ed25519 seed in hex)"))
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_cache_keeps_only_keys_that_decode_and_answers_as_decompression_does() {
        let key = SecretKey::generate(&mut rand::rngs::OsRng).public_key();
        for _ in 0..2 {
            let parsed = PublicKey::from_bytes(key.as_bytes()).expect("a valid key");
            assert_eq!(
                parsed.verifying_key().expect("decodes").to_bytes(),
                VerifyingKey::from_bytes(key.as_bytes()).unwrap().to_bytes()
            );
        }
        // Refused the second time too: a refused encoding is never remembered as valid.
        for encoding in SMALL_ORDER_ENCODINGS.iter().chain([&FIELD_PRIME_LE]) {
            for _ in 0..2 {
                assert_eq!(
                    PublicKey::from_bytes(encoding),
                    Err(IdentityError::BadPublicKey)
                );
            }
            assert!(!VERIFYING_KEYS.read().unwrap().contains_key(encoding));
        }
    }

    #[test]
    fn small_order_list_is_complete() {
        // Each entry decompresses to a point of small order.
        for encoding in SMALL_ORDER_ENCODINGS {
            let point = VerifyingKey::from_bytes(&encoding).expect("on the curve");
            assert!(point.is_weak(), "{}", hex::encode(encoding));
            assert!(has_canonical_y(&encoding));
            assert!(!acceptable_r(&encoding));
        }
        // The entries are 8 distinct points: the sign bit only doubles
        // the two with x = 0 (y = 1 and y = -1), which are the same point
        // as their positive forms.
        let mut ys: Vec<[u8; 32]> = SMALL_ORDER_ENCODINGS
            .iter()
            .map(|e| {
                let mut y = *e;
                y[31] &= 0x7f;
                y
            })
            .collect();
        ys.sort();
        ys.dedup();
        // 5 y values: 1, -1, 0 (two points), and two order-8 y values
        // (two points each) = 1 + 1 + 2 + 2 + 2 = 8 points.
        assert_eq!(ys.len(), 5);
        // A real signature's R is acceptable.
        let signature = SecretKey::from_seed([3; 32]).sign(Domain::Batch, "c", b"m");
        assert!(acceptable_r(&signature.r_bytes()));
    }

    #[test]
    fn canonical_y_boundary() {
        let mut p_minus_one = FIELD_PRIME_LE;
        p_minus_one[0] -= 1;
        assert!(has_canonical_y(&p_minus_one));
        assert!(!has_canonical_y(&FIELD_PRIME_LE));
        let mut p_with_sign = FIELD_PRIME_LE;
        p_with_sign[31] |= 0x80;
        assert!(!has_canonical_y(&p_with_sign));
        assert!(has_canonical_y(&[0u8; 32]));
        assert!(!has_canonical_y(&[0xffu8; 32]));
    }
}
