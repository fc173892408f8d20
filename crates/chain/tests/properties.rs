//! Property tests of the chain. proptest prints the failing case (shrunk) and records its seed in
//! `proptest-regressions/`, so every failure can be replayed.
//!
//! 1. Blocks built from random candidates (valid ones mixed with unbalanced entries, unknown
//!    accounts, wrong roles, duplicate ids, bad signatures, overdrafts, bad reversals, expired and
//!    revoked signers, period close sign-offs by the wrong role, for a closed day or with a
//!    trial balance other than the books') include exactly the candidates a simple model of the
//!    rules accepts, refuse the others for the reason the model gives, and every committed state
//!    balances per currency; every accepted sign-off carries the trial balance the model adds up
//!    from the entries dated up to its day.
//! 2. The same blocks reach the same roots through a replay from the genesis, through
//!    `execute_block` on a second store committing each block, and through `execute_block` on
//!    uncommitted ancestors (the `pending` overlay).
//! 3. Blocks round-trip through both encodings, and flipping any single byte of an encoded
//!    block either fails to decode or gives a block with another digest or one that execution
//!    refuses.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use proptest::prelude::*;
use tally_chain::{
    build_block, execute_block, replay, verify_signatures, Block, ChainState, CloseError, Store,
    Transaction, TxBody, TxError,
};
use tally_identity::SecretKey;
use tally_ledger::{
    codes::*, AccountCode, Currency, Date, EntryDraft, EntryError, EntryId, PeriodError, PostError,
    Posting, Side, TrialBalanceLine,
};

use common::*;

/// Few ids, so that duplicates are common.
const ID_POOL: u8 = 24;
/// Dates are 2026-01-01 plus 0..DAYS days (January and February).
const DAYS: u8 = 59;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    Finance,
    Sales,
    Service,
    Bookkeeper,
    Auditor,
    /// A bookkeeper whose certificate ends at `TEMP_UNTIL`.
    Temp,
    Outsider,
}

#[derive(Clone, Debug)]
enum Shape {
    /// Receivable / revenue.
    Sale,
    /// Bank / opening equity.
    Deposit,
    /// Fees / bank: overdraws the bank when there is not enough in it.
    Withdraw,
    /// Returns / bank (the service role may post both).
    Refund,
    /// Debits and credits differ by one.
    Unbalanced,
    /// Debits an account that is not in the chart.
    UnknownAccount,
    /// A sale booked in EUR and USD at once.
    TwoCurrencies,
    /// Reverses the `target`-th committed entry (or, when `unknown` or nothing is committed, an
    /// entry that does not exist): with its mirror, unless `tamper`.
    Reverse {
        target: u8,
        tamper: bool,
        unknown: bool,
    },
}

#[derive(Clone, Debug)]
struct Op {
    shape: Shape,
    id: u8,
    amount: u64,
    day: u8,
}

#[derive(Clone, Debug)]
enum Cand {
    Single {
        who: Who,
        op: Op,
        bad_sig: bool,
    },
    Batch {
        who: Who,
        ops: Vec<Op>,
        bad_sig: bool,
    },
    /// A sign-off by finance (the default policy), or (refused) by sales; `tamper` signs a
    /// trial balance other than the books'.
    ClosePeriod {
        by_finance: bool,
        day: u8,
        tamper: bool,
    },
    /// By the admin.
    Revoke {
        target: Who,
    },
}

#[derive(Clone, Debug)]
struct BlockSpec {
    /// Milliseconds after the previous block (0 keeps the time).
    gap: u64,
    candidates: Vec<Cand>,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => Just(Who::Finance),
        3 => Just(Who::Sales),
        2 => Just(Who::Service),
        2 => Just(Who::Bookkeeper),
        1 => Just(Who::Auditor),
        1 => Just(Who::Temp),
        1 => Just(Who::Outsider),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        4 => Just(Shape::Sale),
        3 => Just(Shape::Deposit),
        3 => Just(Shape::Withdraw),
        2 => Just(Shape::Refund),
        1 => Just(Shape::Unbalanced),
        1 => Just(Shape::UnknownAccount),
        2 => Just(Shape::TwoCurrencies),
        3 => (any::<u8>(), prop::bool::weighted(0.15), prop::bool::weighted(0.15))
            .prop_map(|(target, tamper, unknown)| Shape::Reverse { target, tamper, unknown }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    (shape(), 0..ID_POOL, 1..10_000u64, 0..DAYS).prop_map(|(shape, id, amount, day)| Op {
        shape,
        id,
        amount,
        day,
    })
}

fn cand() -> impl Strategy<Value = Cand> {
    prop_oneof![
        10 => (who(), op(), prop::bool::weighted(0.1))
            .prop_map(|(who, op, bad_sig)| Cand::Single { who, op, bad_sig }),
        3 => (who(), prop::collection::vec(op(), 1..4), prop::bool::weighted(0.1))
            .prop_map(|(who, ops, bad_sig)| Cand::Batch { who, ops, bad_sig }),
        1 => (prop::bool::weighted(0.8), 0..25u8, prop::bool::weighted(0.15))
            .prop_map(|(by_finance, day, tamper)| Cand::ClosePeriod { by_finance, day, tamper }),
        1 => prop_oneof![
            Just(Who::Sales),
            Just(Who::Service),
            Just(Who::Bookkeeper),
            Just(Who::Outsider)
        ]
        .prop_map(|target| Cand::Revoke { target }),
    ]
}

fn block_spec() -> impl Strategy<Value = BlockSpec> {
    (
        prop_oneof![1 => Just(0u64), 4 => 1..4_000u64],
        prop::collection::vec(cand(), 0..10),
    )
        .prop_map(|(gap, candidates)| BlockSpec { gap, candidates })
}

fn chain_spec(blocks: std::ops::Range<usize>) -> impl Strategy<Value = Vec<BlockSpec>> {
    prop::collection::vec(block_spec(), blocks)
}

// ------------------------------------------------------------------------------------------
// The model: what the rules say about each candidate, in a form simple enough to trust.

/// Why the model expects a refusal (and the same classification of a real `TxError`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Why {
    UnknownSigner,
    Revoked,
    Expired,
    NotAllowed,
    SelfReversal,
    Unbalanced,
    Duplicate,
    DuplicateInBatch,
    PeriodClosed,
    UnknownAccount,
    RoleNotAllowed,
    ReversedUnknown,
    AlreadyReversed,
    NotAMirror,
    Overdraft,
    NotInClosePolicy,
    PeriodBackwards,
    AlreadyClosed,
    TrialBalanceDiffers,
    MemberUnknown,
    InBatch(usize, Box<Why>),
    Unexpected(String),
}

fn why(error: &TxError) -> Why {
    match error {
        TxError::UnknownSigner { .. } => Why::UnknownSigner,
        TxError::SignerRevoked { .. } => Why::Revoked,
        TxError::CertificateExpired { .. } => Why::Expired,
        TxError::NotAllowed { .. } => Why::NotAllowed,
        TxError::InBatch { index, source } => Why::InBatch(*index, Box::new(why(source))),
        TxError::Entry(EntryError::SelfReversal { .. }) => Why::SelfReversal,
        TxError::Entry(EntryError::Unbalanced { .. }) => Why::Unbalanced,
        TxError::Post(PostError::DuplicateId { .. }) => Why::Duplicate,
        TxError::DuplicateInTransaction(_) => Why::DuplicateInBatch,
        TxError::Post(PostError::PeriodClosed { .. }) => Why::PeriodClosed,
        TxError::Post(PostError::UnknownAccount { .. }) => Why::UnknownAccount,
        TxError::Post(PostError::RoleNotAllowed { .. }) => Why::RoleNotAllowed,
        TxError::Post(PostError::ReversedEntryUnknown { .. }) => Why::ReversedUnknown,
        TxError::Post(PostError::AlreadyReversed { .. }) => Why::AlreadyReversed,
        TxError::Post(PostError::NotAMirror { .. }) => Why::NotAMirror,
        TxError::Post(PostError::WouldGoNegative { .. }) => Why::Overdraft,
        TxError::Close(CloseError::NotInPolicy { .. }) => Why::NotInClosePolicy,
        TxError::Close(CloseError::Period(PeriodError::Backwards { .. })) => Why::PeriodBackwards,
        TxError::Close(CloseError::Period(PeriodError::AlreadyClosed { .. })) => Why::AlreadyClosed,
        TxError::Close(CloseError::TrialBalanceDiffers { .. }) => Why::TrialBalanceDiffers,
        TxError::MemberUnknown(_) => Why::MemberUnknown,
        other => Why::Unexpected(other.to_string()),
    }
}

fn known_account(code: &str) -> bool {
    code != "9999"
}

fn allowed(who: Who, account: &str) -> bool {
    match who {
        Who::Finance | Who::Bookkeeper | Who::Temp => true,
        Who::Sales => [
            ACCOUNTS_RECEIVABLE,
            OUTPUT_VAT,
            SALES_REVENUE,
            SHIPPING_INCOME,
            SALES_RETURNS,
        ]
        .contains(&account),
        Who::Service => [BANK, ACCOUNTS_RECEIVABLE, OUTPUT_VAT, SALES_RETURNS].contains(&account),
        Who::Auditor | Who::Outsider => false,
    }
}

fn day(offset: u8) -> Date {
    let offset = u32::from(offset);
    if offset < 31 {
        date(2026, 1, offset + 1)
    } else {
        date(2026, 2, offset - 30)
    }
}

fn entry_id(n: u8) -> String {
    format!("e{n}")
}

#[derive(Clone, Debug, Default)]
struct Model {
    /// Committed entries: postings and whether they were reversed.
    entries: BTreeMap<EntryId, (Vec<Posting>, bool)>,
    /// Every accepted entry's date and postings, in order.
    booked: Vec<(Date, Vec<Posting>)>,
    /// Net EUR debit balance of the bank account.
    bank: i128,
    closed: Option<Date>,
    /// The last day of every completed close, in order.
    closings: Vec<Date>,
    revoked: HashSet<Who>,
}

impl Model {
    fn authorise(&self, who: Who, time_ms: u64) -> Result<(), Why> {
        if who == Who::Outsider {
            return Err(Why::UnknownSigner);
        }
        if self.revoked.contains(&who) {
            return Err(Why::Revoked);
        }
        if who == Who::Temp && time_ms > TEMP_UNTIL {
            return Err(Why::Expired);
        }
        Ok(())
    }

    /// The draft an op stands for, given what is committed so far.
    fn draft(&self, op: &Op) -> EntryDraft {
        let a = op.amount;
        let eur = |account: &str, side, amount| posting(account, side, amount, Currency::EUR);
        let sale = |amount| {
            vec![
                eur(ACCOUNTS_RECEIVABLE, Side::Debit, amount),
                eur(SALES_REVENUE, Side::Credit, amount),
            ]
        };
        let mut reverses = None;
        let postings = match &op.shape {
            Shape::Sale => sale(a),
            Shape::Deposit => vec![
                eur(BANK, Side::Debit, a),
                eur(OPENING_EQUITY, Side::Credit, a),
            ],
            Shape::Withdraw => vec![
                eur(PAYMENT_FEES, Side::Debit, a),
                eur(BANK, Side::Credit, a),
            ],
            Shape::Refund => vec![
                eur(SALES_RETURNS, Side::Debit, a),
                eur(BANK, Side::Credit, a),
            ],
            Shape::Unbalanced => vec![
                eur(CASH, Side::Debit, a),
                eur(OPENING_EQUITY, Side::Credit, a + 1),
            ],
            Shape::UnknownAccount => {
                vec![
                    eur("9999", Side::Debit, a),
                    eur(OPENING_EQUITY, Side::Credit, a),
                ]
            }
            Shape::TwoCurrencies => {
                let usd = a / 2 + 1;
                vec![
                    eur(ACCOUNTS_RECEIVABLE, Side::Debit, a),
                    eur(SALES_REVENUE, Side::Credit, a),
                    posting(ACCOUNTS_RECEIVABLE, Side::Debit, usd, Currency::USD),
                    posting(SALES_REVENUE, Side::Credit, usd, Currency::USD),
                ]
            }
            Shape::Reverse {
                target,
                tamper,
                unknown,
            } => {
                let count = self.entries.len();
                let target = match self.entries.keys().nth(usize::from(*target) % count.max(1)) {
                    Some(known) if !unknown => known.clone(),
                    _ => id(&format!("x{target}")),
                };
                let postings = match self.entries.get(&target) {
                    // The sale's own sides are never its mirror.
                    Some(_) if *tamper => sale(a),
                    Some((postings, _)) => postings.iter().map(Posting::mirrored).collect(),
                    None => sale(a).iter().map(Posting::mirrored).collect(),
                };
                reverses = Some(target);
                postings
            }
        };
        // Reversals draw their ids from their own pool, so that a second reversal of the same
        // entry is common.
        let own_id = match op.shape {
            Shape::Reverse { .. } => format!("r{}", op.id),
            _ => entry_id(op.id),
        };
        EntryDraft {
            id: id(&own_id),
            date: day(op.day),
            description: String::new(),
            postings,
            references: Vec::new(),
            reverses,
            sealed: Default::default(),
            seal_keys: Vec::new(),
        }
    }

    /// The ledger's checks, in the ledger's order, for an authorised signer.
    fn check(&self, who: Who, draft: &EntryDraft) -> Result<i128, Why> {
        if draft.reverses.as_ref() == Some(&draft.id) {
            return Err(Why::SelfReversal);
        }
        let mut totals: BTreeMap<Currency, i128> = BTreeMap::new();
        let mut bank = 0i128;
        for p in &draft.postings {
            let signed = match p.side {
                Side::Debit => i128::from(p.amount),
                Side::Credit => -i128::from(p.amount),
            };
            *totals.entry(p.currency).or_default() += signed;
            if p.account.as_str() == BANK && p.currency == Currency::EUR {
                bank += signed;
            }
        }
        if totals.values().any(|total| *total != 0) {
            return Err(Why::Unbalanced);
        }
        if self.entries.contains_key(&draft.id) {
            return Err(Why::Duplicate);
        }
        if self.closed.is_some_and(|closed| draft.date <= closed) {
            return Err(Why::PeriodClosed);
        }
        for p in &draft.postings {
            if !known_account(p.account.as_str()) {
                return Err(Why::UnknownAccount);
            }
            if !allowed(who, p.account.as_str()) {
                return Err(Why::RoleNotAllowed);
            }
        }
        if let Some(target) = &draft.reverses {
            let Some((postings, reversed)) = self.entries.get(target) else {
                return Err(Why::ReversedUnknown);
            };
            if *reversed {
                return Err(Why::AlreadyReversed);
            }
            let mut expected: Vec<_> = postings.iter().map(Posting::mirrored).collect();
            let mut actual = draft.postings.clone();
            let order = |p: &Posting| (p.account.clone(), p.currency, p.side, p.amount);
            expected.sort_by_key(order);
            actual.sort_by_key(order);
            if expected != actual {
                return Err(Why::NotAMirror);
            }
        }
        if self.bank + bank < 0 {
            return Err(Why::Overdraft);
        }
        Ok(bank)
    }

    fn apply(&mut self, draft: &EntryDraft, bank: i128) {
        if let Some(target) = &draft.reverses {
            self.entries.get_mut(target).unwrap().1 = true;
        }
        self.entries
            .insert(draft.id.clone(), (draft.postings.clone(), false));
        self.booked.push((draft.date, draft.postings.clone()));
        self.bank += bank;
    }

    /// The trial balance of the entries dated on or before `as_of`: every posting added up.
    fn trial_balance(&self, as_of: Date) -> Vec<TrialBalanceLine> {
        let mut sums: BTreeMap<(AccountCode, Currency), (u128, u128)> = BTreeMap::new();
        for (_, postings) in self.booked.iter().filter(|(date, _)| *date <= as_of) {
            for p in postings {
                let sum = sums.entry((p.account.clone(), p.currency)).or_default();
                match p.side {
                    Side::Debit => sum.0 += u128::from(p.amount),
                    Side::Credit => sum.1 += u128::from(p.amount),
                }
            }
        }
        sums.into_iter()
            .filter(|(_, (debit, credit))| debit != credit)
            .map(|((account, currency), (debit, credit))| TrialBalanceLine {
                account,
                currency,
                debit: debit.saturating_sub(credit),
                credit: credit.saturating_sub(debit),
            })
            .collect()
    }

    fn post(&mut self, who: Who, draft: &EntryDraft) -> Result<(), Why> {
        let bank = self.check(who, draft)?;
        self.apply(draft, bank);
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// The harness.

struct Keys {
    fx: Fixture,
}

impl Keys {
    fn of(&self, who: Who) -> &SecretKey {
        match who {
            Who::Finance => &self.fx.finance,
            Who::Sales => &self.fx.sales,
            Who::Service => &self.fx.service,
            Who::Bookkeeper => &self.fx.bookkeeper,
            Who::Auditor => &self.fx.auditor,
            Who::Temp => &self.fx.temp,
            Who::Outsider => &self.fx.outsider,
        }
    }
}

/// One candidate as a transaction, with the model's verdict; the model advances when the
/// verdict is acceptance. Bad-signature candidates leave the model alone: the mempool drops
/// them before any block sees them.
fn realise(
    keys: &Keys,
    model: &mut Model,
    time_ms: u64,
    cand: &Cand,
) -> (Transaction, bool, Result<(), Why>) {
    let mut next = model.clone();
    let (tx, bad_sig, verdict) = match cand {
        Cand::Single { who, op, bad_sig } => {
            let draft = model.draft(op);
            let verdict = next
                .authorise(*who, time_ms)
                .and_then(|()| next.post(*who, &draft));
            (post(keys.of(*who), draft), *bad_sig, verdict)
        }
        Cand::Batch { who, ops, bad_sig } => {
            let mut drafts: Vec<EntryDraft> = Vec::new();
            let mut verdict = next.authorise(*who, time_ms);
            for (index, op) in ops.iter().enumerate() {
                // Later drafts of the batch see the earlier ones (for reversal targets).
                let draft = next.draft(op);
                if verdict.is_ok() {
                    // An id repeated inside the batch is refused before any other rule.
                    verdict = if drafts.iter().any(|earlier| earlier.id == draft.id) {
                        Err(Why::DuplicateInBatch)
                    } else {
                        next.post(*who, &draft)
                    }
                    .map_err(|source| Why::InBatch(index, Box::new(source)));
                }
                drafts.push(draft);
            }
            (batch(keys.of(*who), drafts), *bad_sig, verdict)
        }
        Cand::ClosePeriod {
            by_finance,
            day: offset,
            tamper,
        } => {
            let through = day(*offset);
            let mut trial_balance = next.trial_balance(through);
            if *tamper {
                // A currency the chain never books.
                trial_balance.push(TrialBalanceLine {
                    account: code(CASH),
                    currency: Currency::JPY,
                    debit: 1,
                    credit: 0,
                });
            }
            let signer = if *by_finance {
                &keys.fx.finance
            } else {
                &keys.fx.sales
            };
            let signer_who = if *by_finance {
                Who::Finance
            } else {
                Who::Sales
            };
            let verdict = if let Err(refused) = next.authorise(signer_who, time_ms) {
                Err(refused)
            } else if !by_finance {
                Err(Why::NotInClosePolicy)
            } else if next.closed.is_some_and(|closed| through < closed) {
                Err(Why::PeriodBackwards)
            } else if next.closed == Some(through) {
                Err(Why::AlreadyClosed)
            } else if *tamper {
                Err(Why::TrialBalanceDiffers)
            } else {
                next.closed = Some(through);
                next.closings.push(through);
                Ok(())
            };
            (
                sign_off_with(signer, through, trial_balance),
                false,
                verdict,
            )
        }
        Cand::Revoke { target } => {
            let verdict = if *target == Who::Outsider {
                Err(Why::MemberUnknown)
            } else {
                next.revoked.insert(*target);
                Ok(())
            };
            let key = keys.of(*target).public_key();
            (
                single(&keys.fx.admin, TxBody::RevokeMember(key)),
                false,
                verdict,
            )
        }
    };
    if bad_sig {
        return (with_bad_signature(tx), true, verdict);
    }
    if verdict.is_ok() {
        *model = next;
    }
    (tx, false, verdict)
}

/// A built chain: the blocks, the state before each block, and the store holding them.
struct Chain {
    keys: Keys,
    store: Store,
    blocks: Vec<Block>,
    parents: Vec<ChainState>,
    model: Model,
}

fn net(state: &ChainState, account: &str, currency: Currency) -> i128 {
    match state.ledger.balance(&code(account), currency).net() {
        None => 0,
        Some((Side::Debit, amount)) => amount as i128,
        Some((Side::Credit, amount)) => -(amount as i128),
    }
}

/// Builds and commits one block per spec, checking each against the model.
fn build_chain(specs: &[BlockSpec]) -> Result<Chain, TestCaseError> {
    let keys = Keys { fx: fixture() };
    let store = Store::open_in_memory(&keys.fx.genesis).unwrap();
    let mut model = Model::default();
    let mut blocks = Vec::new();
    let mut parents = Vec::new();
    let mut time_ms = T0;
    for spec in specs {
        time_ms += spec.gap;
        let parent = store.state().unwrap();
        let mut kept = Vec::new();
        let mut expected = Vec::new();
        let mut bad = Vec::new();
        for cand in &spec.candidates {
            let (tx, bad_sig, verdict) = realise(&keys, &mut model, time_ms, cand);
            // The mempool's signature check.
            let passes = verify_signatures(CHAIN, std::slice::from_ref(&tx)).is_ok();
            prop_assert_eq!(passes, !bad_sig);
            if bad_sig {
                bad.push(tx);
            } else {
                kept.push(tx);
                expected.push(verdict);
            }
        }
        let (block, executed, rejected) =
            build_block(&parent, &store, HashMap::new(), time_ms, kept.clone());

        // Included and refused exactly as the model says, in candidate order.
        let mut included = block.transactions.iter().peekable();
        let mut refused = rejected.iter().peekable();
        for (tx, verdict) in kept.iter().zip(&expected) {
            let outcome = if included.peek() == Some(&tx) {
                included.next();
                Ok(())
            } else {
                let (refused_tx, error) = refused.next().expect("a candidate went missing");
                prop_assert_eq!(refused_tx, tx);
                Err(why(error))
            };
            prop_assert_eq!(&outcome, verdict, "candidate {:?}", tx);
        }
        prop_assert!(included.next().is_none() && refused.next().is_none());

        // The executed state keeps the invariants and matches the model.
        let state = &executed.state;
        prop_assert!(state.ledger.is_balanced());
        prop_assert_eq!(net(state, BANK, Currency::EUR), model.bank);
        prop_assert!(model.bank >= 0);
        prop_assert_eq!(state.ledger.entry_count(), model.entries.len() as u64);
        prop_assert_eq!(state.log.len(), model.entries.len() as u64);
        prop_assert_eq!(state.ledger.closed_through(), model.closed);
        let closings: Vec<Date> = state.closes.closings.iter().map(|c| c.through).collect();
        prop_assert_eq!(&closings, &model.closings);
        // Each accepted sign-off closed the period (finance alone signs by default).
        for (index, progress) in &executed.sign_offs {
            prop_assert!(progress.is_closed());
            prop_assert!(matches!(
                &block.transactions[*index as usize],
                Transaction::Single(single) if matches!(single.body, TxBody::ClosePeriod(_))
            ));
        }
        prop_assert_eq!(state.state_root(), block.header.state_root);
        prop_assert_eq!(state.log.root(), block.header.log_root);
        prop_assert_eq!(state.tip, digest(&block).0);
        for currency in [Currency::EUR, Currency::USD] {
            let sum: i128 = state
                .ledger
                .balances()
                .filter(|(_, c, _)| *c == currency)
                .map(|(account, _, _)| net(state, account.as_str(), currency))
                .sum();
            prop_assert_eq!(sum, 0);
        }

        // A bad signature slipped into the block is named by its position.
        if let Some(bad_tx) = bad.first() {
            let mut tampered = block.clone();
            let at = bad.len() % (tampered.transactions.len() + 1);
            tampered.transactions.insert(at, bad_tx.clone());
            tampered.header.tx_root = Block::tx_root(&tampered.transactions);
            let error = execute_block(&parent, &store, HashMap::new(), &tampered).unwrap_err();
            prop_assert_eq!(error, tally_chain::BlockError::BadSignature { index: at });
        }

        store.commit(&block, &executed).unwrap();
        let snapshot = store.state().unwrap();
        prop_assert!(snapshot.ledger.is_balanced());
        prop_assert_eq!(snapshot.state_root(), block.header.state_root);
        prop_assert_eq!(snapshot.log.root(), block.header.log_root);
        parents.push(parent);
        blocks.push(block);
    }
    Ok(Chain {
        keys,
        store,
        blocks,
        parents,
        model,
    })
}

/// Executes the chain's blocks three other ways and compares the roots after each.
fn check_reexecution(chain: &Chain) -> Result<(), TestCaseError> {
    let genesis = &chain.keys.fx.genesis;
    let Some(last) = chain.blocks.last() else {
        return Ok(());
    };

    let replayed = replay(genesis, &chain.blocks).unwrap();
    prop_assert_eq!(replayed.state_root(), last.header.state_root);
    prop_assert_eq!(replayed.log.root(), last.header.log_root);
    prop_assert_eq!(replayed.tip, digest(last).0);
    prop_assert!(replayed.ledger.is_balanced());

    // A second node committing each block as it goes.
    let second = Store::open_in_memory(genesis).unwrap();
    // A node that has committed nothing yet: every block sees its ancestors through `pending`.
    let mut uncommitted = genesis.initial_state().unwrap();
    let mut pending = tally_chain::Pending::default();
    for block in &chain.blocks {
        let parent = second.state().unwrap();
        let executed = execute_block(&parent, &second.at(parent.height), HashMap::new(), block)
            .map_err(|error| TestCaseError::fail(format!("second store: {error}")))?;
        prop_assert_eq!(executed.state.state_root(), block.header.state_root);
        prop_assert_eq!(executed.state.log.root(), block.header.log_root);
        second.commit(block, &executed).unwrap();

        let executed = execute_block(&uncommitted, &empty_lookup(), pending, block)
            .map_err(|error| TestCaseError::fail(format!("uncommitted: {error}")))?;
        prop_assert_eq!(executed.state.state_root(), block.header.state_root);
        prop_assert_eq!(executed.state.tip, digest(block).0);
        pending = executed.pending;
        uncommitted = executed.state;
    }
    let (first, other) = (chain.store.state().unwrap(), second.state().unwrap());
    prop_assert_eq!(first.state_root(), other.state_root());
    prop_assert_eq!(first.log.root(), other.log.root());
    prop_assert_eq!(first.tip, other.tip);

    // Both entry indexes hold every entry the model knows, with its reversal.
    for (entry, (_, reversed)) in &chain.model.entries {
        for store in [&chain.store, &second] {
            let committed = store.entry(entry).unwrap();
            prop_assert!(committed.is_some(), "{} missing", entry);
            prop_assert_eq!(committed.unwrap().reversed_by.is_some(), *reversed);
        }
        prop_assert_eq!(
            pending.get(entry).map(|known| known.reversed_by.is_some()),
            Some(*reversed)
        );
    }
    Ok(())
}

/// A cheap deterministic mix, for choosing flip masks.
fn mix(seed: u64, index: usize) -> u64 {
    let mut x = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^ (x >> 33)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    })]

    #[test]
    fn blocks_from_random_candidates_follow_the_rules_and_replay_to_the_same_roots(
        specs in chain_spec(1..7),
    ) {
        let chain = build_chain(&specs)?;
        check_reexecution(&chain)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        ..ProptestConfig::default()
    })]

    #[test]
    fn blocks_round_trip_and_no_single_byte_flip_goes_unnoticed(
        specs in chain_spec(1..4),
        seed in any::<u64>(),
    ) {
        let chain = build_chain(&specs)?;
        for (block, parent) in chain.blocks.iter().zip(&chain.parents) {
            let bytes = block.to_bytes();
            prop_assert_eq!(&Block::decode_checked(&bytes).unwrap(), block);
            let framed = block.encode();
            prop_assert_eq!(&framed[4..], &bytes[..]);
            prop_assert_eq!(&Block::decode_cfg(framed, &()).unwrap(), block);

            // Every byte, each with its own non-zero mask. Blocks are executed on the entry
            // index as of their parent, as the store has moved on since; unflipped, they pass.
            let lookup = chain.store.at(parent.height);
            prop_assert!(execute_block(parent, &lookup, HashMap::new(), block).is_ok());
            for position in 0..bytes.len() {
                let mask = (mix(seed, position) % 255 + 1) as u8;
                let mut flipped = bytes.clone();
                flipped[position] ^= mask;
                let Ok(decoded) = Block::decode_checked(&flipped) else {
                    continue;
                };
                let noticed = digest(&decoded) != digest(block)
                    || execute_block(parent, &lookup, HashMap::new(), &decoded).is_err();
                prop_assert!(
                    noticed,
                    "flipping byte {} with {:#04x} gave an accepted block with the same digest",
                    position,
                    mask
                );
                prop_assert_ne!(&decoded, block);
            }
            // The same through the consensus frame, length prefix included.
            let framed = block.encode().to_vec();
            for position in 0..framed.len().min(64) {
                let mask = (mix(!seed, position) % 255 + 1) as u8;
                let mut flipped = framed.clone();
                flipped[position] ^= mask;
                if let Ok(decoded) = Block::decode_cfg(Bytes::from(flipped), &()) {
                    prop_assert_ne!(digest(&decoded), digest(block));
                }
            }
        }
    }
}
