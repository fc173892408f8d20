//! Tally's accounting model: money, the chart of accounts, journal entries and
//! the rules that decide whether an entry may be posted.
//!
//! This crate is pure: no I/O, no clock, no randomness, no knowledge of HTTP or
//! JSON. Every node of the chain runs the same entries through it and must reach
//! the same state, so its results depend only on its inputs. Types derive serde
//! traits; the chain encodes them with postcard and the API with JSON.
//!
//! The flow of one entry:
//! 1. a client builds an [`EntryDraft`];
//! 2. [`EntryDraft::check`] checks what needs no state (at least two non-zero
//!    postings, debits equal credits per currency, bounded texts) and returns a
//!    [`BalancedEntry`], the only way to get one;
//! 3. [`Ledger::check_entry`] checks what needs the state (accounts exist and
//!    are open, the author's role may post to them, the period is open, the id
//!    is new, a reversal mirrors its original, no-negative accounts stay
//!    non-negative, totals do not overflow);
//! 4. [`Ledger::apply_entry`] updates the balances ([`Ledger::post`] does 3
//!    and 4).
//!
//! A period close: [`Ledger::begin_close`] freezes the books through a day
//! (entries dated on or before it are refused from then on) while the close is
//! signed off, and [`Ledger::close_period`] completes it and returns the
//! closing trial balance, exact whatever order the entries arrived in because
//! the ledger keeps what was posted with each date not yet closed.
//!
//! Invariants:
//! - per currency, the sum of all debits equals the sum of all credits, in every
//!   entry and therefore in the ledger;
//! - amounts are whole minor units (`u64` per posting, `u128` per total) and all
//!   arithmetic is checked, so no value is ever rounded or wrapped;
//! - a refused entry or operation changes nothing;
//! - [`Ledger::trial_balance_as_of`] a day equals the sum of the entries dated
//!   on or before it, for any day from the last close on;
//! - [`Ledger::state_digest`] depends only on the state, never on map iteration
//!   order or platform, so equal states give equal digests on every node.
//!
//! Every limit is a named constant next to the type it bounds (for example
//! [`POSTINGS_PER_ENTRY_MAX`], [`ACCOUNT_CODE_LEN_MAX`]).

mod account;
mod chart;
mod date;
mod digest;
mod entry;
mod ledger;
mod money;
mod movements;
mod sealed;
mod sealed_layout;
mod text;

pub use account::{
    Account, AccountCode, AccountCodeError, AccountError, AccountKind, ParseAccountKindError,
    ParseRoleError, Role, RoleSet, ACCOUNTS_MAX, ACCOUNT_CODE_LEN_MAX, ACCOUNT_NAME_LEN_MAX,
    SUB_LEDGER_LEN_MAX,
};
pub use chart::{codes, default_chart};
pub use date::{Date, DateError, YEAR_MAX, YEAR_MIN};
pub use digest::STATE_DIGEST_DOMAIN;
pub use entry::{
    check_sealed_fields, BalancedEntry, EntryDraft, EntryError, EntryId, EntryIdError,
    ParseSideError, Posting, Reference, Side, ADJUSTS_REFERENCE, DESCRIPTION_LEN_MAX,
    ENTRY_ID_LEN_MAX, POSTINGS_PER_ENTRY_MAX, POSTINGS_PER_ENTRY_MIN, REFERENCES_PER_ENTRY_MAX,
    REFERENCE_KIND_LEN_MAX, REFERENCE_VALUE_LEN_MAX,
};
pub use ledger::{
    AsOfError, Balance, EntryLookup, KnownEntry, Ledger, PeriodError, PostError, TrialBalanceLine,
};
pub use money::{
    format_amount, format_signed, parse_amount, parse_total, AmountError, Currency, CurrencyError,
    CURRENCY_EXPONENT_MAX,
};
pub use sealed::{
    Category, FieldName, NameError, SealKey, Sealed, SealedField, SealedGroup, CATEGORY_LEN_MAX,
    COMMITMENT_BYTES, ENCAPPED_KEY_BYTES, FIELD_NAME_LEN_MAX, GROUP_VALUE_PREFIX_BYTES,
    SEALED_CIPHERTEXT_LEN_MAX, SEALED_CIPHERTEXT_LEN_MIN, SEALED_FIELDS_PER_ENTRY_MAX,
    SEALED_VALUE_LEN_MAX, SEAL_NONCE_BYTES, SEAL_SALT_BYTES, SEAL_TAG_BYTES,
    WRAPPED_SEAL_KEY_LEN_MAX,
};
pub use sealed_layout::{derived_nonce, SealedPart, SealedPartRef};
