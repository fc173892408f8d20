//! What the node's API tests share: members certified by a root key and blocks committed
//! through `ChainHandle::commit_finalized` (the path a node's finalizer takes, so the report
//! index is written as in production), without consensus.
#![allow(dead_code)]

use std::collections::HashMap;

use tally_chain::{build_block, Transaction};
use tally_consensus::ChainHandle;
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::Role;

/// A member of `chain` named `name` (also its department), certified by `root`, valid for as
/// long as any test runs.
pub fn member(
    root: &SecretKey,
    chain: &str,
    key: &SecretKey,
    name: &str,
    role: Role,
) -> CertifiedMember {
    CertifiedMember::issue(
        root,
        chain,
        MemberCertificate {
            member: key.public_key(),
            name: name.into(),
            role,
            department: name.into(),
            valid_from_ms: 0,
            valid_until_ms: u64::MAX / 2,
        },
    )
}

/// Commits one block of `transactions` on `chain`, a second after its last block; every one
/// must apply.
pub fn commit(chain: &ChainHandle, transactions: Vec<Transaction>) {
    let state = chain.state();
    let count = transactions.len();
    let (block, _, rejected) = build_block(
        &state,
        &chain.store().at(state.height),
        HashMap::new(),
        state.time_ms + 1_000,
        transactions,
    );
    assert!(
        rejected.is_empty(),
        "{:?}",
        rejected
            .iter()
            .map(|(_, error)| error.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(block.transactions.len(), count);
    chain.commit_finalized(&block, None).unwrap();
}
