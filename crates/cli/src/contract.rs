//! `tally contract`: a member signs a consortium contract call (propose, confirm, ship, settle, a
//! governance approval, ...) and submits it to a node hosting the consortium chain; or reads one
//! contract and its events back.
//!
//! The call is the JSON form of [`ContractCall`], e.g.
//! `{"confirm_trade": {"id": "t-1"}}`. The consortium checks who may sign it and from which
//! state; a refusal comes back as the contract's own message.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use tally_chain::{SignedTx, Transaction, TxBody};
use tally_contracts::{ContractCall, ContractId, PartyKey, SealedTerms};
use tally_identity::PublicKey;
use tally_ledger::{Category, FieldName};
use tally_node::privacy::MemberJson;
use tally_node::topology::CONSORTIUM_CHAIN;
use tally_node::wire::ContractDetailJson;
use tally_privacy::{seal, wrap_field_key_for_member, FieldKey, PartyContext, SealContext};

use crate::client::{connect, get_json, print_sent, read_key, runtime, send, KeyArg};
use crate::output::Format;
use crate::user_error;

/// Longest contract call file read: the largest call (a trade of many lines with sealed
/// terms) is far below it.
const CALL_FILE_BYTES_MAX: u64 = 1024 * 1024;

#[derive(Subcommand)]
pub enum ContractCommand {
    /// Sign a contract call (JSON) with a member key and submit it to the consortium chain.
    Call(CallArgs),
    /// A contract's state and its events, oldest first.
    Show(ShowArgs),
    /// Attach private terms to a contract (a delivery address, bank details): sealed so that
    /// only the members of its parties read them; everyone else sees their commitments.
    SealTerms(SealTermsArgs),
}

/// Where a signed call goes and who signs it.
#[derive(Args)]
pub struct Signing {
    /// A node's API hosting the consortium chain, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// The member key (of the consortium chain) to sign with.
    #[arg(long)]
    key: PathBuf,
    /// The consortium chain's id.
    #[arg(long, default_value = CONSORTIUM_CHAIN)]
    chain: String,
    /// Seconds to wait for the call to become final (0: do not wait).
    #[arg(long, default_value_t = 30)]
    wait: u64,
}

impl Signing {
    /// Signs `call` and sends it; `what` names it in messages.
    async fn send(
        &self,
        client: &reqwest::Client,
        key: &tally_identity::SecretKey,
        call: ContractCall,
        what: &str,
    ) -> anyhow::Result<()> {
        let tx = Transaction::Single(SignedTx::sign(key, &self.chain, TxBody::Contract(call)));
        let api = format!("{}/v1/chains/{}", self.base(), self.chain);
        let sent = send(client, &api, &tx, self.wait, what).await?;
        print_sent(what, &sent);
        Ok(())
    }

    fn base(&self) -> String {
        self.node.trim_end_matches('/').to_string()
    }
}

#[derive(Args)]
pub struct SealTermsArgs {
    #[command(flatten)]
    signing: Signing,
    /// A field to seal, NAME=VALUE (repeatable), e.g. delivery_address="Hauptstr. 1, Berlin".
    #[arg(long = "field", value_name = "NAME=VALUE", required = true)]
    fields: Vec<String>,
    /// The contract's id.
    id: String,
}

#[derive(Args)]
pub struct CallArgs {
    #[command(flatten)]
    signing: Signing,
    /// The call, as JSON, e.g. {"confirm_trade": {"id": "t-1"}} (see README).
    call: PathBuf,
}

#[derive(Args)]
pub struct ShowArgs {
    /// A node's API hosting the consortium chain.
    #[arg(long)]
    node: String,
    #[command(flatten)]
    key: KeyArg,
    /// The consortium chain's id.
    #[arg(long, default_value = CONSORTIUM_CHAIN)]
    chain: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The contract's id.
    id: String,
}

pub fn run(command: ContractCommand) -> anyhow::Result<()> {
    match command {
        ContractCommand::Call(args) => call(args),
        ContractCommand::Show(args) => show(args),
        ContractCommand::SealTerms(args) => seal_terms(args),
    }
}

/// Reads a contract call from `path`.
fn read_call(path: &std::path::Path) -> anyhow::Result<ContractCall> {
    let cannot_read =
        |error: std::io::Error| user_error(format!("cannot read {}: {error}", path.display()));
    let len = std::fs::metadata(path).map_err(cannot_read)?.len();
    if len > CALL_FILE_BYTES_MAX {
        return Err(user_error(format!(
            "{} is {len} bytes long; a contract call is at most {CALL_FILE_BYTES_MAX}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(cannot_read)?;
    serde_json::from_str(&text).map_err(|error| {
        user_error(format!(
            "{} is not a valid contract call: {error}",
            path.display()
        ))
    })
}

/// How messages name a call: its kind and what it is about, e.g. "confirm_trade t-1".
fn describe(call: &ContractCall) -> String {
    let value = serde_json::to_value(call).expect("a contract call serialises");
    let Some((kind, body)) = value.as_object().and_then(|object| object.iter().next()) else {
        return "contract call".into();
    };
    let subject = body
        .get("id")
        .or_else(|| body.get("chain_id"))
        .and_then(|subject| subject.as_str());
    match subject {
        Some(subject) => format!("{kind} {subject}"),
        None => kind.clone(),
    }
}

fn call(args: CallArgs) -> anyhow::Result<()> {
    let call = read_call(&args.call)?;
    let signing = &args.signing;
    let key = read_key(&signing.key)?;
    let what = describe(&call);
    runtime()?.block_on(async move {
        let client = connect(&signing.base(), &key, Some(&signing.chain)).await?;
        signing.send(&client, &key, call, &what).await
    })
}

fn show(args: ShowArgs) -> anyhow::Result<()> {
    let id = ContractId::new(&args.id).map_err(|error| user_error(format!("{error}")))?;
    let key = args.key.load()?;
    let base = args.node.trim_end_matches('/').to_string();
    let detail: ContractDetailJson = runtime()?.block_on(async {
        let client = connect(&base, &key, Some(&args.chain)).await?;
        get_json(
            &client,
            &format!("{base}/v1/chains/{}/contracts/{id}", args.chain),
        )
        .await
    })?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&detail)?),
        Format::Csv => {
            println!("height,time_ms,event,state,signer,member,enterprise,role,tx_hash");
            for event in &detail.events {
                let field =
                    |text: &Option<String>| crate::output::csv_field(text.as_deref().unwrap_or(""));
                println!(
                    "{},{},{},{},{},{},{},{},{}",
                    event.height,
                    event.time_ms,
                    event.event,
                    field(&event.state),
                    event.signer,
                    field(&event.member),
                    field(&event.enterprise),
                    field(&event.role),
                    event.tx_hash
                );
            }
        }
        Format::Table => {
            let contract = &detail.contract;
            println!(
                "{} {}: {} (parties {}; {} {}{})",
                contract.kind,
                contract.id,
                contract.state,
                contract.parties.join(", "),
                contract.amount,
                contract.currency,
                contract
                    .trade
                    .as_ref()
                    .map(|trade| format!("; for trade {trade}"))
                    .unwrap_or_default()
            );
            println!("{:>8}  {:<22} {:<12} signer", "height", "event", "state");
            for event in &detail.events {
                let signer = match (&event.member, &event.enterprise) {
                    (Some(member), Some(enterprise)) => format!("{member} ({enterprise})"),
                    (Some(member), None) => member.clone(),
                    _ => event.signer.clone(),
                };
                println!(
                    "{:>8}  {:<22} {:<12} {signer}",
                    event.height,
                    event.event,
                    event.state.as_deref().unwrap_or("-")
                );
            }
            if !detail.events_complete {
                println!("(older events not searched: the contract's history is longer than the search bound)");
            }
        }
    }
    Ok(())
}

/// Parses `NAME=VALUE`.
fn parse_field(text: &str) -> anyhow::Result<(FieldName, String)> {
    let (name, value) = text.split_once('=').ok_or_else(|| {
        user_error(format!(
            "--field {text}: expected NAME=VALUE, e.g. delivery_address=\"Hauptstr. 1, Berlin\""
        ))
    })?;
    let name =
        FieldName::new(name).map_err(|error| user_error(format!("--field {name}: {error}")))?;
    if value.is_empty() {
        return Err(user_error(format!("--field {name}: the value is empty")));
    }
    Ok((name, value.to_string()))
}

fn seal_terms(args: SealTermsArgs) -> anyhow::Result<()> {
    let id = ContractId::new(&args.id).map_err(|error| user_error(format!("{error}")))?;
    let fields = args
        .fields
        .iter()
        .map(|text| parse_field(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let signing = &args.signing;
    let key = read_key(&signing.key)?;
    let api = format!("{}/v1/chains/{}", signing.base(), signing.chain);
    runtime()?.block_on(async move {
        let client = connect(&signing.base(), &key, Some(&signing.chain)).await?;
        let detail: ContractDetailJson =
            get_json(&client, &format!("{api}/contracts/{id}")).await?;
        let parties = &detail.contract.parties;
        let members: Vec<MemberJson> = get_json(&client, &format!("{api}/members")).await?;
        // Every active member of every party reads the terms; the chain refuses any other.
        let readers = members
            .iter()
            .filter(|member| {
                !member.revoked
                    && member
                        .enterprise
                        .as_ref()
                        .is_some_and(|enterprise| parties.contains(enterprise))
            })
            .map(|member| {
                member.key.parse::<PublicKey>().map_err(|error| {
                    anyhow::anyhow!("the node sent a malformed member key: {error}")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut rng = tally_privacy::sealing_rng();
        let field_key = FieldKey::generate(&mut rng);
        let seal_context = SealContext {
            chain_id: &signing.chain,
            entry_id: id.as_str(),
        };
        let sealed = fields
            .iter()
            .map(|(name, value)| {
                seal(
                    &field_key,
                    &Category::contract_private(),
                    0,
                    &seal_context,
                    name,
                    value,
                )
                .map_err(|error| user_error(error.to_string()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let keys = readers
            .iter()
            .map(|member| {
                let context = PartyContext {
                    chain_id: &signing.chain,
                    contract_id: id.as_str(),
                    member,
                };
                let wrapped = wrap_field_key_for_member(&field_key, &context, &mut rng)
                    .map_err(|error| anyhow::anyhow!("member {member}: {error}"))?;
                Ok(PartyKey {
                    member: *member,
                    encapped: wrapped.encapped,
                    wrapped: wrapped.ciphertext,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let what = format!("seal_terms {id}");
        let call = ContractCall::SealTerms {
            id: id.clone(),
            terms: SealedTerms {
                fields: sealed,
                keys,
            },
        };
        signing.send(&client, &key, call, &what).await?;
        println!(
            "  {} field(s) readable by {} member(s) of {}",
            fields.len(),
            readers.len(),
            parties.join(" and ")
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_named_by_its_kind_and_subject() {
        let confirm: ContractCall =
            serde_json::from_str(r#"{"confirm_trade": {"id": "t-1"}}"#).expect("a call");
        assert_eq!(describe(&confirm), "confirm_trade t-1");
        let anchor = ContractCall::Anchor {
            chain_id: "merchant".into(),
            height: 5,
            block_hash: [0; 32],
        };
        assert_eq!(describe(&anchor), "anchor merchant");
    }
}
