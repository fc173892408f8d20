//! Totals per department: what was posted to each account, grouped by the department of the
//! member who signed the entry (its certificate names the department).

use std::collections::BTreeMap;

use tally_ledger::{AccountCode, Balance, Currency, Side};

/// One department's debits and credits to one account in one currency.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DepartmentLine {
    pub department: String,
    pub account: AccountCode,
    pub currency: Currency,
    pub debit: u128,
    pub credit: u128,
}

/// Running department totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepartmentTotals {
    totals: BTreeMap<(String, AccountCode, Currency), Balance>,
}

impl DepartmentTotals {
    /// Adds one posting; `None` if a total would overflow (the ledger's own totals exclude it).
    pub fn add(
        &mut self,
        department: &str,
        account: &AccountCode,
        currency: Currency,
        side: Side,
        amount: u64,
    ) -> Option<()> {
        let total = self
            .totals
            .entry((department.to_string(), account.clone(), currency))
            .or_default();
        *total = total.plus(side, amount)?;
        Some(())
    }

    /// Adds totals kept elsewhere (a stored row).
    pub fn add_balance(
        &mut self,
        department: &str,
        account: &AccountCode,
        currency: Currency,
        balance: Balance,
    ) -> Option<()> {
        let total = self
            .totals
            .entry((department.to_string(), account.clone(), currency))
            .or_default();
        total.debit = total.debit.checked_add(balance.debit)?;
        total.credit = total.credit.checked_add(balance.credit)?;
        Some(())
    }

    /// The totals by department, account and currency.
    pub fn lines(&self) -> Vec<DepartmentLine> {
        self.totals
            .iter()
            .map(|((department, account, currency), total)| DepartmentLine {
                department: department.clone(),
                account: account.clone(),
                currency: *currency,
                debit: total.debit,
                credit: total.credit,
            })
            .collect()
    }
}
