//! Property tests of the report rules on random balanced entries posted to a real ledger with
//! the default chart:
//! 1. every balance sheet balances per currency: assets = liabilities + equity + result;
//! 2. the income statement's result over a stretch of entries equals the change in net assets
//!    less the change in the equity accounts, per currency;
//! 3. an account ledger's running balance after its last posting is the account's balance;
//! 4. ageing buckets add up to each partner's total, and the totals over partners equal the
//!    net balance of the receivable accounts (closed items net to zero);
//! 5. converting into a reporting currency keeps every line's sign and treats the reporting
//!    currency's own lines as they are.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tally_ledger::{
    codes, default_chart, AccountCode, AccountKind, Balance, Currency, Date, EntryDraft, EntryId,
    KnownEntry, Ledger, Posting, Reference, Role, Side,
};
use tally_reports::{
    ageing, balance_sheet, income_statement, item_ref, net_lines_of, running_balances, AgeingInput,
    AgeingSide, Converter, ItemBook, ItemKey, PostingRecord, Rate,
};

const ACCOUNTS: [&str; 10] = [
    codes::BANK,
    codes::ACCOUNTS_RECEIVABLE,
    codes::INVENTORY,
    codes::ACCOUNTS_PAYABLE,
    codes::OUTPUT_VAT,
    codes::OPENING_EQUITY,
    codes::FX_TRADING,
    codes::SALES_REVENUE,
    codes::SALES_RETURNS,
    codes::COST_OF_GOODS_SOLD,
];
const CURRENCIES: [Currency; 2] = [Currency::EUR, Currency::JPY];
const PARTNERS: [&str; 3] = ["alpha", "beta", "gamma"];

#[derive(Clone, Debug)]
struct Draft {
    day: u32,
    /// (debit account, credit account, currency, amount)
    lines: Vec<(usize, usize, usize, u64)>,
    partner: Option<usize>,
    order: u8,
}

fn drafts() -> impl Strategy<Value = Vec<Draft>> {
    let line = (
        0..ACCOUNTS.len(),
        0..ACCOUNTS.len(),
        0..CURRENCIES.len(),
        1u64..1_000_000,
    );
    let draft = (
        1u32..=28,
        prop::collection::vec(line, 1..4),
        prop::option::of(0..PARTNERS.len()),
        0u8..6,
    )
        .prop_map(|(day, lines, partner, order)| Draft {
            day,
            lines,
            partner,
            order,
        });
    prop::collection::vec(draft, 1..40)
}

fn code(text: &str) -> AccountCode {
    AccountCode::new(text).unwrap()
}

struct Posted {
    ledger: Ledger,
    /// Every posting in commit order: (entry, posting, date, references).
    postings: Vec<(EntryId, Posting, Date, Vec<Reference>)>,
}

fn post_all(drafts: &[Draft]) -> Posted {
    let mut ledger = Ledger::new(default_chart()).unwrap();
    let mut known: BTreeMap<EntryId, KnownEntry> = BTreeMap::new();
    let mut postings = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        let mut lines = Vec::new();
        for (debit, credit, currency, amount) in &draft.lines {
            for (account, side) in [(debit, Side::Debit), (credit, Side::Credit)] {
                lines.push(Posting {
                    account: code(ACCOUNTS[*account]),
                    side,
                    amount: *amount,
                    currency: CURRENCIES[*currency],
                });
            }
        }
        let mut references = vec![Reference {
            kind: "order".into(),
            value: format!("o-{}", draft.order),
        }];
        if let Some(partner) = draft.partner {
            references.push(Reference {
                kind: "counterparty".into(),
                value: PARTNERS[partner].into(),
            });
        }
        let id = EntryId::new(&format!("e-{index}")).unwrap();
        let date = Date::from_ymd(2026, 3, draft.day).unwrap();
        let entry = EntryDraft {
            id: id.clone(),
            date,
            description: String::new(),
            postings: lines.clone(),
            references: references.clone(),
            reverses: None,
            sealed: Default::default(),
            seal_keys: Vec::new(),
        }
        .check();
        // A line debiting and crediting the same account is still balanced; the generator may
        // produce entries the ledger refuses (e.g. an overdrawn bank): those are skipped.
        let Ok(entry) = entry else { continue };
        if ledger.post(&entry, Role::Finance, &known).is_err() {
            continue;
        }
        known.insert(id.clone(), KnownEntry::from_entry(&entry));
        for posting in lines {
            postings.push((id.clone(), posting, date, references.clone()));
        }
    }
    Posted { ledger, postings }
}

fn chart() -> Vec<tally_ledger::Account> {
    default_chart()
}

/// Net assets less equity accounts, per currency: what the result must explain.
fn net_assets_less_equity(ledger: &Ledger) -> BTreeMap<Currency, i128> {
    let mut totals = BTreeMap::new();
    for (account, currency, balance) in ledger.balances() {
        let kind = ledger.account(account).unwrap().kind;
        let net = balance.debit as i128 - balance.credit as i128;
        let signed = match kind {
            AccountKind::Asset => net,
            AccountKind::Liability | AccountKind::Equity => net,
            AccountKind::Revenue | AccountKind::Expense => 0,
        };
        *totals.entry(currency).or_insert(0) += signed;
    }
    totals
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn balance_sheets_balance(drafts in drafts()) {
        let posted = post_all(&drafts);
        let lines = net_lines_of(&posted.ledger.trial_balance()).unwrap();
        let sheet = balance_sheet(&chart(), &lines, None).unwrap();
        for section in &sheet.sections {
            prop_assert!(section.balanced, "{section:?}");
            prop_assert_eq!(
                section.total_assets,
                section.total_liabilities + section.total_equity + section.result
            );
        }
    }

    #[test]
    fn the_result_is_the_change_in_equity(drafts in drafts(), split in 0usize..40) {
        let split = split.min(drafts.len());
        let before = post_all(&drafts[..split]);
        let after = post_all(&drafts);
        let result = |ledger: &Ledger| -> BTreeMap<Currency, i128> {
            let lines = net_lines_of(&ledger.trial_balance()).unwrap();
            income_statement(&chart(), &lines, None)
                .unwrap()
                .sections
                .into_iter()
                .map(|section| (section.currency, section.result))
                .collect()
        };
        let (result_before, result_after) = (result(&before.ledger), result(&after.ledger));
        let (equity_before, equity_after) =
            (net_assets_less_equity(&before.ledger), net_assets_less_equity(&after.ledger));
        for currency in CURRENCIES {
            let change_in_result = result_after.get(&currency).copied().unwrap_or(0)
                - result_before.get(&currency).copied().unwrap_or(0);
            // Assets - liabilities - equity accounts (debit positive) grows by the result.
            let change_in_equity = equity_after.get(&currency).copied().unwrap_or(0)
                - equity_before.get(&currency).copied().unwrap_or(0);
            prop_assert_eq!(change_in_result, change_in_equity, "{}", currency);
        }
    }

    #[test]
    fn running_balances_end_at_the_account_balance(drafts in drafts()) {
        let posted = post_all(&drafts);
        for account in ACCOUNTS {
            let account = code(account);
            let mut records: Vec<PostingRecord> = posted
                .postings
                .iter()
                .enumerate()
                .filter(|(_, (_, posting, _, _))| posting.account == account)
                .map(|(seq, (entry, posting, date, _))| PostingRecord {
                    seq: seq as u64,
                    entry: entry.clone(),
                    date: *date,
                    height: 1,
                    side: posting.side,
                    amount: posting.amount,
                    currency: posting.currency,
                    running: Balance::default(),
                    department: String::new(),
                    item: None,
                })
                .collect();
            running_balances(&mut records).unwrap();
            for currency in CURRENCIES {
                let last = records.iter().rev().find(|record| record.currency == currency);
                let expected = posted.ledger.balance(&account, currency);
                prop_assert_eq!(last.map(|record| record.running).unwrap_or_default(), expected);
            }
        }
    }

    #[test]
    fn ageing_buckets_add_up_to_the_open_balance(drafts in drafts(), day in 1u32..=28, month in 3u32..=9) {
        let posted = post_all(&drafts);
        let receivable = code(codes::ACCOUNTS_RECEIVABLE);
        let mut book = ItemBook::default();
        for (entry, posting, date, references) in &posted.postings {
            if posting.account != receivable {
                continue;
            }
            let key = ItemKey {
                account: receivable.clone(),
                currency: posting.currency,
                item: item_ref(references, entry, "customers"),
            };
            book.apply(key, *date, posting.side, posting.amount);
        }
        let inputs: Vec<AgeingInput> = book
            .open()
            .map(|(key, state)| AgeingInput {
                partner: key.item.partner.clone(),
                currency: key.currency,
                since: state.since,
                net: state.net().unwrap(),
                items: 1,
            })
            .collect();
        let as_of = Date::from_ymd(2026, month, day).unwrap();
        let lines = ageing(inputs, AgeingSide::Receivable, as_of, None).unwrap();
        let mut per_currency: BTreeMap<Currency, i128> = BTreeMap::new();
        for line in &lines {
            prop_assert_eq!(line.buckets.iter().sum::<i128>(), line.total);
            *per_currency.entry(line.currency).or_insert(0) += line.total;
        }
        for currency in CURRENCIES {
            let balance = posted.ledger.balance(&receivable, currency);
            let net = balance.debit as i128 - balance.credit as i128;
            prop_assert_eq!(per_currency.get(&currency).copied().unwrap_or(0), net);
        }
    }

    #[test]
    fn conversion_keeps_signs_and_the_target_currency(amount in -1_000_000_000i128..1_000_000_000, from in 1u128..1_000_000, to in 1u128..1_000_000) {
        let rate = Rate {
            from: Currency::JPY,
            to: Currency::EUR,
            from_minor: from,
            to_minor: to,
            date: Date::from_ymd(2026, 1, 1).unwrap(),
            entry: "fx".into(),
        };
        let converter = Converter::new(Currency::EUR, [rate]);
        let converted = converter.convert(amount, Currency::JPY, "x").unwrap();
        prop_assert!(converted == 0 || (converted > 0) == (amount > 0));
        prop_assert_eq!(converted.abs(), (amount.abs() * to as i128 * 2 + from as i128) / (2 * from as i128));
        prop_assert_eq!(converter.convert(amount, Currency::EUR, "x").unwrap(), amount);
    }
}
