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
