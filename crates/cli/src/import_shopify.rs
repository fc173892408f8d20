//! `tally import shopify`: books a Shopify order export, sealing each customer's personal data.
//!
//! Orders are read and checked whole (see `tally_formats::shopify`); each becomes a sale entry
//! and, if money was refunded, a refund entry. The customer's name, e-mail, address and phone
//! are sealed onto the sale entry under the chain's active customer-pii epoch: the importing
//! key needs only the epoch's public key, so it books what it cannot read. Entries go in signed
//! batches that never split an order, so an order is booked whole or not at all.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use tally_formats::shopify::{order_entries, read_orders};
use tally_identity::SecretKey;
use tally_ledger::{Category, EntryDraft, FieldName};
use tally_node::privacy::CategoryJson;
use tally_privacy::{EpochPublicKey, Sealer};

use crate::client::{get_json, runtime};
use crate::import::{
    entry_progress, submit_batches, HttpTarget, Target as _, IMPORT_BATCH_DEFAULT,
};
use crate::user_error;

/// Largest export read, in bytes: a year of a busy shop is far below; a larger file is
/// probably not an order export.
pub const SHOPIFY_FILE_BYTES_MAX: u64 = 1 << 30;

#[derive(Args)]
pub struct ShopifyArgs {
    /// The export, as Shopify's "Export orders" writes it.
    file: PathBuf,
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// The member key to sign with (its role must post to sales, receivables, VAT, shipping
    /// income, returns and payment clearing).
    #[arg(long)]
    key: PathBuf,
    /// Refuse the whole import if any order has a problem (nothing is submitted).
    #[arg(long)]
    strict: bool,
    /// Entries per signed batch (an order's entries always share one).
    #[arg(long, default_value_t = IMPORT_BATCH_DEFAULT)]
    batch: usize,
    /// Seconds to wait for each batch to become final.
    #[arg(long, default_value_t = 60)]
    wait: u64,
}

/// One order's entries (sale first) and its customer's fields, to be sealed onto the sale.
type Booking = (Vec<EntryDraft>, Vec<(FieldName, String)>);

/// `tally import shopify`.
pub fn run(args: ShopifyArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let shown = args.file.display().to_string();
    let file = std::fs::File::open(&args.file)
        .map_err(|error| user_error(format!("cannot read {shown}: {error}")))?;
    let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    if size > SHOPIFY_FILE_BYTES_MAX {
        return Err(user_error(format!(
            "{shown} is {size} bytes, more than the {SHOPIFY_FILE_BYTES_MAX} an order export may be"
        )));
    }
    if !(1..=tally_chain::BATCH_ENTRIES_MAX).contains(&args.batch) {
        return Err(user_error(format!(
            "--batch must be 1 to {}",
            tally_chain::BATCH_ENTRIES_MAX
        )));
    }
    let read = read_orders(std::io::BufReader::new(file))
        .map_err(|error| user_error(format!("{shown}: {error}")))?;
    for problem in &read.problems {
        match &problem.order {
            Some(order) => eprintln!(
                "{shown}:{}: order {order}: {}",
                problem.line, problem.message
            ),
            None => eprintln!("{shown}:{}: {}", problem.line, problem.message),
        }
    }
    if args.strict && !read.problems.is_empty() {
        return Err(user_error(format!(
            "{} order(s) of {shown} have problems; nothing was imported (--strict)",
            read.problems.len()
        )));
    }
    let mut orders: Vec<Booking> = Vec::new();
    for order in &read.orders {
        let entries = order_entries(order).map_err(|error| user_error(error.to_string()))?;
        if entries.is_empty() {
            continue;
        }
        let customer = order
            .customer
            .iter()
            .map(|(name, value)| Ok((FieldName::new(name)?, value.clone())))
            .collect::<Result<Vec<_>, tally_ledger::NameError>>()
            .map_err(|error| anyhow::anyhow!("customer field name: {error}"))?;
        orders.push((entries, customer));
    }
    let key = SecretKey::read_file(&args.key).map_err(|error| user_error(error.to_string()))?;
    let node = args.node.trim_end_matches('/').to_string();
    let skipped_orders = read.orders.len() - orders.len();
    let wait = Duration::from_secs(args.wait);
    let summary = runtime()?.block_on(async {
        let target = HttpTarget::connect(&node, &key).await?;
        let http = target.client().clone();
        let chain_id = target.chain_id().to_string();
        let (epoch, public) = active_pii_epoch(&http, &node, &chain_id).await?;
        let pii = Category::customer_pii();
        // Batches never split an order; each gets one field key (one key agreement per batch).
        let mut rng = tally_privacy::sealing_rng();
        let mut batches: Vec<Vec<EntryDraft>> = Vec::new();
        let mut pending: Vec<EntryDraft> = Vec::new();
        let mut sealer = Sealer::new(&chain_id);
        for (entries, customer) in orders {
            if !pending.is_empty() && pending.len() + entries.len() > args.batch {
                batches.push(std::mem::take(&mut pending));
                sealer = Sealer::new(&chain_id);
            }
            for (position, mut entry) in entries.into_iter().enumerate() {
                if position == 0 && !customer.is_empty() {
                    let (sealed, seal_key) = sealer
                        .seal_entry(entry.id.as_str(), &public, &pii, epoch, &customer, &mut rng)
                        .map_err(|error| user_error(format!("entry {}: {error}", entry.id)))?;
                    entry.sealed = tally_ledger::Sealed::Groups(vec![sealed]);
                    entry.seal_keys = vec![seal_key];
                }
                pending.push(entry);
            }
        }
        if !pending.is_empty() {
            batches.push(pending);
        }
        let total = batches.iter().map(Vec::len).sum::<usize>() as u64;
        let progress = entry_progress(total);
        let summary = submit_batches(&target, &key, batches, wait, &progress).await;
        progress.finish_and_clear();
        summary
    })?;
    println!(
        "{shown}: {} order(s) read, {} entries booked, {} already on the chain, {} order(s) with problems skipped, {skipped_orders} with nothing to book; {:.1} s",
        read.orders.len(),
        summary.imported,
        summary.present,
        read.problems.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The active customer-pii epoch of the chain and its public key, or why customer data cannot
/// be booked yet.
async fn active_pii_epoch(
    http: &reqwest::Client,
    node: &str,
    chain_id: &str,
) -> anyhow::Result<(u32, EpochPublicKey)> {
    let categories: Vec<CategoryJson> = get_json(http, &format!("{node}/v1/keys")).await?;
    let pii = Category::customer_pii();
    let (epoch, public) = categories
        .iter()
        .find(|category| category.category == pii.as_str())
        .and_then(|category| {
            let active = category.active?;
            let epoch = category.epochs.iter().find(|e| e.epoch == active)?;
            Some((active, epoch.public.clone()))
        })
        .ok_or_else(|| {
            user_error(format!(
                "{pii} has no open epoch on {chain_id}: an administrator opens one with `tally epoch open --category {pii}` before customer data can be booked"
            ))
        })?;
    let public = hex::decode(&public)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(EpochPublicKey::from_bytes)
        .ok_or_else(|| anyhow::anyhow!("the node sent a malformed epoch key"))?;
    Ok((epoch, public))
}
