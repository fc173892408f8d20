//! The default chart of accounts for an online shop that sells on its own site
//! and on marketplaces, takes card payments through a payment processor, ships
//! goods and handles VAT.

use crate::account::{Account, AccountCode, AccountKind, Role, RoleSet};

/// The codes of [`default_chart`], for workloads, demos and tests.
///
/// Numbering follows the common scheme: 1xxx assets, 2xxx liabilities,
/// 3xxx equity, 4xxx revenue, 5xxx expenses.
pub mod codes {
    /// Bank current account; may not be overdrawn.
    pub const BANK: &str = "1000";
    /// Cash on hand.
    pub const CASH: &str = "1010";
    /// Money customers owe for delivered orders.
    pub const ACCOUNTS_RECEIVABLE: &str = "1100";
    /// Goods in stock, at cost.
    pub const INVENTORY: &str = "1200";
    /// VAT paid on purchases, to be reclaimed.
    pub const INPUT_VAT: &str = "1300";
    /// Card payments captured by the payment processor but not yet paid out.
    pub const PAYMENT_CLEARING: &str = "1400";
    /// Money owed to suppliers.
    pub const ACCOUNTS_PAYABLE: &str = "2000";
    /// VAT charged on sales, owed to the tax office.
    pub const OUTPUT_VAT: &str = "2100";
    /// Money owed to the marketplace platform (commissions, fees).
    pub const MARKETPLACE_PAYABLE: &str = "2200";
    /// Opening balances and owners' equity.
    pub const OPENING_EQUITY: &str = "3000";
    /// Currency trading account: the bridge that lets each currency balance on
    /// its own when money changes currency.
    pub const FX_TRADING: &str = "3900";
    /// Revenue from goods sold.
    pub const SALES_REVENUE: &str = "4000";
    /// Shipping charged to customers.
    pub const SHIPPING_INCOME: &str = "4100";
    /// Returns and refunds (a contra-revenue account, normally in debit).
    pub const SALES_RETURNS: &str = "4900";
    /// Cost of the goods that were sold.
    pub const COST_OF_GOODS_SOLD: &str = "5000";
    /// Commission charged by the marketplace.
    pub const MARKETPLACE_COMMISSION: &str = "5100";
    /// Fees charged by the payment processor.
    pub const PAYMENT_FEES: &str = "5200";
    /// Carrier costs for shipping orders.
    pub const SHIPPING_EXPENSE: &str = "5300";
}

/// One account of the default chart: code, name, kind, posting roles besides
/// finance and bookkeeper, sub-ledger tag, no-negative flag.
type ChartRow = (
    &'static str,
    &'static str,
    AccountKind,
    &'static [Role],
    Option<&'static str>,
    bool,
);

/// The default chart: see [`codes`] for the accounts.
///
/// Posting rights follow who does the work: finance and bookkeepers post
/// everywhere; sales books receivables, revenue, output VAT, shipping income
/// and returns; logistics books inventory, cost of goods sold and shipping
/// expense; customer service books returns and refunds (returns, receivables,
/// bank, and output VAT so that a refund can correct the VAT); the warehouse
/// books inventory and cost of goods sold. Admins and auditors post nowhere.
/// Only the bank account refuses to go negative: an overdraft is a real-world
/// event that must be booked through a liability, not a negative bank balance.
pub fn default_chart() -> Vec<Account> {
    use codes::*;
    use AccountKind::{Asset, Equity, Expense, Liability, Revenue};
    use Role::{Logistics, Sales, Service, Warehouse};

    let rows: [ChartRow; 18] = [
        (BANK, "Bank current account", Asset, &[Service], None, true),
        (CASH, "Cash on hand", Asset, &[], None, false),
        (
            ACCOUNTS_RECEIVABLE,
            "Accounts receivable",
            Asset,
            &[Sales, Service],
            Some("customers"),
            false,
        ),
        (
            INVENTORY,
            "Inventory",
            Asset,
            &[Logistics, Warehouse],
            None,
            false,
        ),
        (INPUT_VAT, "Input VAT receivable", Asset, &[], None, false),
        (
            PAYMENT_CLEARING,
            "Payment processor clearing",
            Asset,
            &[],
            Some("payment-processor"),
            false,
        ),
        (
            ACCOUNTS_PAYABLE,
            "Accounts payable",
            Liability,
            &[],
            Some("suppliers"),
            false,
        ),
        (
            OUTPUT_VAT,
            "Output VAT payable",
            Liability,
            &[Sales, Service],
            None,
            false,
        ),
        (
            MARKETPLACE_PAYABLE,
            "Payable to marketplace platform",
            Liability,
            &[],
            Some("marketplaces"),
            false,
        ),
        (
            OPENING_EQUITY,
            "Opening balance equity",
            Equity,
            &[],
            None,
            false,
        ),
        (FX_TRADING, "Currency trading", Equity, &[], None, false),
        (
            SALES_REVENUE,
            "Sales revenue",
            Revenue,
            &[Sales],
            None,
            false,
        ),
        (
            SHIPPING_INCOME,
            "Shipping income",
            Revenue,
            &[Sales],
            None,
            false,
        ),
        (
            SALES_RETURNS,
            "Sales returns and refunds",
            Revenue,
            &[Sales, Service],
            None,
            false,
        ),
        (
            COST_OF_GOODS_SOLD,
            "Cost of goods sold",
            Expense,
            &[Logistics, Warehouse],
            None,
            false,
        ),
        (
            MARKETPLACE_COMMISSION,
            "Marketplace commission",
            Expense,
            &[],
            None,
            false,
        ),
        (
            PAYMENT_FEES,
            "Payment processing fees",
            Expense,
            &[],
            None,
            false,
        ),
        (
            SHIPPING_EXPENSE,
            "Shipping expense",
            Expense,
            &[Logistics],
            None,
            false,
        ),
    ];

    let mut chart = Vec::with_capacity(rows.len());
    for (code, name, kind, roles, sub_ledger, no_negative) in rows {
        let mut posting_roles = RoleSet::of(roles);
        posting_roles.insert(Role::Finance);
        posting_roles.insert(Role::Bookkeeper);
        // The codes above are constants that a unit test validates, so only an
        // edited constant (a bug) can make this fail.
        let code = match AccountCode::new(code) {
            Ok(code) => code,
            Err(err) => panic!("default chart code {code:?} is invalid: {err}"),
        };
        chart.push(Account {
            code,
            name: name.to_owned(),
            kind,
            posting_roles,
            sub_ledger: sub_ledger.map(str::to_owned),
            no_negative,
            open: true,
        });
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn find(chart: &[Account], code: &str) -> Account {
        chart
            .iter()
            .find(|account| account.code.as_str() == code)
            .cloned()
            .unwrap()
    }

    #[test]
    fn chart_is_valid_and_unique() {
        let chart = default_chart();
        let codes: BTreeSet<_> = chart.iter().map(|account| account.code.clone()).collect();
        assert_eq!(codes.len(), chart.len());
        for account in &chart {
            assert_eq!(account.validate(), Ok(()));
            assert!(account.open);
        }
    }

    #[test]
    fn finance_and_bookkeeper_post_everywhere_auditor_and_admin_nowhere() {
        for account in default_chart() {
            assert!(account.allows(Role::Finance));
            assert!(account.allows(Role::Bookkeeper));
            assert!(!account.allows(Role::Auditor));
            assert!(!account.allows(Role::Admin));
        }
    }

    #[test]
    fn operational_roles_match_their_work() {
        let chart = default_chart();
        let allowed = |role: Role| -> BTreeSet<&str> {
            chart
                .iter()
                .filter(|account| account.allows(role))
                .map(|account| account.code.as_str())
                .collect()
        };
        use codes::*;
        assert_eq!(
            allowed(Role::Sales),
            BTreeSet::from([
                ACCOUNTS_RECEIVABLE,
                OUTPUT_VAT,
                SALES_REVENUE,
                SHIPPING_INCOME,
                SALES_RETURNS
            ])
        );
        assert_eq!(
            allowed(Role::Logistics),
            BTreeSet::from([INVENTORY, COST_OF_GOODS_SOLD, SHIPPING_EXPENSE])
        );
        assert_eq!(
            allowed(Role::Service),
            BTreeSet::from([BANK, ACCOUNTS_RECEIVABLE, OUTPUT_VAT, SALES_RETURNS])
        );
        assert_eq!(
            allowed(Role::Warehouse),
            BTreeSet::from([INVENTORY, COST_OF_GOODS_SOLD])
        );
    }

    #[test]
    fn kinds_and_flags() {
        let chart = default_chart();
        assert!(find(&chart, codes::BANK).no_negative);
        assert_eq!(find(&chart, codes::BANK).kind, AccountKind::Asset);
        assert_eq!(find(&chart, codes::OUTPUT_VAT).kind, AccountKind::Liability);
        assert_eq!(find(&chart, codes::FX_TRADING).kind, AccountKind::Equity);
        assert_eq!(
            find(&chart, codes::SALES_RETURNS).kind,
            AccountKind::Revenue
        );
        assert_eq!(find(&chart, codes::PAYMENT_FEES).kind, AccountKind::Expense);
        assert_eq!(
            chart.iter().filter(|account| account.no_negative).count(),
            1
        );
    }
}
