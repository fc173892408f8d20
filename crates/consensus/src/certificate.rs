//! Finalization certificates checked offline: the consensus namespace and validator set of a
//! chain come from its genesis, so a stored or shipped certificate can be verified with nothing
//! but the genesis.

use commonware_codec::{Decode as _, DecodeExt as _};
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::{ed25519, sha256};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use tally_chain::{BlockDigest, Genesis};

use crate::application::Scheme;

/// The namespace that separates one chain's consensus signatures from every other chain's.
pub fn consensus_namespace(chain_id: &str) -> Vec<u8> {
    format!("tally/consensus/{chain_id}").into_bytes()
}

/// The validator set of a chain, in the order the consensus engine indexes it.
pub fn participants_of(genesis: &Genesis) -> Result<Set<ed25519::PublicKey>, CertificateError> {
    let keys: Vec<ed25519::PublicKey> = genesis
        .validators
        .iter()
        .map(|validator| {
            let bytes = hex::decode(&validator.consensus_key).map_err(|_| {
                CertificateError::BadValidatorKey {
                    name: validator.name.clone(),
                }
            })?;
            ed25519::PublicKey::decode(bytes).map_err(|_| CertificateError::BadValidatorKey {
                name: validator.name.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Set::from_iter_dedup(keys))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("genesis validator {name} has a malformed consensus key")]
    BadValidatorKey { name: String },
    #[error("the finalization certificate does not decode")]
    Malformed,
    #[error("the finalization certificate is for block {certified}, not {expected}")]
    WrongBlock { certified: String, expected: String },
    #[error(
        "the finalization certificate's signatures do not verify against the genesis validators"
    )]
    BadSignatures,
}

/// What a verified certificate says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certified {
    /// The consensus view in which the block was finalized.
    pub view: u64,
    /// How many validators signed the finalization.
    pub signers: usize,
}

/// Verifies finalization certificates of one chain against its genesis validator set.
pub struct CertificateVerifier {
    scheme: Scheme,
    validators: usize,
}

impl CertificateVerifier {
    pub fn new(genesis: &Genesis) -> Result<CertificateVerifier, CertificateError> {
        let participants = participants_of(genesis)?;
        let validators = participants.len();
        Ok(CertificateVerifier {
            scheme: Scheme::verifier(&consensus_namespace(&genesis.chain_id), participants),
            validators,
        })
    }

    /// Checks that `bytes` is a finalization of the block `digest`, signed by a quorum of the
    /// genesis validators.
    pub fn verify(
        &self,
        bytes: &[u8],
        digest: &BlockDigest,
    ) -> Result<Certified, CertificateError> {
        let (certified_digest, certified) = self.certified_block(bytes)?;
        if certified_digest != *digest {
            return Err(CertificateError::WrongBlock {
                certified: hex::encode(certified_digest),
                expected: hex::encode(digest),
            });
        }
        Ok(certified)
    }

    /// Checks that `bytes` is a finalization signed by a quorum of the genesis validators and
    /// returns the digest of the block it finalizes.
    pub fn certified_block(
        &self,
        bytes: &[u8],
    ) -> Result<(BlockDigest, Certified), CertificateError> {
        // Decoding consumes the whole input: trailing bytes are malformed too.
        let finalization =
            Finalization::<Scheme, sha256::Digest>::decode_cfg(bytes.to_vec(), &self.validators)
                .map_err(|_| CertificateError::Malformed)?;
        let mut rng = commonware_utils::rng::sys_rng();
        if !finalization.verify(&mut rng, &self.scheme, &Sequential) {
            return Err(CertificateError::BadSignatures);
        }
        Ok((
            finalization.proposal.payload,
            Certified {
                view: finalization.round().view().get(),
                signers: finalization.certificate.signers.count(),
            },
        ))
    }
}
