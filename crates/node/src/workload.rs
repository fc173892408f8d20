//! A realistic e-commerce workload for the demo and the benchmarks.
//!
//! Orders with VAT (some with shipping, some in USD), payouts by the payment processor net of its
//! fee, marketplace commissions, shipments at cost, and refunds. Each event is posted by the
//! department whose role owns it. The generator is seeded, so a run can be repeated exactly.

use std::collections::VecDeque;

use rand::{rngs::StdRng, Rng, SeedableRng};
use tally_ledger::{
    codes, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Reference, Side,
};

/// Member names as in [`crate::devnet::DevnetPlan`].
pub const SALES: &str = "sales";
pub const FINANCE: &str = "finance";
pub const LOGISTICS: &str = "logistics";
pub const SERVICE: &str = "service";
pub const BOOKKEEPER: &str = "bookkeeper";

/// VAT rate in basis points (19%).
const VAT_BASIS_POINTS: u64 = 1_900;
/// Payment processor fee in basis points (1.4%).
const FEE_BASIS_POINTS: u64 = 140;
/// Marketplace commission in basis points (8%).
const COMMISSION_BASIS_POINTS: u64 = 800;
/// Opening bank balances (minor units). Refunds are only issued against our own estimate of the
/// bank, and a payout counts there only `PAYOUT_SETTLE_EVENTS` events after it was generated: a
/// client may run that far ahead of what is committed (the mempool holds up to 500k entries), and
/// a refund is checked against the committed bank. The float covers the refunds of that window.
const OPENING_BANK_EUR: u64 = 1_000_000_000;
const OPENING_BANK_USD: u64 = 200_000_000;
const PAYOUT_SETTLE_EVENTS: u64 = 600_000;
const OPENING_INVENTORY_EUR: u64 = 500_000_000;
/// Orders remembered for later payouts and refunds.
const OPEN_ORDERS_MAX: usize = 100_000;

struct OpenOrder {
    number: u64,
    gross: u64,
    net: u64,
    vat: u64,
    currency: Currency,
}

pub struct Workload {
    rng: StdRng,
    date: Date,
    next_order: u64,
    next_id: u64,
    unpaid: VecDeque<OpenOrder>,
    paid: VecDeque<OpenOrder>,
    /// Our own estimate of the bank balance per currency (EUR, USD), so refunds never overdraw it.
    bank: [u64; 2],
    /// Payouts not yet counted in `bank`: (event number, currency index, amount).
    unsettled: VecDeque<(u64, usize, u64)>,
    events: u64,
    opened: bool,
    eur: Currency,
    usd: Currency,
    prefix: String,
}

fn code(text: &str) -> AccountCode {
    AccountCode::new(text).expect("default chart codes are valid")
}

fn posting(account: &str, side: Side, amount: u64, currency: Currency) -> Posting {
    Posting {
        account: code(account),
        side,
        amount,
        currency,
    }
}

fn percent(amount: u64, basis_points: u64) -> u64 {
    amount * basis_points / 10_000
}

impl Workload {
    /// `prefix` keeps entry ids of different runs on one chain apart.
    pub fn new(seed: u64, prefix: &str, date: Date) -> Workload {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            date,
            next_order: 1,
            next_id: 1,
            unpaid: VecDeque::new(),
            paid: VecDeque::new(),
            bank: [0, 0],
            unsettled: VecDeque::new(),
            events: 0,
            opened: false,
            eur: Currency::from_code("EUR").expect("EUR"),
            usd: Currency::from_code("USD").expect("USD"),
            prefix: prefix.to_string(),
        }
    }

    fn entry(
        &mut self,
        kind: &str,
        description: String,
        postings: Vec<Posting>,
        references: Vec<Reference>,
    ) -> EntryDraft {
        let id = EntryId::new(&format!("{}{kind}-{}", self.prefix, self.next_id))
            .expect("generated ids are valid");
        self.next_id += 1;
        EntryDraft {
            id,
            date: self.date,
            description,
            postings,
            references,
            reverses: None,
            sealed: Default::default(),
            seal_keys: Vec::new(),
        }
    }

    fn currency_index(&self, currency: Currency) -> usize {
        usize::from(currency != self.eur)
    }

    /// The opening balances, posted by finance. Submit it and wait for it to be final before the
    /// events of [`Self::next_event`], whose refunds draw on the opening bank balance.
    pub fn opening(&mut self) -> (&'static str, EntryDraft) {
        {
            self.opened = true;
            let (eur, usd) = (self.eur, self.usd);
            self.bank = [OPENING_BANK_EUR, OPENING_BANK_USD];
            let entry = self.entry(
                "opening",
                "Opening balances".into(),
                vec![
                    posting(codes::BANK, Side::Debit, OPENING_BANK_EUR, eur),
                    posting(codes::INVENTORY, Side::Debit, OPENING_INVENTORY_EUR, eur),
                    posting(
                        codes::OPENING_EQUITY,
                        Side::Credit,
                        OPENING_BANK_EUR + OPENING_INVENTORY_EUR,
                        eur,
                    ),
                    posting(codes::BANK, Side::Debit, OPENING_BANK_USD, usd),
                    posting(codes::OPENING_EQUITY, Side::Credit, OPENING_BANK_USD, usd),
                ],
                Vec::new(),
            );
            (FINANCE, entry)
        }
    }

    /// The next event: the member that posts it and the entry.
    pub fn next_event(&mut self) -> (&'static str, EntryDraft) {
        if !self.opened {
            return self.opening();
        }
        self.events += 1;
        while let Some(&(at, index, amount)) = self.unsettled.front() {
            if at + PAYOUT_SETTLE_EVENTS > self.events {
                break;
            }
            self.bank[index] += amount;
            self.unsettled.pop_front();
        }
        let roll: u32 = self.rng.gen_range(0..100);
        match roll {
            0..=44 => self.order(),
            45..=64 if !self.unpaid.is_empty() => self.payout(),
            65..=79 => self.shipment(),
            80..=91 => self.commission(),
            92..=99 if !self.paid.is_empty() => self.refund(),
            _ => self.order(),
        }
    }

    fn order(&mut self) -> (&'static str, EntryDraft) {
        let currency = if self.rng.gen_range(0..10) == 0 {
            self.usd
        } else {
            self.eur
        };
        let net: u64 = self.rng.gen_range(499..=49_999);
        let shipping: u64 = if self.rng.gen_bool(0.3) { 495 } else { 0 };
        let vat = percent(net + shipping, VAT_BASIS_POINTS);
        let gross = net + shipping + vat;
        let number = self.next_order;
        self.next_order += 1;
        let mut postings = vec![
            posting(codes::ACCOUNTS_RECEIVABLE, Side::Debit, gross, currency),
            posting(codes::SALES_REVENUE, Side::Credit, net, currency),
            posting(codes::OUTPUT_VAT, Side::Credit, vat, currency),
        ];
        if shipping > 0 {
            postings.push(posting(
                codes::SHIPPING_INCOME,
                Side::Credit,
                shipping,
                currency,
            ));
        }
        if self.unpaid.len() < OPEN_ORDERS_MAX {
            self.unpaid.push_back(OpenOrder {
                number,
                gross,
                net,
                vat,
                currency,
            });
        }
        let reference = Reference {
            kind: "order".into(),
            value: format!("#{number}"),
        };
        let entry = self.entry(
            "order",
            format!("Order #{number}"),
            postings,
            vec![reference],
        );
        (SALES, entry)
    }

    fn payout(&mut self) -> (&'static str, EntryDraft) {
        let order = self.unpaid.pop_front().expect("caller checked");
        let fee = percent(order.gross, FEE_BASIS_POINTS).max(1);
        let index = self.currency_index(order.currency);
        self.unsettled
            .push_back((self.events, index, order.gross - fee));
        let postings = vec![
            posting(codes::BANK, Side::Debit, order.gross - fee, order.currency),
            posting(codes::PAYMENT_FEES, Side::Debit, fee, order.currency),
            posting(
                codes::ACCOUNTS_RECEIVABLE,
                Side::Credit,
                order.gross,
                order.currency,
            ),
        ];
        let reference = Reference {
            kind: "order".into(),
            value: format!("#{}", order.number),
        };
        let entry = self.entry(
            "payout",
            format!("Payout for order #{}", order.number),
            postings,
            vec![reference],
        );
        if self.paid.len() < OPEN_ORDERS_MAX {
            self.paid.push_back(order);
        }
        (FINANCE, entry)
    }

    fn shipment(&mut self) -> (&'static str, EntryDraft) {
        let cost: u64 = self.rng.gen_range(200..=20_000);
        let postings = vec![
            posting(codes::COST_OF_GOODS_SOLD, Side::Debit, cost, self.eur),
            posting(codes::INVENTORY, Side::Credit, cost, self.eur),
        ];
        let entry = self.entry(
            "shipment",
            "Goods shipped, at cost".into(),
            postings,
            Vec::new(),
        );
        (LOGISTICS, entry)
    }

    fn commission(&mut self) -> (&'static str, EntryDraft) {
        let sale: u64 = self.rng.gen_range(1_000..=50_000);
        let commission = percent(sale, COMMISSION_BASIS_POINTS).max(1);
        let vat = percent(commission, VAT_BASIS_POINTS);
        let mut postings = vec![
            posting(
                codes::MARKETPLACE_COMMISSION,
                Side::Debit,
                commission,
                self.eur,
            ),
            posting(
                codes::MARKETPLACE_PAYABLE,
                Side::Credit,
                commission + vat,
                self.eur,
            ),
        ];
        if vat > 0 {
            postings.push(posting(codes::INPUT_VAT, Side::Debit, vat, self.eur));
        }
        let entry = self.entry(
            "commission",
            "Marketplace commission".into(),
            postings,
            Vec::new(),
        );
        (BOOKKEEPER, entry)
    }

    fn refund(&mut self) -> (&'static str, EntryDraft) {
        let order = self.paid.pop_front().expect("caller checked");
        let index = self.currency_index(order.currency);
        let refund_net = order.net;
        let refund_vat = order.vat;
        let total = refund_net + refund_vat;
        if self.bank[index] < total {
            return self.order();
        }
        self.bank[index] -= total;
        let postings = vec![
            posting(
                codes::SALES_RETURNS,
                Side::Debit,
                refund_net,
                order.currency,
            ),
            posting(codes::OUTPUT_VAT, Side::Debit, refund_vat, order.currency),
            posting(codes::BANK, Side::Credit, total, order.currency),
        ];
        let reference = Reference {
            kind: "order".into(),
            value: format!("#{}", order.number),
        };
        let entry = self.entry(
            "refund",
            format!("Refund of order #{}", order.number),
            postings,
            vec![reference],
        );
        (SERVICE, entry)
    }
}
