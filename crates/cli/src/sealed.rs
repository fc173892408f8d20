//! Sealed fields from the command line: key epochs (`tally epoch ...`), reading sealed fields
//! (`tally read`), disclosing one field with proof (`tally disclosure check`), and the access
//! log (`tally access-log`).
//!
//! Keys never leave this process unwrapped: an administrator's epoch secret goes to the file
//! it names, a reader's epoch secrets live only in memory while it opens the fields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use tally_chain::{KeyChange, KeyGrant, ReadRecord, SignedTx, Transaction, TxBody};
use tally_identity::{PublicKey, SecretKey};
use tally_ledger::{Category, EntryId, FieldName};
use tally_node::privacy::{
    AccessLogJson, CategoryJson, ContractTermsJson, MemberJson, SealedReadJson,
};
use tally_node::wire::{CommittedEntryJson, SealedFieldJson, StatusJson};
use tally_privacy::{
    os_rng, unwrap_field_key_as_member, unwrap_key, wrap_key, Disclosure, EpochPublicKey,
    EpochSecret, FieldCommitment, GrantContext, Keyring, PartyContext, SealContext, SealSecretKey,
    WrappedKey, EPOCH_SECRET_BYTES,
};

use crate::client::{connect, get_json, read_key, runtime, send, KeyArg, Sent};
use crate::output::Format;
use crate::{audit::Damaged, user_error};

#[derive(Subcommand)]
pub enum EpochCommand {
    /// The key categories, their epochs and who holds each.
    List {
        #[arg(long)]
        node: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Open the next epoch of a category (rotation): a new key pair whose secret is granted to
    /// every active member whose role reads the category, and to the members named.
    Open {
        /// customer-pii, partner-banking, ...
        #[arg(long)]
        category: String,
        /// Where to keep the epoch secret (needed to grant it later; delete it to erase).
        #[arg(long)]
        out: PathBuf,
        /// More grantees (public keys in hex), e.g. an auditor.
        #[arg(long = "grant")]
        grants: Vec<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Grant an existing epoch to more members.
    Grant {
        #[arg(long)]
        category: String,
        #[arg(long)]
        epoch: u32,
        /// The epoch secret file written by `tally epoch open`.
        #[arg(long)]
        secret: PathBuf,
        /// Grantees (public keys in hex).
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Keep a member out of a category's later epochs (the current one is retired if it holds
    /// it; open a new epoch next).
    Revoke {
        #[arg(long)]
        category: String,
        /// The member's public key in hex.
        #[arg(long)]
        member: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Erase an epoch (right to be forgotten): its grants leave the chain's state and its fields
    /// can no longer be read; the secret file, if given, is deleted once the chain agreed.
    Erase {
        #[arg(long)]
        category: String,
        #[arg(long)]
        epoch: u32,
        #[arg(long)]
        secret: Option<PathBuf>,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// Who signs a key change and where it goes.
#[derive(Args)]
pub struct AdminArgs {
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// An administrator's member key.
    #[arg(long)]
    key: PathBuf,
    /// Seconds to wait for the change to become final.
    #[arg(long, default_value_t = 30)]
    wait: u64,
}

#[derive(Args)]
pub struct ReadArgs {
    /// The entry id.
    id: String,
    /// Fields to read (all the entry's sealed fields when left out).
    #[arg(long = "field")]
    fields: Vec<String>,
    #[arg(long)]
    node: String,
    /// The reader's member key.
    #[arg(long)]
    key: PathBuf,
    /// Write a disclosure of this field (value and salt, checkable against the chain by anyone).
    #[arg(long, requires = "out")]
    disclose: Option<String>,
    /// Where to write the disclosure.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// The id names a consortium contract: its private terms open with the key its parties'
    /// members were sent.
    #[arg(long)]
    contract: bool,
    /// With --contract: the consortium chain's id, on a node hosting several chains.
    #[arg(long, requires = "contract", default_value = tally_node::topology::CONSORTIUM_CHAIN)]
    chain: String,
}

#[derive(Subcommand)]
pub enum DisclosureCommand {
    /// Check a disclosed value against the commitment the chain recorded.
    Check {
        file: PathBuf,
        #[arg(long)]
        node: String,
        /// The disclosure is of a consortium contract's private term.
        #[arg(long)]
        contract: bool,
        /// With --contract: the consortium chain's id, on a node hosting several chains.
        #[arg(long, requires = "contract", default_value = tally_node::topology::CONSORTIUM_CHAIN)]
        chain: String,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Args)]
pub struct AccessLogArgs {
    #[arg(long)]
    node: String,
    // A member key of the admin or auditor role (default: the file in TALLY_KEY).
    #[command(flatten)]
    key: KeyArg,
    /// First block height (default: the last 1000 blocks).
    #[arg(long)]
    from: Option<u64>,
    /// Last block height (default: the tip).
    #[arg(long)]
    to: Option<u64>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn base(node: &str) -> String {
    node.trim_end_matches('/').to_string()
}

fn category_arg(text: &str) -> anyhow::Result<Category> {
    Category::new(text).map_err(|error| user_error(error.to_string()))
}

fn member_arg(text: &str) -> anyhow::Result<PublicKey> {
    text.parse()
        .map_err(|error| user_error(format!("'{text}' is not a member public key: {error}")))
}

fn hex_array<const N: usize>(what: &str, text: &str) -> anyhow::Result<[u8; N]> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or_else(|| anyhow::anyhow!("the node sent a malformed {what}"))
}

/// A category as the node reports it, or an error naming the ones it has.
fn find_category(categories: &[CategoryJson], category: &Category) -> anyhow::Result<CategoryJson> {
    categories
        .iter()
        .find(|known| known.category == category.as_str())
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = categories.iter().map(|c| c.category.as_str()).collect();
            user_error(format!(
                "unknown key category '{category}' (this chain has: {})",
                known.join(", ")
            ))
        })
}

fn write_secret(path: &Path, secret: &EpochSecret) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|error| user_error(format!("cannot create {}: {error}", path.display())))?;
    writeln!(file, "{}", hex::encode(secret.to_bytes()))?;
    file.sync_all()?;
    Ok(())
}

fn read_secret(path: &Path) -> anyhow::Result<EpochSecret> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| user_error(format!("cannot read {}: {error}", path.display())))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; EPOCH_SECRET_BYTES]>::try_from(bytes).ok())
        .ok_or_else(|| {
            user_error(format!(
                "{} is not an epoch secret ({EPOCH_SECRET_BYTES} bytes in hex)",
                path.display()
            ))
        })?;
    Ok(EpochSecret::from_bytes(bytes))
}

/// Wraps `secret` to each member for `category` epoch `epoch`.
fn grants_for(
    chain_id: &str,
    category: &Category,
    epoch: u32,
    secret: &EpochSecret,
    members: &[PublicKey],
) -> anyhow::Result<Vec<KeyGrant>> {
    let public = secret.public_key();
    let mut rng = os_rng();
    members
        .iter()
        .map(|member| {
            let context = GrantContext {
                chain_id,
                category,
                epoch,
                epoch_key: &public,
                member,
            };
            let wrapped = wrap_key(secret, &context, &mut rng)?;
            Ok(KeyGrant {
                member: *member,
                encapped: wrapped.encapped,
                wrapped: wrapped.ciphertext,
            })
        })
        .collect()
}

/// An administrator at a node: its key, the node and the chain, ready to send key changes.
struct Admin {
    http: reqwest::Client,
    node: String,
    key: SecretKey,
    chain_id: String,
    wait: u64,
}

impl AdminArgs {
    /// Reads the key, connects as it and learns the node's chain id.
    async fn connect(&self) -> anyhow::Result<Admin> {
        let node = base(&self.node);
        let key = read_key(&self.key)?;
        let http = connect(&node, &key, None).await?;
        let status: StatusJson = get_json(&http, &format!("{node}/v1/status")).await?;
        Ok(Admin {
            http,
            node,
            key,
            chain_id: status.chain_id,
            wait: self.wait,
        })
    }
}

impl Admin {
    /// Signs and sends a key change, waiting for it to be final; returns its height.
    async fn send(&self, change: KeyChange, what: &str) -> anyhow::Result<u64> {
        let tx = Transaction::Single(SignedTx::sign(
            &self.key,
            &self.chain_id,
            TxBody::Keys(change),
        ));
        let api = format!("{}/v1", self.node);
        match send(&self.http, &api, &tx, self.wait.max(1), what).await? {
            Sent::AlreadyCommitted { height } => Ok(height),
            Sent::Committed(status) => Ok(status.height.unwrap_or(0)),
            Sent::Accepted { .. } => unreachable!("send waits when wait > 0"),
        }
    }
}

pub fn epoch(command: EpochCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match command {
            EpochCommand::List { node, key } => {
                let node = base(&node);
                let http = connect(&node, &key.load()?, None).await?;
                let categories: Vec<CategoryJson> =
                    get_json(&http, &format!("{node}/v1/keys")).await?;
                let members: Vec<MemberJson> =
                    get_json(&http, &format!("{node}/v1/members")).await?;
                let names: BTreeMap<&str, &str> = members
                    .iter()
                    .map(|m| (m.key.as_str(), m.name.as_str()))
                    .collect();
                for category in &categories {
                    println!(
                        "{} (read by {}{})",
                        category.category,
                        category.readers.join(", "),
                        if category.epochs.is_empty() { "; no epoch yet" } else { "" }
                    );
                    for epoch in &category.epochs {
                        let holders: Vec<&str> = epoch
                            .grantees
                            .iter()
                            .map(|key| names.get(key.as_str()).copied().unwrap_or(key))
                            .collect();
                        println!(
                            "  epoch {} {:8} opened at height {}, held by: {}",
                            epoch.epoch,
                            epoch.status,
                            epoch.opened_at,
                            if holders.is_empty() { "nobody".to_string() } else { holders.join(", ") }
                        );
                    }
                }
                Ok(())
            }
            EpochCommand::Open {
                category,
                out,
                grants,
                admin,
            } => {
                let category = category_arg(&category)?;
                let admin = admin.connect().await?;
                let (http, node) = (&admin.http, &admin.node);
                let categories: Vec<CategoryJson> =
                    get_json(http, &format!("{node}/v1/keys")).await?;
                let known = find_category(&categories, &category)?;
                let members: Vec<MemberJson> =
                    get_json(http, &format!("{node}/v1/members")).await?;
                let mut grantees: Vec<PublicKey> = Vec::new();
                for member in &members {
                    let reads = known.readers.contains(&member.role);
                    if reads && !member.revoked && !known.revoked.contains(&member.key) {
                        grantees.push(member_arg(&member.key)?);
                    }
                }
                for extra in &grants {
                    let extra = member_arg(extra)?;
                    if !grantees.contains(&extra) {
                        grantees.push(extra);
                    }
                }
                let epoch = known.epochs.len() as u32;
                let secret = EpochSecret::generate(&mut os_rng());
                let keys = grants_for(&admin.chain_id, &category, epoch, &secret, &grantees)?;
                // The secret is on disk before the chain knows the epoch: no epoch without it.
                write_secret(&out, &secret)?;
                let change = KeyChange::OpenEpoch {
                    category,
                    epoch,
                    public: secret.public_key().to_bytes(),
                    grants: keys,
                };
                let what = format!("{category} epoch {epoch}");
                match admin.send(change, &what).await
                {
                    Ok(height) => {
                        let names: Vec<&str> = members
                            .iter()
                            .filter(|m| grantees.iter().any(|g| g.to_string() == m.key))
                            .map(|m| m.name.as_str())
                            .collect();
                        println!(
                            "{what} opened at height {height}; granted to: {}; secret kept in {}",
                            if names.is_empty() { "nobody".to_string() } else { names.join(", ") },
                            out.display()
                        );
                        Ok(())
                    }
                    Err(error) => {
                        let _ = std::fs::remove_file(&out);
                        Err(error)
                    }
                }
            }
            EpochCommand::Grant {
                category,
                epoch,
                secret,
                members,
                admin,
            } => {
                let category = category_arg(&category)?;
                let admin = admin.connect().await?;
                let (http, node) = (&admin.http, &admin.node);
                let secret = read_secret(&secret)?;
                let categories: Vec<CategoryJson> =
                    get_json(http, &format!("{node}/v1/keys")).await?;
                let known = find_category(&categories, &category)?;
                let on_chain = known
                    .epochs
                    .iter()
                    .find(|e| e.epoch == epoch)
                    .ok_or_else(|| user_error(format!("{category} has no epoch {epoch}")))?;
                if hex::encode(secret.public_key().to_bytes()) != on_chain.public {
                    return Err(user_error(format!(
                        "that file is not the secret of {category} epoch {epoch}"
                    )));
                }
                let members: Vec<PublicKey> =
                    members.iter().map(|m| member_arg(m)).collect::<Result<_, _>>()?;
                let keys = grants_for(&admin.chain_id, &category, epoch, &secret, &members)?;
                let change = KeyChange::Grant {
                    category,
                    epoch,
                    grants: keys,
                };
                let what = format!("grant of {category} epoch {epoch}");
                let height =
                    admin.send(change, &what).await?;
                println!("{what} to {} member(s) committed at height {height}", members.len());
                Ok(())
            }
            EpochCommand::Revoke {
                category,
                member,
                admin,
            } => {
                let category = category_arg(&category)?;
                let member = member_arg(&member)?;
                let admin = admin.connect().await?;
                let change = KeyChange::RevokeReader {
                    category,
                    member,
                };
                let what = format!("revocation of {member} from {category}");
                let height =
                    admin.send(change, &what).await?;
                println!("{what} committed at height {height}; open a new epoch so that new fields are sealed without it");
                Ok(())
            }
            EpochCommand::Erase {
                category,
                epoch,
                secret,
                admin,
            } => {
                let category = category_arg(&category)?;
                let admin = admin.connect().await?;
                let change = KeyChange::EraseEpoch {
                    category,
                    epoch,
                };
                let what = format!("erasure of {category} epoch {epoch}");
                let height =
                    admin.send(change, &what).await?;
                if let Some(secret) = &secret {
                    std::fs::remove_file(secret).map_err(|error| {
                        anyhow::anyhow!(
                            "{what} committed at height {height}, but {} could not be deleted: {error}",
                            secret.display()
                        )
                    })?;
                }
                println!("{what} committed at height {height}; its fields can no longer be read");
                Ok(())
            }
        }
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// Reads sealed fields of an entry: signs the read, which the node records on the chain, then
/// unwraps this member's epoch secrets and opens the fields.
pub fn read(args: ReadArgs) -> anyhow::Result<()> {
    if args.contract {
        return read_contract(args);
    }
    let key = read_key(&args.key)?;
    let entry_id = EntryId::new(&args.id).map_err(|error| user_error(error.to_string()))?;
    let node = base(&args.node);
    runtime()?.block_on(async move {
        let http = connect(&node, &key, None).await?;
        let status: StatusJson = get_json(&http, &format!("{node}/v1/status")).await?;
        let entry: CommittedEntryJson =
            get_json(&http, &format!("{node}/v1/entries/{entry_id}")).await?;
        let parse = |name: &String| {
            FieldName::new(name)
                .map_err(|error| anyhow::anyhow!("the node sent a bad field name: {error}"))
        };
        let groups: Vec<Vec<FieldName>> = entry
            .entry
            .sealed_groups
            .iter()
            .map(|group| group.names.iter().map(parse).collect())
            .collect::<anyhow::Result<_>>()?;
        let asked: Vec<FieldName> = if args.fields.is_empty() {
            let mut names: Vec<FieldName> = entry
                .entry
                .sealed
                .iter()
                .map(|field| parse(&field.name))
                .collect::<anyhow::Result<_>>()?;
            names.extend(groups.iter().flatten().copied());
            if names.is_empty() {
                return Err(user_error(format!(
                    "entry '{entry_id}' has no sealed fields"
                )));
            }
            names
        } else {
            args.fields
                .iter()
                .map(|name| FieldName::new(name).map_err(|error| user_error(error.to_string())))
                .collect::<Result<_, _>>()?
        };
        // A group opens whole, so the read records every field of the groups it opens: the
        // access log names all that this client decrypts, though it shows only what was asked.
        let mut names: Vec<FieldName> = Vec::with_capacity(asked.len());
        for name in &asked {
            let opened = groups
                .iter()
                .find(|group| group.contains(name))
                .map_or(std::slice::from_ref(name), Vec::as_slice);
            for name in opened {
                if !names.contains(name) {
                    names.push(*name);
                }
            }
        }
        let record = ReadRecord {
            entry: entry_id.clone(),
            fields: names,
            at_ms: now_ms(),
        };
        let tx = Transaction::Single(SignedTx::sign(&key, &status.chain_id, TxBody::Read(record)));
        let response = http
            .post(format!("{node}/v1/reads"))
            .json(&tx)
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("cannot reach {node}: {error}"))?;
        if !response.status().is_success() {
            return Err(crate::client::error_of(response).await);
        }
        let answer: SealedReadJson = response.json().await?;
        let opened = open_answer(&status.chain_id, &key, &answer, &asked)?;
        show_opened(&args, entry_id.as_str(), &opened)?;
        eprintln!("read recorded on the chain (transaction {})", answer.logged);
        Ok(())
    })
}

/// A field read: its name, its value and salt, and, for a field sealed in a group, the
/// commitments of the group's fields, which a disclosure of it carries.
struct ReadField {
    name: FieldName,
    opened: tally_privacy::Opened,
    group: Vec<FieldCommitment>,
}

/// Prints opened fields and writes the disclosure asked for.
fn show_opened(args: &ReadArgs, id: &str, opened: &[ReadField]) -> anyhow::Result<()> {
    if let (Some(name), Some(out)) = (&args.disclose, &args.out) {
        let field = opened
            .iter()
            .find(|field| field.name.as_str() == name)
            .ok_or_else(|| user_error(format!("'{name}' is not among the fields read")))?;
        let disclosure = Disclosure {
            group: field.group.clone(),
            ..Disclosure::new(id, &field.name, &field.opened)
        };
        std::fs::write(out, serde_json::to_string_pretty(&disclosure)? + "\n")
            .map_err(|error| user_error(format!("cannot write {}: {error}", out.display())))?;
        eprintln!("disclosure of '{name}' written to {}", out.display());
    }
    if args.json {
        let map: BTreeMap<&str, &str> = opened
            .iter()
            .map(|field| (field.name.as_str(), field.opened.value.as_str()))
            .collect();
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        for field in opened {
            println!("{}: {}", field.name, field.opened.value);
        }
    }
    Ok(())
}

/// Opens a consortium contract's private terms with the member's party key.
fn read_contract(args: ReadArgs) -> anyhow::Result<()> {
    let key = read_key(&args.key)?;
    let member = key.public_key();
    let node = base(&args.node);
    let api = format!("{node}/v1/chains/{}", args.chain);
    runtime()?.block_on(async {
        let http = connect(&node, &key, Some(&args.chain)).await?;
        let status: StatusJson = get_json(&http, &format!("{api}/status")).await?;
        let terms: ContractTermsJson =
            get_json(&http, &format!("{api}/contracts/{}/sealed", args.id)).await?;
        if terms.sealed.is_empty() {
            return Err(user_error(format!("contract '{}' has no sealed terms", args.id)));
        }
        let secret = SealSecretKey::from_member(&key);
        let context = PartyContext {
            chain_id: &status.chain_id,
            contract_id: &args.id,
            member: &member,
        };
        let seal_context = SealContext {
            chain_id: &status.chain_id,
            entry_id: &args.id,
        };
        let mut opened = Vec::new();
        for sealing in &terms.sealed {
            let held = sealing
                .keys
                .iter()
                .find(|held| held.member == member.to_string())
                .ok_or_else(|| {
                    user_error(format!(
                        "not authorised for the private terms of contract '{}': member {member} holds no key (its parties are {})",
                        args.id,
                        terms.parties.join(", ")
                    ))
                })?;
            let wrapped = WrappedKey {
                encapped: hex_array("party key", &held.encapped)?,
                ciphertext: hex::decode(&held.wrapped)
                    .map_err(|_| anyhow::anyhow!("the node sent a malformed party key"))?,
            };
            let field_key = unwrap_field_key_as_member(&wrapped, &secret, &context)
                .map_err(|error| user_error(error.to_string()))?;
            for field in &sealing.fields {
                let field = field
                    .to_field()
                    .map_err(|error| anyhow::anyhow!("the node sent a bad field: {error}"))?;
                if !args.fields.is_empty() && !args.fields.iter().any(|f| f == field.name.as_str()) {
                    continue;
                }
                let value = tally_privacy::open(&field_key, &field, &seal_context)
                    .map_err(|error| user_error(error.to_string()))?;
                opened.push(ReadField {
                    name: field.name,
                    opened: value,
                    group: Vec::new(),
                });
            }
        }
        show_opened(&args, &args.id, &opened)
    })
}

/// Unwraps the grants of an answer with the reader's key and opens the fields `asked` for: those
/// sealed one by one, and those of the groups that hold them (a group opens whole; only the
/// fields asked for, which the read records, are kept).
fn open_answer(
    chain_id: &str,
    key: &SecretKey,
    answer: &SealedReadJson,
    asked: &[FieldName],
) -> anyhow::Result<Vec<ReadField>> {
    let member = key.public_key();
    let seal_secret = SealSecretKey::from_member(key);
    let mut keyring = Keyring::new();
    for grant in &answer.grants {
        let category = Category::new(&grant.category)
            .map_err(|error| anyhow::anyhow!("the node sent a bad category: {error}"))?;
        let public = EpochPublicKey::from_bytes(hex_array("epoch key", &grant.public)?);
        let wrapped = WrappedKey {
            encapped: hex_array("grant", &grant.encapped)?,
            ciphertext: hex::decode(&grant.wrapped)
                .map_err(|_| anyhow::anyhow!("the node sent a malformed grant"))?,
        };
        let context = GrantContext {
            chain_id,
            category: &category,
            epoch: grant.epoch,
            epoch_key: &public,
            member: &member,
        };
        let secret = unwrap_key(&wrapped, &seal_secret, &context)
            .map_err(|error| user_error(format!("{category} epoch {}: {error}", grant.epoch)))?;
        keyring.insert(category, grant.epoch, secret);
    }
    let seal_keys = answer
        .seal_keys
        .iter()
        .map(|key| {
            key.to_key()
                .map_err(|error| anyhow::anyhow!("bad seal key: {error}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let context = SealContext {
        chain_id,
        entry_id: &answer.entry,
    };
    let mut read = answer
        .fields
        .iter()
        .map(|field: &SealedFieldJson| {
            let field = field
                .to_field()
                .map_err(|error| anyhow::anyhow!("the node sent a bad field: {error}"))?;
            let opened = keyring
                .open(&seal_keys, &field, &context)
                .map_err(|error| user_error(error.to_string()))?;
            Ok(ReadField {
                name: field.name,
                opened,
                group: Vec::new(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for group in &answer.groups {
        let group = group
            .to_group()
            .map_err(|error| anyhow::anyhow!("the node sent a bad group of fields: {error}"))?;
        let fields = keyring
            .open_group(&seal_keys, &group, &context)
            .map_err(|error| user_error(error.to_string()))?;
        let commitments: Vec<FieldCommitment> = fields
            .iter()
            .map(|field| FieldCommitment(field.commitment))
            .collect();
        for field in fields {
            if asked.contains(&field.name) {
                read.push(ReadField {
                    name: field.name,
                    opened: field.opened,
                    group: commitments.clone(),
                });
            }
        }
    }
    Ok(read)
}

pub fn disclosure(command: DisclosureCommand) -> anyhow::Result<()> {
    let DisclosureCommand::Check {
        file,
        node,
        contract,
        chain,
        key,
    } = command;
    let key = key.load()?;
    let text = std::fs::read_to_string(&file)
        .map_err(|error| user_error(format!("cannot read {}: {error}", file.display())))?;
    let disclosure: Disclosure = serde_json::from_str(&text)
        .map_err(|error| user_error(format!("{} is not a disclosure: {error}", file.display())))?;
    let node = base(&node);
    runtime()?.block_on(async move {
        let http = connect(&node, &key, contract.then_some(chain.as_str())).await?;
        let (fields, groups, place) = if contract {
            let terms: ContractTermsJson = get_json(
                &http,
                &format!(
                    "{node}/v1/chains/{chain}/contracts/{}/sealed",
                    disclosure.entry_id
                ),
            )
            .await?;
            let fields: Vec<SealedFieldJson> = terms
                .sealed
                .into_iter()
                .flat_map(|sealing| sealing.fields)
                .collect();
            (
                fields,
                Vec::new(),
                "sealed on the consortium chain".to_string(),
            )
        } else {
            let entry: CommittedEntryJson =
                get_json(&http, &format!("{node}/v1/entries/{}", disclosure.entry_id)).await?;
            (
                entry.entry.sealed,
                entry.entry.sealed_groups,
                format!("committed at height {}", entry.height),
            )
        };
        let what = if contract { "contract" } else { "entry" };
        let name = disclosure.name.as_str();
        if let Some(field) = fields.iter().find(|field| field.name == name) {
            let field = field
                .to_field()
                .map_err(|error| anyhow::anyhow!("the node sent a bad field: {error}"))?;
            disclosure
                .check(&field)
                .map_err(|error| Damaged(error.to_string()))?;
        } else if let Some(group) = groups
            .iter()
            .find(|group| group.names.iter().any(|field| field == name))
        {
            let group = group
                .to_group()
                .map_err(|error| anyhow::anyhow!("the node sent a bad group of fields: {error}"))?;
            disclosure
                .check_group(&group)
                .map_err(|error| Damaged(error.to_string()))?;
        } else {
            return Err(Damaged(format!(
                "{what} '{}' has no sealed field '{name}'",
                disclosure.entry_id
            ))
            .into());
        }
        println!(
            "verified: field '{}' of {what} '{}' ({place}) is {:?}",
            disclosure.name, disclosure.entry_id, disclosure.value
        );
        Ok(())
    })
}

pub fn access_log(args: AccessLogArgs) -> anyhow::Result<()> {
    let node = base(&args.node);
    let key = args.key.load()?;
    let mut query = Vec::new();
    if let Some(from) = args.from {
        query.push(format!("from={from}"));
    }
    if let Some(to) = args.to {
        query.push(format!("to={to}"));
    }
    runtime()?.block_on(async move {
        let http = connect(&node, &key, None).await?;
        let log: AccessLogJson =
            get_json(&http, &format!("{node}/v1/reads?{}", query.join("&"))).await?;
        match args.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&log)?),
            Format::Csv => {
                println!("height,time_ms,read_at_ms,reader,reader_name,reader_role,entry,fields");
                for read in &log.reads {
                    println!(
                        "{},{},{},{},{},{},{},{}",
                        read.height,
                        read.time_ms,
                        read.read_at_ms,
                        read.reader,
                        crate::output::csv_field(&read.reader_name),
                        read.reader_role,
                        crate::output::csv_field(&read.entry),
                        crate::output::csv_field(&read.fields.join(" "))
                    );
                }
            }
            Format::Table => {
                println!(
                    "reads recorded in blocks {} to {}: {}",
                    log.from,
                    log.to,
                    log.reads.len()
                );
                for read in &log.reads {
                    println!(
                        "  height {:>6}  {} ({})  read {}  of entry {}",
                        read.height,
                        read.reader_name,
                        read.reader_role,
                        read.fields.join(", "),
                        read.entry
                    );
                }
            }
        }
        Ok(())
    })
}
