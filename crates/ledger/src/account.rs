//! Accounts: their codes, kinds, the roles allowed to post to them, and the
//! errors of the chart-of-accounts operations.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::entry::Side;
use crate::money::{format_amount, Currency};
use crate::text::{echo, first_control_or_bidi, is_hidden};

/// Longest account code, in bytes.
///
/// Codes appear in every posting of every block, so they must stay short; 128
/// bytes still fits hierarchical names like "Expenses:Marketing:Online ads:EU".
pub const ACCOUNT_CODE_LEN_MAX: usize = 128;

/// Longest account name, in bytes. Names are shown in reports and stored in the
/// chart; a sentence is plenty, a document is not.
pub const ACCOUNT_NAME_LEN_MAX: usize = 256;

/// Longest sub-ledger tag, in bytes. The tag only says which subsidiary ledger
/// (customers, suppliers, a marketplace) details the account, so a short label.
pub const SUB_LEDGER_LEN_MAX: usize = 64;

/// Most accounts one ledger may hold.
///
/// The chart is part of the replicated state and of every state digest; a bound
/// keeps both cheap and stops a faulty client from growing it without end. Real
/// charts of accounts have hundreds of entries, not tens of thousands.
pub const ACCOUNTS_MAX: usize = 10_000;

/// A validated account code such as "1000" or "Assets:Bank:Checking".
///
/// Rules: 1..=[`ACCOUNT_CODE_LEN_MAX`] bytes; no control, invisible or
/// text-reordering characters; the only whitespace is the plain space, never at
/// either end and never two in a row. The rules exist so that two codes that
/// look the same on screen are the same code. It (de)serializes as a plain
/// string and deserialization validates.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct AccountCode(String);

// Written by hand so serializing (every posting of every hashed entry) does not allocate.
impl Serialize for AccountCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Why an account code was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AccountCodeError {
    /// Empty text.
    #[error("account code is empty")]
    Empty,
    /// Longer than [`ACCOUNT_CODE_LEN_MAX`] bytes.
    #[error("account code is {len} bytes long (at most {max})")]
    TooLong {
        /// Length of the rejected code in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A control, invisible, text-reordering or non-space whitespace character.
    #[error("account code '{text}' contains the forbidden character U+{:04X} (control, invisible and whitespace other than a plain space are not allowed)", u32::from(*.character))]
    ForbiddenCharacter {
        /// The rejected code, shortened and with hidden characters spelled out.
        text: String,
        /// The first offending character.
        character: char,
    },
    /// A space at the start or the end.
    #[error("account code '{text}' starts or ends with a space")]
    OuterSpace {
        /// The rejected code.
        text: String,
    },
    /// Two spaces in a row, which look like one.
    #[error("account code '{text}' contains two spaces in a row")]
    DoubleSpace {
        /// The rejected code.
        text: String,
    },
}

impl AccountCode {
    /// Validates `text` as an account code.
    pub fn new(text: &str) -> Result<AccountCode, AccountCodeError> {
        if text.is_empty() {
            return Err(AccountCodeError::Empty);
        }
        if text.len() > ACCOUNT_CODE_LEN_MAX {
            return Err(AccountCodeError::TooLong {
                len: text.len(),
                max: ACCOUNT_CODE_LEN_MAX,
            });
        }
        if let Some(character) = text
            .chars()
            .find(|&ch| is_hidden(ch) || (ch.is_whitespace() && ch != ' '))
        {
            return Err(AccountCodeError::ForbiddenCharacter {
                text: echo(text),
                character,
            });
        }
        if text.starts_with(' ') || text.ends_with(' ') {
            return Err(AccountCodeError::OuterSpace { text: echo(text) });
        }
        if text.contains("  ") {
            return Err(AccountCodeError::DoubleSpace { text: echo(text) });
        }
        Ok(AccountCode(text.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountCode {
    type Err = AccountCodeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AccountCode::new(text)
    }
}

impl TryFrom<String> for AccountCode {
    type Error = AccountCodeError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        AccountCode::new(&text)
    }
}

impl From<AccountCode> for String {
    fn from(code: AccountCode) -> String {
        code.0
    }
}

impl AsRef<str> for AccountCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The five classic account kinds. The kind decides the natural side of the
/// balance: assets and expenses grow with debits, the others with credits.
/// Serialized in lower case ("asset"), like `as_str`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// Things the business owns: bank, receivables, inventory.
    Asset,
    /// Things the business owes: payables, VAT due.
    Liability,
    /// The owners' stake, opening balances, and the FX trading account.
    Equity,
    /// Income: sales, shipping charged.
    Revenue,
    /// Costs: goods sold, fees, shipping paid.
    Expense,
}

/// A word that is not an account kind.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error(
    "unknown account kind '{given}' (expected one of: asset, liability, equity, revenue, expense)"
)]
pub struct ParseAccountKindError {
    /// The rejected word.
    pub given: String,
}

impl AccountKind {
    /// All kinds, in declaration order.
    pub const ALL: [AccountKind; 5] = [
        AccountKind::Asset,
        AccountKind::Liability,
        AccountKind::Equity,
        AccountKind::Revenue,
        AccountKind::Expense,
    ];

    /// The lower-case name: "asset", "liability", ...
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Asset => "asset",
            AccountKind::Liability => "liability",
            AccountKind::Equity => "equity",
            AccountKind::Revenue => "revenue",
            AccountKind::Expense => "expense",
        }
    }

    /// The side on which the balance normally stands: debit for assets and
    /// expenses, credit for liabilities, equity and revenue.
    pub fn normal_side(self) -> Side {
        match self {
            AccountKind::Asset | AccountKind::Expense => Side::Debit,
            AccountKind::Liability | AccountKind::Equity | AccountKind::Revenue => Side::Credit,
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountKind {
    type Err = ParseAccountKindError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| ParseAccountKindError { given: echo(text) })
    }
}

/// What a member of the network does. Roles decide who may post to which
/// account and who may change the chart; the chain's close policy names the
/// roles that sign off a period close. Serialized in lower case ("finance"),
/// like `as_str`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the system: may open and close accounts, does not post.
    Admin,
    /// The finance department: posts everywhere, opens and closes accounts.
    Finance,
    /// Books sales: receivables, revenue, output VAT, shipping income, returns.
    Sales,
    /// Books shipments: inventory, cost of goods sold, shipping expense.
    Logistics,
    /// Customer service: books returns and refunds.
    Service,
    /// Books stock movements: inventory and cost of goods sold.
    Warehouse,
    /// Reads everything, never posts, even where an account lists the role.
    Auditor,
    /// Posts everywhere, like finance, but does not administer the chart.
    Bookkeeper,
}

/// A word that is not a role.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown role '{given}' (expected one of: admin, finance, sales, logistics, service, warehouse, auditor, bookkeeper)")]
pub struct ParseRoleError {
    /// The rejected word.
    pub given: String,
}

impl Role {
    /// All roles, in declaration order.
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Finance,
        Role::Sales,
        Role::Logistics,
        Role::Service,
        Role::Warehouse,
        Role::Auditor,
        Role::Bookkeeper,
    ];

    /// The lower-case name: "admin", "finance", ...
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Sales => "sales",
            Role::Logistics => "logistics",
            Role::Service => "service",
            Role::Warehouse => "warehouse",
            Role::Auditor => "auditor",
            Role::Bookkeeper => "bookkeeper",
        }
    }

    /// Whether this role may open and close accounts.
    pub fn administers_chart(self) -> bool {
        matches!(self, Role::Admin | Role::Finance)
    }

    /// This role's bit in a [`RoleSet`]. Spelled out instead of using the
    /// enum's discriminant so that reordering the enum cannot silently change
    /// stored sets or state digests.
    fn bit(self) -> u16 {
        match self {
            Role::Admin => 1 << 0,
            Role::Finance => 1 << 1,
            Role::Sales => 1 << 2,
            Role::Logistics => 1 << 3,
            Role::Service => 1 << 4,
            Role::Warehouse => 1 << 5,
            Role::Auditor => 1 << 6,
            Role::Bookkeeper => 1 << 7,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| ParseRoleError { given: echo(text) })
    }
}

/// A set of roles, stored as a bit set.
///
/// It (de)serializes as a list of role names in role order (`["finance",
/// "sales"]`), which reads well in JSON and has only one encoding for each set;
/// duplicates in incoming lists are harmless and collapse.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Role>", into = "Vec<Role>")]
pub struct RoleSet(u16);

impl RoleSet {
    /// The empty set.
    pub const fn empty() -> RoleSet {
        RoleSet(0)
    }

    /// The set of the given roles.
    pub fn of(roles: &[Role]) -> RoleSet {
        roles.iter().copied().collect()
    }

    /// Every role. Note that [`Role::Auditor`] never posts even when listed.
    pub fn all() -> RoleSet {
        RoleSet::of(&Role::ALL)
    }

    /// Whether `role` is in the set.
    pub fn contains(&self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Adds `role`.
    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    /// Removes `role`.
    pub fn remove(&mut self, role: Role) {
        self.0 &= !role.bit();
    }

    /// Whether the set has no role.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in role order.
    pub fn iter(&self) -> impl Iterator<Item = Role> {
        let set = *self;
        Role::ALL
            .into_iter()
            .filter(move |role| set.contains(*role))
    }

    /// The raw bits (bit 0 admin ... bit 7 bookkeeper), used by the state digest.
    pub fn bits(&self) -> u16 {
        self.0
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(roles: I) -> Self {
        let mut set = RoleSet::empty();
        for role in roles {
            set.insert(role);
        }
        set
    }
}

impl From<Vec<Role>> for RoleSet {
    fn from(roles: Vec<Role>) -> Self {
        roles.into_iter().collect()
    }
}

impl From<RoleSet> for Vec<Role> {
    fn from(set: RoleSet) -> Self {
        set.iter().collect()
    }
}

impl fmt::Display for RoleSet {
    /// Role names joined by ", ", or "none".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (index, role) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(role.as_str())?;
        }
        Ok(())
    }
}

/// One account of the chart.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Account {
    /// The unique code postings refer to.
    pub code: AccountCode,
    /// A human name, 1..=[`ACCOUNT_NAME_LEN_MAX`] bytes, no control characters.
    pub name: String,
    /// Asset, liability, ...; decides the natural side of the balance.
    pub kind: AccountKind,
    /// Roles allowed to post here ([`Role::Auditor`] never posts).
    pub posting_roles: RoleSet,
    /// Which subsidiary ledger details this account, e.g. "customers".
    pub sub_ledger: Option<String>,
    /// The balance may never stand on the side opposite to the natural one: a
    /// bank account (debit-normal) may not have more credits than debits.
    pub no_negative: bool,
    /// Closed accounts refuse postings but keep their history.
    pub open: bool,
}

impl Account {
    /// An open account without sub-ledger and without the no-negative rule.
    pub fn new(
        code: AccountCode,
        name: &str,
        kind: AccountKind,
        posting_roles: RoleSet,
    ) -> Account {
        Account {
            code,
            name: name.to_owned(),
            kind,
            posting_roles,
            sub_ledger: None,
            no_negative: false,
            open: true,
        }
    }

    /// Whether `role` may post to this account. Auditors never post: their
    /// independence is the point of the role.
    pub fn allows(&self, role: Role) -> bool {
        role != Role::Auditor && self.posting_roles.contains(role)
    }

    /// Checks the free-text fields. The code was validated when it was made.
    pub fn validate(&self) -> Result<(), AccountError> {
        let code = || self.code.clone();
        if self.name.is_empty() {
            return Err(AccountError::NameEmpty { code: code() });
        }
        if self.name.len() > ACCOUNT_NAME_LEN_MAX {
            return Err(AccountError::NameTooLong {
                code: code(),
                len: self.name.len(),
                max: ACCOUNT_NAME_LEN_MAX,
            });
        }
        if let Some(character) = first_control_or_bidi(&self.name) {
            return Err(AccountError::NameForbiddenCharacter {
                code: code(),
                character,
            });
        }
        if let Some(tag) = &self.sub_ledger {
            if tag.is_empty() || tag.chars().any(|ch| is_hidden(ch) || ch.is_whitespace()) {
                return Err(AccountError::SubLedgerInvalid { code: code() });
            }
            if tag.len() > SUB_LEDGER_LEN_MAX {
                return Err(AccountError::SubLedgerTooLong {
                    code: code(),
                    len: tag.len(),
                    max: SUB_LEDGER_LEN_MAX,
                });
            }
        }
        Ok(())
    }
}

/// Why a chart-of-accounts operation was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AccountError {
    /// The code is already in the chart.
    #[error("account '{code}' already exists")]
    Duplicate {
        /// The duplicated code.
        code: AccountCode,
    },
    /// The code is not in the chart.
    #[error("unknown account '{code}'")]
    Unknown {
        /// The missing code.
        code: AccountCode,
    },
    /// Only admin and finance change the chart.
    #[error("role '{role}' may not open or close accounts (only admin and finance may)")]
    RoleNotAllowed {
        /// The refused role.
        role: Role,
    },
    /// The account is closed already.
    #[error("account '{code}' is already closed")]
    AlreadyClosed {
        /// The account.
        code: AccountCode,
    },
    /// Closing would hide money: the net balance in some currency is not zero.
    #[error("account '{code}' cannot be closed while it holds a balance ({currency} {} {side})", format_amount(*.amount, *.currency))]
    NonZeroBalance {
        /// The account.
        code: AccountCode,
        /// The first currency (in code order) with a balance.
        currency: Currency,
        /// The side the net balance stands on.
        side: Side,
        /// The net balance in minor units.
        amount: u128,
    },
    /// A new account must be open; opening a closed account makes no sense.
    #[error("account '{code}' is marked closed; a new account must be opened with open = true")]
    OpenedClosed {
        /// The account.
        code: AccountCode,
    },
    /// The chart is full.
    #[error("the chart may hold at most {max} accounts")]
    TooManyAccounts {
        /// The limit.
        max: usize,
    },
    /// An empty name.
    #[error("account '{code}' needs a name")]
    NameEmpty {
        /// The account.
        code: AccountCode,
    },
    /// A name longer than [`ACCOUNT_NAME_LEN_MAX`].
    #[error("the name of account '{code}' is {len} bytes long (at most {max})")]
    NameTooLong {
        /// The account.
        code: AccountCode,
        /// The name's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A control or text-reordering character in the name.
    #[error("the name of account '{code}' contains the forbidden character U+{:04X}", u32::from(*.character))]
    NameForbiddenCharacter {
        /// The account.
        code: AccountCode,
        /// The first offending character.
        character: char,
    },
    /// An empty sub-ledger tag, or one with whitespace or hidden characters.
    #[error("the sub-ledger tag of account '{code}' must be a non-empty word without spaces or control characters")]
    SubLedgerInvalid {
        /// The account.
        code: AccountCode,
    },
    /// A sub-ledger tag longer than [`SUB_LEDGER_LEN_MAX`].
    #[error("the sub-ledger tag of account '{code}' is {len} bytes long (at most {max})")]
    SubLedgerTooLong {
        /// The account.
        code: AccountCode,
        /// The tag's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> AccountCode {
        AccountCode::new(text).unwrap()
    }

    #[test]
    fn account_codes_accept_realistic_codes() {
        for text in [
            "1100",
            "Assets:Bank:Checking",
            "Expenses:Office supplies",
            "Büro:Miete",
            "a",
        ] {
            assert_eq!(code(text).as_str(), text);
            assert_eq!(code(text).to_string(), text);
        }
        assert!(AccountCode::new(&"x".repeat(ACCOUNT_CODE_LEN_MAX)).is_ok());
    }

    #[test]
    fn account_codes_refuse_bad_text_with_exact_messages() {
        assert_eq!(
            AccountCode::new("").unwrap_err().to_string(),
            "account code is empty"
        );
        assert_eq!(
            AccountCode::new(&"x".repeat(ACCOUNT_CODE_LEN_MAX + 1))
                .unwrap_err()
                .to_string(),
            "account code is 129 bytes long (at most 128)"
        );
        assert_eq!(
            AccountCode::new(" 1000").unwrap_err().to_string(),
            "account code ' 1000' starts or ends with a space"
        );
        assert_eq!(
            AccountCode::new("1000 ").unwrap_err(),
            AccountCodeError::OuterSpace {
                text: "1000 ".into()
            }
        );
        assert_eq!(
            AccountCode::new("a  b").unwrap_err().to_string(),
            "account code 'a  b' contains two spaces in a row"
        );
        assert_eq!(
            AccountCode::new("10\t00").unwrap_err().to_string(),
            "account code '10\\u{9}00' contains the forbidden character U+0009 (control, invisible and whitespace other than a plain space are not allowed)"
        );
        for bad in [
            "a\u{200B}b",
            "a\u{202E}b",
            "a\u{00A0}b",
            "a\nb",
            "a\u{3000}b",
        ] {
            assert!(
                matches!(
                    AccountCode::new(bad),
                    Err(AccountCodeError::ForbiddenCharacter { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn account_code_deserialization_validates() {
        let parsed: Result<AccountCode, _> = "1000".to_owned().try_into();
        assert_eq!(parsed, Ok(code("1000")));
        let parsed: Result<AccountCode, _> = " x".to_owned().try_into();
        assert!(parsed.is_err());
        assert_eq!(String::from(code("1000")), "1000");
    }

    #[test]
    fn kinds_parse_and_print() {
        for kind in AccountKind::ALL {
            assert_eq!(kind.as_str().parse::<AccountKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(
            "Asset".parse::<AccountKind>().unwrap_err().to_string(),
            "unknown account kind 'Asset' (expected one of: asset, liability, equity, revenue, expense)"
        );
        assert_eq!(AccountKind::Asset.normal_side(), Side::Debit);
        assert_eq!(AccountKind::Expense.normal_side(), Side::Debit);
        assert_eq!(AccountKind::Liability.normal_side(), Side::Credit);
        assert_eq!(AccountKind::Equity.normal_side(), Side::Credit);
        assert_eq!(AccountKind::Revenue.normal_side(), Side::Credit);
    }

    #[test]
    fn roles_parse_and_print() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(
            "cfo".parse::<Role>().unwrap_err().to_string(),
            "unknown role 'cfo' (expected one of: admin, finance, sales, logistics, service, warehouse, auditor, bookkeeper)"
        );
        assert!(Role::Admin.administers_chart());
        assert!(Role::Finance.administers_chart());
        assert!(!Role::Bookkeeper.administers_chart());
    }

    #[test]
    fn role_bits_are_distinct() {
        let mut seen = 0u16;
        for role in Role::ALL {
            assert_eq!(seen & role.bit(), 0);
            seen |= role.bit();
        }
        assert_eq!(RoleSet::all().bits(), seen);
    }

    #[test]
    fn role_sets_behave_like_sets() {
        let mut set = RoleSet::of(&[Role::Sales, Role::Finance, Role::Sales]);
        assert!(set.contains(Role::Sales));
        assert!(set.contains(Role::Finance));
        assert!(!set.contains(Role::Admin));
        assert_eq!(set.iter().collect::<Vec<_>>(), [Role::Finance, Role::Sales]);
        assert_eq!(set.to_string(), "finance, sales");
        set.insert(Role::Admin);
        set.remove(Role::Sales);
        assert_eq!(set.iter().collect::<Vec<_>>(), [Role::Admin, Role::Finance]);
        assert!(RoleSet::empty().is_empty());
        assert_eq!(RoleSet::default(), RoleSet::empty());
        assert_eq!(RoleSet::empty().to_string(), "none");
        assert_eq!(RoleSet::all().iter().count(), Role::ALL.len());
        let list: Vec<Role> = RoleSet::of(&[Role::Auditor, Role::Admin]).into();
        assert_eq!(list, [Role::Admin, Role::Auditor]);
        assert_eq!(
            RoleSet::from(vec![Role::Admin, Role::Admin]),
            RoleSet::of(&[Role::Admin])
        );
    }

    #[test]
    fn auditors_never_post() {
        let account = Account::new(code("1000"), "Bank", AccountKind::Asset, RoleSet::all());
        assert!(!account.allows(Role::Auditor));
        assert!(account.allows(Role::Finance));
        let narrow = Account::new(
            code("1000"),
            "Bank",
            AccountKind::Asset,
            RoleSet::of(&[Role::Finance]),
        );
        assert!(!narrow.allows(Role::Sales));
    }

    #[test]
    fn account_validation_messages() {
        let mut account = Account::new(code("1000"), "Bank", AccountKind::Asset, RoleSet::all());
        assert_eq!(account.validate(), Ok(()));
        account.name = String::new();
        assert_eq!(
            account.validate().unwrap_err().to_string(),
            "account '1000' needs a name"
        );
        account.name = "x".repeat(ACCOUNT_NAME_LEN_MAX + 1);
        assert_eq!(
            account.validate().unwrap_err().to_string(),
            "the name of account '1000' is 257 bytes long (at most 256)"
        );
        account.name = "Bank\u{202E}".into();
        assert_eq!(
            account.validate().unwrap_err().to_string(),
            "the name of account '1000' contains the forbidden character U+202E"
        );
        account.name = "Bank".into();
        account.sub_ledger = Some(String::new());
        assert_eq!(
            account.validate().unwrap_err().to_string(),
            "the sub-ledger tag of account '1000' must be a non-empty word without spaces or control characters"
        );
        account.sub_ledger = Some("x".repeat(SUB_LEDGER_LEN_MAX + 1));
        assert_eq!(
            account.validate().unwrap_err().to_string(),
            "the sub-ledger tag of account '1000' is 65 bytes long (at most 64)"
        );
        account.sub_ledger = Some("customers".into());
        assert_eq!(account.validate(), Ok(()));
    }
}
