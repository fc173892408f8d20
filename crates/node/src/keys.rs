//! Consensus key files: a validator's Ed25519 key in commonware's encoding, as hex.

use std::path::Path;

use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{ed25519, Signer};
use commonware_runtime::IoBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConsensusKeyError {
    #[error("cannot read consensus key {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("consensus key {path} is malformed: {reason}")]
    Malformed { path: String, reason: String },
    #[error("consensus public key '{text}' is malformed: {reason}")]
    PublicMalformed { text: String, reason: String },
}

pub fn private_to_hex(key: &ed25519::PrivateKey) -> String {
    hex::encode(key.encode())
}

pub fn public_to_hex(key: &ed25519::PublicKey) -> String {
    hex::encode(key.encode())
}

pub fn public_from_hex(text: &str) -> Result<ed25519::PublicKey, ConsensusKeyError> {
    let malformed = |reason: String| ConsensusKeyError::PublicMalformed {
        text: text.to_string(),
        reason,
    };
    let bytes = hex::decode(text.trim()).map_err(|error| malformed(error.to_string()))?;
    ed25519::PublicKey::decode(IoBuf::from(bytes)).map_err(|error| malformed(error.to_string()))
}

pub fn read_private(path: &Path) -> Result<ed25519::PrivateKey, ConsensusKeyError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConsensusKeyError::Read {
        path: path.display().to_string(),
        reason: error.to_string(),
    })?;
    let malformed = |reason: String| ConsensusKeyError::Malformed {
        path: path.display().to_string(),
        reason,
    };
    let bytes = hex::decode(text.trim()).map_err(|error| malformed(error.to_string()))?;
    ed25519::PrivateKey::decode(IoBuf::from(bytes)).map_err(|error| malformed(error.to_string()))
}

pub fn public_of(key: &ed25519::PrivateKey) -> ed25519::PublicKey {
    key.public_key()
}
