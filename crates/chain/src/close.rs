//! Period close: the policy naming the roles that sign off a close, the sign-off each of them
//! signs, and the record of every completed close.
//!
//! A close through day D takes one sign-off transaction from each role of the genesis' close
//! policy. The first starts the close: from then on the ledger refuses entries dated on or before
//! D (a soft close), so the trial balance as of D cannot move while the others sign. The last
//! completes it: the books are closed through D for good and a [`Closing`] is recorded.
//!
//! Where the closing trial balance lives: in the transactions. Every sign-off carries the trial
//! balance as of D that its member attests, and the executor refuses one that differs from the
//! trial balance the ledger computes ([`CloseError::TrialBalanceDiffers`]). The final sign-off's
//! copy is therefore the closing trial balance, signed by a member, bound to the chain by its
//! block's transaction root, and provable with an ordinary transaction inclusion proof; a replay
//! recomputes and checks it. The state keeps only where that transaction is
//! ([`Closing::height`], [`Closing::tx_index`]), so the snapshot written with every block stays
//! small: it grows by one short record per closed period and is not otherwise bounded.
//!
//! Every sign-off carries the full trial balance, not only the last: whichever arrives last
//! completes the close, so no signer has to know whether it is the last, and each attests the
//! same numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_identity::PublicKey;
use tally_ledger::{
    AccountCode, Currency, Date, Ledger, PeriodError, Role, RoleSet, TrialBalanceLine,
};

/// Trial balance lines one sign-off may carry. A trial balance has one line per (account,
/// currency) with a non-zero balance: a chart of the largest size (`ACCOUNTS_MAX`) in a few
/// currencies stays below this, and a sign-off this long (at most about 170 bytes a line in a
/// block) still fits a block (`BLOCK_BYTES_MAX`). A chain whose trial balance outgrows it cannot
/// close a period until the limit is raised.
pub const CLOSING_LINES_MAX: usize = 65_536;

/// The roles that must each sign off before a period closes. Part of the genesis; by default
/// finance alone, so one signature closes a period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ClosePolicy {
    pub signers: Vec<Role>,
}

impl Default for ClosePolicy {
    fn default() -> Self {
        ClosePolicy {
            signers: vec![Role::Finance],
        }
    }
}

/// Why a close policy was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ClosePolicyError {
    #[error("the close policy names no role; name at least one role that signs off a close")]
    Empty,
    #[error("the close policy names role '{role}' twice")]
    Duplicate { role: Role },
    #[error("the close policy names role '{role}', which never signs (auditors only read)")]
    NeverActs { role: Role },
}

impl ClosePolicy {
    /// Checks the policy can be met: at least one role, each once, each one that signs.
    pub fn validate(&self) -> Result<(), ClosePolicyError> {
        if self.signers.is_empty() {
            return Err(ClosePolicyError::Empty);
        }
        let mut seen = RoleSet::empty();
        for &role in &self.signers {
            if role == Role::Auditor {
                return Err(ClosePolicyError::NeverActs { role });
            }
            if seen.contains(role) {
                return Err(ClosePolicyError::Duplicate { role });
            }
            seen.insert(role);
        }
        Ok(())
    }

    /// The roles of the policy as a set.
    pub fn roles(&self) -> RoleSet {
        RoleSet::of(&self.signers)
    }
}

/// What a member signs to sign off a close: the last day of the period and the trial balance as
/// of that day, as [`Ledger::trial_balance_as_of`] lists it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CloseSignOff {
    pub through: Date,
    pub trial_balance: Vec<TrialBalanceLine>,
}

/// One sign-off: the role it counts for and the member who signed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CloseSigner {
    pub role: Role,
    pub member: PublicKey,
}

/// A completed close.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Closing {
    /// The last day of the closed period.
    pub through: Date,
    /// The block of the final sign-off.
    pub height: u64,
    /// That block's time.
    pub time_ms: u64,
    /// The final sign-off's position in its block; it carries the closing trial balance.
    pub tx_index: u32,
    /// Every sign-off, in the order they were committed.
    pub signers: Vec<CloseSigner>,
}

/// The close state of a chain: its policy, the close under way and the completed ones.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct PeriodCloses {
    pub policy: ClosePolicy,
    /// The sign-offs of the close under way (through [`Ledger::closing_through`]), in order;
    /// empty when no close is under way.
    pub signers: Vec<CloseSigner>,
    /// Every completed close, oldest first; one per closed period.
    pub closings: Vec<Closing>,
}

/// Where a transaction sits: the block's height and time, its index in the block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxPlace {
    pub height: u64,
    pub time_ms: u64,
    pub tx_index: u32,
}

/// What one sign-off achieved, for the member who sent it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CloseProgress {
    pub through: Date,
    /// The roles that have signed off, this one included, in the order they signed.
    pub signed: Vec<Role>,
    /// The roles that still have to; empty once the period is closed.
    pub waiting_for: Vec<Role>,
}

impl CloseProgress {
    /// Whether this sign-off completed the close.
    pub fn is_closed(&self) -> bool {
        self.waiting_for.is_empty()
    }
}

/// Why a sign-off was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CloseError {
    #[error("role '{role}' may not sign off a period close (the close policy names: {policy})")]
    NotInPolicy { role: Role, policy: RoleSet },
    #[error("a sign-off carries {count} trial balance lines, more than the limit of {max}", max = CLOSING_LINES_MAX)]
    TooManyLines { count: usize },
    #[error("role '{role}' has already signed off the close through {through}")]
    AlreadySigned { role: Role, through: Date },
    #[error("the trial balance signed off through {through} differs from the books at account '{account}' in {currency}; sign the trial balance as of {through} again")]
    TrialBalanceDiffers {
        through: Date,
        account: AccountCode,
        currency: Currency,
    },
    #[error("{0}")]
    Period(#[from] PeriodError),
}

impl PeriodCloses {
    /// Records `signer`'s sign-off, starting the close or completing it. On error nothing
    /// changes.
    ///
    /// The checks run in a fixed order so every node reports the same error: the signer's role
    /// is in the policy, the trial balance is within its limit, the date may be closed (after the
    /// closed period, no other close under way), the role has not signed this close yet, and
    /// last the trial balance equals the books'.
    pub(crate) fn sign_off(
        &mut self,
        ledger: &mut Ledger,
        sign_off: &CloseSignOff,
        signer: CloseSigner,
        place: TxPlace,
    ) -> Result<CloseProgress, CloseError> {
        let through = sign_off.through;
        if !self.policy.signers.contains(&signer.role) {
            return Err(CloseError::NotInPolicy {
                role: signer.role,
                policy: self.policy.roles(),
            });
        }
        if sign_off.trial_balance.len() > CLOSING_LINES_MAX {
            return Err(CloseError::TooManyLines {
                count: sign_off.trial_balance.len(),
            });
        }
        ledger.check_close(through)?;
        assert_eq!(
            self.signers.is_empty(),
            ledger.closing_through().is_none(),
            "sign-offs are recorded exactly while a close is under way"
        );
        if self.signers.iter().any(|done| done.role == signer.role) {
            return Err(CloseError::AlreadySigned {
                role: signer.role,
                through,
            });
        }
        let books = ledger
            .trial_balance_as_of(through)
            .expect("check_close admitted the date, so it is after the closed period");
        if let Some((account, currency)) = first_difference(&sign_off.trial_balance, &books) {
            return Err(CloseError::TrialBalanceDiffers {
                through,
                account,
                currency,
            });
        }

        let signed: Vec<Role> = self
            .signers
            .iter()
            .map(|done| done.role)
            .chain([signer.role])
            .collect();
        let waiting_for: Vec<Role> = self
            .policy
            .signers
            .iter()
            .copied()
            .filter(|role| !signed.contains(role))
            .collect();
        if waiting_for.is_empty() {
            let closing = ledger.close_period(through)?;
            assert_eq!(
                closing, books,
                "the closing trial balance is the one just checked"
            );
            let mut signers = std::mem::take(&mut self.signers);
            signers.push(signer);
            self.closings.push(Closing {
                through,
                height: place.height,
                time_ms: place.time_ms,
                tx_index: place.tx_index,
                signers,
            });
        } else {
            ledger.begin_close(through)?;
            self.signers.push(signer);
        }
        Ok(CloseProgress {
            through,
            signed,
            waiting_for,
        })
    }

    /// The roles of the policy that have not signed off the close under way (all of them when
    /// none is under way), in policy order.
    pub fn waiting_for(&self) -> Vec<Role> {
        self.policy
            .signers
            .iter()
            .copied()
            .filter(|role| !self.signers.iter().any(|done| done.role == *role))
            .collect()
    }

    /// The close under way: its last day (from the ledger) and who signed it off so far.
    pub fn pending<'a>(&'a self, ledger: &Ledger) -> Option<(Date, &'a [CloseSigner])> {
        ledger
            .closing_through()
            .map(|through| (through, self.signers.as_slice()))
    }

    /// The completed close through `through`, if there is one.
    pub fn closing(&self, through: Date) -> Option<&Closing> {
        self.closings
            .iter()
            .find(|closing| closing.through == through)
    }
}

/// The first (account, currency), in trial balance order, whose line differs between `signed`
/// and `books` or is in only one of them; `None` if they are the same.
fn first_difference(
    signed: &[TrialBalanceLine],
    books: &[TrialBalanceLine],
) -> Option<(AccountCode, Currency)> {
    if signed == books {
        return None;
    }
    let keyed = |lines: &[TrialBalanceLine]| -> BTreeMap<(AccountCode, Currency), (u128, u128)> {
        lines
            .iter()
            .map(|line| {
                (
                    (line.account.clone(), line.currency),
                    (line.debit, line.credit),
                )
            })
            .collect()
    };
    let (signed_lines, book_lines) = (keyed(signed), keyed(books));
    let differs = signed_lines
        .keys()
        .chain(book_lines.keys())
        .filter(|key| signed_lines.get(*key) != book_lines.get(*key))
        .min()
        .cloned();
    // Same lines in another order, or one listed twice: the first line where the lists part.
    differs.or_else(|| {
        signed
            .iter()
            .zip(books)
            .find(|(a, b)| a != b)
            .map(|(a, _)| (a.account.clone(), a.currency))
            .or_else(|| {
                signed
                    .get(books.len())
                    .map(|line| (line.account.clone(), line.currency))
            })
    })
}
