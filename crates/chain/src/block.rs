//! Blocks: a header that commits to everything, and the transactions it orders.
//!
//! The block digest is the SHA-256 of the header's canonical encoding. The header commits to the
//! transactions through `tx_root`, so decoding a block checks that root: a block that decodes is
//! internally consistent, whoever sent it.

use bytes::{Buf, BufMut};
use commonware_codec::{EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{types::Height, Heightable};
use commonware_cryptography::{sha256, Digestible, Hasher, Sha256};
use serde::{Deserialize, Serialize};
use tally_identity::{merkle_root, Digest};

use crate::tx::Transaction;

/// Encoded size of one block. Bounds memory per block received from a peer; a block of
/// `TXS_PER_BLOCK_MAX` typical transactions fits well inside it.
pub const BLOCK_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Transactions in one block. Bounds verification work per block.
pub const TXS_PER_BLOCK_MAX: usize = 20_000;

/// The consensus digest of a block.
pub type BlockDigest = sha256::Digest;

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Header {
    /// SHA-256 of the chain id: a block of one chain is never valid on another.
    pub chain: Digest,
    pub height: u64,
    pub parent: [u8; 32],
    /// Milliseconds since the Unix epoch, stamped by the proposer. The only clock state
    /// transitions see.
    pub time_ms: u64,
    /// Merkle root of the transaction hashes, in block order.
    pub tx_root: Digest,
    /// Root of the append-only log of every entry ever committed on this chain.
    pub log_root: Digest,
    /// Entries in the log after this block.
    pub log_size: u64,
    /// Digest of the ledger and membership state after this block.
    pub state_root: Digest,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<Transaction>,
    /// The canonical bytes, once known: not part of the block (never encoded, compared or
    /// cloned).
    #[serde(skip)]
    encoded: Encoded,
}

/// A block's canonical bytes, kept after the first encoding or from the bytes it was decoded
/// from.
///
/// A block is encoded to be sized, written to consensus storage twice, sent to each peer and
/// stored in the chain's store; with entries carrying sealed fields, each encoding was a
/// noticeable share of a validator's work. A clone starts without the bytes, so a copy that is
/// changed (tests build faulty blocks that way) is encoded from what it holds; the original is
/// never changed after it was built or decoded.
#[derive(Default)]
struct Encoded(std::sync::OnceLock<std::sync::Arc<[u8]>>);

impl Clone for Encoded {
    fn clone(&self) -> Encoded {
        Encoded::default()
    }
}

impl PartialEq for Encoded {
    fn eq(&self, _: &Encoded) -> bool {
        true
    }
}

impl Eq for Encoded {}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.get() {
            Some(bytes) => write!(f, "<{} bytes>", bytes.len()),
            None => f.write_str("<not encoded>"),
        }
    }
}

impl Block {
    /// A block of `transactions` under `header`.
    pub fn new(header: Header, transactions: Vec<Transaction>) -> Block {
        Block {
            header,
            transactions,
            encoded: Encoded::default(),
        }
    }

    pub fn tx_root(transactions: &[Transaction]) -> Digest {
        let leaves: Vec<Digest> = transactions.iter().map(Transaction::hash).collect();
        merkle_root(&leaves)
    }

    pub fn height(&self) -> u64 {
        self.header.height
    }

    pub fn entry_count(&self) -> usize {
        self.transactions.iter().map(Transaction::entry_count).sum()
    }

    /// The canonical bytes, encoded on first use.
    fn encoded(&self) -> &[u8] {
        self.encoded.0.get_or_init(|| {
            postcard::to_stdvec(self)
                .expect("serialising to a Vec cannot fail")
                .into()
        })
    }

    /// Decodes and checks the transaction root.
    pub fn decode_checked(bytes: &[u8]) -> Result<Block, BlockDecodeError> {
        if bytes.len() > BLOCK_BYTES_MAX {
            return Err(BlockDecodeError::TooLarge { bytes: bytes.len() });
        }
        let malformed = |error: postcard::Error| BlockDecodeError::Malformed(error.to_string());
        // Decoded field by field (postcard writes a struct's fields in order, a sequence after
        // its length), so that each transaction's hash is taken over the bytes it was decoded
        // from rather than over an encoding of it made again: blocks are decoded on receipt
        // and again each time consensus reads one back from its storage.
        let (header, mut rest): (Header, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(malformed)?;
        let (count, after): (usize, &[u8]) = postcard::take_from_bytes(rest).map_err(malformed)?;
        rest = after;
        if count > TXS_PER_BLOCK_MAX {
            return Err(BlockDecodeError::TooManyTransactions { count });
        }
        // Reserved as far as the bytes could hold: a transaction is at least a signature long.
        let room = count.min(rest.len() / tally_identity::SIGNATURE_BYTES);
        let mut transactions = Vec::with_capacity(room);
        let mut hashes = Vec::with_capacity(room);
        for _ in 0..count {
            let (tx, after): (Transaction, &[u8]) =
                postcard::take_from_bytes(rest).map_err(malformed)?;
            hashes.push(tally_identity::leaf_hash(&rest[..rest.len() - after.len()]));
            transactions.push(tx);
            rest = after;
        }
        // One block has one encoding: trailing bytes would give two byte strings one digest.
        if !rest.is_empty() {
            return Err(BlockDecodeError::TrailingBytes { count: rest.len() });
        }
        // A transaction encoded other than canonically (postcard accepts some overlong
        // integers) gets a hash here that execution, which hashes the canonical encoding, does
        // not: such a block decodes, but no validator executes it.
        if merkle_root(&hashes) != header.tx_root {
            return Err(BlockDecodeError::TxRootMismatch {
                height: header.height,
            });
        }
        let mut block = Block::new(header, transactions);
        block.encoded = Encoded(std::sync::OnceLock::from(std::sync::Arc::<[u8]>::from(
            bytes,
        )));
        Ok(block)
    }

    /// The canonical bytes, as stored and sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encoded().to_vec()
    }

    /// The canonical bytes without a copy.
    pub fn bytes(&self) -> &[u8] {
        self.encoded()
    }
}

pub fn header_digest(header: &Header) -> BlockDigest {
    let bytes = postcard::to_stdvec(header).expect("serialising to a Vec cannot fail");
    Sha256::hash(&[b"tally/v1/header", &bytes])
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockDecodeError {
    #[error("block of {bytes} bytes exceeds the limit of {max} bytes", max = BLOCK_BYTES_MAX)]
    TooLarge { bytes: usize },
    #[error("block has {count} transactions, more than the limit of {max}", max = TXS_PER_BLOCK_MAX)]
    TooManyTransactions { count: usize },
    #[error("{count} bytes follow the block")]
    TrailingBytes { count: usize },
    #[error("malformed block: {0}")]
    Malformed(String),
    #[error("block {height}: transactions do not match the header's transaction root")]
    TxRootMismatch { height: u64 },
}

impl Digestible for Block {
    type Digest = BlockDigest;

    fn digest(&self) -> BlockDigest {
        header_digest(&self.header)
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.header.height)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> BlockDigest {
        sha256::Digest(self.header.parent)
    }
}

// The consensus engine moves blocks as length-prefixed postcard bytes.
impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        let body = self.encoded();
        buf.put_u32(body.len() as u32);
        buf.put_slice(body);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        4 + self.encoded().len()
    }
}

impl Read for Block {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _cfg: &()) -> Result<Self, CodecError> {
        if buf.remaining() < 4 {
            return Err(CodecError::EndOfBuffer);
        }
        let length = buf.get_u32() as usize;
        if length > BLOCK_BYTES_MAX {
            return Err(CodecError::Invalid("Block", "too large"));
        }
        if buf.remaining() < length {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0u8; length];
        buf.copy_to_slice(&mut bytes);
        Block::decode_checked(&bytes).map_err(|_| CodecError::Invalid("Block", "invalid block"))
    }
}

impl commonware_consensus::BoundedBlock for Block {
    fn max_encode_size(_cfg: &()) -> usize {
        4 + BLOCK_BYTES_MAX
    }
}
