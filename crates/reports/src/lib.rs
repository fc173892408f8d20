//! Tally's accounting reports as pure functions: balance sheet and income statement from net
//! balances, the account ledger with running balances, AR/AP ageing of open items by partner,
//! totals per department, and conversion into a reporting currency at rates recorded on the chain.
//!
//! It sits beside the ledger rather than inside it: the ledger is the consensus-critical model
//! whose every byte is covered by the state root, while reports are read-side views that may
//! change without touching execution. Like the ledger it does no I/O, reads no clock and knows
//! nothing of JSON or HTTP: the chain's store keeps the indexes these functions read (written in
//! the same atomic commit as each block), and the node turns the results into JSON.
//!
//! Invariants:
//! - per currency, a balance sheet's assets equal liabilities plus equity plus the result (it
//!   is built from balanced net lines, and the check is reported, not assumed);
//! - an account ledger's running balance after its last posting is the account's balance;
//! - an ageing's buckets add up to the open balance of its items;
//! - amounts are whole minor units and every sum is checked: a report overflows loudly
//!   ([`ReportError::Overflow`]) rather than wrap.

mod ageing;
mod days;
mod departments;
mod fx;
mod items;
mod record;
mod statements;

pub use ageing::{ageing, AgeingInput, AgeingLine, AgeingSide, BUCKET_LIMITS_DAYS};
pub use days::days_between;
pub use departments::{DepartmentLine, DepartmentTotals};
pub use fx::{fx_observations, Converter, FxError, FxObservation, Rate};
pub use items::{
    has_document, item_ref, item_step, ItemBook, ItemKey, ItemRef, ItemState, DOCUMENT_KINDS,
    PARTNER_KINDS,
};
pub use record::{posting_seq, running_balances, PostingRecord, SEQ_PER_ENTRY};
pub use statements::{
    balance_sheet, income_statement, net_lines_of, BalanceSheet, BalanceSheetSection,
    IncomeSection, IncomeStatement, NetLine, StatementLine,
};

/// Why a report cannot be computed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ReportError {
    /// A sum does not fit the report's signed 128-bit amounts.
    #[error("a total of {currency} overflows the report's amounts")]
    Overflow {
        /// The currency being summed.
        currency: tally_ledger::Currency,
    },
    /// A balance names an account the chart does not have.
    #[error("no account '{account}' in the chart")]
    UnknownAccount {
        /// The code.
        account: tally_ledger::AccountCode,
    },
    /// Converting into the reporting currency failed.
    #[error(transparent)]
    Fx(#[from] FxError),
}
