//! A small chain on disk with real finalization certificates, for the audit's tests: a genesis
//! with four validators and two members, blocks of balanced entries (one reversal among them),
//! each committed to a redb store with a certificate signed by three of the four validators.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use commonware_codec::Encode as _;
use commonware_consensus::simplex::types::{Finalization, Finalize, Proposal};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{ed25519, sha256, Signer as _};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use tally_chain::{
    build_block, header_digest, Block, BlockDigest, Genesis, SignedBatch, SignedTx, Store,
    Transaction, TxBody, Validator,
};
use tally_consensus::{consensus_namespace, Scheme};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{
    default_chart, AccountCode, Currency, Date, EntryDraft, EntryId, KnownEntry, Posting, Role,
    Side,
};

pub const CHAIN: &str = "audit-test";
/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600_000;
pub const BLOCKS: u64 = 12;
pub const ENTRIES_PER_BLOCK: u64 = 3;
/// The block that reverses an entry of block 2.
pub const REVERSAL_BLOCK: u64 = 6;
const VALIDATORS: u64 = 4;

pub fn validator_keys() -> Vec<ed25519::PrivateKey> {
    (0..VALIDATORS)
        .map(|seed| ed25519::PrivateKey::from_seed(seed + 1))
        .collect()
}

pub struct TestChain {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub genesis: Genesis,
    pub blocks: Vec<Block>,
}

pub fn genesis() -> (Genesis, SecretKey) {
    let root = SecretKey::from_seed([100; 32]);
    let finance = SecretKey::from_seed([1; 32]);
    let member = CertifiedMember::issue(
        &root,
        CHAIN,
        MemberCertificate {
            member: finance.public_key(),
            name: "finance".into(),
            role: Role::Finance,
            department: "finance".into(),
            valid_from_ms: T0 - 1_000,
            valid_until_ms: T0 + 365 * 24 * 3_600_000,
        },
    );
    let validators = validator_keys()
        .iter()
        .enumerate()
        .map(|(index, key)| Validator {
            name: format!("v{index}"),
            consensus_key: hex::encode(key.public_key().encode()),
        })
        .collect();
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        enterprise: "Audit Test".into(),
        time_ms: T0,
        root_key: root.public_key(),
        validators,
        members: vec![member],
        chart: default_chart(),
        consortium: None,
        close_policy: tally_chain::ClosePolicy::default(),
        read_policy: Default::default(),
        epoch_blocks: None,
    };
    (genesis, finance)
}

pub fn entry(id: &str, amount: u64) -> EntryDraft {
    EntryDraft {
        id: EntryId::new(id).unwrap(),
        date: Date::from_ymd(2026, 1, 15).unwrap(),
        description: format!("sale {id}"),
        postings: vec![
            Posting {
                account: AccountCode::new("1100").unwrap(),
                side: Side::Debit,
                amount,
                currency: Currency::EUR,
            },
            Posting {
                account: AccountCode::new("4000").unwrap(),
                side: Side::Credit,
                amount,
                currency: Currency::EUR,
            },
        ],
        references: Vec::new(),
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

/// A finalization of `digest` at `view`, signed by `signers` of the genesis validators.
pub fn certificate(signers: &[ed25519::PrivateKey], digest: BlockDigest, view: u64) -> Vec<u8> {
    certificate_by(&validator_keys(), signers, digest, view)
}

/// A finalization of `digest` at `view` by `signers` of the validator set `set`.
pub fn certificate_by(
    set: &[ed25519::PrivateKey],
    signers: &[ed25519::PrivateKey],
    digest: BlockDigest,
    view: u64,
) -> Vec<u8> {
    finalization(CHAIN, set, signers, digest, 0, view)
}

/// A finalization of `digest` on chain `chain`, made in `epoch` at `view` by `signers` of the
/// validator set `set`.
pub fn finalization(
    chain: &str,
    set: &[ed25519::PrivateKey],
    signers: &[ed25519::PrivateKey],
    digest: BlockDigest,
    epoch: u64,
    view: u64,
) -> Vec<u8> {
    let participants = Set::from_iter_dedup(set.iter().map(|key| key.public_key()));
    let proposal = Proposal::new(
        Round::new(Epoch::new(epoch), View::new(view)),
        View::new(view - 1),
        digest,
    );
    let finalizes: Vec<Finalize<Scheme, sha256::Digest>> = signers
        .iter()
        .map(|key| {
            let scheme = Scheme::signer(
                &consensus_namespace(chain),
                participants.clone(),
                key.clone(),
            )
            .expect("a participant");
            Finalize::sign(&scheme, proposal.clone()).expect("signs")
        })
        .collect();
    let verifier = Scheme::verifier(&consensus_namespace(chain), participants);
    let finalization = Finalization::from_finalizes(
        &verifier,
        commonware_utils::iter::NonEmpty::try_new(finalizes.iter()).expect("signers"),
        &Sequential,
    )
    .expect("a quorum");
    finalization.encode().to_vec()
}

/// Builds and stores the test chain: [`BLOCKS`] blocks of [`ENTRIES_PER_BLOCK`] entries.
pub fn build() -> TestChain {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node").join(format!("{CHAIN}.redb"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (genesis, finance) = genesis();
    let store = Store::open(&path, &genesis).unwrap();
    let mut state = genesis.initial_state().unwrap();
    let mut known: HashMap<EntryId, KnownEntry> = HashMap::new();
    let quorum = &validator_keys()[..3];
    let mut blocks = Vec::new();
    for height in 1..=BLOCKS {
        let mut entries: Vec<EntryDraft> = (0..ENTRIES_PER_BLOCK)
            .map(|index| entry(&format!("sale-{height}-{index}"), 1_000 * height + index))
            .collect();
        let mut transactions = vec![Transaction::Batch(SignedBatch::sign(
            &finance,
            CHAIN,
            entries.split_off(1),
        ))];
        transactions.push(Transaction::Single(SignedTx::sign(
            &finance,
            CHAIN,
            TxBody::Post(entries.remove(0)),
        )));
        if height == REVERSAL_BLOCK {
            let original = entry("sale-2-0", 2_000);
            let reversal = EntryDraft {
                id: EntryId::new("reversal-of-sale-2-0").unwrap(),
                description: "customer cancelled".into(),
                postings: original.postings.iter().map(Posting::mirrored).collect(),
                reverses: Some(original.id.clone()),
                sealed: Default::default(),
                seal_keys: Vec::new(),
                ..original
            };
            transactions.push(Transaction::Single(SignedTx::sign(
                &finance,
                CHAIN,
                TxBody::Post(reversal),
            )));
        }
        let count = transactions.len();
        let (block, executed, rejected) = build_block(
            &state,
            &known,
            HashMap::new(),
            T0 + height * 1_000,
            transactions,
        );
        assert!(
            rejected.is_empty(),
            "{:?}",
            rejected
                .iter()
                .map(|(_, e)| e.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(block.transactions.len(), count);
        let certificate = certificate(quorum, header_digest(&block.header), height);
        store
            .commit_certified(&block, &executed, Some(&certificate))
            .unwrap();
        known.extend(executed.pending.entries());
        state = executed.state;
        blocks.push(block);
    }
    drop(store);
    TestChain {
        dir,
        path,
        genesis,
        blocks,
    }
}

/// A copy of the store file in a fresh directory, to damage.
pub fn copy(chain: &TestChain) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{CHAIN}.redb"));
    std::fs::copy(&chain.path, &path).unwrap();
    (dir, path)
}

/// Where `needle` occurs in the file. Copy-on-write leaves stale copies in free pages, so a
/// record may occur more than once; one occurrence is the live one.
pub fn find_all(path: &Path, needle: &[u8]) -> Vec<usize> {
    let bytes = std::fs::read(path).unwrap();
    let found: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at)
        .collect();
    assert!(!found.is_empty(), "the bytes are not in the file");
    found
}

/// Flips the byte at `offset` in every copy of `record` in the file.
pub fn flip_in_record(path: &Path, record: &[u8], offset: usize) {
    for at in find_all(path, record) {
        flip_byte(path, at + offset);
    }
}

pub fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}
