//! Private terms of consortium contracts, on the consortium chain of the demo topology: a
//! merchant seals a shipment's delivery address for itself and its carrier; the carrier opens it,
//! other consortium members validate the call but cannot open it, and a disclosed value checks
//! against the commitment while a forged one does not. Every refusal has its exact message.

use std::collections::HashMap;

use rand::SeedableRng as _;
use tally_chain::{build_block, Store, Transaction, TxBody, TxError};
use tally_contracts::{
    ContractCall, ContractError, ContractId, EventKind, PartyKey, SealedTerms, ShippingTerms,
};
use tally_identity::SecretKey;
use tally_ledger::{Category, Currency, FieldName};
use tally_node::topology::TopologyPlan;
use tally_privacy::rand_core::SeedableRng as _;
use tally_privacy::{
    open, seal, unwrap_field_key_as_member, wrap_field_key_for_member, Disclosure, FieldKey,
    PartyContext, SealContext, SealSecretKey, WrappedKey,
};

const T0: u64 = 1_767_225_600_000;
const SHIPMENT: &str = "ship-1";
const ADDRESS: &str = "Hauptstraße 5, Hinterhaus, 10115 Berlin";

struct Net {
    plan: TopologyPlan,
    store: Store,
    time: u64,
}

impl Net {
    fn new() -> Net {
        Net::with_store(|plan| Store::open_in_memory(&plan.consortium).unwrap())
    }

    fn with_store(open: impl FnOnce(&TopologyPlan) -> Store) -> Net {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let plan = TopologyPlan::new(&mut rng, 40_000, T0);
        let store = open(&plan);
        Net {
            plan,
            store,
            time: T0,
        }
    }

    fn trader(&self, name: &str) -> &SecretKey {
        &self.plan.enterprise(name).unwrap().trader
    }

    fn call(&self, signer: &SecretKey, call: ContractCall) -> Transaction {
        Transaction::Single(tally_chain::SignedTx::sign(
            signer,
            &self.plan.consortium.chain_id,
            TxBody::Contract(call),
        ))
    }

    /// Builds a block of one transaction: commits it if it applied, else returns why not
    /// (and checks nothing changed).
    fn run(&mut self, tx: Transaction) -> Result<(), TxError> {
        self.time += 1000;
        let parent = self.store.state().unwrap();
        let (block, executed, mut rejected) =
            build_block(&parent, &self.store, HashMap::new(), self.time, vec![tx]);
        if let Some((_, error)) = rejected.pop() {
            assert!(block.transactions.is_empty());
            return Err(error);
        }
        self.store.commit(&block, &executed).unwrap();
        Ok(())
    }
}

fn shipment() -> ContractId {
    ContractId::new(SHIPMENT).unwrap()
}

fn address_field() -> FieldName {
    FieldName::new("delivery_address").unwrap()
}

/// The merchant's sealing of the delivery address, its field key wrapped to `readers`.
fn sealed_address(
    net: &Net,
    readers: &[&SecretKey],
    rng: &mut rand_chacha::ChaCha20Rng,
) -> (SealedTerms, FieldKey) {
    let chain_id = &net.plan.consortium.chain_id;
    let key = FieldKey::generate(rng);
    let context = SealContext {
        chain_id,
        entry_id: SHIPMENT,
    };
    let field = seal(
        &key,
        &Category::contract_private(),
        0,
        &context,
        &address_field(),
        ADDRESS,
    )
    .unwrap();
    let keys = readers
        .iter()
        .map(|reader| {
            let member = reader.public_key();
            let wrapped = wrap_field_key_for_member(
                &key,
                &PartyContext {
                    chain_id,
                    contract_id: SHIPMENT,
                    member: &member,
                },
                rng,
            )
            .unwrap();
            PartyKey {
                member,
                encapped: wrapped.encapped,
                wrapped: wrapped.ciphertext,
            }
        })
        .collect();
    (
        SealedTerms {
            fields: vec![field],
            keys,
        },
        key,
    )
}

/// What a member of the consortium does to read the address: find its key, unwrap, open.
fn read_address(net: &Net, reader: &SecretKey) -> Result<String, String> {
    let state = net.store.state().unwrap();
    let consortium = state.consortium.as_ref().unwrap();
    let terms = consortium.sealed_terms(&shipment());
    let terms = terms.first().ok_or("no sealed terms")?;
    let member = reader.public_key();
    let key = terms
        .keys
        .iter()
        .find(|key| key.member == member)
        .ok_or_else(|| "no key for this member".to_string())?;
    let chain_id = &net.plan.consortium.chain_id;
    let field_key = unwrap_field_key_as_member(
        &WrappedKey {
            encapped: key.encapped,
            ciphertext: key.wrapped.clone(),
        },
        &SealSecretKey::from_member(reader),
        &PartyContext {
            chain_id,
            contract_id: SHIPMENT,
            member: &member,
        },
    )
    .map_err(|error| error.to_string())?;
    let context = SealContext {
        chain_id,
        entry_id: SHIPMENT,
    };
    open(&field_key, &terms.fields[0], &context)
        .map(|opened| opened.value)
        .map_err(|error| error.to_string())
}

#[test]
fn a_contracts_private_terms_are_read_by_its_parties_only() {
    let mut net = Net::new();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let (merchant, carrier, supplier) = (
        net.trader("merchant").clone(),
        net.trader("carrier").clone(),
        net.trader("supplier").clone(),
    );
    let terms = ShippingTerms {
        merchant: tally_contracts::EnterpriseName::new("merchant").unwrap(),
        carrier: tally_contracts::EnterpriseName::new("carrier").unwrap(),
        trade: None,
        currency: Currency::EUR,
        fee: 490,
        tax: 93,
    };
    let propose = net.call(
        &merchant,
        ContractCall::ProposeShipping {
            id: shipment(),
            terms,
        },
    );
    net.run(propose).unwrap();

    // A key for a member of neither party is refused, and so is a party without any key.
    let (outsider_keys, _) = sealed_address(&net, &[&merchant, &carrier, &supplier], &mut rng);
    let call = net.call(
        &merchant,
        ContractCall::SealTerms {
            id: shipment(),
            terms: outsider_keys,
        },
    );
    assert_eq!(
        net.run(call).unwrap_err().to_string(),
        format!(
            "sealed terms of contract ship-1: member {} is not an active member of a party to it",
            supplier.public_key()
        )
    );
    let (merchant_only, _) = sealed_address(&net, &[&merchant], &mut rng);
    let call = net.call(
        &merchant,
        ContractCall::SealTerms {
            id: shipment(),
            terms: merchant_only,
        },
    );
    assert_eq!(
        net.run(call).unwrap_err().to_string(),
        "sealed terms of contract ship-1: no member of carrier holds a key: every party must read its terms"
    );
    // Only a party seals a contract's terms.
    let (good, field_key) = sealed_address(&net, &[&merchant, &carrier], &mut rng);
    let call = net.call(
        &supplier,
        ContractCall::SealTerms {
            id: shipment(),
            terms: good.clone(),
        },
    );
    let error = net.run(call).unwrap_err();
    assert!(
        matches!(&error, TxError::Contract(inner) if matches!(**inner, ContractError::NotAParty { .. })),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "shipping ship-1: only a party may seal its terms; supplier signed"
    );

    let call = net.call(
        &merchant,
        ContractCall::SealTerms {
            id: shipment(),
            terms: good.clone(),
        },
    );
    net.run(call).unwrap();
    // Everyone sees the commitment in the contract log; nobody sees the address.
    let height = net.store.height().unwrap();
    let events = net.store.events(height, height).unwrap();
    assert_eq!(
        events[0].event.kind,
        EventKind::TermsSealed {
            commitments: vec![(address_field(), good.fields[0].commitment)]
        }
    );
    let state_bytes = net.store.raw_state().unwrap().unwrap();
    assert!(!state_bytes
        .windows(ADDRESS.len())
        .any(|window| window == ADDRESS.as_bytes()));

    // The carrier reads the address; the supplier, another consortium member, cannot.
    assert_eq!(read_address(&net, &carrier).unwrap(), ADDRESS);
    assert_eq!(read_address(&net, &merchant).unwrap(), ADDRESS);
    assert_eq!(
        read_address(&net, &supplier).unwrap_err(),
        "no key for this member"
    );

    // A name is sealed once per contract.
    let call = net.call(
        &carrier,
        ContractCall::SealTerms {
            id: shipment(),
            terms: good.clone(),
        },
    );
    assert_eq!(
        net.run(call).unwrap_err().to_string(),
        "sealed terms of contract ship-1: field 'delivery_address' was sealed on this contract before"
    );

    // The carrier discloses the address to the supplier, who checks it against the chain.
    let context = SealContext {
        chain_id: &net.plan.consortium.chain_id,
        entry_id: SHIPMENT,
    };
    let opened = open(&field_key, &good.fields[0], &context).unwrap();
    let disclosure = Disclosure::new(SHIPMENT, &address_field(), &opened);
    let state = net.store.state().unwrap();
    let on_chain = &state.consortium.as_ref().unwrap().sealed_terms(&shipment())[0].fields[0];
    disclosure.check(on_chain).unwrap();
    let mut forged = disclosure.clone();
    forged.value = "Elsewhere 1, 20095 Hamburg".into();
    assert!(forged.check(on_chain).is_err());
}

#[test]
fn the_consortium_history_is_kept_outside_the_snapshot_and_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("tally-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("consortium.redb");
    let mut net = Net::with_store(|plan| Store::open(&path, &plan.consortium).unwrap());
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    let (merchant, carrier) = (
        net.trader("merchant").clone(),
        net.trader("carrier").clone(),
    );
    let snapshot_at_start = net.store.raw_state().unwrap().unwrap().len();
    for number in 1..=20 {
        let terms = ShippingTerms {
            merchant: tally_contracts::EnterpriseName::new("merchant").unwrap(),
            carrier: tally_contracts::EnterpriseName::new("carrier").unwrap(),
            trade: None,
            currency: Currency::EUR,
            fee: 490 + number,
            tax: 93,
        };
        let id = ContractId::new(&format!("ship-{number}")).unwrap();
        net.run(net.call(&merchant, ContractCall::ProposeShipping { id, terms }))
            .unwrap();
    }
    let (good, _) = sealed_address(&net, &[&merchant, &carrier], &mut rng);
    let seal = ContractCall::SealTerms {
        id: shipment(),
        terms: good.clone(),
    };
    net.run(net.call(&merchant, seal)).unwrap();
    let bookkeeper = net.plan.enterprise("merchant").unwrap().bookkeeper.clone();
    let merchant_chain = net
        .plan
        .enterprise("merchant")
        .unwrap()
        .chain_id()
        .to_string();
    for height in [5, 9] {
        let anchor = ContractCall::Anchor {
            chain_id: merchant_chain.clone(),
            height,
            block_hash: [height as u8; 32],
        };
        net.run(net.call(&bookkeeper, anchor)).unwrap();
    }
    let before = net.store.state().unwrap();
    let consortium = before.consortium.as_ref().unwrap();
    assert_eq!(consortium.contracts.len(), 20);
    assert_eq!(consortium.sealed[&shipment()][0].as_ref(), &good);
    let merchant_name = tally_contracts::EnterpriseName::new("merchant").unwrap();
    assert_eq!(
        consortium
            .latest_anchor(&merchant_name, &merchant_chain)
            .map(|anchor| anchor.height),
        Some(9)
    );

    // Twenty contracts later the snapshot written after each block has grown only by the
    // contract log's peaks (a hash per set bit of its size) and a few counters: the history
    // went to its own tables, a block's changes at a time.
    let snapshot = net.store.raw_state().unwrap().unwrap();
    let peaks = before.contract_log.len().count_ones() as usize * 32;
    assert!(
        snapshot.len() <= snapshot_at_start + peaks + 16,
        "snapshot grew from {snapshot_at_start} to {} bytes",
        snapshot.len()
    );
    let everything = postcard::to_stdvec(&before).unwrap();
    assert!(everything.len() > snapshot.len() + 20 * 32);

    // A restart loads the same state, history included.
    drop(net.store);
    let reopened = Store::open(&path, &net.plan.consortium).unwrap();
    assert_eq!(
        postcard::to_stdvec(&reopened.state().unwrap()).unwrap(),
        everything
    );
    drop(reopened);

    // A store written before the history had tables kept it in the snapshot: opening moves it
    // to the tables, once, and loads the same state.
    {
        let db = redb::Database::open(&path).unwrap();
        let write = db.begin_write().unwrap();
        for table in [
            "consortium_contracts",
            "consortium_sealed",
            "consortium_anchors",
        ] {
            let definition: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(table);
            write.delete_table(definition).unwrap();
        }
        let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        write
            .open_table(meta)
            .unwrap()
            .insert("state", everything.as_slice())
            .unwrap();
        write.commit().unwrap();
    }
    let migrated = Store::open(&path, &net.plan.consortium).unwrap();
    assert_eq!(
        migrated.raw_state().unwrap().unwrap(),
        tally_chain::snapshot_bytes(&before)
    );
    assert_eq!(
        postcard::to_stdvec(&migrated.state().unwrap()).unwrap(),
        everything
    );
    drop(migrated);
    let _ = std::fs::remove_dir_all(&dir);
}
