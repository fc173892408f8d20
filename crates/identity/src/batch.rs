//! Checking many signatures at once.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;

use crate::error::{BatchVerifyError, IdentityError};
use crate::keys::{acceptable_r, signing_bytes, Domain, PublicKey, Signature};

/// One item of a batch signature check.
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'a> {
    /// The key that should have signed.
    pub key: &'a PublicKey,
    /// What the signature is for.
    pub domain: Domain,
    /// The chain the signature is for.
    pub chain_id: &'a str,
    /// The signed message (without the domain prefix).
    pub message: &'a [u8],
    /// The signature to check.
    pub signature: &'a Signature,
}

impl SignatureCheck<'_> {
    /// Checks this one item alone, exactly as [`PublicKey::verify`].
    pub fn verify(&self) -> Result<(), IdentityError> {
        self.key
            .verify(self.domain, self.chain_id, self.message, self.signature)
    }
}

/// Checks every signature with ed25519-dalek's batch verification (one
/// multi-scalar multiplication, several times faster than one by one).
/// An empty slice is `Ok`.
///
/// If the batch fails, the checks are redone one by one with
/// [`PublicKey::verify`] and the first failing one is reported, e.g.
/// "signature 3 of 10 is invalid: signature does not verify" (0-based
/// index). So a rejection always agrees with single verification, and a
/// batch with a bad signature at the end costs about one batch plus one
/// single check per item.
///
/// Before batching, each signature's `R` is required to be a canonical
/// point of large order, as strict single verification requires (batch
/// verification alone would accept a small-order `R`). One difference is
/// left that no check on the public API of ed25519-dalek can close: a key
/// holder who deliberately adds a small-order (torsion) component to `R`
/// makes a signature that single strict verification rejects and the
/// batch equation accepts with probability about 1/8, decided by the whole
/// batch's contents. Honest signers never produce such signatures; but a
/// consensus rule must decide a given set of signatures with one of the two
/// functions, never a mix.
pub fn verify_many(checks: &[SignatureCheck<'_>]) -> Result<(), BatchVerifyError> {
    if checks.is_empty() {
        return Ok(());
    }
    let mut messages: Vec<Vec<u8>> = Vec::with_capacity(checks.len());
    let mut signatures: Vec<ed25519_dalek::Signature> = Vec::with_capacity(checks.len());
    let mut keys: Vec<VerifyingKey> = Vec::with_capacity(checks.len());
    // A batch usually holds many signatures by few members: decompress
    // each distinct key once.
    let mut decoded: HashMap<PublicKey, VerifyingKey> = HashMap::new();
    for check in checks {
        let key = match decoded.get(check.key) {
            Some(key) => Some(*key),
            None => check.key.verifying_key().ok().inspect(|key| {
                decoded.insert(*check.key, *key);
            }),
        };
        let message = signing_bytes(check.domain, check.chain_id, check.message).ok();
        match (key, message) {
            (Some(key), Some(message)) if acceptable_r(&check.signature.r_bytes()) => {
                messages.push(message);
                signatures.push(check.signature.to_dalek());
                keys.push(key);
            }
            // This item fails single verification too (chain id too long,
            // key not decodable, R non-canonical or of small order); find
            // the first failing item, which may be an earlier one.
            _ => return first_failure(checks),
        }
    }
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    match ed25519_dalek::verify_batch(&message_refs, &signatures, &keys) {
        Ok(()) => Ok(()),
        Err(_) => first_failure(checks),
    }
}

/// Verifies one by one and reports the first failure. Returns `Ok` if all
/// pass, which cannot happen after a failed batch (strictly valid
/// signatures always satisfy the batch equation) but is the honest answer.
fn first_failure(checks: &[SignatureCheck<'_>]) -> Result<(), BatchVerifyError> {
    for (index, check) in checks.iter().enumerate() {
        check.verify().map_err(|reason| BatchVerifyError {
            index,
            count: checks.len(),
            reason,
        })?;
    }
    Ok(())
}
