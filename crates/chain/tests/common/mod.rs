//! Shared fixtures for the chain's integration tests: a genesis with one member per role of
//! interest, entry and transaction builders, and a way to assemble blocks that `build_block`
//! would never produce.
#![allow(dead_code)]

use std::collections::HashMap;

use tally_chain::{
    build_block, Block, BlockDigest, ChainState, ClosePolicy, CloseSignOff, Executed, Genesis,
    Header, SignedBatch, SignedTx, Transaction, TxBody, TxError, Validator,
};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{
    default_chart, AccountCode, Currency, Date, EntryDraft, EntryId, EntryLookup, KnownEntry,
    Posting, Role, Side, TrialBalanceLine,
};

pub const CHAIN: &str = "tally-test";
/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600_000;
/// Last millisecond the `temp` member's certificate covers.
pub const TEMP_UNTIL: u64 = T0 + 10_000;
/// First millisecond the `future` member's certificate covers.
pub const FUTURE_FROM: u64 = T0 + 50_000;
/// Far in the future: the ordinary members' certificates never run out in a test.
pub const FOREVER: u64 = T0 + 100 * 365 * 24 * 3_600_000;

pub struct Fixture {
    pub genesis: Genesis,
    pub root: SecretKey,
    pub finance: SecretKey,
    pub sales: SecretKey,
    pub admin: SecretKey,
    pub service: SecretKey,
    pub auditor: SecretKey,
    pub bookkeeper: SecretKey,
    /// A bookkeeper whose certificate ends at [`TEMP_UNTIL`].
    pub temp: SecretKey,
    /// A bookkeeper whose certificate starts at [`FUTURE_FROM`].
    pub future: SecretKey,
    /// Not a member of the chain.
    pub outsider: SecretKey,
}

pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

pub fn certify(
    root: &SecretKey,
    chain_id: &str,
    member: &SecretKey,
    name: &str,
    role: Role,
    valid_from_ms: u64,
    valid_until_ms: u64,
) -> CertifiedMember {
    CertifiedMember::issue(
        root,
        chain_id,
        MemberCertificate {
            member: member.public_key(),
            name: name.into(),
            role,
            department: "test".into(),
            valid_from_ms,
            valid_until_ms,
        },
    )
}

/// The standard fixture on chain [`CHAIN`].
pub fn fixture() -> Fixture {
    fixture_on(CHAIN)
}

/// The same members (same keys) on another chain id.
pub fn fixture_on(chain_id: &str) -> Fixture {
    let root = key(100);
    let finance = key(1);
    let sales = key(2);
    let admin = key(3);
    let service = key(4);
    let auditor = key(5);
    let bookkeeper = key(6);
    let temp = key(7);
    let future = key(8);
    let outsider = key(99);
    let start = T0 - 1_000;
    let members = vec![
        certify(
            &root,
            chain_id,
            &finance,
            "finance",
            Role::Finance,
            start,
            FOREVER,
        ),
        certify(
            &root,
            chain_id,
            &sales,
            "sales",
            Role::Sales,
            start,
            FOREVER,
        ),
        certify(
            &root,
            chain_id,
            &admin,
            "admin",
            Role::Admin,
            start,
            FOREVER,
        ),
        certify(
            &root,
            chain_id,
            &service,
            "service",
            Role::Service,
            start,
            FOREVER,
        ),
        certify(
            &root,
            chain_id,
            &auditor,
            "auditor",
            Role::Auditor,
            start,
            FOREVER,
        ),
        certify(
            &root,
            chain_id,
            &bookkeeper,
            "bookkeeper",
            Role::Bookkeeper,
            start,
            FOREVER,
        ),
        certify(
            &root,
            chain_id,
            &temp,
            "temp",
            Role::Bookkeeper,
            start,
            TEMP_UNTIL,
        ),
        certify(
            &root,
            chain_id,
            &future,
            "future",
            Role::Bookkeeper,
            FUTURE_FROM,
            FOREVER,
        ),
    ];
    let genesis = Genesis {
        chain_id: chain_id.into(),
        enterprise: "Test Enterprise".into(),
        time_ms: T0,
        root_key: root.public_key(),
        validators: vec![Validator {
            name: "v".into(),
            consensus_key: "00".into(),
        }],
        members,
        chart: default_chart(),
        consortium: None,
        close_policy: ClosePolicy::default(),
        read_policy: Default::default(),
        epoch_blocks: None,
    };
    Fixture {
        genesis,
        root,
        finance,
        sales,
        admin,
        service,
        auditor,
        bookkeeper,
        temp,
        future,
        outsider,
    }
}

pub fn code(text: &str) -> AccountCode {
    AccountCode::new(text).unwrap()
}

pub fn id(text: &str) -> EntryId {
    EntryId::new(text).unwrap()
}

pub fn date(year: u32, month: u32, day: u32) -> Date {
    Date::from_ymd(year, month, day).unwrap()
}

pub fn posting(account: &str, side: Side, amount: u64, currency: Currency) -> Posting {
    Posting {
        account: code(account),
        side,
        amount,
        currency,
    }
}

/// A EUR entry dated 2026-01-15: debit `debit` and credit `credit` with `amount`.
pub fn simple(entry_id: &str, debit: &str, credit: &str, amount: u64) -> EntryDraft {
    draft(
        entry_id,
        date(2026, 1, 15),
        vec![
            posting(debit, Side::Debit, amount, Currency::EUR),
            posting(credit, Side::Credit, amount, Currency::EUR),
        ],
    )
}

pub fn draft(entry_id: &str, on: Date, postings: Vec<Posting>) -> EntryDraft {
    EntryDraft {
        id: id(entry_id),
        date: on,
        description: format!("test entry {entry_id}"),
        postings,
        references: Vec::new(),
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

/// The reversal of `original`: its postings with sides swapped.
pub fn reversal(entry_id: &str, original: &EntryDraft) -> EntryDraft {
    EntryDraft {
        id: id(entry_id),
        date: original.date,
        description: format!("reversal of {}", original.id),
        postings: original.postings.iter().map(Posting::mirrored).collect(),
        references: Vec::new(),
        reverses: Some(original.id.clone()),
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

pub fn single(signer: &SecretKey, body: TxBody) -> Transaction {
    Transaction::Single(SignedTx::sign(signer, CHAIN, body))
}

pub fn post(signer: &SecretKey, entry: EntryDraft) -> Transaction {
    single(signer, TxBody::Post(entry))
}

/// `signer`'s sign-off of a close through `through`, carrying `trial_balance`.
pub fn sign_off_with(
    signer: &SecretKey,
    through: Date,
    trial_balance: Vec<TrialBalanceLine>,
) -> Transaction {
    single(
        signer,
        TxBody::ClosePeriod(CloseSignOff {
            through,
            trial_balance,
        }),
    )
}

/// `signer`'s sign-off of a close through `through`, carrying the trial balance `state` has as
/// of that day (none if the day is closed already), as an honest client would sign it.
pub fn sign_off(signer: &SecretKey, state: &ChainState, through: Date) -> Transaction {
    let trial_balance = state
        .ledger
        .trial_balance_as_of(through)
        .unwrap_or_default();
    sign_off_with(signer, through, trial_balance)
}

pub fn batch(signer: &SecretKey, entries: Vec<EntryDraft>) -> Transaction {
    Transaction::Batch(SignedBatch::sign(signer, CHAIN, entries))
}

/// Flips one byte of the transaction's signature.
pub fn with_bad_signature(tx: Transaction) -> Transaction {
    let flip = |signature: &tally_identity::Signature| {
        let mut bytes = signature.to_bytes();
        bytes[10] ^= 0x01;
        tally_identity::Signature::from_bytes(&bytes)
    };
    match tx {
        Transaction::Single(mut single) => {
            single.signature = flip(&single.signature);
            Transaction::Single(single)
        }
        Transaction::Batch(mut batch) => {
            batch.signature = flip(&batch.signature);
            Transaction::Batch(batch)
        }
    }
}

/// A block on `parent` carrying exactly `transactions`, with correct chain, height, parent,
/// time and transaction root but zeroed state and log roots. For blocks that must fail before
/// their roots are compared.
pub fn forge(parent: &ChainState, time_ms: u64, transactions: Vec<Transaction>) -> Block {
    Block::new(
        Header {
            chain: parent.chain_hash(),
            height: parent.height + 1,
            parent: parent.tip,
            time_ms,
            tx_root: Block::tx_root(&transactions),
            log_root: [0; 32],
            log_size: 0,
            state_root: [0; 32],
        },
        transactions,
    )
}

/// `build_block` on committed state (no pending ancestors); panics if it rejects anything.
pub fn build_all<L: EntryLookup + ?Sized>(
    parent: &ChainState,
    lookup: &L,
    time_ms: u64,
    candidates: Vec<Transaction>,
) -> (Block, Executed) {
    let count = candidates.len();
    let (block, executed, rejected) =
        build_block(parent, lookup, HashMap::new(), time_ms, candidates);
    assert!(
        rejected.is_empty(),
        "unexpected rejections: {:?}",
        rejected
            .iter()
            .map(|(_, e)| e.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(block.transactions.len(), count);
    (block, executed)
}

/// `build_block` that expects exactly one candidate, and that it is rejected; returns why.
pub fn rejection<L: EntryLookup + ?Sized>(
    parent: &ChainState,
    lookup: &L,
    time_ms: u64,
    candidate: Transaction,
) -> TxError {
    let (block, _, mut rejected) =
        build_block(parent, lookup, HashMap::new(), time_ms, vec![candidate]);
    assert!(block.transactions.is_empty(), "the candidate was included");
    assert_eq!(rejected.len(), 1);
    rejected.pop().unwrap().1
}

pub fn empty_lookup() -> HashMap<EntryId, KnownEntry> {
    HashMap::new()
}

pub fn digest(block: &Block) -> BlockDigest {
    tally_chain::header_digest(&block.header)
}
