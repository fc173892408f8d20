//! Governance of the registry and anchors of private chains.

mod common;

use std::collections::BTreeMap;

use common::*;
use tally_contracts::{
    Consortium, ContractCall, ContractError, ContractId, EnterpriseKind, EventKind,
    GovernanceAction, Threshold, ENTERPRISES_MAX,
};
use tally_ledger::Role;

fn admin(enterprise: &str) -> tally_contracts::Signer {
    signer_as(enterprise, Role::Admin)
}

/// Four enterprises a, b, c, d deciding by 2/3.
fn four(numerator: u32, denominator: u32) -> Consortium {
    let enterprises = BTreeMap::from([
        (name("a"), record(11, EnterpriseKind::Merchant)),
        (name("b"), record(12, EnterpriseKind::Supplier)),
        (name("c"), record(13, EnterpriseKind::Carrier)),
        (name("d"), record(14, EnterpriseKind::Marketplace)),
    ]);
    Consortium::new(
        enterprises,
        Threshold {
            numerator,
            denominator,
        },
    )
    .unwrap()
}

fn add_e() -> GovernanceAction {
    GovernanceAction::AddEnterprise {
        name: name("e"),
        record: record(15, EnterpriseKind::PaymentProvider),
    }
}

#[test]
fn an_enterprise_is_added_at_the_third_of_four_approvals() {
    let mut c = four(2, 3);
    let digest = c.registry_digest();
    let g = cid("G-1");
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ProposeGovernance {
                id: g.clone(),
                action: add_e(),
            },
            &admin("a"),
        ),
        vec![EventKind::GovernanceProposed]
    );
    assert!(!c.is_active(&name("e")));
    assert_ne!(c.registry_digest(), digest, "proposals are in the digest");
    let approve = ContractCall::ApproveGovernance { id: g.clone() };
    assert_eq!(
        ok(&mut c, approve.clone(), &admin("b")),
        vec![EventKind::GovernanceApproved { by: name("b") }]
    );
    assert!(!c.is_active(&name("e")), "2 of 4 is below 2/3");
    let error = refused(&mut c, approve.clone(), &admin("b"));
    assert_eq!(error.to_string(), "governance G-1: b already approved it");
    let error = refused(&mut c, approve.clone(), &admin("a"));
    assert!(matches!(error, ContractError::AlreadyApproved { .. }));
    assert_eq!(
        ok(&mut c, approve.clone(), &admin("c")),
        vec![
            EventKind::GovernanceApproved { by: name("c") },
            EventKind::GovernanceApplied { action: add_e() }
        ]
    );
    assert!(c.is_active(&name("e")));
    assert!(c.proposal(&g).unwrap().applied);
    assert_eq!(
        c.enterprise_of_root(&record(15, EnterpriseKind::PaymentProvider).root_key),
        Some(&name("e"))
    );
    let error = refused(&mut c, approve, &admin("d"));
    assert_eq!(error.to_string(), "governance G-1 was already applied");
    // The new member signs at once.
    ok(
        &mut c,
        ContractCall::Anchor {
            chain_id: "e-books".to_owned(),
            height: 1,
            block_hash: [1; 32],
        },
        &admin("e"),
    );
}

#[test]
fn a_removed_enterprise_can_no_longer_sign_or_be_a_party() {
    let mut c = four(2, 3);
    let g = cid("G-1");
    ok(
        &mut c,
        ContractCall::ProposeGovernance {
            id: g.clone(),
            action: GovernanceAction::RemoveEnterprise { name: name("d") },
        },
        &admin("a"),
    );
    // A pending proposal to rotate d's key, approved by d itself.
    ok(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-2"),
            action: GovernanceAction::RotateValidatorKey {
                enterprise: name("a"),
                new_key: "aa".repeat(32),
            },
        },
        &admin("d"),
    );
    for by in ["b", "c"] {
        ok(
            &mut c,
            ContractCall::ApproveGovernance { id: g.clone() },
            &admin(by),
        );
    }
    assert!(!c.is_active(&name("d")));
    assert_eq!(c.active_count(), 3);
    let error = refused(
        &mut c,
        ContractCall::ApproveGovernance { id: cid("G-2") },
        &admin("d"),
    );
    assert_eq!(
        error.to_string(),
        "enterprise d was removed from the consortium"
    );
    let error = refused(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-1"),
            terms: terms("a", "d"),
        },
        &signer("a"),
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: buyer d is not an active member of the consortium"
    );
    // d's approval of G-2 no longer counts: with 3 active, 2 approvals are
    // needed among them (2 × 3 >= 2 × 3), so one more approval applies it.
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ApproveGovernance { id: cid("G-2") },
            &admin("a"),
        )
        .len(),
        1
    );
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ApproveGovernance { id: cid("G-2") },
            &admin("b"),
        )
        .len(),
        2
    );
    assert_eq!(
        c.enterprises[&name("a")].validator_key.as_deref(),
        Some("aa".repeat(32).as_str())
    );
    // Re-adding the removed name is refused: names are never reused.
    let error = refused(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-3"),
            action: GovernanceAction::AddEnterprise {
                name: name("d"),
                record: record(99, EnterpriseKind::Merchant),
            },
        },
        &admin("a"),
    );
    assert_eq!(error.to_string(), "enterprise name d is already taken");
}

#[test]
fn only_admins_govern() {
    let mut c = four(2, 3);
    let error = refused(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-1"),
            action: add_e(),
        },
        &signer_as("a", Role::Sales),
    );
    assert_eq!(
        error.to_string(),
        "role 'sales' may not propose governance (needs admin)"
    );
    ok(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-1"),
            action: add_e(),
        },
        &admin("a"),
    );
    for role in [Role::Sales, Role::Finance, Role::Bookkeeper] {
        let error = refused(
            &mut c,
            ContractCall::ApproveGovernance { id: cid("G-1") },
            &signer_as("b", role),
        );
        assert_eq!(
            error.to_string(),
            format!("role '{role}' may not approve governance (needs admin)")
        );
    }
    let error = refused(
        &mut c,
        ContractCall::ApproveGovernance { id: cid("G-1") },
        &signer_as("b", Role::Auditor),
    );
    assert_eq!(
        error.to_string(),
        "role 'auditor' may not sign consortium transactions"
    );
    let error = refused(
        &mut c,
        ContractCall::ApproveGovernance { id: cid("G-9") },
        &admin("b"),
    );
    assert_eq!(error.to_string(), "unknown governance proposal G-9");
    let error = refused(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-1"),
            action: add_e(),
        },
        &admin("b"),
    );
    assert_eq!(error.to_string(), "contract G-1 already exists");
}

#[test]
fn a_proposal_applies_at_once_when_the_proposer_meets_the_threshold() {
    let mut c = four(1, 4);
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ProposeGovernance {
                id: cid("G-1"),
                action: add_e(),
            },
            &admin("a"),
        ),
        vec![
            EventKind::GovernanceProposed,
            EventKind::GovernanceApplied { action: add_e() }
        ]
    );
    assert!(c.is_active(&name("e")));
}

#[test]
fn actions_are_checked_when_proposed_and_again_when_applied() {
    let mut c = four(2, 3);
    for id in ["G-1", "G-2"] {
        ok(
            &mut c,
            ContractCall::ProposeGovernance {
                id: cid(id),
                action: add_e(),
            },
            &admin("a"),
        );
        ok(
            &mut c,
            ContractCall::ApproveGovernance { id: cid(id) },
            &admin("b"),
        );
    }
    ok(
        &mut c,
        ContractCall::ApproveGovernance { id: cid("G-1") },
        &admin("c"),
    );
    // Now 5 are active, so G-2 needs 4 approvals; at the 4th it would add
    // "e" a second time.
    ok(
        &mut c,
        ContractCall::ApproveGovernance { id: cid("G-2") },
        &admin("c"),
    );
    let error = refused(
        &mut c,
        ContractCall::ApproveGovernance { id: cid("G-2") },
        &admin("d"),
    );
    assert_eq!(error.to_string(), "enterprise name e is already taken");

    let proposals = [
        (
            GovernanceAction::AddEnterprise {
                name: name("f"),
                record: record(11, EnterpriseKind::Merchant),
            },
            "enterprise f uses the root key of enterprise a",
        ),
        (
            GovernanceAction::AddEnterprise {
                name: name("f"),
                record: tally_contracts::EnterpriseRecord {
                    active: false,
                    ..record(20, EnterpriseKind::Merchant)
                },
            },
            "enterprise f must be added as active",
        ),
        (
            GovernanceAction::RotateValidatorKey {
                enterprise: name("b"),
                new_key: "XYZ".to_owned(),
            },
            "enterprise b: validator key must be 64 lower-case hex characters",
        ),
        (
            GovernanceAction::RemoveEnterprise { name: name("zz") },
            "governance: enterprise zz is not an active member of the consortium",
        ),
    ];
    for (action, message) in proposals {
        let error = refused(
            &mut c,
            ContractCall::ProposeGovernance {
                id: cid("G-3"),
                action,
            },
            &admin("a"),
        );
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn the_last_active_enterprise_cannot_be_removed() {
    let mut c = Consortium::new(
        BTreeMap::from([(name("a"), record(1, EnterpriseKind::Merchant))]),
        Threshold {
            numerator: 1,
            denominator: 1,
        },
    )
    .unwrap();
    let error = refused(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-1"),
            action: GovernanceAction::RemoveEnterprise { name: name("a") },
        },
        &admin("a"),
    );
    assert_eq!(
        error.to_string(),
        "enterprise a is the last active member and cannot be removed"
    );
}

#[test]
fn consortium_construction_is_validated() {
    let threshold = Threshold {
        numerator: 2,
        denominator: 3,
    };
    let one = |seed| BTreeMap::from([(name("a"), record(seed, EnterpriseKind::Merchant))]);
    assert!(Consortium::new(one(1), threshold).is_ok());
    let bad = Threshold {
        numerator: 4,
        denominator: 3,
    };
    assert!(matches!(
        Consortium::new(one(1), bad),
        Err(ContractError::ThresholdInvalid { .. })
    ));
    assert_eq!(
        Consortium::new(BTreeMap::new(), threshold).unwrap_err(),
        ContractError::NoActiveEnterprise
    );
    let mut twins = one(1);
    twins.insert(name("b"), record(1, EnterpriseKind::Supplier));
    assert_eq!(
        Consortium::new(twins, threshold).unwrap_err().to_string(),
        "enterprise b uses the root key of enterprise a"
    );
    let mut bad_key = one(1);
    bad_key.get_mut(&name("a")).unwrap().validator_key = Some("00".to_owned());
    assert!(matches!(
        Consortium::new(bad_key, threshold),
        Err(ContractError::ValidatorKeyInvalid { .. })
    ));
    let many: BTreeMap<_, _> = (0..=ENTERPRISES_MAX)
        .map(|index| {
            let seed = u8::try_from(index + 1).unwrap();
            (
                name(&format!("e{index}")),
                record(seed, EnterpriseKind::Merchant),
            )
        })
        .collect();
    assert!(matches!(
        Consortium::new(many, threshold),
        Err(ContractError::TooManyEnterprises { .. })
    ));
}

#[test]
fn anchors_must_increase_per_enterprise_and_chain() {
    let mut c = four(2, 3);
    let anchor = |chain: &str, height| ContractCall::Anchor {
        chain_id: chain.to_owned(),
        height,
        block_hash: [u8::try_from(height % 256).unwrap(); 32],
    };
    let digest = c.registry_digest();
    let events = c.apply(&anchor("c", 7), &admin("a")).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].contract, ContractId::new("anchor:a").unwrap());
    assert_eq!(
        events[0].kind,
        EventKind::Anchored {
            enterprise: name("a"),
            chain_id: "c".to_owned(),
            height: 7,
            block_hash: [7; 32],
        }
    );
    assert_ne!(c.registry_digest(), digest);
    assert_eq!(c.latest_anchor(&name("a"), "c").unwrap().height, 7);
    let error = refused(&mut c, anchor("c", 5), &admin("a"));
    assert_eq!(
        error.to_string(),
        "anchor height 5 for chain c is not above the last anchored height 7"
    );
    refused(&mut c, anchor("c", 7), &admin("a"));
    // Other chains and other enterprises have their own sequence.
    ok(&mut c, anchor("other", 1), &admin("a"));
    ok(&mut c, anchor("c", 1), &signer_as("b", Role::Bookkeeper));
    ok(&mut c, anchor("c", 8), &signer_as("a", Role::Bookkeeper));
    assert_eq!(c.latest_anchor(&name("a"), "c").unwrap().height, 8);
    assert_eq!(c.anchors[&(name("a"), "c".to_owned())].len(), 2);
    assert!(c.latest_anchor(&name("c"), "c").is_none());
    let error = refused(&mut c, anchor("c", 9), &signer_as("a", Role::Sales));
    assert_eq!(
        error.to_string(),
        "role 'sales' may not anchor a chain (needs admin or bookkeeper)"
    );
    for chain in ["", "a\nb", &"x".repeat(65)] {
        let error = refused(&mut c, anchor(chain, 100), &admin("a"));
        assert_eq!(error, ContractError::ChainIdInvalid);
    }
    ok(&mut c, anchor(&"x".repeat(64), 100), &admin("a"));
}

#[test]
fn the_registry_digest_ignores_contracts() {
    let mut c = consortium();
    let digest = c.registry_digest();
    assert_eq!(digest, consortium().registry_digest(), "deterministic");
    trade_at(&mut c, "T-1", 3);
    assert_eq!(c.registry_digest(), digest);
    let mut other = consortium();
    other.threshold = Threshold {
        numerator: 1,
        denominator: 2,
    };
    assert_ne!(other.registry_digest(), digest);
}

/// The validator key `record(seed, ..)` gives.
fn key(seed: u8) -> String {
    format!("{seed:02x}").repeat(32)
}

/// Like [`four`], but only the enterprises in `keyed` have a validator key.
fn four_keyed(keyed: &[&str], numerator: u32, denominator: u32) -> Consortium {
    let enterprises = [("a", 11), ("b", 12), ("c", 13), ("d", 14)]
        .into_iter()
        .map(|(enterprise, seed)| {
            let mut record = record(seed, EnterpriseKind::Merchant);
            if !keyed.contains(&enterprise) {
                record.validator_key = None;
            }
            (name(enterprise), record)
        })
        .collect();
    Consortium::new(
        enterprises,
        Threshold {
            numerator,
            denominator,
        },
    )
    .unwrap()
}

fn rotate(enterprise: &str, new_key: String) -> GovernanceAction {
    GovernanceAction::RotateValidatorKey {
        enterprise: name(enterprise),
        new_key,
    }
}

fn remove(enterprise: &str) -> GovernanceAction {
    GovernanceAction::RemoveEnterprise {
        name: name(enterprise),
    }
}

/// Proposes `action` as `id`, signed by `by`'s admin.
fn propose(c: &mut Consortium, by: &str, id: &str, action: GovernanceAction) -> Vec<EventKind> {
    ok(
        c,
        ContractCall::ProposeGovernance {
            id: cid(id),
            action,
        },
        &admin(by),
    )
}

/// Proposes `action` as `id`, signed by a's admin, which must be refused.
fn propose_refused(c: &mut Consortium, id: &str, action: GovernanceAction) -> ContractError {
    refused(
        c,
        ContractCall::ProposeGovernance {
            id: cid(id),
            action,
        },
        &admin("a"),
    )
}

fn approve(id: &str) -> ContractCall {
    ContractCall::ApproveGovernance { id: cid(id) }
}

#[test]
fn validator_keys_are_unique_in_the_genesis_registry() {
    let threshold = Threshold {
        numerator: 2,
        denominator: 3,
    };
    let pair = |second_key: Option<String>, first_active: bool| {
        let mut first = record(1, EnterpriseKind::Merchant);
        first.active = first_active;
        let mut second = record(2, EnterpriseKind::Supplier);
        second.validator_key = second_key;
        BTreeMap::from([(name("a"), first), (name("b"), second)])
    };
    assert!(Consortium::new(pair(Some(key(2)), true), threshold).is_ok());
    assert_eq!(
        Consortium::new(pair(Some(key(1)), true), threshold).unwrap_err(),
        ContractError::ValidatorKeyInUse {
            enterprise: name("b"),
            other: name("a"),
        }
    );
    // A removed enterprise's key stays taken.
    assert_eq!(
        Consortium::new(pair(Some(key(1)), false), threshold)
            .unwrap_err()
            .to_string(),
        "validator key of b is already used by a"
    );
    // Enterprises without a validator key do not collide, and a registry
    // without any (validators from the genesis alone) is accepted.
    let mut none = pair(None, true);
    assert!(Consortium::new(none.clone(), threshold).is_ok());
    none.get_mut(&name("a")).unwrap().validator_key = None;
    assert!(Consortium::new(none, threshold).is_ok());
}

#[test]
fn a_validator_key_is_rotated_to_a_fresh_key() {
    let mut c = four(2, 3);
    let action = rotate("b", key(0x42));
    assert_eq!(
        propose(&mut c, "a", "G-1", action.clone()),
        vec![EventKind::GovernanceProposed]
    );
    ok(&mut c, approve("G-1"), &admin("c"));
    assert_eq!(
        ok(&mut c, approve("G-1"), &admin("d")),
        vec![
            EventKind::GovernanceApproved { by: name("d") },
            EventKind::GovernanceApplied { action }
        ]
    );
    assert_eq!(
        c.enterprises[&name("b")].validator_key.as_deref(),
        Some(key(0x42).as_str())
    );
    // An enterprise without a key is given one the same way.
    let mut c = four_keyed(&["a"], 1, 4);
    propose(&mut c, "a", "G-1", rotate("c", key(0x43)));
    assert_eq!(
        c.enterprises[&name("c")].validator_key.as_deref(),
        Some(key(0x43).as_str())
    );
}

#[test]
fn a_rotation_or_an_addition_may_not_take_a_used_validator_key() {
    let mut c = four(1, 4);
    let error = propose_refused(&mut c, "G-1", rotate("b", key(13)));
    assert_eq!(
        error,
        ContractError::ValidatorKeyInUse {
            enterprise: name("b"),
            other: name("c"),
        }
    );
    assert_eq!(error.to_string(), "validator key of b is already used by c");
    let error = propose_refused(&mut c, "G-1", rotate("b", key(12)));
    assert_eq!(
        error,
        ContractError::ValidatorKeyUnchanged {
            enterprise: name("b"),
        }
    );
    assert_eq!(
        error.to_string(),
        "enterprise b already has this validator key"
    );
    let add_f = |validator_key: String| GovernanceAction::AddEnterprise {
        name: name("f"),
        record: tally_contracts::EnterpriseRecord {
            validator_key: Some(validator_key),
            ..record(20, EnterpriseKind::Merchant)
        },
    };
    let error = propose_refused(&mut c, "G-1", add_f(key(11)));
    assert_eq!(error.to_string(), "validator key of f is already used by a");
    // Once d is removed, its key is still taken: past certificates carry it.
    propose(&mut c, "a", "G-1", remove("d"));
    assert!(!c.is_active(&name("d")));
    let error = propose_refused(&mut c, "G-2", rotate("a", key(14)));
    assert_eq!(error.to_string(), "validator key of a is already used by d");
    let error = propose_refused(&mut c, "G-2", add_f(key(14)));
    assert_eq!(
        error,
        ContractError::ValidatorKeyInUse {
            enterprise: name("f"),
            other: name("d"),
        }
    );
    // Fresh keys still pass.
    propose(&mut c, "a", "G-2", add_f(key(20)));
    assert!(c.is_active(&name("f")));
    propose(&mut c, "a", "G-3", rotate("a", key(21)));
    assert_eq!(
        c.enterprises[&name("a")].validator_key.as_deref(),
        Some(key(21).as_str())
    );
}

#[test]
fn the_last_active_validator_cannot_be_removed() {
    let mut c = four_keyed(&["a", "b"], 1, 4);
    // b keeps a key, so a may go; c has no key, so it may go too.
    propose(&mut c, "b", "G-1", remove("a"));
    propose(&mut c, "b", "G-2", remove("c"));
    assert!(!c.is_active(&name("a")) && !c.is_active(&name("c")));
    let error = refused(
        &mut c,
        ContractCall::ProposeGovernance {
            id: cid("G-3"),
            action: remove("b"),
        },
        &admin("b"),
    );
    assert_eq!(
        error,
        ContractError::LastValidator {
            enterprise: name("b"),
        }
    );
    assert_eq!(
        error.to_string(),
        "removing b would leave the consortium without validators"
    );
    assert!(c.is_active(&name("b")));
    // d, without a key, may still be removed: b keeps validating.
    propose(&mut c, "b", "G-3", remove("d"));
    assert_eq!(c.active_count(), 1);

    // A registry without validator keys has no set to empty: removals work.
    let mut c = four_keyed(&[], 1, 4);
    propose(&mut c, "a", "G-1", remove("d"));
    assert!(!c.is_active(&name("d")));
}

#[test]
fn a_proposal_that_became_invalid_is_refused_when_applied() {
    let mut c = four(2, 3);
    // Three pending proposals, each approved by a and b (2 of 4).
    propose(&mut c, "a", "G-1", rotate("b", key(0x42)));
    propose(&mut c, "a", "G-2", rotate("c", key(0x42)));
    propose(&mut c, "a", "G-3", rotate("b", key(0x42)));
    for id in ["G-1", "G-2", "G-3"] {
        ok(&mut c, approve(id), &admin("b"));
    }
    ok(&mut c, approve("G-1"), &admin("c"));
    assert_eq!(
        c.enterprises[&name("b")].validator_key.as_deref(),
        Some(key(0x42).as_str())
    );
    // G-2 would now give c the key b took; G-3 would change nothing. The
    // approvals that would apply them are refused, and nothing changes.
    let error = refused(&mut c, approve("G-2"), &admin("d"));
    assert_eq!(error.to_string(), "validator key of c is already used by b");
    let error = refused(&mut c, approve("G-3"), &admin("d"));
    assert_eq!(
        error.to_string(),
        "enterprise b already has this validator key"
    );
    for id in ["G-2", "G-3"] {
        let proposal = c.proposal(&cid(id)).unwrap();
        assert!(!proposal.applied);
        assert_eq!(proposal.approvals.len(), 2);
    }
    assert_eq!(
        c.enterprises[&name("c")].validator_key.as_deref(),
        Some(key(13).as_str())
    );

    // Two removals, each fine alone, that together would remove both
    // validators.
    let mut c = four_keyed(&["a", "b"], 2, 3);
    for (id, target) in [("G-1", "a"), ("G-2", "b")] {
        ok(
            &mut c,
            ContractCall::ProposeGovernance {
                id: cid(id),
                action: remove(target),
            },
            &admin("c"),
        );
        ok(&mut c, approve(id), &admin("d"));
    }
    ok(&mut c, approve("G-1"), &admin("b"));
    assert!(!c.is_active(&name("a")));
    // G-2 has c and d of the 3 active: b's approval meets the threshold.
    let error = refused(&mut c, approve("G-2"), &admin("b"));
    assert_eq!(
        error,
        ContractError::LastValidator {
            enterprise: name("b"),
        }
    );
    assert_eq!(
        error.to_string(),
        "removing b would leave the consortium without validators"
    );
    assert!(c.is_active(&name("b")));
    assert!(!c.proposal(&cid("G-2")).unwrap().applied);
}
