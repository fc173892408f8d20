//! Transactions: what members sign and blocks carry.
//!
//! A transaction is a [`TxBody`] (what should happen) signed by one member. High-volume sources
//! sign a [`SignedBatch`] instead: one signature over the Merkle root of many entries, so each
//! entry stays attributable to its signer and provable against the batch root while the signature
//! cost is paid once.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_contracts::ContractCall;
use tally_identity::{
    merkle_root, CertifiedMember, Digest, Domain, PublicKey, SecretKey, Signature, SignatureCheck,
};
use tally_ledger::{Account, AccountCode, EntryDraft, EntryId, FieldName, SealedPartRef};

use crate::close::CloseSignOff;
use crate::sealing::KeyChange;

/// Entries in one signed batch. A bound keeps one batch's Merkle computation and the block that
/// carries it to a predictable size.
pub const BATCH_ENTRIES_MAX: usize = 8_192;

/// What a signed transaction asks the chain to do.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum TxBody {
    /// Post one journal entry.
    Post(EntryDraft),
    /// Open a new account in the chart.
    OpenAccount(Account),
    /// Close an account (its balance must be zero).
    CloseAccount(AccountCode),
    /// One role's sign-off of a close through a date, with the trial balance as of that date. The
    /// first sign-off freezes the period; the last required one closes it (see `close.rs`).
    ClosePeriod(CloseSignOff),
    /// Admit a member whose certificate the enterprise root key signed.
    RegisterMember(CertifiedMember),
    /// Revoke a member: its later transactions are refused.
    RevokeMember(PublicKey),
    /// A contract call on the consortium chain (trades, services, governance, anchors).
    Contract(ContractCall),
    /// An administrator's change to the keys of a sealed-field category (see `sealing.rs`).
    Keys(KeyChange),
    /// A member's read of sealed fields: signed by the reader when it asks a node for them, and
    /// committed by the node, so the chain records who read what and when.
    Read(ReadRecord),
}

/// Longest time, in milliseconds, between a read and the block that records it: a node commits
/// reads within seconds; an older signed read is a replay.
pub const READ_AGE_MAX_MS: u64 = 10 * 60 * 1000;

/// How far ahead of the block time a read's own time may be: clocks differ a little, and a
/// quiet chain's last block may be minutes old when a read is checked against it.
pub const READ_SKEW_MAX_MS: u64 = 5 * 60 * 1000;

/// What a member read: these sealed fields of this entry, at this time by its own clock.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReadRecord {
    pub entry: EntryId,
    pub fields: Vec<FieldName>,
    pub at_ms: u64,
}

impl TxBody {
    /// The canonical bytes that are signed and hashed.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serialising to a Vec cannot fail")
    }
}

/// One body signed by one member.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedTx {
    pub body: TxBody,
    pub signer: PublicKey,
    pub signature: Signature,
}

impl SignedTx {
    pub fn sign(key: &SecretKey, chain_id: &str, body: TxBody) -> SignedTx {
        let signature = key.sign(Domain::Transaction, chain_id, &body.encode());
        SignedTx {
            body,
            signer: key.public_key(),
            signature,
        }
    }
}

/// Many entries under one signature over their Merkle root.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedBatch {
    /// Shared, and encoded as the list it holds: a proposer copies each batch from its mempool
    /// into its block, and a batch of entries with sealed fields is a megabyte in a thousand
    /// entries with seven ciphertexts each.
    pub entries: Arc<Vec<EntryDraft>>,
    pub signer: PublicKey,
    pub signature: Signature,
}

impl SignedBatch {
    pub fn sign(key: &SecretKey, chain_id: &str, entries: Vec<EntryDraft>) -> SignedBatch {
        let root = batch_root(&entries);
        let signature = key.sign(Domain::Batch, chain_id, &root);
        SignedBatch {
            entries: Arc::new(entries),
            signer: key.public_key(),
            signature,
        }
    }

    pub fn root(&self) -> Digest {
        batch_root(&self.entries)
    }
}

/// The Merkle root a batch signature covers: one leaf per entry's canonical encoding.
pub fn batch_root(entries: &[EntryDraft]) -> Digest {
    let leaves: Vec<Digest> = entries.iter().map(entry_leaf).collect();
    merkle_root(&leaves)
}

/// The leaf hash of one entry, used in batch roots.
pub fn entry_leaf(entry: &EntryDraft) -> Digest {
    encoded_leaf_hash(entry)
}

/// The first byte [`tally_identity::leaf_hash`] hashes, which keeps leaves apart from inner nodes.
const LEAF_PREFIX: u8 = 0x00;

/// `leaf_hash(&postcard::to_stdvec(value))`, computed as the encoding is written: the same digest
/// without building the encoded bytes first. A batch of entries with sealed fields encodes to
/// about a megabyte, and it is hashed on admission, in the block it goes into and on every
/// validator; building (and regrowing) that buffer each time was a large share of the copying.
pub fn encoded_leaf_hash<T: Serialize + ?Sized>(value: &T) -> Digest {
    hash_encoding(value).0
}

/// [`encoded_leaf_hash`] and the length of the encoding.
fn hash_encoding<T: Serialize + ?Sized>(value: &T) -> (Digest, usize) {
    let (hasher, len) = postcard::serialize_with_flavor(value, HashingFlavor::new(leaf_hasher()))
        .expect("hashing an encoding cannot fail");
    (hasher.finalize().into(), len)
}

/// A hasher that has taken the leaf prefix.
fn leaf_hasher() -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher
}

/// Bytes gathered before they go to SHA-256. postcard writes arrays (commitments, nonces, keys)
/// and integers a byte at a time, and handing SHA-256 single bytes costs far more per byte than
/// copying them into a small buffer.
const HASH_BUFFER_BYTES: usize = 512;

/// A postcard output that feeds SHA-256 instead of a growing buffer: its own hasher, and the
/// enclosing transaction's too when one encoding is hashed as a leaf and as part of the whole
/// (see [`TxDigests::of`]). It gives back the hasher, to finish or to go on with, and the number
/// of bytes it was fed.
struct HashingFlavor<'a> {
    hasher: Sha256,
    enclosing: Option<&'a mut Sha256>,
    buffer: [u8; HASH_BUFFER_BYTES],
    len: usize,
    /// Bytes fed to the hashers so far; with `len`, the bytes written.
    fed: usize,
}

impl<'a> HashingFlavor<'a> {
    fn new(hasher: Sha256) -> HashingFlavor<'static> {
        HashingFlavor {
            hasher,
            enclosing: None,
            buffer: [0; HASH_BUFFER_BYTES],
            len: 0,
            fed: 0,
        }
    }

    /// Hashes into `hasher` and into `enclosing` both.
    fn tee(hasher: Sha256, enclosing: &'a mut Sha256) -> HashingFlavor<'a> {
        HashingFlavor {
            enclosing: Some(enclosing),
            ..HashingFlavor::new(hasher)
        }
    }

    /// Feeds `bytes` to the hasher and to the enclosing one; takes the fields apart so the
    /// buffer can be fed without a copy of it.
    fn feed(hasher: &mut Sha256, enclosing: &mut Option<&'a mut Sha256>, bytes: &[u8]) -> usize {
        hasher.update(bytes);
        if let Some(enclosing) = enclosing.as_deref_mut() {
            enclosing.update(bytes);
        }
        bytes.len()
    }

    fn flush(&mut self) {
        self.fed += Self::feed(
            &mut self.hasher,
            &mut self.enclosing,
            &self.buffer[..self.len],
        );
        self.len = 0;
    }
}

impl postcard::ser_flavors::Flavor for HashingFlavor<'_> {
    type Output = (Sha256, usize);

    // Inlined: postcard writes the arrays of sealed fields (commitments, nonces) a byte at a
    // time, and a call per byte was a measurable share of hashing them.
    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.len == HASH_BUFFER_BYTES {
            self.flush();
        }
        self.buffer[self.len] = byte;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        if self.len + bytes.len() <= HASH_BUFFER_BYTES {
            self.buffer[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            self.flush();
            self.fed += Self::feed(&mut self.hasher, &mut self.enclosing, bytes);
        }
        Ok(())
    }

    fn finalize(mut self) -> postcard::Result<(Sha256, usize)> {
        self.flush();
        Ok((self.hasher, self.fed))
    }
}

/// Where an entry's sealed fields and seal keys lie in the encoding of the transaction that
/// carries it: the offset from the transaction's first byte, and the length. They are the end of
/// the entry's encoding, and most of its bytes.
pub type SealedSpan = (usize, usize);

/// What one encoding of a transaction gives: its hash ([`Transaction::hash`]), its
/// [`entry_leaves`], where each entry's sealed fields lie in it, and its length.
///
/// Every validator encodes and hashes every transaction it admits or executes; encoding is most
/// of the cost of hashing (byte by byte for the arrays of sealed fields), so it is done once for
/// all of these. The store keeps an entry's sealed fields where they lie in the block rather
/// than a second copy of them, and finds them by [`Self::sealed`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TxDigests {
    pub hash: Digest,
    pub leaves: Vec<Digest>,
    /// One per entry, in order: the span of its sealed fields and keys, `None` if it has none.
    pub sealed: Vec<Option<SealedSpan>>,
    /// Bytes of the transaction's encoding.
    pub len: usize,
}

impl TxDigests {
    /// Encodes `tx` once for all its digests.
    ///
    /// A batch's encoding is its variant, the number of entries, each entry, then the signer
    /// and the signature; a posted entry's is the two variants, the entry, then the signer and
    /// the signature (postcard writes a struct's fields in order and a sequence after its
    /// length). Each entry's bytes go to its leaf and to the transaction's hash both.
    pub fn of(tx: &Transaction) -> TxDigests {
        let (head, entries, signer, signature) = match tx {
            Transaction::Batch(batch) => (
                postcard::to_stdvec(&(BATCH_VARIANT, batch.entries.len())),
                batch.entries.as_slice(),
                &batch.signer,
                &batch.signature,
            ),
            Transaction::Single(SignedTx {
                body: TxBody::Post(entry),
                signer,
                signature,
            }) => (
                postcard::to_stdvec(&(SINGLE_VARIANT, POST_VARIANT)),
                std::slice::from_ref(entry),
                signer,
                signature,
            ),
            Transaction::Single(_) => {
                let (hash, len) = hash_encoding(tx);
                return TxDigests {
                    hash,
                    leaves: Vec::new(),
                    sealed: Vec::new(),
                    len,
                };
            }
        };
        let head = head.expect("serialising to a Vec cannot fail");
        let mut whole = leaf_hasher();
        whole.update(&head);
        let mut len = head.len();
        let mut leaves = Vec::with_capacity(entries.len());
        let mut sealed = Vec::with_capacity(entries.len());
        for entry in entries {
            let (leaf, span) = hash_entry(entry, &mut whole, &mut len);
            leaves.push(leaf);
            sealed.push(span);
        }
        // Only the enclosing hash matters here: the tail's own hasher is dropped.
        let (_, tail) = postcard::serialize_with_flavor(
            &(signer, signature),
            HashingFlavor::tee(Sha256::new(), &mut whole),
        )
        .expect("hashing an encoding cannot fail");
        TxDigests {
            hash: whole.finalize().into(),
            leaves,
            sealed,
            len: len + tail,
        }
    }
}

/// Hashes `entry`'s encoding into its leaf and into `whole`, which has taken `offset` bytes of
/// the transaction: its leaf, and the span of its sealed fields and keys. `offset` moves past it.
///
/// The entry is written in two parts, everything before the sealed fields, then the sealed
/// fields and keys: postcard writes a struct as its fields one after the other, so the two
/// parts are the entry's encoding (the unit tests compare the two), and the second part's place
/// is known without searching for it.
fn hash_entry(
    entry: &EntryDraft,
    whole: &mut Sha256,
    offset: &mut usize,
) -> (Digest, Option<SealedSpan>) {
    // Every field named: a field added to entries fails to compile here until it is placed.
    let EntryDraft {
        id,
        date,
        description,
        postings,
        references,
        reverses,
        sealed,
        seal_keys,
    } = entry;
    let (leaf, head) = postcard::serialize_with_flavor(
        &(id, date, description, postings, references, reverses),
        HashingFlavor::tee(leaf_hasher(), whole),
    )
    .expect("hashing an encoding cannot fail");
    let part = SealedPartRef {
        fields: sealed,
        keys: seal_keys,
    };
    let (leaf, tail) = postcard::serialize_with_flavor(&part, HashingFlavor::tee(leaf, whole))
        .expect("hashing an encoding cannot fail");
    let span = (!sealed.is_empty() || !seal_keys.is_empty()).then_some((*offset + head, tail));
    *offset += head + tail;
    (leaf.finalize().into(), span)
}

/// The variant index postcard writes for [`Transaction::Batch`].
const BATCH_VARIANT: u32 = 1;

/// The variant index postcard writes for [`Transaction::Single`].
const SINGLE_VARIANT: u32 = 0;

/// The variant index postcard writes for [`TxBody::Post`].
const POST_VARIANT: u32 = 0;

/// What a block carries.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Transaction {
    Single(SignedTx),
    Batch(SignedBatch),
}

impl Transaction {
    /// The canonical bytes of the whole transaction, signature included.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("serialising to a Vec cannot fail")
    }

    /// The transaction's hash: its identity in the mempool and in block transaction roots.
    pub fn hash(&self) -> Digest {
        encoded_leaf_hash(self)
    }

    pub fn signer(&self) -> &PublicKey {
        match self {
            Transaction::Single(tx) => &tx.signer,
            Transaction::Batch(batch) => &batch.signer,
        }
    }

    /// Journal entries this transaction posts (0 for administrative transactions).
    pub fn entry_count(&self) -> usize {
        match self {
            Transaction::Single(SignedTx {
                body: TxBody::Post(_),
                ..
            }) => 1,
            Transaction::Single(_) => 0,
            Transaction::Batch(batch) => batch.entries.len(),
        }
    }

    /// The message the signature covers and its domain.
    pub fn signed_message(&self) -> (Domain, Vec<u8>) {
        match self {
            Transaction::Single(tx) => (Domain::Transaction, tx.body.encode()),
            Transaction::Batch(batch) => (Domain::Batch, batch.root().to_vec()),
        }
    }

    /// [`Self::signed_message`] with the transaction's [`entry_leaves`] already computed: a
    /// batch's message is their Merkle root, and encoding and hashing every entry again would
    /// double the cost of checking a batch of entries with sealed fields.
    pub fn signed_message_with(&self, leaves: &[Digest]) -> (Domain, Vec<u8>) {
        match self {
            Transaction::Single(tx) => (Domain::Transaction, tx.body.encode()),
            Transaction::Batch(_) => (Domain::Batch, merkle_root(leaves).to_vec()),
        }
    }

    pub fn signature(&self) -> &Signature {
        match self {
            Transaction::Single(tx) => &tx.signature,
            Transaction::Batch(batch) => &batch.signature,
        }
    }
}

/// The leaf hashes of a transaction's entries (none for administrative transactions).
///
/// Computed once per transaction: the batch signature covers their Merkle root and the entry log
/// appends them, and hashing every entry twice was a large share of a block's execution.
pub fn entry_leaves(tx: &Transaction) -> Vec<Digest> {
    match tx {
        Transaction::Single(SignedTx {
            body: TxBody::Post(entry),
            ..
        }) => vec![entry_leaf(entry)],
        Transaction::Single(_) => Vec::new(),
        Transaction::Batch(batch) => batch.entries.iter().map(entry_leaf).collect(),
    }
}

/// Checks the signatures of many transactions at once with batch verification.
///
/// Returns the index of the first transaction whose signature is bad.
pub fn verify_signatures(chain_id: &str, transactions: &[Transaction]) -> Result<(), usize> {
    let leaves: Vec<Vec<Digest>> = transactions.iter().map(entry_leaves).collect();
    verify_signatures_with(chain_id, transactions, &leaves)
}

/// [`verify_signatures`] with each transaction's [`entry_leaves`] already computed.
pub fn verify_signatures_with(
    chain_id: &str,
    transactions: &[Transaction],
    leaves: &[Vec<Digest>],
) -> Result<(), usize> {
    assert_eq!(
        transactions.len(),
        leaves.len(),
        "one leaf list per transaction"
    );
    let items: Vec<(&Transaction, &[Digest])> = transactions
        .iter()
        .zip(leaves)
        .map(|(tx, leaves)| (tx, leaves.as_slice()))
        .collect();
    verify_signatures_of(chain_id, &items)
}

/// [`verify_signatures_with`] for any selection of transactions, each with its entry leaves.
/// On failure, the position in `items` of a transaction whose signature does not verify.
pub fn verify_signatures_of(
    chain_id: &str,
    items: &[(&Transaction, &[Digest])],
) -> Result<(), usize> {
    let messages: Vec<(Domain, Vec<u8>)> = items
        .iter()
        .map(|(tx, leaves)| tx.signed_message_with(leaves))
        .collect();
    let checks: Vec<SignatureCheck<'_>> = items
        .iter()
        .zip(&messages)
        .map(|((tx, _), (domain, message))| SignatureCheck {
            key: tx.signer(),
            domain: *domain,
            chain_id,
            message,
            signature: tx.signature(),
        })
        .collect();
    tally_identity::verify_many(&checks).map_err(|error| error.index)
}

#[cfg(test)]
mod tests {
    use tally_identity::leaf_hash;

    use super::*;

    #[test]
    fn encoded_leaf_hash_is_the_leaf_hash_of_the_encoding() {
        let key = SecretKey::from_seed([4; 32]);
        let tx = Transaction::Single(SignedTx::sign(
            &key,
            "test",
            TxBody::RevokeMember(key.public_key()),
        ));
        assert_eq!(tx.hash(), leaf_hash(&tx.encode()));
        let other = Transaction::Single(SignedTx::sign(
            &key,
            "other",
            TxBody::RevokeMember(key.public_key()),
        ));
        assert_ne!(other.hash(), tx.hash());
        assert_eq!(
            encoded_leaf_hash(&[1u8; 300][..]),
            leaf_hash(&postcard::to_stdvec(&[1u8; 300][..]).unwrap())
        );
    }

    /// An entry with `fields` sealed fields of `len` ciphertext bytes each: placeholders of the
    /// right shape, large enough that an entry spans several of the hashing buffer's flushes.
    fn sealed_entry(index: usize, fields: usize, len: usize) -> EntryDraft {
        use tally_ledger::{
            Category, Date, SealKey, SealedField, COMMITMENT_BYTES, ENCAPPED_KEY_BYTES,
            SEAL_NONCE_BYTES,
        };
        EntryDraft {
            id: EntryId::new(&format!("e-{index}")).unwrap(),
            date: Date::parse("2026-12-05").unwrap(),
            description: format!("entry {index}"),
            postings: Vec::new(),
            references: Vec::new(),
            reverses: None,
            sealed: tally_ledger::Sealed::Fields(
                (0..fields)
                    .map(|field| SealedField {
                        name: FieldName::new(&format!("field{field}")).unwrap(),
                        category: Category::customer_pii(),
                        epoch: 1,
                        commitment: [index as u8; COMMITMENT_BYTES],
                        nonce: [field as u8; SEAL_NONCE_BYTES],
                        ciphertext: vec![7; len],
                    })
                    .collect(),
            ),
            seal_keys: (fields > 0)
                .then(|| SealKey {
                    category: Category::customer_pii(),
                    epoch: 1,
                    encapped: [9; ENCAPPED_KEY_BYTES],
                    wrapped: vec![8; 48],
                })
                .into_iter()
                .collect(),
        }
    }

    /// Checks [`TxDigests::of`] against each thing computed apart: the hash, the leaves, the
    /// length, and the bytes at each sealed span.
    fn check_digests(tx: &Transaction, label: &str) {
        let digests = TxDigests::of(tx);
        let encoded = tx.encode();
        assert_eq!(digests.hash, tx.hash(), "{label}");
        assert_eq!(digests.leaves, entry_leaves(tx), "{label}");
        assert_eq!(digests.len, encoded.len(), "{label}");
        let entries: Vec<&EntryDraft> = match tx {
            Transaction::Batch(batch) => batch.entries.iter().collect(),
            Transaction::Single(SignedTx {
                body: TxBody::Post(entry),
                ..
            }) => vec![entry],
            Transaction::Single(_) => Vec::new(),
        };
        assert_eq!(digests.sealed.len(), entries.len(), "{label}");
        for (entry, span) in entries.into_iter().zip(&digests.sealed) {
            let sealed = postcard::to_stdvec(&SealedPartRef {
                fields: &entry.sealed,
                keys: &entry.seal_keys,
            })
            .unwrap();
            match span {
                Some((offset, len)) => {
                    assert_eq!(&encoded[*offset..*offset + *len], sealed, "{label}")
                }
                None => assert!(entry.sealed.is_empty() && entry.seal_keys.is_empty()),
            }
        }
    }

    #[test]
    fn tx_digests_match_the_hash_leaves_and_spans_computed_apart() {
        let key = SecretKey::from_seed([5; 32]);
        let shapes: [&[(usize, usize)]; 5] = [
            &[],
            &[(0, 0)],
            &[(7, 20), (0, 0), (3, 600)],
            &[(16, 1000); 3],
            &[(1, 16); 200],
        ];
        for shape in shapes {
            let entries = shape
                .iter()
                .enumerate()
                .map(|(index, &(fields, len))| sealed_entry(index, fields, len))
                .collect();
            let tx = Transaction::Batch(SignedBatch::sign(&key, "test", entries));
            check_digests(&tx, &format!("{shape:?}"));
        }
        for fields in [0, 7] {
            let single = Transaction::Single(SignedTx::sign(
                &key,
                "test",
                TxBody::Post(sealed_entry(0, fields, 20)),
            ));
            check_digests(&single, &format!("post with {fields} sealed fields"));
        }
        let revoke = Transaction::Single(SignedTx::sign(
            &key,
            "test",
            TxBody::RevokeMember(key.public_key()),
        ));
        check_digests(&revoke, "revoke");
    }

    mod random {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use tally_ledger::{
            AccountCode, Category, Currency, Date, Posting, Reference, SealKey, SealedField, Side,
        };

        use super::*;

        fn field() -> impl Strategy<Value = SealedField> {
            let category = prop_oneof![
                Just(Category::customer_pii()),
                Just(Category::partner_banking()),
                Just(Category::contract_private()),
            ];
            (
                "[a-z_]{1,32}",
                category,
                any::<u32>(),
                any::<[u8; 32]>(),
                any::<[u8; 12]>(),
                vec(any::<u8>(), 0..1100),
            )
                .prop_map(|(name, category, epoch, commitment, nonce, ciphertext)| {
                    SealedField {
                        name: FieldName::new(&name).unwrap(),
                        category,
                        epoch,
                        commitment,
                        nonce,
                        ciphertext,
                    }
                })
        }

        fn seal_key() -> impl Strategy<Value = SealKey> {
            (any::<u32>(), any::<[u8; 32]>(), vec(any::<u8>(), 0..70)).prop_map(
                |(epoch, encapped, wrapped)| SealKey {
                    category: Category::customer_pii(),
                    epoch,
                    encapped,
                    wrapped,
                },
            )
        }

        fn entry() -> impl Strategy<Value = EntryDraft> {
            (
                any::<u32>(),
                "\\PC{0,80}",
                vec((any::<bool>(), 1..u64::MAX), 0..4),
                vec(("[a-z]{1,10}", "\\PC{1,30}"), 0..3),
                proptest::option::of(any::<u16>()),
                vec(field(), 0..8),
                vec(seal_key(), 0..3),
                0u8..3,
            )
                .prop_map(
                    |(
                        id,
                        description,
                        postings,
                        references,
                        reverses,
                        mut sealed,
                        seal_keys,
                        layout,
                    )| {
                        // A third of the entries have what a sealer wrote before groups, in the
                        // short layout: one category and epoch, nonces derived from the
                        // commitments; a third have groups, as a sealer writes now.
                        if layout == 1 && !sealed.is_empty() {
                            let (category, epoch) = (sealed[0].category, sealed[0].epoch);
                            for field in &mut sealed {
                                field.category = category;
                                field.epoch = epoch;
                                field.nonce = tally_ledger::derived_nonce(&field.commitment);
                            }
                        }
                        EntryDraft {
                            id: EntryId::new(&format!("e-{id}")).unwrap(),
                            date: Date::parse("2026-12-05").unwrap(),
                            description,
                            postings: postings
                                .into_iter()
                                .map(|(debit, amount)| Posting {
                                    account: AccountCode::new("1100").unwrap(),
                                    side: if debit { Side::Debit } else { Side::Credit },
                                    amount,
                                    currency: Currency::from_code("EUR").unwrap(),
                                })
                                .collect(),
                            references: references
                                .into_iter()
                                .map(|(kind, value)| Reference { kind, value })
                                .collect(),
                            reverses: reverses.map(|id| EntryId::new(&format!("r-{id}")).unwrap()),
                            sealed: if layout == 2 {
                                tally_ledger::Sealed::Groups(
                                    sealed
                                        .chunks(3)
                                        .map(|chunk| tally_ledger::SealedGroup {
                                            category: chunk[0].category,
                                            epoch: chunk[0].epoch,
                                            names: chunk.iter().map(|field| field.name).collect(),
                                            commitment: chunk[0].commitment,
                                            ciphertext: chunk
                                                .iter()
                                                .flat_map(|field| field.ciphertext.clone())
                                                .collect(),
                                        })
                                        .collect(),
                                )
                            } else {
                                tally_ledger::Sealed::Fields(sealed)
                            },
                            seal_keys,
                        }
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 64,
                ..ProptestConfig::default()
            })]

            /// Whatever an entry holds (multi-byte text, long ciphertexts, epochs that take
            /// five bytes as varints), one encoding gives the hash, the leaves, the length and
            /// the spans computed apart. proptest prints a failing case, shrunk.
            #[test]
            fn tx_digests_match_for_any_entries(
                entries in vec(entry(), 1..5),
                single in any::<bool>(),
            ) {
                let key = SecretKey::from_seed([6; 32]);
                let tx = if single {
                    let entry = entries.into_iter().next().unwrap();
                    Transaction::Single(SignedTx::sign(&key, "test", TxBody::Post(entry)))
                } else {
                    Transaction::Batch(SignedBatch::sign(&key, "test", entries))
                };
                check_digests(&tx, "random");
            }
        }
    }
}
