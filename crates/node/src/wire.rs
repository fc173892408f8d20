//! The JSON wire format of the HTTP API and of the files people write (entries to submit).
//!
//! This is the one place that converts between the accounting model's exact types (minor units,
//! validated codes) and what people read and write (decimal strings, ISO codes). Amounts are
//! always decimal strings so no JSON parser rounds them through a float.

use serde::{Deserialize, Serialize};
use tally_chain::{CloseProgress, CloseSigner, Closing, CommittedEntry, PeriodCloses};
use tally_ledger::{
    format_amount, parse_amount, parse_total, AccountCode, Category, Currency, Date, EntryDraft,
    EntryId, FieldName, Ledger, Posting, Reference, Role, SealKey, Sealed, SealedField,
    SealedGroup, Side, TrialBalanceLine, COMMITMENT_BYTES, ENCAPPED_KEY_BYTES, SEAL_NONCE_BYTES,
};
use utoipa::ToSchema;

/// An entry as a person writes it (`tally submit ENTRY.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryJson {
    pub id: String,
    pub date: String,
    #[serde(default)]
    pub description: String,
    pub postings: Vec<PostingJson>,
    #[serde(default)]
    pub references: Vec<ReferenceJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<String>,
    /// Encrypted fields, each sealed on its own (as entries were first sealed); the node never
    /// sees their values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<SealedFieldJson>,
    /// Encrypted fields sealed together, one group per category and epoch (as entries are
    /// sealed now). An entry has `sealed` or `sealed_groups`, not both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed_groups: Vec<SealedGroupJson>,
    /// The keys `sealed` or `sealed_groups` was sealed with, wrapped to their category epochs'
    /// public keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seal_keys: Vec<SealKeyJson>,
}

/// A wrapped seal key: encapsulated key and wrapped key in hex.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealKeyJson {
    pub category: String,
    pub epoch: u32,
    pub encapped: String,
    pub wrapped: String,
}

impl SealKeyJson {
    pub fn from_key(key: &SealKey) -> SealKeyJson {
        SealKeyJson {
            category: key.category.to_string(),
            epoch: key.epoch,
            encapped: hex::encode(key.encapped),
            wrapped: hex::encode(&key.wrapped),
        }
    }

    /// Parses into the model's key; the error names the part that is wrong.
    pub fn to_key(&self) -> Result<SealKey, String> {
        let category = Category::new(&self.category).map_err(|e| e.to_string())?;
        let encapped = hex::decode(&self.encapped)
            .ok()
            .and_then(|bytes| <[u8; ENCAPPED_KEY_BYTES]>::try_from(bytes).ok())
            .ok_or_else(|| format!("encapped must be {ENCAPPED_KEY_BYTES} bytes in hex"))?;
        let wrapped = hex::decode(&self.wrapped).map_err(|e| format!("wrapped is not hex: {e}"))?;
        Ok(SealKey {
            category,
            epoch: self.epoch,
            encapped,
            wrapped,
        })
    }
}

/// A sealed field: names in clear, the commitment, nonce and ciphertext in hex.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedFieldJson {
    pub name: String,
    pub category: String,
    pub epoch: u32,
    pub commitment: String,
    pub nonce: String,
    pub ciphertext: String,
}

impl SealedFieldJson {
    pub fn from_field(field: &SealedField) -> SealedFieldJson {
        SealedFieldJson {
            name: field.name.to_string(),
            category: field.category.to_string(),
            epoch: field.epoch,
            commitment: hex::encode(field.commitment),
            nonce: hex::encode(field.nonce),
            ciphertext: hex::encode(&field.ciphertext),
        }
    }

    /// Parses into the model's field; the error names the part that is wrong.
    pub fn to_field(&self) -> Result<SealedField, String> {
        let name = FieldName::new(&self.name).map_err(|e| e.to_string())?;
        let category = Category::new(&self.category).map_err(|e| e.to_string())?;
        let bytes = |part: &str, text: &str| {
            hex::decode(text).map_err(|e| format!("{part} of '{name}' is not hex: {e}"))
        };
        let fixed = |part: &str, text: &str, len: usize| {
            let decoded = bytes(part, text)?;
            if decoded.len() == len {
                Ok(decoded)
            } else {
                Err(format!(
                    "{part} of '{name}' is {} bytes (expected {len})",
                    decoded.len()
                ))
            }
        };
        let commitment = fixed("commitment", &self.commitment, COMMITMENT_BYTES)?;
        let nonce = fixed("nonce", &self.nonce, SEAL_NONCE_BYTES)?;
        let ciphertext = bytes("ciphertext", &self.ciphertext)?;
        Ok(SealedField {
            name,
            category,
            epoch: self.epoch,
            commitment: commitment.try_into().expect("length checked"),
            nonce: nonce.try_into().expect("length checked"),
            ciphertext,
        })
    }
}

/// A group of sealed fields: category and names in clear, the root commitment and the one
/// ciphertext of all the values in hex.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedGroupJson {
    pub category: String,
    pub epoch: u32,
    pub names: Vec<String>,
    pub commitment: String,
    pub ciphertext: String,
}

impl SealedGroupJson {
    pub fn from_group(group: &SealedGroup) -> SealedGroupJson {
        SealedGroupJson {
            category: group.category.to_string(),
            epoch: group.epoch,
            names: group.names.iter().map(FieldName::to_string).collect(),
            commitment: hex::encode(group.commitment),
            ciphertext: hex::encode(&group.ciphertext),
        }
    }

    /// Parses into the model's group; the error names the part that is wrong.
    pub fn to_group(&self) -> Result<SealedGroup, String> {
        let category = Category::new(&self.category).map_err(|e| e.to_string())?;
        let names = self
            .names
            .iter()
            .map(|name| FieldName::new(name).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let commitment = hex::decode(&self.commitment)
            .map_err(|e| format!("commitment is not hex: {e}"))?
            .try_into()
            .map_err(|bytes: Vec<u8>| {
                format!(
                    "commitment is {} bytes (expected {COMMITMENT_BYTES})",
                    bytes.len()
                )
            })?;
        let ciphertext =
            hex::decode(&self.ciphertext).map_err(|e| format!("ciphertext is not hex: {e}"))?;
        Ok(SealedGroup {
            category,
            epoch: self.epoch,
            names,
            commitment,
            ciphertext,
        })
    }
}

/// One posting: exactly one of `debit` or `credit`, as a decimal string.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostingJson {
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
    pub currency: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceJson {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("posting {index}: {reason}")]
    Posting { index: usize, reason: String },
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("sealed field {index}: {reason}")]
    Sealed { index: usize, reason: String },
    #[error("sealed group {index}: {reason}")]
    SealedGroup { index: usize, reason: String },
    #[error("seal key {index}: {reason}")]
    SealKey { index: usize, reason: String },
}

impl EntryJson {
    /// Parses into the model's draft; every error names the field.
    pub fn to_draft(&self) -> Result<EntryDraft, WireError> {
        let field = |field: &'static str| {
            move |error: &dyn std::fmt::Display| WireError::Field {
                field,
                reason: error.to_string(),
            }
        };
        let id = EntryId::new(&self.id).map_err(|e| field("id")(&e))?;
        let date = Date::parse(&self.date).map_err(|e| field("date")(&e))?;
        let mut postings = Vec::with_capacity(self.postings.len());
        for (index, posting) in self.postings.iter().enumerate() {
            let error = |reason: String| WireError::Posting { index, reason };
            let account = AccountCode::new(&posting.account).map_err(|e| error(e.to_string()))?;
            let currency =
                Currency::from_code(&posting.currency).map_err(|e| error(e.to_string()))?;
            let (side, text) = match (&posting.debit, &posting.credit) {
                (Some(text), None) => (Side::Debit, text),
                (None, Some(text)) => (Side::Credit, text),
                _ => return Err(error("give exactly one of \"debit\" or \"credit\"".into())),
            };
            let amount = parse_amount(text, currency).map_err(|e| error(e.to_string()))?;
            postings.push(Posting {
                account,
                side,
                amount,
                currency,
            });
        }
        let reverses = match &self.reverses {
            Some(text) => Some(EntryId::new(text).map_err(|e| field("reverses")(&e))?),
            None => None,
        };
        Ok(EntryDraft {
            id,
            date,
            description: self.description.clone(),
            postings,
            references: self
                .references
                .iter()
                .map(|reference| Reference {
                    kind: reference.kind.clone(),
                    value: reference.value.clone(),
                })
                .collect(),
            reverses,
            sealed: self.to_sealed()?,
            seal_keys: self
                .seal_keys
                .iter()
                .enumerate()
                .map(|(index, key)| {
                    key.to_key()
                        .map_err(|reason| WireError::SealKey { index, reason })
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// The sealed fields or groups, whichever the entry has.
    fn to_sealed(&self) -> Result<Sealed, WireError> {
        if !self.sealed_groups.is_empty() {
            if !self.sealed.is_empty() {
                return Err(WireError::Field {
                    field: "sealed_groups",
                    reason: "an entry has sealed fields or sealed groups, not both".into(),
                });
            }
            return self
                .sealed_groups
                .iter()
                .enumerate()
                .map(|(index, group)| {
                    group
                        .to_group()
                        .map_err(|reason| WireError::SealedGroup { index, reason })
                })
                .collect::<Result<_, _>>()
                .map(Sealed::Groups);
        }
        self.sealed
            .iter()
            .enumerate()
            .map(|(index, field)| {
                field
                    .to_field()
                    .map_err(|reason| WireError::Sealed { index, reason })
            })
            .collect::<Result<_, _>>()
            .map(Sealed::Fields)
    }

    pub fn from_draft(draft: &EntryDraft) -> EntryJson {
        EntryJson {
            id: draft.id.as_str().to_string(),
            date: draft.date.to_string(),
            description: draft.description.clone(),
            postings: draft
                .postings
                .iter()
                .map(|posting| {
                    let amount = format_amount(posting.amount as u128, posting.currency);
                    let (debit, credit) = match posting.side {
                        Side::Debit => (Some(amount), None),
                        Side::Credit => (None, Some(amount)),
                    };
                    PostingJson {
                        account: posting.account.as_str().to_string(),
                        debit,
                        credit,
                        currency: posting.currency.code().to_string(),
                    }
                })
                .collect(),
            references: draft
                .references
                .iter()
                .map(|reference| ReferenceJson {
                    kind: reference.kind.clone(),
                    value: reference.value.clone(),
                })
                .collect(),
            reverses: draft.reverses.as_ref().map(|id| id.as_str().to_string()),
            sealed: draft
                .sealed
                .fields()
                .iter()
                .map(SealedFieldJson::from_field)
                .collect(),
            sealed_groups: draft
                .sealed
                .groups()
                .iter()
                .map(SealedGroupJson::from_group)
                .collect(),
            seal_keys: draft.seal_keys.iter().map(SealKeyJson::from_key).collect(),
        }
    }
}

/// A committed entry with its provenance.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CommittedEntryJson {
    pub entry: EntryJson,
    pub signer: String,
    pub height: u64,
    pub time_ms: u64,
    pub log_index: u64,
    pub reversed_by: Option<String>,
}

impl CommittedEntryJson {
    pub fn from_committed(committed: &CommittedEntry) -> Self {
        CommittedEntryJson {
            entry: EntryJson::from_draft(&committed.entry),
            signer: committed.signer.to_string(),
            height: committed.height,
            time_ms: committed.time_ms,
            log_index: committed.log_index,
            reversed_by: committed
                .reversed_by
                .as_ref()
                .map(|id| id.as_str().to_string()),
        }
    }
}

/// One page of `GET /v1/entries`: entries in commit order and the cursor of the next page
/// (`?after=`), `null` when the listing reached the end of the log.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntriesPageJson {
    pub entries: Vec<CommittedEntryJson>,
    pub next: Option<u64>,
}

/// One account of the chart (`GET /v1/accounts`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct AccountJson {
    pub code: String,
    pub name: String,
    /// asset, liability, equity, revenue or expense.
    pub kind: String,
    pub sub_ledger: Option<String>,
    /// The roles that may post to it (auditors never do).
    pub posting_roles: Vec<String>,
    /// Whether its balance may not stand on the side opposite to its kind's.
    pub no_negative: bool,
    /// Closed accounts take no postings.
    pub open: bool,
}

impl AccountJson {
    pub fn from_account(account: &tally_ledger::Account) -> Self {
        AccountJson {
            code: account.code.as_str().to_string(),
            name: account.name.clone(),
            kind: account.kind.as_str().to_string(),
            sub_ledger: account.sub_ledger.clone(),
            posting_roles: account
                .posting_roles
                .iter()
                .map(|role| role.as_str().to_string())
                .collect(),
            no_negative: account.no_negative,
            open: account.open,
        }
    }

    /// The code and kind, as the journal writers take them; the error names the field.
    pub fn code_and_kind(&self) -> Result<(AccountCode, tally_ledger::AccountKind), WireError> {
        let code = AccountCode::new(&self.code).map_err(|error| WireError::Field {
            field: "code",
            reason: error.to_string(),
        })?;
        let kind = self
            .kind
            .parse()
            .map_err(
                |error: tally_ledger::ParseAccountKindError| WireError::Field {
                    field: "kind",
                    reason: error.to_string(),
                },
            )?;
        Ok((code, kind))
    }
}

/// One line of a trial balance, amounts as decimal strings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct TrialBalanceJson {
    pub account: String,
    pub currency: String,
    pub debit: String,
    pub credit: String,
}

impl TrialBalanceJson {
    pub fn from_line(line: &TrialBalanceLine) -> Self {
        TrialBalanceJson {
            account: line.account.as_str().to_string(),
            currency: line.currency.code().to_string(),
            debit: format_amount(line.debit, line.currency),
            credit: format_amount(line.credit, line.currency),
        }
    }

    /// Parses back into the model's line (as a client signing a close does); every error names
    /// the field.
    pub fn to_line(&self) -> Result<TrialBalanceLine, WireError> {
        let field = |field: &'static str| {
            move |error: &dyn std::fmt::Display| WireError::Field {
                field,
                reason: error.to_string(),
            }
        };
        let account = AccountCode::new(&self.account).map_err(|e| field("account")(&e))?;
        let currency = Currency::from_code(&self.currency).map_err(|e| field("currency")(&e))?;
        Ok(TrialBalanceLine {
            account,
            currency,
            debit: parse_total(&self.debit, currency).map_err(|e| field("debit")(&e))?,
            credit: parse_total(&self.credit, currency).map_err(|e| field("credit")(&e))?,
        })
    }
}

fn role_names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|role| role.as_str().to_string()).collect()
}

/// One sign-off of a period close: the role it counts for and the member's public key (hex).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct CloseSignerJson {
    pub role: String,
    pub member: String,
}

impl CloseSignerJson {
    pub fn from_signer(signer: &CloseSigner) -> Self {
        CloseSignerJson {
            role: signer.role.as_str().to_string(),
            member: signer.member.to_string(),
        }
    }
}

/// What a committed sign-off achieved: whether the period is closed, who signed, who still has to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct CloseProgressJson {
    pub through: String,
    pub closed: bool,
    pub signed: Vec<String>,
    pub waiting_for: Vec<String>,
}

impl CloseProgressJson {
    pub fn from_progress(progress: &CloseProgress) -> Self {
        CloseProgressJson {
            through: progress.through.to_string(),
            closed: progress.is_closed(),
            signed: role_names(&progress.signed),
            waiting_for: role_names(&progress.waiting_for),
        }
    }
}

/// A completed close. `trial_balance` (the closing trial balance, as the final sign-off carries
/// it in block `height` at position `tx_index`) is given by `GET /v1/closings/{through}` only.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ClosingJson {
    pub through: String,
    pub height: u64,
    pub time_ms: u64,
    pub tx_index: u32,
    pub signers: Vec<CloseSignerJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_balance: Option<Vec<TrialBalanceJson>>,
}

impl ClosingJson {
    pub fn from_closing(closing: &Closing, trial_balance: Option<&[TrialBalanceLine]>) -> Self {
        ClosingJson {
            through: closing.through.to_string(),
            height: closing.height,
            time_ms: closing.time_ms,
            tx_index: closing.tx_index,
            signers: closing
                .signers
                .iter()
                .map(CloseSignerJson::from_signer)
                .collect(),
            trial_balance: trial_balance
                .map(|lines| lines.iter().map(TrialBalanceJson::from_line).collect()),
        }
    }
}

/// A close under way: its last day, who signed it off, who still has to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct PendingCloseJson {
    pub through: String,
    pub signers: Vec<CloseSignerJson>,
    pub waiting_for: Vec<String>,
}

/// `GET /v1/closings`: the close policy, the close under way if any, and every completed close,
/// oldest first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ClosingsJson {
    pub policy: Vec<String>,
    pub pending: Option<PendingCloseJson>,
    pub closings: Vec<ClosingJson>,
}

impl ClosingsJson {
    pub fn from_closes(closes: &PeriodCloses, ledger: &Ledger) -> Self {
        ClosingsJson {
            policy: role_names(&closes.policy.signers),
            pending: closes
                .pending(ledger)
                .map(|(through, signers)| PendingCloseJson {
                    through: through.to_string(),
                    signers: signers.iter().map(CloseSignerJson::from_signer).collect(),
                    waiting_for: role_names(&closes.waiting_for()),
                }),
            closings: closes
                .closings
                .iter()
                .map(|closing| ClosingJson::from_closing(closing, None))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusJson {
    pub chain_id: String,
    pub enterprise: String,
    pub height: u64,
    pub finalized_tip: u64,
    pub tip: String,
    pub state_root: String,
    pub log_root: String,
    pub entries: u64,
    /// How many validators the current epoch has.
    pub validators: usize,
    pub mempool_entries: usize,
    pub balanced: bool,
    pub time_ms: u64,
    /// Whether this is the consortium chain (contracts) rather than a private chain (entries).
    #[serde(default)]
    pub consortium: bool,
    /// The validators of the current validator-set epoch (the genesis's on a chain without
    /// epochs), by name and consensus key.
    #[serde(default)]
    pub validator_set: Vec<ValidatorJson>,
    /// The current validator-set epoch: 0 for ever on a chain whose genesis sets no
    /// `epoch_blocks`; each boundary block starts the next.
    #[serde(default)]
    pub epoch: u64,
    /// How long blocks took from their proposer's stamp to their commit on this node.
    #[serde(default)]
    pub finality_lag: FinalityLagJson,
}

/// What submitting a transaction answers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitJson {
    /// `accepted` (waiting for a block) or `committed` (it was committed before; nothing changed).
    pub status: String,
    pub hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
}

/// The state of a transaction.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TxStatusJson {
    /// `pending`, `committed`, `rejected` or `unknown`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a committed period close sign-off: what it achieved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<CloseProgressJson>,
}

/// Every error body: a stable machine code and a message for people.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorJson {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A block header with its finalization certificate, for people and auditors.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockJson {
    pub height: u64,
    pub digest: String,
    pub parent: String,
    pub time_ms: u64,
    pub tx_root: String,
    pub log_root: String,
    pub log_size: u64,
    pub state_root: String,
    pub transactions: usize,
    pub entries: usize,
    /// The block's own finalization certificate (hex of the consensus encoding), if it has one;
    /// a block finalized through a descendant's certificate has none.
    pub certificate: Option<String>,
}

impl BlockJson {
    pub fn from_block(block: &tally_chain::Block, certificate: Option<&[u8]>) -> Self {
        let header = &block.header;
        BlockJson {
            height: header.height,
            digest: hex::encode(tally_chain::header_digest(header).0),
            parent: hex::encode(header.parent),
            time_ms: header.time_ms,
            tx_root: hex::encode(header.tx_root),
            log_root: hex::encode(header.log_root),
            log_size: header.log_size,
            state_root: hex::encode(header.state_root),
            transactions: block.transactions.len(),
            entries: block.entry_count(),
            certificate: certificate.map(hex::encode),
        }
    }
}

/// One validator of a chain: its name and the hex of its consensus key.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ValidatorJson {
    pub name: String,
    pub key: String,
}

/// Finality lag in milliseconds, from a block's proposer stamp to its commit on this node: the
/// last block's and the median over the last `samples` commits; `null` before any commit.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct FinalityLagJson {
    pub last_ms: Option<u64>,
    pub p50_ms: Option<u64>,
    pub samples: usize,
}

/// One block of `GET /v1/blocks`: its header in brief.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct BlockSummaryJson {
    pub height: u64,
    pub time_ms: u64,
    pub digest: String,
    pub parent: String,
    pub transactions: usize,
    pub entries: usize,
    /// Whether the block has its own finalization certificate (else a descendant's covers it).
    pub certified: bool,
}

/// A page of `GET /v1/blocks`, newest first; `next` is the `before` of the following page,
/// `null` once the page reached block 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct BlocksPageJson {
    pub blocks: Vec<BlockSummaryJson>,
    pub next: Option<u64>,
}

/// A contract on the consortium chain as `GET /v1/contracts` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ContractJson {
    pub id: String,
    /// trade, shipping or commission.
    pub kind: String,
    pub state: String,
    /// The enterprises bound by it, the paying side last.
    pub parties: Vec<String>,
    pub currency: String,
    /// What a settlement pays, as a decimal string.
    pub amount: String,
    /// For a shipping or commission contract, the trade it belongs to.
    pub trade: Option<String>,
}

/// A page of `GET /v1/contracts` in id order; `next` is the `after` of the following page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ContractsPageJson {
    pub contracts: Vec<ContractJson>,
    pub next: Option<String>,
}

/// What one enterprise has anchored of one of its private chains on the consortium chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct AnchorJson {
    pub enterprise: String,
    pub chain_id: String,
    /// How many anchors it committed for the chain.
    pub count: u64,
    /// The latest anchored height and the block digest (hex) it anchored there.
    pub latest_height: u64,
    pub latest_block_hash: String,
}

/// One event of a contract: where it was committed, who signed the call, what happened.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ContractEventJson {
    pub height: u64,
    pub time_ms: u64,
    /// The consortium transaction that caused it, in hex.
    pub tx_hash: String,
    /// The signer's public key, and its certified name, enterprise and role when known.
    pub signer: String,
    pub member: Option<String>,
    pub enterprise: Option<String>,
    pub role: Option<String>,
    /// The event's name (`trade_proposed`, `settled`, ...).
    pub event: String,
    /// The event's amounts and parties, as the contract's currency writes them.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The contract's state right after the event.
    pub state: Option<String>,
}

/// `GET /v1/contracts/{id}`: the contract and its events, oldest first. `events_complete` is
/// false when the search for its events stopped at its bound before reaching the proposal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ContractDetailJson {
    pub contract: ContractJson,
    pub events: Vec<ContractEventJson>,
    pub events_complete: bool,
}

/// One point of `GET /v1/reports/series`: the account's balance on its natural side at the
/// end of the interval that ends on `date`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct SeriesPointJson {
    pub date: String,
    pub balance: String,
}

/// `GET /v1/reports/series`: an account's balance in one currency at the end of each interval.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct SeriesJson {
    pub account: String,
    pub name: String,
    pub kind: String,
    pub currency: String,
    pub interval: String,
    /// The height the series describes.
    pub height: u64,
    pub points: Vec<SeriesPointJson>,
}
