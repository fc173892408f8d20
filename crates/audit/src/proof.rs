//! Self-contained proofs, checked offline with nothing but the chain's genesis.
//!
//! - An **entry proof** carries the entry's transaction (signed by its author), the Merkle path
//!   of that transaction to its block's `tx_root`, the author's member certificate (signed by the
//!   enterprise root key the genesis names), the block header, the headers of any descendants up
//!   to the first block with a finalization certificate of its own, and that certificate.
//! - A **closing proof** is the same for the final sign-off of a period close, which carries the
//!   closing trial balance.
//! - A **consistency proof** carries the headers from one height to another (and on to the first
//!   certified block): each names its parent's digest, so the later head extends the earlier.
//!
//! A proof file is [`PROOF_MAGIC`] followed by the postcard encoding of a [`Proof`]. Every byte
//! is bound by a check (signatures, hashes, certificate), and trailing bytes are refused, so an
//! altered byte fails the check or yields a different, equally checked statement.
//! Size: an entry proof grows with its carrying transaction (a batch is carried whole, because
//! the block commits to whole transactions) and with the distance to the next certified block.
//!
//! # Validator-set epochs (format 2)
//!
//! On a chain whose genesis sets `epoch_blocks`, the validators may change at each epoch
//! boundary, and a certificate made in epoch `e > 0` is signed by a set the genesis does not
//! name. A proof whose last header is in epoch `E > 0` therefore carries `E`
//! [`EpochHandoff`]s, one per boundary from the genesis on: handoff `e` is the header of block
//! `last(e)`, that block's own finalization certificate (made in epoch `e`; a boundary block
//! always has one), and the opening of its `state_root`: the 32-byte legacy root and the
//! validator list its state names for epoch `e + 1` (see `tally_chain::epoch_state_root`). The
//! checker starts from the genesis's set and, for each handoff in turn, checks the header sits at
//! `last(e)` of the genesis's schedule, checks its certificate with set `e`, checks the opening
//! against the certified `state_root`, and so learns set `e + 1` (an empty list keeps set `e`, as
//! the chain itself does). The proof's own certificate is then checked with the set of its last
//! header's epoch. The handoffs need not link to each other: each is certified by a set the
//! checker already trusts. Headers of the proof that sit at a boundary must be the handoff's.
//!
//! Such a proof is written as [`PROOF_MAGIC_V2`], the postcard encoding of the [`Proof`] as in
//! format 1, then the postcard encoding of the handoffs. A proof without handoffs (every proof
//! of a chain without epochs, and one of a chain with epochs whose last header is in epoch 0)
//! is written as format 1, byte for byte as before, so older readers still read it. Size: each
//! handoff adds a header, a certificate (about 64 bytes per signer) and 32 bytes per validator
//! of the next set, so a proof grows linearly with the number of epochs before its block.

use serde::{Deserialize, Serialize};
use tally_chain::{
    chain_hash, entry_leaves, epoch_state_root, header_digest, verify_signatures_with, BlockDigest,
    ChainState, EpochRecord, EpochSchedule, Genesis, Header, Store, StoreError, Transaction,
    TxBody,
};
use tally_consensus::{CertificateError, CertificateVerifier};
use tally_identity::{merkle_proof, verify_merkle_proof, CertifiedMember, Digest};
use tally_ledger::{EntryDraft, EntryId};

/// The first bytes of a proof file without epoch handoffs (format 1).
pub const PROOF_MAGIC: &[u8; 8] = b"TALLYPF1";
/// The first bytes of a proof file with epoch handoffs (format 2, see the module doc).
pub const PROOF_MAGIC_V2: &[u8; 8] = b"TALLYPF2";
/// Largest proof accepted for checking: a block's worth of transaction plus headers.
pub const PROOF_BYTES_MAX: usize = tally_chain::BLOCK_BYTES_MAX + 4 * 1024 * 1024;
/// Headers one proof may carry: a consistency proof spans at most this many blocks.
pub const PROOF_HEADERS_MAX: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proof {
    Entry(Box<EntryProof>),
    Consistency(ConsistencyProof),
    Closing(Box<ClosingProof>),
}

/// A transaction in a final block: the signed transaction, its Merkle path to the block's
/// `tx_root`, its author's member certificate, the block header and any descendants up to the
/// first with a certificate of its own, and that certificate. Entry and closing proofs are one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxInclusion {
    pub transaction: Transaction,
    pub tx_index: u32,
    pub tx_count: u32,
    pub tx_path: Vec<Digest>,
    /// The author's certificate, issued by the enterprise root key.
    pub member: CertifiedMember,
    /// The transaction's block header, then each descendant up to the certified one.
    pub headers: Vec<Header>,
    /// Finalization certificate of the last header, in the consensus engine's encoding.
    pub certificate: Vec<u8>,
    /// One handoff per epoch boundary before the last header (see the module doc). Not part of
    /// this struct's serde encoding: [`Proof::to_bytes`] writes them after the proof, under
    /// [`PROOF_MAGIC_V2`], so a format-1 proof decodes as it always did.
    #[serde(skip)]
    pub handoffs: Vec<EpochHandoff>,
}

/// How a light client learns the validators of epoch `e + 1` from those of epoch `e`: the
/// certified header of the epoch's last block and the opening of its `state_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochHandoff {
    /// The header of block `last(e)`.
    pub boundary: Header,
    /// The legacy state root of that block's state (`ChainState::legacy_state_root`).
    pub legacy_root: [u8; 32],
    /// The validator list that state names for epoch `e + 1`, sorted ascending; empty when it
    /// names none, and epoch `e + 1` keeps the set of epoch `e`.
    pub validators: Vec<[u8; 32]>,
    /// The boundary block's own finalization certificate, made in epoch `e`.
    pub certificate: Vec<u8>,
}

/// Proves a period close's trial balance: the final sign-off transaction (which carries the
/// closing trial balance, accepted by the chain only if it equalled the books as of the closing
/// day) in a final block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingProof {
    pub chain_id: String,
    pub inclusion: TxInclusion,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    pub chain_id: String,
    pub entry_id: EntryId,
    /// Position of the entry inside the transaction (0 for a single entry).
    pub item_index: u32,
    /// The transaction that carried the entry.
    pub inclusion: TxInclusion,
}

/// Proves that the last header's block extends the first's. It has no separate `from` and `to`
/// fields: they are the first and last headers' heights, so no byte of the proof goes unchecked.
/// Asked for `from..to`, it ends at `to` if that block has its own certificate, else at the
/// first certified block after it (which extends `to` too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub chain_id: String,
    pub headers: Vec<Header>,
    pub certificate: Vec<u8>,
    /// As [`TxInclusion::handoffs`].
    #[serde(skip)]
    pub handoffs: Vec<EpochHandoff>,
}

/// Why a proof could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("no period of this chain is closed through {0}")]
    UnknownClosing(String),
    #[error("entry '{0}' is not committed on this chain")]
    UnknownEntry(String),
    #[error("no block at height {0}")]
    UnknownBlock(u64),
    #[error("the consistency range {from}..{to} is empty or reversed")]
    BadRange { from: u64, to: u64 },
    #[error("the range spans {count} blocks, more than the limit of {max}", max = PROOF_HEADERS_MAX)]
    TooLong { count: u64 },
    #[error("block {0} is not covered by a finalization certificate yet")]
    NotCertified(u64),
    #[error("the signer of {0} is not a member of the chain")]
    UnknownSigner(String),
    #[error("stored data does not match: {0}")]
    Inconsistent(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Why a proof does not check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckError {
    #[error("not a Tally proof file (bad magic bytes)")]
    BadMagic,
    #[error("proof of {bytes} bytes exceeds the limit of {max} bytes", max = PROOF_BYTES_MAX)]
    TooLarge { bytes: usize },
    #[error("malformed proof: {0}")]
    Malformed(String),
    #[error("the proof is for chain '{proof}', the genesis for '{genesis}'")]
    WrongChain { proof: String, genesis: String },
    #[error("header {index} is for another chain")]
    HeaderChain { index: usize },
    #[error("the proof carries no headers")]
    NoHeaders,
    #[error("header {index} (height {height}) does not link to the header before it")]
    BrokenLink { index: usize, height: u64 },
    #[error("the certificate: {0}")]
    Certificate(#[from] CertificateError),
    #[error("the transaction is not in the block (Merkle path does not lead to tx_root)")]
    NotInBlock,
    #[error("the transaction's signature does not verify")]
    BadSignature,
    #[error("the transaction is not a period close sign-off")]
    NotASignOff,
    #[error("the transaction holds no entry '{0}' at the claimed position")]
    EntryNotInTransaction(String),
    #[error("the member certificate is not signed by the enterprise root key")]
    BadMember,
    #[error("the member certificate is for another key than the transaction's signer")]
    MemberMismatch,
    #[error("the member certificate was not valid at the block time")]
    MemberNotValid,
    #[error("the proof carries {got} epoch handoffs, but its last header (height {height}) is in epoch {epoch}, which needs one per epoch boundary before it")]
    HandoffCount { got: usize, epoch: u64, height: u64 },
    #[error("the handoff of epoch {epoch} is for another chain")]
    HandoffChain { epoch: u64 },
    #[error("the handoff of epoch {epoch} is a header at height {got}, but the epoch ends at height {expected}")]
    HandoffMisplaced { epoch: u64, got: u64, expected: u64 },
    #[error("the handoff of epoch {epoch}: the certificate: {error}")]
    HandoffCertificate { epoch: u64, error: CertificateError },
    #[error("the handoff of epoch {epoch}: its legacy root and validator list do not open the boundary header's state root")]
    HandoffStateRoot { epoch: u64 },
    #[error("the header at height {height} closes epoch {epoch}, but is not the block its handoff certifies")]
    BoundaryMismatch { epoch: u64, height: u64 },
}

/// What a proof that checks establishes. Made once per check, so its size does not matter.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Proven {
    Entry {
        chain_id: String,
        entry: EntryDraft,
        member: CertifiedMember,
        height: u64,
        time_ms: u64,
        block: BlockDigest,
        /// The block whose certificate made it final (the entry's, or a descendant's).
        certified_height: u64,
        signers: usize,
    },
    Closing {
        chain_id: String,
        sign_off: tally_chain::CloseSignOff,
        member: CertifiedMember,
        height: u64,
        time_ms: u64,
        block: BlockDigest,
        certified_height: u64,
        signers: usize,
    },
    Consistency {
        chain_id: String,
        from: u64,
        from_digest: BlockDigest,
        /// The last block, the one the certificate finalizes.
        to: u64,
        to_digest: BlockDigest,
        signers: usize,
    },
}

impl Proof {
    /// The proof file: format 1 ([`PROOF_MAGIC`]) when the proof carries no handoff, else
    /// format 2 ([`PROOF_MAGIC_V2`]) with the handoffs after the proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let handoffs = self.handoffs();
        let magic = if handoffs.is_empty() {
            PROOF_MAGIC
        } else {
            PROOF_MAGIC_V2
        };
        let mut bytes = magic.to_vec();
        bytes = postcard::to_extend(self, bytes).expect("serialising to a Vec cannot fail");
        if !handoffs.is_empty() {
            bytes = postcard::to_extend(handoffs, bytes).expect("serialising to a Vec cannot fail");
        }
        bytes
    }

    /// Reads a proof file of either format. A format-2 file must carry at least one handoff:
    /// a proof without one is written as format 1, so each proof has one encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Proof, CheckError> {
        if bytes.len() > PROOF_BYTES_MAX {
            return Err(CheckError::TooLarge { bytes: bytes.len() });
        }
        let (with_handoffs, body) = if let Some(body) = bytes.strip_prefix(PROOF_MAGIC.as_slice()) {
            (false, body)
        } else if let Some(body) = bytes.strip_prefix(PROOF_MAGIC_V2.as_slice()) {
            (true, body)
        } else {
            return Err(CheckError::BadMagic);
        };
        let malformed = |error: postcard::Error| CheckError::Malformed(error.to_string());
        let (mut proof, mut rest): (Proof, &[u8]) =
            postcard::take_from_bytes(body).map_err(malformed)?;
        if with_handoffs {
            let (handoffs, after): (Vec<EpochHandoff>, &[u8]) =
                postcard::take_from_bytes(rest).map_err(malformed)?;
            if handoffs.is_empty() {
                return Err(CheckError::Malformed(
                    "a TALLYPF2 proof carries no epoch handoff".into(),
                ));
            }
            *proof.handoffs_mut() = handoffs;
            rest = after;
        }
        if !rest.is_empty() {
            return Err(CheckError::Malformed(format!(
                "{} bytes follow the proof",
                rest.len()
            )));
        }
        Ok(proof)
    }

    /// The epoch handoffs the proof carries (see the module doc).
    pub fn handoffs(&self) -> &[EpochHandoff] {
        match self {
            Proof::Entry(proof) => &proof.inclusion.handoffs,
            Proof::Consistency(proof) => &proof.handoffs,
            Proof::Closing(proof) => &proof.inclusion.handoffs,
        }
    }

    /// The epoch handoffs, to replace.
    pub fn handoffs_mut(&mut self) -> &mut Vec<EpochHandoff> {
        match self {
            Proof::Entry(proof) => &mut proof.inclusion.handoffs,
            Proof::Consistency(proof) => &mut proof.handoffs,
            Proof::Closing(proof) => &mut proof.inclusion.handoffs,
        }
    }

    /// Checks the proof against `genesis` alone.
    pub fn check(&self, genesis: &Genesis) -> Result<Proven, CheckError> {
        match self {
            Proof::Entry(proof) => proof.check(genesis),
            Proof::Consistency(proof) => proof.check(genesis),
            Proof::Closing(proof) => proof.check(genesis),
        }
    }
}

/// Checks that `headers` belong to the genesis's chain, link parent to child, and that the last
/// is finalized by `certificate`, signed by the validators of its epoch as the genesis and the
/// `handoffs` establish them. Returns the digests and the signer count.
fn check_headers(
    genesis: &Genesis,
    chain_id: &str,
    headers: &[Header],
    certificate: &[u8],
    handoffs: &[EpochHandoff],
) -> Result<(Vec<BlockDigest>, usize), CheckError> {
    if chain_id != genesis.chain_id {
        return Err(CheckError::WrongChain {
            proof: chain_id.to_string(),
            genesis: genesis.chain_id.clone(),
        });
    }
    if headers.is_empty() {
        return Err(CheckError::NoHeaders);
    }
    if headers.len() > PROOF_HEADERS_MAX {
        return Err(CheckError::Malformed(format!(
            "{} headers, more than the limit of {PROOF_HEADERS_MAX}",
            headers.len()
        )));
    }
    let chain = chain_hash(&genesis.chain_id);
    let mut digests: Vec<BlockDigest> = Vec::with_capacity(headers.len());
    for (index, header) in headers.iter().enumerate() {
        if header.chain != chain {
            return Err(CheckError::HeaderChain { index });
        }
        if let Some(previous) = digests.last() {
            if header.parent != previous.0 || header.height != headers[index - 1].height + 1 {
                return Err(CheckError::BrokenLink {
                    index,
                    height: header.height,
                });
            }
        }
        digests.push(header_digest(header));
    }
    let last = headers.last().expect("non-empty");
    let verifier = epoch_verifier(genesis, last.height, handoffs)?;
    // A header at a boundary before the last header's epoch must be the handoff's block.
    let schedule = verifier.schedule();
    for (header, digest) in headers.iter().zip(&digests) {
        let epoch = schedule.epoch_of(header.height);
        if schedule.is_last(header.height) && header.height != last.height {
            let handoff = &handoffs[epoch as usize];
            if header_digest(&handoff.boundary) != *digest {
                return Err(CheckError::BoundaryMismatch {
                    epoch,
                    height: header.height,
                });
            }
        }
    }
    let certified =
        verifier.verify(last.height, certificate, digests.last().expect("non-empty"))?;
    Ok((digests, certified.signers))
}

/// A verifier that knows the validator set of every epoch up to the one holding `height`: the
/// genesis's for epoch 0, then one more per handoff, each checked with the set before it.
fn epoch_verifier(
    genesis: &Genesis,
    height: u64,
    handoffs: &[EpochHandoff],
) -> Result<CertificateVerifier, CheckError> {
    let verifier = CertificateVerifier::new(genesis)?;
    let schedule = EpochSchedule::of(genesis);
    let epoch = schedule.epoch_of(height);
    if handoffs.len() as u64 != epoch {
        return Err(CheckError::HandoffCount {
            got: handoffs.len(),
            epoch,
            height,
        });
    }
    let chain = chain_hash(&genesis.chain_id);
    let mut current: Vec<[u8; 32]> = genesis
        .validator_keys()
        .map_err(|error| CheckError::Malformed(error.to_string()))?;
    for (epoch, handoff) in (0u64..).zip(handoffs) {
        let boundary = &handoff.boundary;
        if boundary.chain != chain {
            return Err(CheckError::HandoffChain { epoch });
        }
        let expected = schedule.last(epoch);
        if boundary.height != expected {
            return Err(CheckError::HandoffMisplaced {
                epoch,
                got: boundary.height,
                expected,
            });
        }
        let digest = header_digest(boundary);
        verifier
            .verify(boundary.height, &handoff.certificate, &digest)
            .map_err(|error| CheckError::HandoffCertificate { epoch, error })?;
        if epoch_state_root(&handoff.legacy_root, &handoff.validators) != boundary.state_root {
            return Err(CheckError::HandoffStateRoot { epoch });
        }
        if !handoff.validators.is_empty() {
            current = handoff.validators.clone();
        }
        verifier.add_epoch(EpochRecord {
            epoch: epoch + 1,
            first_height: boundary.height + 1,
            boundary: digest.0,
            validators: current.clone(),
        })?;
    }
    Ok(verifier)
}

/// What a checked transaction inclusion establishes: the block, its digest, and the quorum.
struct Included {
    digest: BlockDigest,
    signers: usize,
}

/// Checks that the transaction, signed by the holder of the member certificate, is in the first
/// of the headers, which is final by the certificate.
fn check_inclusion(
    genesis: &Genesis,
    chain_id: &str,
    inclusion: &TxInclusion,
) -> Result<Included, CheckError> {
    let TxInclusion {
        transaction,
        tx_index,
        tx_count,
        tx_path,
        member,
        headers,
        certificate,
        handoffs,
    } = inclusion;
    let (digests, signers) = check_headers(genesis, chain_id, headers, certificate, handoffs)?;
    let header = &headers[0];
    if !verify_merkle_proof(
        &transaction.hash(),
        *tx_index as usize,
        *tx_count as usize,
        tx_path,
        &header.tx_root,
    ) {
        return Err(CheckError::NotInBlock);
    }
    let leaves = entry_leaves(transaction);
    verify_signatures_with(
        &genesis.chain_id,
        std::slice::from_ref(transaction),
        std::slice::from_ref(&leaves),
    )
    .map_err(|_| CheckError::BadSignature)?;
    member
        .verify(&genesis.root_key, &genesis.chain_id)
        .map_err(|_| CheckError::BadMember)?;
    if member.member() != *transaction.signer() {
        return Err(CheckError::MemberMismatch);
    }
    if !member.is_valid_at(header.time_ms) {
        return Err(CheckError::MemberNotValid);
    }
    Ok(Included {
        digest: digests[0],
        signers,
    })
}

impl EntryProof {
    fn check(&self, genesis: &Genesis) -> Result<Proven, CheckError> {
        let inclusion = &self.inclusion;
        let included = check_inclusion(genesis, &self.chain_id, inclusion)?;
        let entry = entry_at(&inclusion.transaction, self.item_index as usize)
            .filter(|entry| entry.id == self.entry_id)
            .ok_or_else(|| CheckError::EntryNotInTransaction(self.entry_id.to_string()))?;
        let header = &inclusion.headers[0];
        Ok(Proven::Entry {
            chain_id: self.chain_id.clone(),
            entry: entry.clone(),
            member: inclusion.member.clone(),
            height: header.height,
            time_ms: header.time_ms,
            block: included.digest,
            certified_height: inclusion.headers.last().expect("non-empty").height,
            signers: included.signers,
        })
    }
}

impl ClosingProof {
    fn check(&self, genesis: &Genesis) -> Result<Proven, CheckError> {
        let inclusion = &self.inclusion;
        let included = check_inclusion(genesis, &self.chain_id, inclusion)?;
        let Transaction::Single(single) = &inclusion.transaction else {
            return Err(CheckError::NotASignOff);
        };
        let TxBody::ClosePeriod(sign_off) = &single.body else {
            return Err(CheckError::NotASignOff);
        };
        let header = &inclusion.headers[0];
        Ok(Proven::Closing {
            chain_id: self.chain_id.clone(),
            sign_off: sign_off.clone(),
            member: inclusion.member.clone(),
            height: header.height,
            time_ms: header.time_ms,
            block: included.digest,
            certified_height: inclusion.headers.last().expect("non-empty").height,
            signers: included.signers,
        })
    }
}

impl ConsistencyProof {
    fn check(&self, genesis: &Genesis) -> Result<Proven, CheckError> {
        let (digests, signers) = check_headers(
            genesis,
            &self.chain_id,
            &self.headers,
            &self.certificate,
            &self.handoffs,
        )?;
        Ok(Proven::Consistency {
            chain_id: self.chain_id.clone(),
            from: self.headers[0].height,
            from_digest: digests[0],
            to: self.headers.last().expect("non-empty").height,
            to_digest: *digests.last().expect("non-empty"),
            signers,
        })
    }
}

fn entry_at(transaction: &Transaction, index: usize) -> Option<&EntryDraft> {
    match transaction {
        Transaction::Single(single) => match &single.body {
            TxBody::Post(entry) if index == 0 => Some(entry),
            _ => None,
        },
        Transaction::Batch(batch) => batch.entries.get(index),
    }
}

/// The handoffs a proof whose last header is at `height` carries: one per epoch boundary before
/// `height`'s epoch, from the store's epoch records, boundary blocks, their certificates and the
/// legacy state roots stored with the records.
fn handoffs(store: &Store, height: u64) -> Result<Vec<EpochHandoff>, ProveError> {
    let schedule = store.epoch_schedule();
    let epochs = schedule.epoch_of(height);
    if epochs == 0 {
        return Ok(Vec::new());
    }
    let records = store.epochs()?;
    (0..epochs)
        .map(|epoch| {
            let next = epoch + 1;
            let record = records
                .get(next as usize)
                .filter(|record| record.epoch == next)
                .ok_or_else(|| ProveError::Inconsistent(format!("no record of epoch {next}")))?;
            let last = schedule.last(epoch);
            let block = store.block(last)?.ok_or(ProveError::UnknownBlock(last))?;
            if header_digest(&block.header).0 != record.boundary {
                return Err(ProveError::Inconsistent(format!(
                    "the record of epoch {next} names another boundary block than block {last}"
                )));
            }
            // The committer stores a boundary block only with its own certificate.
            let certificate = store.certificate(last)?.ok_or_else(|| {
                ProveError::Inconsistent(format!(
                    "block {last} closes epoch {epoch} but has no finalization certificate of its own"
                ))
            })?;
            let legacy_root = store.epoch_legacy_root(next)?.ok_or_else(|| {
                ProveError::Inconsistent(format!("no legacy state root stored for epoch {next}"))
            })?;
            // The record holds the set epoch `next` uses; the state root commits the list the
            // state named, which is empty when the epoch kept the set before it.
            let state_root = block.header.state_root;
            let validators = if epoch_state_root(&legacy_root, &record.validators) == state_root {
                record.validators.clone()
            } else if epoch_state_root(&legacy_root, &[]) == state_root {
                Vec::new()
            } else {
                return Err(ProveError::Inconsistent(format!(
                    "the record of epoch {next} does not open the state root of block {last}"
                )));
            };
            Ok(EpochHandoff {
                boundary: block.header,
                legacy_root,
                validators,
                certificate,
            })
        })
        .collect()
}

/// Headers from `from` up to the first block at or after `at_least` with its own certificate.
fn certified_headers(
    store: &Store,
    from: u64,
    at_least: u64,
) -> Result<(Vec<Header>, Vec<u8>), ProveError> {
    let tip = store.height()?;
    let mut headers = Vec::new();
    let mut height = from;
    loop {
        if height > tip {
            return Err(ProveError::NotCertified(at_least));
        }
        if headers.len() >= PROOF_HEADERS_MAX {
            return Err(ProveError::TooLong {
                count: headers.len() as u64 + 1,
            });
        }
        let block = store
            .block(height)?
            .ok_or(ProveError::UnknownBlock(height))?;
        headers.push(block.header);
        if height >= at_least {
            if let Some(certificate) = store.certificate(height)? {
                return Ok((headers, certificate));
            }
        }
        height += 1;
    }
}

/// The inclusion of the transaction at `tx_index` of block `height`, whose author is a member in
/// `state`. `what` names it in errors.
fn include(
    store: &Store,
    state: &ChainState,
    height: u64,
    tx_index: u32,
    what: &str,
) -> Result<TxInclusion, ProveError> {
    let block = store
        .block(height)?
        .ok_or(ProveError::UnknownBlock(height))?;
    let transaction = block
        .transactions
        .get(tx_index as usize)
        .cloned()
        .ok_or_else(|| {
            ProveError::Inconsistent(format!("block {height} has no transaction {tx_index}"))
        })?;
    let leaves: Vec<Digest> = block.transactions.iter().map(Transaction::hash).collect();
    let tx_path = merkle_proof(&leaves, tx_index as usize).expect("the index is in range");
    let member = state
        .members
        .get(transaction.signer())
        .map(|record| record.member.clone())
        .ok_or_else(|| ProveError::UnknownSigner(what.to_string()))?;
    let (headers, certificate) = certified_headers(store, height, height)?;
    let handoffs = handoffs(store, headers.last().expect("non-empty").height)?;
    Ok(TxInclusion {
        transaction,
        tx_index,
        tx_count: leaves.len() as u32,
        tx_path,
        member,
        headers,
        certificate,
        handoffs,
    })
}

/// Builds the inclusion proof of a committed entry from a store; `state` is the store's current
/// state (the author's member certificate comes from it).
pub fn prove_entry(store: &Store, state: &ChainState, id: &EntryId) -> Result<Proof, ProveError> {
    let committed = store
        .entry(id)?
        .ok_or_else(|| ProveError::UnknownEntry(id.to_string()))?;
    Ok(Proof::Entry(Box::new(EntryProof {
        chain_id: state.chain_id.clone(),
        entry_id: id.clone(),
        item_index: committed.item_index,
        inclusion: include(
            store,
            state,
            committed.height,
            committed.tx_index,
            &format!("entry {id}"),
        )?,
    })))
}

/// Builds the proof of the closing trial balance of the period closed through `through`.
pub fn prove_closing(
    store: &Store,
    state: &ChainState,
    through: tally_ledger::Date,
) -> Result<Proof, ProveError> {
    let closing = state
        .closes
        .closing(through)
        .ok_or_else(|| ProveError::UnknownClosing(through.to_string()))?;
    Ok(Proof::Closing(Box::new(ClosingProof {
        chain_id: state.chain_id.clone(),
        inclusion: include(
            store,
            state,
            closing.height,
            closing.tx_index,
            &format!("the close through {through}"),
        )?,
    })))
}

/// Builds the proof that the block at `to` extends the block at `from`.
pub fn prove_consistency(
    store: &Store,
    chain_id: &str,
    from: u64,
    to: u64,
) -> Result<Proof, ProveError> {
    if to < from {
        return Err(ProveError::BadRange { from, to });
    }
    if to - from >= PROOF_HEADERS_MAX as u64 {
        return Err(ProveError::TooLong {
            count: to - from + 1,
        });
    }
    let (headers, certificate) = certified_headers(store, from, to)?;
    let handoffs = handoffs(store, headers.last().expect("non-empty").height)?;
    Ok(Proof::Consistency(ConsistencyProof {
        chain_id: chain_id.to_string(),
        headers,
        certificate,
        handoffs,
    }))
}
