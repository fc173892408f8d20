//! A seeded trade workload for the consortium chain: purchases from the supplier, marketplace
//! sales shipped by the carrier with the platform's commission, cancellations and refunds.
//!
//! Each trade is a flow of contract calls, each signed by the party whose turn it is. A call is
//! sent only after the previous one of its flow is final, as the parties would; many flows run at
//! once. The same driver feeds the demo, the trade benchmark and the topology simulation.

use std::collections::BTreeMap;

use rand::{rngs::StdRng, Rng, SeedableRng};
use tally_chain::{SignedTx, Transaction, TxBody};
use tally_consensus::{ChainHandle, Outcome, Receipt};
use tally_contracts::{
    derived_entry_id, CommissionTerms, ContractCall, ContractId, EnterpriseName, PartyKey,
    SealedTerms, ShippingTerms, TradeLine, TradeTerms,
};
use tally_identity::{Digest, SecretKey};
use tally_ledger::{Currency, EntryId};

/// VAT on goods and shipping, in basis points (19%).
const VAT_BASIS_POINTS: u64 = 1_900;
/// The platform's commission on a marketplace sale's net, in basis points (8%).
const COMMISSION_BASIS_POINTS: u64 = 800;
/// The payment provider's fee on a settlement, in basis points (1.4%).
const FEE_BASIS_POINTS: u64 = 140;
/// Seller's cost of goods as a share of the price, in basis points (60%).
const COST_BASIS_POINTS: u64 = 6_000;
/// The carrier's fee per shipment (minor units).
const SHIPPING_FEE: u64 = 590;

fn share(amount: u64, basis_points: u64) -> u64 {
    amount * basis_points / 10_000
}

/// One step of a flow: who signs which call.
#[derive(Clone, Debug)]
pub struct Step {
    pub signer: EnterpriseName,
    pub call: ContractCall,
}

/// A trade's calls in order.
#[derive(Clone, Debug)]
pub struct Flow {
    pub trade: ContractId,
    pub steps: Vec<Step>,
    /// The step whose final event books the trade's payment on both sides (the settlement); the
    /// benchmark measures until the entries of that step exist in both private chains.
    pub booked_step: Option<usize>,
}

/// Synthetic delivery addresses the merchant seals for its carrier.
const ADDRESSES: [&str; 4] = [
    "Hauptstraße 5, 10115 Berlin",
    "12 rue de la République, 69002 Lyon",
    "Via dell'Indipendenza 8, 40121 Bologna",
    "3 Deansgate, Manchester M3 2BW",
];

/// Who reads a shipment's sealed delivery address: the consortium chain's id and, per
/// enterprise, the members its field key is wrapped to.
#[derive(Clone, Debug)]
pub struct Sealing {
    pub chain_id: String,
    pub readers: BTreeMap<EnterpriseName, Vec<tally_identity::PublicKey>>,
}

/// Generates flows between the enterprises of [`crate::topology::ENTERPRISES`].
pub struct TradeGenerator {
    rng: StdRng,
    prefix: String,
    next: u64,
    eur: Currency,
    sealing: Option<Sealing>,
}

fn name(text: &str) -> EnterpriseName {
    EnterpriseName::new(text).expect("planned enterprise names are valid")
}

impl TradeGenerator {
    /// Marketplace sales then seal each shipment's delivery address for the merchant and the
    /// carrier (the readers given), as private terms of the shipping contract.
    pub fn with_sealing(mut self, sealing: Sealing) -> TradeGenerator {
        self.sealing = Some(sealing);
        self
    }

    /// A delivery address sealed on `shipment` for the members of `merchant` and `carrier`;
    /// randomness drawn from the generator's seeded generator, so flows stay reproducible.
    fn sealed_address(
        &mut self,
        shipment: &ContractId,
        merchant: &EnterpriseName,
        carrier: &EnterpriseName,
    ) -> Option<SealedTerms> {
        use tally_privacy::rand_core::SeedableRng as _;
        let sealing = self.sealing.as_ref()?;
        let address = ADDRESSES[self.rng.gen_range(0..ADDRESSES.len())];
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(self.rng.gen());
        let key = tally_privacy::FieldKey::generate(&mut rng);
        let field = tally_privacy::seal(
            &key,
            &tally_ledger::Category::contract_private(),
            0,
            &tally_privacy::SealContext {
                chain_id: &sealing.chain_id,
                entry_id: shipment.as_str(),
            },
            &tally_ledger::FieldName::new("delivery_address").expect("a valid field name"),
            address,
        )
        .expect("a short address seals");
        let mut keys = Vec::new();
        for party in [merchant, carrier] {
            for member in sealing.readers.get(party).into_iter().flatten() {
                let context = tally_privacy::PartyContext {
                    chain_id: &sealing.chain_id,
                    contract_id: shipment.as_str(),
                    member,
                };
                let wrapped = tally_privacy::wrap_field_key_for_member(&key, &context, &mut rng)
                    .expect("member keys are never of small order");
                keys.push(PartyKey {
                    member: *member,
                    encapped: wrapped.encapped,
                    wrapped: wrapped.ciphertext,
                });
            }
        }
        Some(SealedTerms {
            fields: vec![field],
            keys,
        })
    }

    pub fn new(seed: u64, prefix: &str) -> TradeGenerator {
        TradeGenerator {
            rng: StdRng::seed_from_u64(seed),
            prefix: prefix.to_string(),
            next: 0,
            eur: Currency::from_code("EUR").expect("EUR is an ISO currency"),
            sealing: None,
        }
    }

    fn id(&mut self, kind: &str) -> ContractId {
        self.next += 1;
        ContractId::new(&format!("{}{kind}-{}", self.prefix, self.next))
            .expect("generated ids are valid")
    }

    fn lines(&mut self, count: usize, price_max: u64) -> Vec<TradeLine> {
        (0..count)
            .map(|index| TradeLine {
                sku: format!("SKU-{}", self.rng.gen_range(100..999) + index as u32),
                quantity: self.rng.gen_range(1..5),
                unit_price: self.rng.gen_range(500..price_max),
            })
            .collect()
    }

    /// The next flow: mostly marketplace sales, some purchases, a few cancellations.
    pub fn next_flow(&mut self) -> Flow {
        match self.rng.gen_range(0..10) {
            0..=1 => self.purchase(),
            2 => self.cancelled(),
            _ => self.marketplace_sale(),
        }
    }

    /// The merchant buys stock from the supplier and pays it.
    pub fn purchase(&mut self) -> Flow {
        let trade = self.id("po");
        let count = self.rng.gen_range(1..4);
        let lines = self.lines(count, 20_000);
        let mut terms = TradeTerms {
            seller: name("supplier"),
            buyer: name("merchant"),
            buyer_is_agent: false,
            currency: self.eur,
            lines,
            discount: 0,
            shipping: 0,
            tax: 0,
        };
        let net = terms.net().expect("generated terms are in range");
        terms.tax = share(net, VAT_BASIS_POINTS);
        let gross = terms.gross().expect("generated terms are in range");
        let cost = share(net, COST_BASIS_POINTS);
        let (merchant, supplier) = (name("merchant"), name("supplier"));
        let step = |signer: &EnterpriseName, call| Step {
            signer: signer.clone(),
            call,
        };
        let id = trade.clone();
        Flow {
            trade,
            booked_step: Some(5),
            steps: vec![
                step(
                    &merchant,
                    ContractCall::ProposeTrade {
                        id: id.clone(),
                        terms,
                    },
                ),
                step(&supplier, ContractCall::ConfirmTrade { id: id.clone() }),
                step(
                    &supplier,
                    ContractCall::ShipTrade {
                        id: id.clone(),
                        cost,
                    },
                ),
                step(&merchant, ContractCall::DeliverTrade { id: id.clone() }),
                step(&supplier, ContractCall::InvoiceTrade { id: id.clone() }),
                step(
                    &supplier,
                    ContractCall::Settle {
                        id,
                        fee: share(gross, FEE_BASIS_POINTS),
                    },
                ),
            ],
        }
    }

    /// A consumer order through the marketplace, shipped by the carrier; sometimes refunded.
    pub fn marketplace_sale(&mut self) -> Flow {
        let trade = self.id("sale");
        let shipment = self.id("ship");
        let commission = self.id("fee");
        let count = self.rng.gen_range(1..3);
        let lines = self.lines(count, 8_000);
        let mut terms = TradeTerms {
            seller: name("merchant"),
            buyer: name("marketplace"),
            buyer_is_agent: true,
            currency: self.eur,
            lines,
            discount: 0,
            shipping: 490,
            tax: 0,
        };
        let goods = terms.goods().expect("generated terms are in range");
        if self.rng.gen_bool(0.2) {
            terms.discount = goods / 10;
        }
        let net = terms.net().expect("generated terms are in range");
        terms.tax = share(net + terms.shipping, VAT_BASIS_POINTS);
        let gross = terms.gross().expect("generated terms are in range");
        let cost = share(goods, COST_BASIS_POINTS);
        let commission_amount = share(net, COMMISSION_BASIS_POINTS).max(1);
        let (merchant, carrier, marketplace) =
            (name("merchant"), name("carrier"), name("marketplace"));
        let step = |signer: &EnterpriseName, call| Step {
            signer: signer.clone(),
            call,
        };
        let id = trade.clone();
        let mut steps = vec![
            step(
                &marketplace,
                ContractCall::ProposeTrade {
                    id: id.clone(),
                    terms,
                },
            ),
            step(&merchant, ContractCall::ConfirmTrade { id: id.clone() }),
            step(
                &merchant,
                ContractCall::ProposeShipping {
                    id: shipment.clone(),
                    terms: ShippingTerms {
                        merchant: merchant.clone(),
                        carrier: carrier.clone(),
                        trade: Some(id.clone()),
                        currency: self.eur,
                        fee: SHIPPING_FEE,
                        tax: share(SHIPPING_FEE, VAT_BASIS_POINTS),
                    },
                },
            ),
            step(
                &carrier,
                ContractCall::AcceptShipping {
                    id: shipment.clone(),
                },
            ),
        ];
        if let Some(terms) = self.sealed_address(&shipment, &merchant, &carrier) {
            steps.push(step(
                &merchant,
                ContractCall::SealTerms {
                    id: shipment.clone(),
                    terms,
                },
            ));
        }
        steps.extend([
            step(
                &merchant,
                ContractCall::ShipTrade {
                    id: id.clone(),
                    cost,
                },
            ),
            step(
                &carrier,
                ContractCall::DeliverShipment {
                    id: shipment.clone(),
                },
            ),
            step(&marketplace, ContractCall::DeliverTrade { id: id.clone() }),
            step(&merchant, ContractCall::InvoiceTrade { id: id.clone() }),
            step(
                &marketplace,
                ContractCall::ProposeCommission {
                    id: commission.clone(),
                    terms: CommissionTerms {
                        platform: marketplace.clone(),
                        merchant: merchant.clone(),
                        trade: id.clone(),
                        currency: self.eur,
                        amount: commission_amount,
                        tax: share(commission_amount, VAT_BASIS_POINTS),
                    },
                },
            ),
            step(
                &merchant,
                ContractCall::ConfirmCommission {
                    id: commission.clone(),
                },
            ),
        ]);
        let refund = self.rng.gen_bool(0.1);
        if refund {
            // A returned item before payment: part of the net and its VAT.
            let refund_net = (net / 2).max(1);
            steps.push(step(
                &marketplace,
                ContractCall::RequestReturn { id: id.clone() },
            ));
            steps.push(step(
                &merchant,
                ContractCall::RefundTrade {
                    id: id.clone(),
                    net: refund_net,
                    shipping: 0,
                    tax: share(refund_net, VAT_BASIS_POINTS)
                        .min(share(net + 490, VAT_BASIS_POINTS)),
                },
            ));
        }
        let booked = steps.len();
        steps.push(step(
            &merchant,
            ContractCall::Settle {
                id: id.clone(),
                fee: share(gross, FEE_BASIS_POINTS),
            },
        ));
        steps.push(step(
            &carrier,
            ContractCall::Settle {
                id: shipment,
                fee: 0,
            },
        ));
        steps.push(step(
            &marketplace,
            ContractCall::Settle {
                id: commission,
                fee: 0,
            },
        ));
        Flow {
            trade,
            steps,
            booked_step: Some(booked),
        }
    }

    /// A purchase order both parties call off before shipment.
    pub fn cancelled(&mut self) -> Flow {
        let mut flow = self.purchase();
        let id = flow.trade.clone();
        flow.steps.truncate(2);
        flow.steps.push(Step {
            signer: name("supplier"),
            call: ContractCall::RequestCancel { id: id.clone() },
        });
        flow.steps.push(Step {
            signer: name("merchant"),
            call: ContractCall::RequestCancel { id },
        });
        flow.booked_step = None;
        flow
    }
}

/// A flow in progress.
struct Running {
    flow: Flow,
    next: usize,
    /// The call sent and not yet final, with when it was sent.
    pending: Option<(Digest, u64)>,
    started_ms: u64,
    /// Ids of the booking step's entries, once that step is final, with when it became final.
    awaiting_books: Option<(EntryId, u64)>,
    /// Whether those entries are in every party's private chain. Checked on every poll, not
    /// only once the flow's last call is final, so the steps after the booking one (a return, a
    /// refund) do not count towards the booking latency.
    books_done: bool,
}

/// What the driver has seen so far.
#[derive(Clone, Debug, Default)]
pub struct DriverStats {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    /// Trades whose payment is booked on both sides, with the milliseconds from proposal.
    pub booked_latencies_ms: Vec<u64>,
    /// The same trades, with the milliseconds from the booking call (the settlement) being
    /// final on the consortium chain to its entries being in both parties' private chains.
    pub booking_latencies_ms: Vec<u64>,
    /// Every final call, with the milliseconds from its submission to it being final.
    pub call_latencies_ms: Vec<u64>,
    pub failures: Vec<String>,
}

/// Drives many flows at once against the consortium chain.
pub struct TradeDriver {
    generator: TradeGenerator,
    keys: BTreeMap<EnterpriseName, SecretKey>,
    running: Vec<Running>,
    pub stats: DriverStats,
}

impl TradeDriver {
    /// `keys` holds each enterprise's consortium trader key.
    pub fn new(generator: TradeGenerator, keys: BTreeMap<EnterpriseName, SecretKey>) -> Self {
        TradeDriver {
            generator,
            keys,
            running: Vec::new(),
            stats: DriverStats::default(),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.running.len()
    }

    /// Starts `count` new flows (their first call goes out on the next [`Self::poll`]).
    pub fn start(&mut self, count: usize, now_ms: u64) {
        for _ in 0..count {
            let flow = self.generator.next_flow();
            self.running.push(Running {
                flow,
                next: 0,
                pending: None,
                started_ms: now_ms,
                awaiting_books: None,
                books_done: false,
            });
            self.stats.started += 1;
        }
    }

    /// Advances every flow whose last call is final; `booked(party, entry)` says whether a
    /// private chain holds an entry. Returns how many calls were submitted.
    pub fn poll(
        &mut self,
        consortium: &ChainHandle,
        now_ms: u64,
        booked: impl Fn(&EnterpriseName, &EntryId) -> bool,
    ) -> usize {
        let mut submitted = 0;
        let mut finished = Vec::new();
        for (index, running) in self.running.iter_mut().enumerate() {
            if let Some((hash, sent_ms)) = running.pending {
                match consortium.outcome(&hash) {
                    Some(Outcome::Committed { .. }) => {
                        self.stats
                            .call_latencies_ms
                            .push(now_ms.saturating_sub(sent_ms));
                        if Some(running.next) == running.flow.booked_step {
                            running.awaiting_books = Some((derived_entry_id(&hash, 0), now_ms));
                        }
                        running.pending = None;
                        running.next += 1;
                    }
                    Some(Outcome::Pending) => continue,
                    Some(Outcome::Rejected { reason }) => {
                        self.stats.failed += 1;
                        self.stats
                            .failures
                            .push(format!("{}: {reason}", running.flow.trade));
                        finished.push(index);
                        continue;
                    }
                    None => {
                        // Forgotten after a restart or evicted: resend (a duplicate is refused).
                        running.pending = None;
                    }
                }
            }
            if let (Some((id, final_ms)), false) = (&running.awaiting_books, running.books_done) {
                let parties_booked = ["merchant", "supplier", "carrier", "marketplace"]
                    .iter()
                    .map(|party| name(party))
                    .filter(|party| flow_has_party(&running.flow, party))
                    .filter(|party| involved_in_booking(&running.flow, party))
                    .all(|party| booked(&party, id));
                if parties_booked {
                    self.stats
                        .booked_latencies_ms
                        .push(now_ms.saturating_sub(running.started_ms));
                    self.stats
                        .booking_latencies_ms
                        .push(now_ms.saturating_sub(*final_ms));
                    running.books_done = true;
                }
            }
            if running.next >= running.flow.steps.len() {
                if running.awaiting_books.is_none() || running.books_done {
                    self.stats.completed += 1;
                    finished.push(index);
                }
                continue;
            }
            let step = &running.flow.steps[running.next];
            let key = &self.keys[&step.signer];
            let tx = Transaction::Single(SignedTx::sign(
                key,
                consortium.chain_id(),
                TxBody::Contract(step.call.clone()),
            ));
            match consortium.submit(tx) {
                Ok(Receipt::Accepted { hash }) | Ok(Receipt::AlreadyCommitted { hash, .. }) => {
                    running.pending = Some((hash, now_ms));
                    submitted += 1;
                }
                Err(tally_consensus::SubmitError::Mempool(_)) => {}
                Err(error) => {
                    self.stats.failed += 1;
                    self.stats
                        .failures
                        .push(format!("{}: {error}", running.flow.trade));
                    finished.push(index);
                }
            }
        }
        for index in finished.into_iter().rev() {
            self.running.swap_remove(index);
        }
        submitted
    }
}

/// Whether `party` signs any step of the flow.
fn flow_has_party(flow: &Flow, party: &EnterpriseName) -> bool {
    flow.steps.iter().any(|step| &step.signer == party)
}

/// Whether `party` is a party of the trade whose settlement books (seller and buyer).
fn involved_in_booking(flow: &Flow, party: &EnterpriseName) -> bool {
    match &flow.steps[0].call {
        ContractCall::ProposeTrade { terms, .. } => &terms.seller == party || &terms.buyer == party,
        _ => false,
    }
}
