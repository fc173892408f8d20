//! Reconciliation between two enterprises: per contract, what each booked against the other.
//!
//! Each party's claim on the other is the movement of its intercompany accounts (receivable,
//! payable, marketplace payable; debit positive) in the entries it booked for the contract. The
//! books match when, for every contract, the two claims cancel: the seller's receivable is the
//! buyer's payable. Derived entries are found by their id prefix and grouped by their contract
//! reference, so the report reads only the automatic bookings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tally_chain::CommittedEntry;
use tally_contracts::PostingRules;
use tally_ledger::{format_signed, AccountCode, Currency, Side};
use utoipa::ToSchema;

use crate::bookkeeper::COUNTERPARTY_REFERENCE;

/// Ids of entries the bookkeeper derives from contract events start with this.
pub const DERIVED_PREFIX: &str = "auto:";

/// One contract's intercompany movement in one party's books, per currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntercompanyLine {
    pub contract: String,
    /// The trade the contract belongs to (the contract itself for a trade).
    pub trade: String,
    pub currency: String,
    /// Claim on the counterparty in minor units, debit positive.
    pub claim_minor: i64,
    /// The same as a decimal string.
    pub claim: String,
    pub entries: Vec<String>,
}

fn reference<'a>(entry: &'a CommittedEntry, kind: &str) -> Option<&'a str> {
    entry
        .entry
        .references
        .iter()
        .find(|reference| reference.kind == kind)
        .map(|reference| reference.value.as_str())
}

/// The intercompany movements `entries` (one party's derived entries) hold against `partner`.
pub fn intercompany(
    entries: &[CommittedEntry],
    rules: &PostingRules,
    partner: &str,
) -> Vec<IntercompanyLine> {
    let accounts: BTreeSet<&AccountCode> = [
        &rules.receivable,
        &rules.payable,
        &rules.marketplace_payable,
    ]
    .into_iter()
    .collect();
    let mut lines: BTreeMap<(String, Currency), (String, i128, Vec<String>)> = BTreeMap::new();
    for committed in entries {
        if reference(committed, COUNTERPARTY_REFERENCE) != Some(partner) {
            continue;
        }
        let Some(trade) = reference(committed, "trade") else {
            continue;
        };
        let contract = reference(committed, "contract")
            .unwrap_or(trade)
            .to_string();
        for posting in &committed.entry.postings {
            if !accounts.contains(&posting.account) {
                continue;
            }
            let line = lines
                .entry((contract.clone(), posting.currency))
                .or_insert_with(|| (trade.to_string(), 0, Vec::new()));
            let amount = i128::from(posting.amount);
            line.1 += match posting.side {
                Side::Debit => amount,
                Side::Credit => -amount,
            };
            let id = committed.entry.id.to_string();
            if !line.2.contains(&id) {
                line.2.push(id);
            }
        }
    }
    lines
        .into_iter()
        .map(
            |((contract, currency), (trade, claim, entries))| IntercompanyLine {
                contract,
                trade,
                currency: currency.code().to_string(),
                claim_minor: claim as i64,
                claim: format_signed(claim, currency),
                entries,
            },
        )
        .collect()
}

/// One contract side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileLine {
    pub contract: String,
    pub trade: String,
    pub currency: String,
    /// This enterprise's claim on the partner, and the partner's on this enterprise.
    pub ours: String,
    pub theirs: String,
    /// `ours + theirs`: zero when the books match.
    pub difference: String,
    pub difference_minor: i64,
    pub our_entries: Vec<String>,
    pub their_entries: Vec<String>,
}

/// Pairs both parties' lines; a contract booked by one side only shows its whole claim as the
/// difference.
pub fn reconcile(ours: &[IntercompanyLine], theirs: &[IntercompanyLine]) -> Vec<ReconcileLine> {
    type Key = (String, String);
    let mut paired: BTreeMap<Key, (Option<&IntercompanyLine>, Option<&IntercompanyLine>)> =
        BTreeMap::new();
    for line in ours {
        paired
            .entry((line.contract.clone(), line.currency.clone()))
            .or_default()
            .0 = Some(line);
    }
    for line in theirs {
        paired
            .entry((line.contract.clone(), line.currency.clone()))
            .or_default()
            .1 = Some(line);
    }
    paired
        .into_iter()
        .map(|((contract, currency_code), (ours, theirs))| {
            let currency = Currency::from_code(&currency_code).expect("lines carry ISO codes");
            let our_claim = ours.map_or(0, |line| i128::from(line.claim_minor));
            let their_claim = theirs.map_or(0, |line| i128::from(line.claim_minor));
            let difference = our_claim + their_claim;
            ReconcileLine {
                trade: ours
                    .or(theirs)
                    .map(|line| line.trade.clone())
                    .unwrap_or_default(),
                contract,
                currency: currency_code,
                ours: format_signed(our_claim, currency),
                theirs: format_signed(their_claim, currency),
                difference: format_signed(difference, currency),
                difference_minor: difference as i64,
                our_entries: ours.map(|line| line.entries.clone()).unwrap_or_default(),
                their_entries: theirs.map(|line| line.entries.clone()).unwrap_or_default(),
            }
        })
        .collect()
}
