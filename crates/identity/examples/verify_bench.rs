//! Times single signature verification against `verify_many`.
//!
//! Run with `cargo run -p tally-identity --release --example verify_bench`.
//! Two workloads: every signature by a different key (the worst case for
//! `verify_many`), and a block-like one where 20 members sign everything.

use std::time::Instant;

use tally_identity::{verify_many, Domain, PublicKey, SecretKey, Signature, SignatureCheck};

/// Signatures per run: about one large block's worth of transactions.
const COUNT: usize = 10_000;
/// Signers in the block-like workload.
const FEW_SIGNERS: usize = 20;
const CHAIN: &str = "tally-bench";

fn main() {
    run(COUNT);
    run(FEW_SIGNERS);
}

fn run(signers: usize) {
    println!("{COUNT} signatures by {signers} distinct keys:");
    let secrets: Vec<SecretKey> = (0..signers)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            SecretKey::from_seed(seed)
        })
        .collect();
    let mut keys: Vec<PublicKey> = Vec::with_capacity(COUNT);
    let mut messages: Vec<Vec<u8>> = Vec::with_capacity(COUNT);
    let mut signatures: Vec<Signature> = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let secret = &secrets[i % signers];
        // A message about the size of an encoded transaction.
        let message =
            format!("{i:08}: debit 4000 sales, credit 1200 receivables, 129.99 EUR, order #{i}")
                .into_bytes();
        signatures.push(secret.sign(Domain::Transaction, CHAIN, &message));
        keys.push(secret.public_key());
        messages.push(message);
    }
    let checks: Vec<SignatureCheck<'_>> = (0..COUNT)
        .map(|i| SignatureCheck {
            key: &keys[i],
            domain: Domain::Transaction,
            chain_id: CHAIN,
            message: &messages[i],
            signature: &signatures[i],
        })
        .collect();

    let start = Instant::now();
    for check in &checks {
        if let Err(error) = check.verify() {
            eprintln!("single verification failed: {error}");
            std::process::exit(1);
        }
    }
    let single = start.elapsed();

    let start = Instant::now();
    if let Err(error) = verify_many(&checks) {
        eprintln!("batch verification failed: {error}");
        std::process::exit(1);
    }
    let batch = start.elapsed();

    let single_rate = COUNT as f64 / single.as_secs_f64();
    let batch_rate = COUNT as f64 / batch.as_secs_f64();
    println!(
        "  single:      {:>8.1} ms = {single_rate:>9.0} ops/s",
        single.as_secs_f64() * 1e3
    );
    println!(
        "  verify_many: {:>8.1} ms = {batch_rate:>9.0} ops/s",
        batch.as_secs_f64() * 1e3
    );
    println!("  verify_many is {:.2}x single", batch_rate / single_rate);
}
