//! Sealed customer data end to end, through the real binary on a devnet of 4 processes: a
//! Shopify export is booked with its customers' data sealed by a key that cannot read it; the
//! readers the policy names read it (and every read is on the chain); others are refused; a
//! disclosed field checks against the chain and a forged one does not; rotation and erasure
//! behave, and the erased chain still passes the offline audit.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use tally_chain::{ReadRecord, SignedTx, Transaction, TxBody};
use tally_ledger::{EntryId, FieldName};
use tally_node::privacy::AccessLogJson;
use tally_node::wire::TrialBalanceJson;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../formats/tests/data/shopify-orders.csv"
);
const PII: &str = "customer-pii";
const LONG: Duration = Duration::from_secs(90);

fn ok(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", describe(output));
    stdout_of(output)
}

fn refused(output: &std::process::Output, expected: &str) {
    assert_exit(output, 2, expected);
}

fn read_as(devnet: &Devnet, member: &str, entry: &str, extra: &[&str]) -> std::process::Output {
    run(
        tally()
            .args(["read", entry, "--node", &devnet.api(0), "--key"])
            .arg(devnet.key(member))
            .args(extra),
        LONG,
    )
}

fn epoch(devnet: &Devnet, args: &[&str]) -> std::process::Output {
    run(
        tally()
            .arg("epoch")
            .args(args)
            .args(["--node", &devnet.api(0), "--key"])
            .arg(devnet.key("admin")),
        LONG,
    )
}

fn import(devnet: &Devnet) -> std::process::Output {
    run(
        tally()
            .args([
                "import",
                "shopify",
                SAMPLE,
                "--node",
                &devnet.api(1),
                "--key",
            ])
            .arg(devnet.key("client")),
        LONG,
    )
}

/// Net balance (debit positive) per (account, currency), in minor units.
fn net(lines: &[TrialBalanceJson]) -> BTreeMap<(String, String), i128> {
    let minor = |text: &str| -> i128 { text.replace('.', "").parse().unwrap() };
    lines
        .iter()
        .map(|line| {
            let key = (line.account.clone(), line.currency.clone());
            (key, minor(&line.debit) - minor(&line.credit))
        })
        .filter(|(_, amount)| *amount != 0)
        .collect()
}

fn secret(devnet: &Devnet, epoch: u32) -> PathBuf {
    devnet.root.join(format!("{PII}-{epoch}.secret"))
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn sealed_customer_data_end_to_end() {
    let mut devnet = Devnet::start("privacy");

    // No epoch yet: customer data cannot be booked, and nothing is.
    refused(&import(&devnet), "customer-pii has no open epoch");

    // The administrator opens epoch 0: granted to logistics and customer service, not finance.
    let out = ok(&epoch(
        &devnet,
        &[
            "open",
            "--category",
            PII,
            "--out",
            path_str(&secret(&devnet, 0)),
        ],
    ));
    assert!(out.contains("customer-pii epoch 0 opened"), "{out}");
    assert!(
        out.contains("logistics") && out.contains("service"),
        "{out}"
    );
    assert!(!out.contains("finance"), "{out}");

    // The client key (finance) books the export, sealing what it cannot read.
    let out = ok(&import(&devnet));
    assert!(out.contains("8 order(s) read, 9 entries booked"), "{out}");
    // Again: nothing is booked twice.
    let out = ok(&import(&devnet));
    assert!(
        out.contains("0 entries booked, 9 already on the chain"),
        "{out}"
    );

    // The books are exactly the export's (worked out by hand in the formats crate's tests).
    let tb: Vec<TrialBalanceJson> = devnet
        .http
        .get(&devnet.url(2, "/v1/reports/trial-balance"))
        .unwrap()
        .json();
    let expected: BTreeMap<(String, String), i128> = [
        ("1400", "EUR", 19_068),
        ("1100", "EUR", 11_400),
        ("4000", "EUR", -27_690),
        ("4100", "EUR", -2_160),
        ("2100", "EUR", -5_261),
        ("4900", "EUR", 4_643),
        ("1400", "JPY", 8_280),
        ("4000", "JPY", -6_800),
        ("4100", "JPY", -800),
        ("2100", "JPY", -680),
        ("1100", "USD", 2_997),
        ("4000", "USD", -2_997),
    ]
    .into_iter()
    .map(|(account, currency, amount)| ((account.to_owned(), currency.to_owned()), amount))
    .collect();
    assert_eq!(net(&tb), expected);

    // The entry as anyone sees it: ciphertext and commitments, no customer data.
    let entry = devnet
        .http
        .get(&devnet.url(0, "/v1/entries/shopify:1001:sale"))
        .unwrap();
    assert!(!entry.body.contains("Anna"), "{}", entry.body);
    assert!(entry.body.contains("\"sealed_groups\""), "{}", entry.body);

    // Logistics reads the customer's address; the read is recorded on the chain.
    let out = ok(&read_as(&devnet, "logistics", "shopify:1001:sale", &[]));
    assert!(out.contains("customer_name: Anna Becker"), "{out}");
    assert!(out.contains("address1: Hauptstraße 5, Hinterhaus"), "{out}");
    assert!(out.contains("email: anna.becker@example.de"), "{out}");

    // Finance is not authorised, and gets a clear refusal, never garbage.
    refused(
        &read_as(&devnet, "client", "shopify:1001:sale", &[]),
        "not authorised for customer-pii (epoch 0)",
    );
    refused(
        &read_as(
            &devnet,
            "finance",
            "shopify:1001:sale",
            &["--field", "email"],
        ),
        "not authorised for customer-pii (epoch 0)",
    );

    // Reads that are not what they claim are refused with their own codes, and not recorded.
    let logistics = read_key(&devnet.key("logistics"));
    let chain_id = devnet.status(0).unwrap().chain_id;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // The order's customer fields are sealed together: a read names all of them.
    let customer = "customer_name email address1 city zip country phone";
    let signed_read = |entry: &str, fields: &str, at_ms: u64| {
        Transaction::Single(SignedTx::sign(
            &logistics,
            &chain_id,
            TxBody::Read(ReadRecord {
                entry: EntryId::new(entry).unwrap(),
                fields: fields
                    .split(' ')
                    .map(|field| FieldName::new(field).unwrap())
                    .collect(),
                at_ms,
            }),
        ))
    };
    let reads_url = devnet.url(0, "/v1/reads");
    let post_read = |tx: &Transaction| devnet.http.post_json(&reads_url, tx).unwrap();
    post_read(&signed_read(
        "shopify:1001:sale",
        "city",
        now_ms - 10 * 60 * 1000,
    ))
    .expect_error("an old read", 400, "stale_read", "sign a new read");
    post_read(&signed_read("shopify:1001:sale", "iban", now_ms)).expect_error(
        "a field the entry does not have",
        404,
        "not_found",
        "entry 'shopify:1001:sale' has no sealed field 'iban'",
    );
    post_read(&signed_read("shopify:9999:sale", "city", now_ms)).expect_error(
        "an entry that does not exist",
        404,
        "not_found",
        "no entry 'shopify:9999:sale'",
    );
    post_read(&signed_read("shopify:1001:sale", "city zip", now_ms)).expect_error(
        "a read of part of a group sealed together",
        422,
        "partial_group",
        "field 'city' of entry 'shopify:1001:sale' is sealed together with customer_name, email, address1, city, zip, country, phone: a group opens whole, so the read must name all of them",
    );
    let once = signed_read("shopify:1001:sale", customer, now_ms);
    assert_eq!(post_read(&once).status, 200);
    post_read(&once).expect_error(
        "the same signed read again",
        409,
        "read_replayed",
        "sign a new one",
    );
    let Transaction::Single(mut forged) = signed_read("shopify:1001:sale", customer, now_ms + 1)
    else {
        unreachable!()
    };
    forged.signer = read_key(&devnet.key("service")).public_key();
    post_read(&Transaction::Single(forged)).expect_error(
        "a read signed by someone else than it names",
        400,
        "bad_signature",
        "",
    );

    // The access log shows who read what.
    // The CLI's read and the one signed read above; none of the refused ones.
    let log: AccessLogJson = wait_for("both reads in the access log", LONG, || {
        // The access log is for admins and auditors; the devnet's client is finance.
        let auditor = format!("Bearer {}", devnet.token("auditor"));
        let log: AccessLogJson = devnet
            .http
            .get_with_authorization(&devnet.url(3, "/v1/reads"), Some(&auditor))?
            .json();
        if log.reads.len() < 2 {
            Err(format!("{} read(s) recorded", log.reads.len()))
        } else {
            Ok(log)
        }
    });
    assert_eq!(log.reads.len(), 2, "{log:?}");
    assert_eq!(log.reads[0].reader_name, "logistics");
    assert_eq!(log.reads[0].entry, "shopify:1001:sale");
    assert!(log.reads[0].fields.contains(&"address1".to_string()));
    let out = ok(&run(
        tally()
            .args(["access-log", "--node", &devnet.api(2)])
            .env("TALLY_KEY", devnet.key("admin")),
        LONG,
    ));
    assert!(out.contains("logistics (logistics)"), "{out}");

    // Customer service discloses one field to someone without the key, who checks it.
    let disclosure = devnet.root.join("email.disclosure.json");
    let out = ok(&read_as(
        &devnet,
        "service",
        "shopify:1002:sale",
        &[
            "--field",
            "email",
            "--disclose",
            "email",
            "--out",
            path_str(&disclosure),
        ],
    ));
    // The customer's fields are sealed together and open together, but only the field asked
    // for (the one the read records) is shown, and disclosed with the group's commitments.
    assert!(
        out.contains("email: ") && !out.contains("customer_name"),
        "{out}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&disclosure).unwrap()).unwrap();
    assert_eq!(
        written["group"].as_array().map(Vec::len),
        Some(7),
        "{written}"
    );
    let check = |file: &Path| {
        run(
            tally()
                .args(["disclosure", "check"])
                .arg(file)
                .args(["--node", &devnet.api(3)])
                .arg("--key")
                .arg(devnet.key("client")),
            LONG,
        )
    };
    let out = ok(&check(&disclosure));
    assert!(
        out.contains("verified: field 'email' of entry 'shopify:1002:sale'"),
        "{out}"
    );
    let mut forged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&disclosure).unwrap()).unwrap();
    forged["value"] = serde_json::Value::String("someone.else@example.com".into());
    let forged_file = devnet.root.join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let output = check(&forged_file);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));

    // Rotation: epoch 1 takes new fields; epoch 0 stays readable until it is erased.
    let out = ok(&epoch(
        &devnet,
        &[
            "open",
            "--category",
            PII,
            "--out",
            path_str(&secret(&devnet, 1)),
        ],
    ));
    assert!(out.contains("customer-pii epoch 1 opened"), "{out}");
    ok(&read_as(
        &devnet,
        "service",
        "shopify:1003:sale",
        &["--field", "city"],
    ));

    // Erasure: the fields of epoch 0 can no longer be read by anyone, and the secret is gone.
    let out = ok(&epoch(
        &devnet,
        &[
            "erase",
            "--category",
            PII,
            "--epoch",
            "0",
            "--secret",
            path_str(&secret(&devnet, 0)),
        ],
    ));
    assert!(
        out.contains("erasure of customer-pii epoch 0 committed"),
        "{out}"
    );
    assert!(!secret(&devnet, 0).exists());
    refused(
        &read_as(&devnet, "logistics", "shopify:1001:sale", &[]),
        "customer-pii epoch 0 was erased",
    );
    let out = ok(&run(
        tally()
            .args(["epoch", "list", "--node", &devnet.api(1), "--key"])
            .arg(devnet.key("admin")),
        LONG,
    ));
    assert!(out.contains("epoch 0 erased"), "{out}");
    assert!(out.contains("epoch 1 active"), "{out}");

    // The chain still verifies end to end after the erasure.
    devnet.wait_all_height(devnet.status(0).unwrap().height + 1, LONG);
    devnet.kill_node(3);
    let output = run(
        tally()
            .arg("verify")
            .arg("--data")
            .arg(devnet.net_dir().join(NAMES[3]).join("data"))
            .arg("--genesis")
            .arg(devnet.net_dir().join("genesis.json"))
            .arg("--quiet"),
        LONG,
    );
    let out = ok(&output);
    assert!(out.contains("no problems found"), "{out}");
}
