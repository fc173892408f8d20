//! How fast fields seal and open: N customer records of 7 typical fields, sealed and opened with
//! one field key, then whole entries sealed together (one group per order) with a fresh field key each (one HPKE wrap per
//! order), then grant and seal-key wraps per second.
//!
//! `cargo run --release -p tally-privacy --example seal_speed [orders]`

use std::hint::black_box;
use std::time::Instant;

use tally_identity::SecretKey;
use tally_ledger::{Category, FieldName, SealedField};
use tally_privacy::rand_core::{Rng, SeedableRng};
use tally_privacy::{
    open, open_group, seal, seal_group, unwrap_field_key, unwrap_key, wrap_field_key, wrap_key,
    EpochSecret, FieldKey, GrantContext, SealContext, SealKeyContext, SealSecretKey, Sealer,
};

/// Orders sealed when no count is given.
const ORDERS_DEFAULT: usize = 20_000;

/// Wraps and unwraps timed.
const WRAPS: usize = 2_000;

/// The seed of every draw, so runs compare.
const SEED: u64 = 42;

/// A customer's record: name, e-mail, phone, address, city, zip, country.
fn record(index: usize) -> [(&'static str, String); 7] {
    [
        ("customer_name", format!("Customer Number {index}")),
        ("email", format!("customer{index}@example.com")),
        ("phone", format!("+49 30 {:08}", index)),
        (
            "address1",
            format!("{} Long Street, Building {}", index % 300, index % 7),
        ),
        ("city", "Berlin".to_owned()),
        ("zip", format!("{:05}", 10_000 + index % 90_000)),
        ("country", "DE".to_owned()),
    ]
}

fn main() {
    let orders: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(ORDERS_DEFAULT);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(SEED);
    let category = Category::customer_pii();
    let names: Vec<FieldName> = record(0)
        .iter()
        .map(|(name, _)| FieldName::new(name).unwrap())
        .collect();
    let records: Vec<_> = (0..orders).map(record).collect();
    let entry_ids: Vec<String> = (0..orders).map(|index| format!("order-{index}")).collect();
    let fields = orders * names.len();
    println!(
        "{orders} orders of {} fields ({fields} fields)",
        names.len()
    );

    // Seal and open with one field key: the symmetric cost alone.
    let key = FieldKey::generate(&mut rng);
    let started = Instant::now();
    let mut sealed: Vec<Vec<SealedField>> = Vec::with_capacity(orders);
    for (record, entry_id) in records.iter().zip(&entry_ids) {
        let context = SealContext {
            chain_id: "merchant",
            entry_id,
        };
        let order = record
            .iter()
            .zip(&names)
            .map(|((_, value), name)| seal(&key, &category, 1, &context, name, value).unwrap())
            .collect();
        sealed.push(order);
    }
    report("seal", fields, orders, started.elapsed().as_nanos());

    let started = Instant::now();
    for (order, entry_id) in sealed.iter().zip(&entry_ids) {
        let context = SealContext {
            chain_id: "merchant",
            entry_id,
        };
        for field in order {
            black_box(open(&key, field, &context).unwrap());
        }
    }
    report("open", fields, orders, started.elapsed().as_nanos());

    // The same fields sealed and opened together, one group per order.
    let started = Instant::now();
    let mut groups = Vec::with_capacity(orders);
    for (record, entry_id) in records.iter().zip(&entry_ids) {
        let context = SealContext {
            chain_id: "merchant",
            entry_id,
        };
        let fields: Vec<(FieldName, &str)> = record
            .iter()
            .zip(&names)
            .map(|((_, value), name)| (*name, value.as_str()))
            .collect();
        groups.push(seal_group(&key, &category, 1, &context, &fields).unwrap());
    }
    report("seal group", fields, orders, started.elapsed().as_nanos());
    let started = Instant::now();
    for (group, entry_id) in groups.iter().zip(&entry_ids) {
        let context = SealContext {
            chain_id: "merchant",
            entry_id,
        };
        black_box(open_group(&key, group, &context).unwrap());
    }
    report("open group", fields, orders, started.elapsed().as_nanos());

    // Whole entries: a fresh field key per order, wrapped to the epoch's public key.
    let epoch_secret = EpochSecret::generate(&mut rng);
    let epoch_public = epoch_secret.public_key();
    let seal_orders = |per_batch: usize, rng: &mut rand_chacha::ChaCha20Rng| {
        let mut entries = Vec::with_capacity(orders);
        for (batch, chunk) in records.chunks(per_batch).zip(entry_ids.chunks(per_batch)) {
            let mut sealer = Sealer::new("merchant");
            for (record, entry_id) in batch.iter().zip(chunk) {
                let fields: Vec<(FieldName, &str)> = record
                    .iter()
                    .zip(&names)
                    .map(|((_, value), name)| (*name, value.as_str()))
                    .collect();
                let (sealed, seal_key) = sealer
                    .seal_entry(entry_id, &epoch_public, &category, 1, &fields, rng)
                    .unwrap();
                entries.push((sealed, vec![seal_key]));
            }
        }
        entries
    };
    let started = Instant::now();
    let entries = seal_orders(1, &mut rng);
    report(
        "seal entry (+1 wrap)",
        fields,
        orders,
        started.elapsed().as_nanos(),
    );
    // As an importer seals: one field key per batch of 1,000 orders.
    let started = Instant::now();
    black_box(seal_orders(1000, &mut rng));
    report(
        "seal, 1 wrap per 1000",
        fields,
        orders,
        started.elapsed().as_nanos(),
    );

    let started = Instant::now();
    for ((order, seal_keys), entry_id) in entries.iter().zip(&entry_ids) {
        let context = SealContext {
            chain_id: "merchant",
            entry_id,
        };
        let key = unwrap_field_key(&seal_keys[0], &epoch_secret, "merchant").unwrap();
        black_box(open_group(&key, order, &context).unwrap());
    }
    report(
        "open entry (+1 unwrap)",
        fields,
        orders,
        started.elapsed().as_nanos(),
    );

    // Wraps alone.
    let member_secret = SecretKey::from_seed([rng.next_u32() as u8; 32]);
    let member = member_secret.public_key();
    let grant = GrantContext {
        chain_id: "merchant",
        category: &category,
        epoch: 1,
        epoch_key: &epoch_public,
        member: &member,
    };
    let started = Instant::now();
    let grants: Vec<_> = (0..WRAPS)
        .map(|_| wrap_key(&epoch_secret, &grant, &mut rng).unwrap())
        .collect();
    per_second("grant wrap", WRAPS, started.elapsed().as_nanos());
    let seal_secret = SealSecretKey::from_member(&member_secret);
    let started = Instant::now();
    for wrapped in &grants {
        black_box(unwrap_key(wrapped, &seal_secret, &grant).unwrap());
    }
    per_second("grant unwrap", WRAPS, started.elapsed().as_nanos());

    let seal_key_context = SealKeyContext {
        chain_id: "merchant",
        category: &category,
        epoch: 1,
    };
    let started = Instant::now();
    let seal_keys: Vec<_> = (0..WRAPS)
        .map(|_| wrap_field_key(&key, &epoch_public, &seal_key_context, &mut rng).unwrap())
        .collect();
    per_second("seal key wrap", WRAPS, started.elapsed().as_nanos());
    let started = Instant::now();
    for seal_key in &seal_keys {
        black_box(unwrap_field_key(seal_key, &epoch_secret, "merchant").unwrap());
    }
    per_second("seal key unwrap", WRAPS, started.elapsed().as_nanos());
}

fn report(what: &str, fields: usize, orders: usize, nanos: u128) {
    let seconds = nanos as f64 / 1e9;
    println!(
        "{what:<24} {:>12.0} fields/s {:>10.0} ns/order",
        fields as f64 / seconds,
        nanos as f64 / orders as f64
    );
}

fn per_second(what: &str, count: usize, nanos: u128) {
    let seconds = nanos as f64 / 1e9;
    println!(
        "{what:<24} {:>12.0} /s {:>16.0} ns each",
        count as f64 / seconds,
        nanos as f64 / count as f64
    );
}
