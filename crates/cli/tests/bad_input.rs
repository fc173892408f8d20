//! End to end: every kind of bad input, through the HTTP API and the `tally` CLI, against a
//! devnet of real `tally node` processes. Each gets the documented status, code and message,
//! nothing changes on the chain, and the nodes keep running.

mod common;

use std::process::Output;
use std::time::Duration;

use common::*;
use tally_chain::Transaction;
use tally_identity::{ApiToken, Signature};
use tally_node::wire::{ClosingsJson, EntryJson, PostingJson, SubmitJson, TrialBalanceJson};

fn posting(account: &str, debit: Option<&str>, credit: Option<&str>) -> PostingJson {
    PostingJson {
        account: account.to_string(),
        debit: debit.map(str::to_string),
        credit: credit.map(str::to_string),
        currency: "EUR".to_string(),
    }
}

fn entry(id: &str, postings: Vec<PostingJson>) -> EntryJson {
    EntryJson {
        id: id.to_string(),
        date: DATE.to_string(),
        description: format!("bad input {id}"),
        postings,
        references: Vec::new(),
        reverses: None,
        sealed: Vec::new(),
        sealed_groups: Vec::new(),
        seal_keys: Vec::new(),
    }
}

/// Asserts a CLI run failed with exit 2 and exactly one stderr line "error: ..." containing each
/// of `fragments`, and printed nothing on stdout.
fn expect_cli_user_error(what: &str, output: &Output, fragments: &[&str]) {
    let stderr = stderr_of(output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{what}: {}",
        describe(output)
    );
    assert!(
        stderr.starts_with("error: ") && stderr.trim_end().lines().count() == 1,
        "{what}: stderr should be one line starting 'error: ': {}",
        describe(output)
    );
    for fragment in fragments {
        assert!(
            stderr.contains(fragment),
            "{what}: stderr should contain {fragment:?}: {}",
            describe(output)
        );
    }
    assert!(
        output.stdout.is_empty(),
        "{what}: nothing on stdout: {}",
        describe(output)
    );
}

/// Replaces the signature of a transaction by one with a byte flipped.
fn flip_signature(tx: &Transaction) -> Transaction {
    let flip = |signature: &Signature| {
        let mut bytes = signature.to_bytes();
        bytes[17] ^= 0x01;
        Signature::from_bytes(&bytes)
    };
    match tx.clone() {
        Transaction::Single(mut single) => {
            single.signature = flip(&single.signature);
            Transaction::Single(single)
        }
        Transaction::Batch(mut batch) => {
            batch.signature = flip(&batch.signature);
            Transaction::Batch(batch)
        }
    }
}

fn assert_not_found(devnet: &Devnet, id: &str) {
    let reply = devnet
        .http
        .get(&devnet.url(0, &format!("/v1/entries/{id}")))
        .unwrap();
    reply.expect_error(&format!("GET /v1/entries/{id}"), 404, "not_found", id);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let started = std::time::Instant::now();
    let mut devnet = Devnet::start("bad-input");
    let status = devnet.status(0).unwrap();
    assert_eq!(status.chain_id, "merchant-private");
    let chain_id = status.chain_id.clone();
    let client = read_key(&devnet.key("client"));

    // Two good entries first: one through the CLI, one over HTTP (kept for the replay).
    let first = sale("sale-1", 10_000);
    let output = devnet.submit_cli(0, "client", &first);
    assert!(
        output.status.success()
            && stdout_of(&output).starts_with("entry sale-1 committed at height "),
        "{}",
        describe(&output)
    );
    let second = sale("sale-2", 25_050);
    let second_tx = sign_single(&client, &chain_id, &second);
    let second_height = devnet.post_and_commit(1, &second_tx, Duration::from_secs(30));

    // The baseline every refusal is checked against.
    devnet.wait_all_entries(2, Duration::from_secs(30));
    let baseline = devnet.status(0).unwrap();
    let baseline_balance = sorted(devnet.trial_balance_http(0));
    assert_eq!(
        baseline_balance,
        expected_trial_balance(&[first.clone(), second.clone()])
    );
    let tx_urls: Vec<String> = (0..VALIDATORS)
        .map(|index| devnet.url(index, "/v1/transactions"))
        .collect();
    let url = |index: usize| tx_urls[index].clone();

    // --- HTTP: bodies that are not a transaction --------------------------------------------
    let reply = devnet
        .http
        .post(
            &url(0),
            Some("application/json"),
            b"{\"Single\": {\"body\": ".to_vec(),
        )
        .unwrap();
    reply.expect_error("malformed JSON", 400, "malformed_request", "");
    let reply = devnet
        .http
        .post(
            &url(1),
            Some("application/json"),
            b"not json at all".to_vec(),
        )
        .unwrap();
    reply.expect_error("not JSON", 400, "malformed_request", "");
    let reply = devnet
        .http
        .post(
            &url(2),
            Some("application/json"),
            br#"{"hello": "world"}"#.to_vec(),
        )
        .unwrap();
    reply.expect_error("JSON of the wrong shape", 422, "malformed_request", "");
    let reply = devnet
        .http
        .post(
            &url(3),
            Some("application/json"),
            br#"{"Single": {"body": {"Post": 7}}}"#.to_vec(),
        )
        .unwrap();
    reply.expect_error(
        "a transaction with a wrong field type",
        422,
        "malformed_request",
        "",
    );
    let reply = devnet
        .http
        .post(&url(0), Some("application/json"), Vec::new())
        .unwrap();
    reply.expect_error("empty body", 400, "malformed_request", "");
    let body = serde_json::to_vec(&second_tx).unwrap();
    let reply = devnet.http.post(&url(0), None, body).unwrap();
    reply.expect_error("no content type", 415, "malformed_request", "");

    // --- HTTP: well-formed, correctly signed, but breaking a rule --------------------------
    let unknown = entry(
        "unknown-account-1",
        vec![
            posting("1100", Some("10.00"), None),
            posting("9999", None, Some("10.00")),
        ],
    );
    devnet
        .post_tx(1, &sign_single(&client, &chain_id, &unknown))
        .expect_error(
            "unknown account",
            422,
            "unknown_account",
            "unknown account '9999'",
        );

    let unbalanced = entry(
        "unbalanced-1",
        vec![
            posting("1100", Some("100.00"), None),
            posting("4000", None, Some("99.00")),
        ],
    );
    devnet
        .post_tx(2, &sign_single(&client, &chain_id, &unbalanced))
        .expect_error(
            "unbalanced entry",
            422,
            "unbalanced",
            "unbalanced: EUR debits 100.00, credits 99.00",
        );
    let output = devnet.submit_cli(3, "client", &unbalanced);
    expect_cli_user_error(
        "tally submit of an unbalanced entry",
        &output,
        &[
            "unbalanced: EUR debits 100.00, credits 99.00",
            "(unbalanced)",
        ],
    );

    // The bank account may not go below zero.
    let overdraft = entry(
        "overdraft-1",
        vec![
            posting("5000", Some("50.00"), None),
            posting("1000", None, Some("50.00")),
        ],
    );
    devnet
        .post_tx(3, &sign_single(&client, &chain_id, &overdraft))
        .expect_error(
            "bank overdraft",
            422,
            "rule_violated",
            "account '1000' may not go below zero in EUR",
        );

    // A batch whose second entry is bad is refused as a whole (the first is not committed).
    let bad_batch = vec![sale("batch-good-1", 1_000), unknown.clone()];
    devnet
        .post_tx(0, &sign_batch(&client, &chain_id, &bad_batch))
        .expect_error(
            "batch with a bad entry",
            422,
            "unknown_account",
            "entry 1 of the batch",
        );

    // Batches that break the batch rules.
    devnet
        .post_tx(1, &sign_batch(&client, &chain_id, &[]))
        .expect_error("an empty batch", 422, "rule_violated", "batch is empty");
    let twice = vec![sale("batch-twice-1", 100), sale("batch-twice-1", 100)];
    // Regression: this was reported as "already committed" though nothing was.
    devnet
        .post_tx(2, &sign_batch(&client, &chain_id, &twice))
        .expect_error(
        "a batch with one id twice",
        422,
        "duplicate_in_transaction",
        "entry 1 of the batch: entry id 'batch-twice-1' appears more than once in this transaction",
    );
    let too_many: Vec<EntryJson> = (0..=tally_chain::BATCH_ENTRIES_MAX)
        .map(|i| sale(&format!("batch-big-{i}"), 100))
        .collect();
    devnet
        .post_tx(3, &sign_batch(&client, &chain_id, &too_many))
        .expect_error(
            "a batch over the entry limit",
            422,
            "rule_violated",
            "batch has 8193 entries, more than the limit of 8192",
        );

    // Roles: the sales member may not post to inventory, nor close a period.
    let sales_key = read_key(&devnet.key("sales"));
    let stock = entry(
        "stock-1",
        vec![
            posting("1200", Some("10.00"), None),
            posting("3000", None, Some("10.00")),
        ],
    );
    devnet
        .post_tx(0, &sign_single(&sales_key, &chain_id, &stock))
        .expect_error(
            "sales posting to inventory",
            403,
            "not_allowed",
            "role 'sales' may not post to account",
        );
    let close = Transaction::Single(tally_chain::SignedTx::sign(
        &sales_key,
        &chain_id,
        tally_chain::TxBody::ClosePeriod(tally_chain::CloseSignOff {
            through: tally_ledger::Date::parse(DATE).unwrap(),
            trial_balance: Vec::new(),
        }),
    ));
    // Regression: role refusals of administrative transactions used to be 422 rule_violated.
    devnet.post_tx(1, &close).expect_error(
        "sales closing a period",
        403,
        "not_allowed",
        "role 'sales' may not sign off a period close (the close policy names: finance)",
    );

    // --- Period close: reports, closings and sign-offs that do not hold ----------------------
    let get = |path: &str| devnet.http.get(&devnet.url(2, path)).unwrap();
    let reply = get("/v1/reports/trial-balance?as_of=2026-11-23");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json::<Vec<TrialBalanceJson>>(), Vec::new());
    let reply = get(&format!("/v1/reports/trial-balance?as_of={DATE}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(sorted(reply.json()), baseline_balance);
    get("/v1/reports/trial-balance?as_of=2026-02-30").expect_error(
        "trial balance as of a day that does not exist",
        400,
        "malformed_request",
        "as_of: day 30 does not exist in 2026-02 (it has 28 days)",
    );
    get("/v1/closings/2026-11").expect_error(
        "a closing date that is not a date",
        400,
        "malformed_request",
        "through: invalid date '2026-11'",
    );
    get("/v1/closings/2026-11-30").expect_error(
        "a close that never happened",
        404,
        "not_found",
        "no close through 2026-11-30; see /v1/closings",
    );
    let reply = get("/v1/closings");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json::<ClosingsJson>(),
        ClosingsJson {
            policy: vec!["finance".into()],
            pending: None,
            closings: Vec::new()
        }
    );
    // Finance signing a trial balance other than the books': refused, nothing changes.
    let wrong = Transaction::Single(tally_chain::SignedTx::sign(
        &client,
        &chain_id,
        tally_chain::TxBody::ClosePeriod(tally_chain::CloseSignOff {
            through: tally_ledger::Date::parse("2026-11-30").unwrap(),
            trial_balance: Vec::new(),
        }),
    ));
    devnet.post_tx(3, &wrong).expect_error(
        "a sign-off of the wrong trial balance",
        409,
        "trial_balance_differs",
        "the trial balance signed off through 2026-11-30 differs from the books at account '1100' \
         in EUR; sign the trial balance as of 2026-11-30 again",
    );
    let close_period = |through: &str, key: &str| {
        run(
            tally()
                .args([
                    "close-period",
                    "--wait",
                    "5",
                    "--through",
                    through,
                    "--node",
                ])
                .arg(devnet.api(0))
                .arg("--key")
                .arg(devnet.key(key)),
            Duration::from_secs(40),
        )
    };
    expect_cli_user_error(
        "tally close-period through a day that does not exist",
        &close_period("2026-13-01", "client"),
        &["error: --through: month 13 does not exist (1 to 12)"],
    );
    expect_cli_user_error(
        "tally close-period with the sales key",
        &close_period("2026-11-30", "sales"),
        &["error: role 'sales' may not sign off a period close (the close policy names: finance) (not_allowed)"],
    );

    // --- CLI: amounts the client refuses, or the node refuses ------------------------------
    let zero = entry(
        "zero-1",
        vec![
            posting("1100", Some("0.00"), None),
            posting("4000", None, Some("0.00")),
        ],
    );
    let output = devnet.submit_cli(0, "client", &zero);
    expect_cli_user_error("tally submit of a zero amount", &output, &["zero amount"]);
    let negative = entry(
        "negative-1",
        vec![
            posting("1100", Some("-5.00"), None),
            posting("4000", None, Some("-5.00")),
        ],
    );
    let output = devnet.submit_cli(1, "client", &negative);
    expect_cli_user_error(
        "tally submit of a negative amount",
        &output,
        &["posting 0", "'-5.00' is negative"],
    );
    let decimals = entry(
        "decimals-1",
        vec![
            posting("1100", Some("1.005"), None),
            posting("4000", None, Some("1.005")),
        ],
    );
    let output = devnet.submit_cli(2, "client", &decimals);
    expect_cli_user_error(
        "tally submit of too many decimals",
        &output,
        &["too many decimal places for EUR: '1.005'"],
    );
    // Not an entry at all, and a file that does not exist.
    let path = devnet.write_entry(&serde_json::json!({"id": "x", "postings": "none"}));
    let output = run(
        &mut devnet.submit_command(3, &devnet.key("client"), &path, 5),
        Duration::from_secs(30),
    );
    expect_cli_user_error(
        "tally submit of a non-entry",
        &output,
        &["is not a valid entry"],
    );
    let missing = devnet.root.join("entries").join("no-such-file.json");
    let output = run(
        &mut devnet.submit_command(0, &devnet.key("client"), &missing, 5),
        Duration::from_secs(30),
    );
    expect_cli_user_error("tally submit of a missing file", &output, &["cannot read"]);

    // --- Signatures --------------------------------------------------------------------------
    let fresh = sale("signed-1", 4_200);
    let fresh_tx = sign_single(&client, &chain_id, &fresh);
    devnet.post_tx(1, &flip_signature(&fresh_tx)).expect_error(
        "a flipped signature byte",
        400,
        "bad_signature",
        "bad signature",
    );
    let batch_tx = sign_batch(&client, &chain_id, &[sale("signed-batch-1", 100)]);
    devnet.post_tx(2, &flip_signature(&batch_tx)).expect_error(
        "a batch with a flipped signature byte",
        400,
        "bad_signature",
        "",
    );
    // Content changed after signing.
    let mut tampered = fresh_tx.clone();
    if let Transaction::Single(single) = &mut tampered {
        if let tally_chain::TxBody::Post(draft) = &mut single.body {
            draft.description.push_str(" (edited)");
        }
    }
    devnet.post_tx(3, &tampered).expect_error(
        "content changed after signing",
        400,
        "bad_signature",
        "",
    );
    // Signed for another chain.
    devnet
        .post_tx(0, &sign_single(&client, "other-chain", &fresh))
        .expect_error(
            "signed for another chain id",
            400,
            "bad_signature",
            "for chain 'merchant-private'",
        );

    // --- Replays and duplicate ids -----------------------------------------------------------
    for (index, name) in NAMES.iter().enumerate() {
        let reply = devnet.post_tx(index, &second_tx);
        assert_eq!(
            reply.status, 200,
            "exact replay to {}: {}",
            name, reply.body
        );
        let receipt: SubmitJson = reply.json();
        assert_eq!(receipt.status, "committed", "{}", reply.body);
        assert_eq!(receipt.height, Some(second_height), "{}", reply.body);
        assert_eq!(receipt.hash, hex::encode(second_tx.hash()));
    }
    let output = devnet.submit_cli(2, "client", &first);
    assert!(
        output.status.success()
            && stdout_of(&output).contains("entry sale-1 was already committed at height")
            && stdout_of(&output).contains("nothing changed"),
        "CLI replay: {}",
        describe(&output)
    );
    let changed = sale("sale-1", 10_001);
    devnet
        .post_tx(3, &sign_single(&client, &chain_id, &changed))
        .expect_error("same id, other content", 409, "duplicate_id", "sale-1");
    let output = devnet.submit_cli(1, "client", &changed);
    expect_cli_user_error(
        "tally submit of a duplicate id",
        &output,
        &["(duplicate_id)", "sale-1"],
    );
    // The same entry signed by another member is not a replay either.
    let finance = read_key(&devnet.key("finance"));
    devnet
        .post_tx(0, &sign_single(&finance, &chain_id, &first))
        .expect_error("same entry, other signer", 409, "duplicate_id", "sale-1");

    // --- Who may sign ------------------------------------------------------------------------
    let audited = sale("auditor-1", 1_000);
    let auditor = read_key(&devnet.key("auditor"));
    devnet
        .post_tx(1, &sign_single(&auditor, &chain_id, &audited))
        .expect_error("auditor posting", 403, "not_allowed", "auditor");
    let output = devnet.submit_cli(2, "auditor", &audited);
    expect_cli_user_error(
        "tally submit with the auditor key",
        &output,
        &["(not_allowed)"],
    );

    let stranger_path = devnet.root.join("stranger.key");
    let output = run(
        tally()
            .args(["keys", "generate", "--out"])
            .arg(&stranger_path),
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "keys generate: {}",
        describe(&output)
    );
    let stranger = read_key(&stranger_path);
    let stranger_public = stranger.public_key().to_string();
    assert_eq!(stdout_of(&output).trim(), stranger_public);
    let foreign = sale("stranger-1", 1_000);
    devnet
        .post_tx(3, &sign_single(&stranger, &chain_id, &foreign))
        .expect_error(
            "a key that is not a member",
            403,
            "not_a_member",
            &stranger_public,
        );
    // Through the CLI the stranger does not get as far: its API token is refused.
    let path = devnet.write_entry(&foreign);
    let output = run(
        &mut devnet.submit_command(0, &stranger_path, &path, 5),
        Duration::from_secs(30),
    );
    expect_cli_user_error(
        "tally submit with a stranger's key",
        &output,
        &[
            &format!("{stranger_public} is not a member of chain '{chain_id}'"),
            "(unauthenticated)",
        ],
    );
    let not_a_key = devnet.write_entry(&"this is not a key");
    let path = devnet.write_entry(&foreign);
    let output = run(
        &mut devnet.submit_command(0, &not_a_key, &path, 5),
        Duration::from_secs(30),
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "a key file that is not a key: {}",
        describe(&output)
    );

    // --- Size, endpoints, unreachable nodes ---------------------------------------------------
    let mut huge = br#"{"Single": {"body": {"Post": {"id": ""#.to_vec();
    huge.resize(huge.len() + 33 * 1024 * 1024, b'a');
    huge.extend_from_slice(br#""}}}}"#);
    let reply = devnet
        .http
        .post(&url(2), Some("application/json"), huge)
        .unwrap_or_else(|error| panic!("oversize body: no HTTP answer: {error}"));
    reply.expect_error("body over 32 MiB", 413, "request_too_large", "");

    for (method, path) in [
        ("GET", "/v1/nope"),
        ("POST", "/v1/nope"),
        // `/` redirects to the dashboard; other paths outside `/v1` are not found.
        ("GET", "/nope"),
        ("GET", "/v2/status"),
    ] {
        let target = devnet.url(3, path);
        let reply = if method == "GET" {
            devnet.http.get(&target)
        } else {
            devnet
                .http
                .post(&target, Some("application/json"), b"{}".to_vec())
        }
        .unwrap();
        reply.expect_error(
            &format!("{method} {path}"),
            404,
            "not_found",
            "no such endpoint",
        );
    }
    let reply = devnet
        .http
        .get(&devnet.url(0, "/v1/transactions/not-hex"))
        .unwrap();
    reply.expect_error(
        "GET a malformed transaction hash",
        400,
        "malformed_request",
        "64 hex digits",
    );
    let reply = devnet
        .http
        .get(&devnet.url(0, &format!("/v1/transactions/{}", "00".repeat(32))))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json::<serde_json::Value>()["status"],
        "unknown",
        "{}",
        reply.body
    );
    let reply = devnet
        .http
        .get(&devnet.url(0, "/v1/entries/bad%20id"))
        .unwrap();
    reply.expect_error("GET an invalid entry id", 400, "malformed_request", "");
    // Wrong method on a known path: a JSON error too (regression: axum's default had no body).
    for (method, target) in [("GET", url(1)), ("POST", devnet.url(1, "/v1/status"))] {
        let reply = if method == "GET" {
            devnet.http.get(&target)
        } else {
            devnet
                .http
                .post(&target, Some("application/json"), b"{}".to_vec())
        }
        .unwrap();
        reply.expect_error(
            &format!("{method} {target}"),
            405,
            "method_not_allowed",
            "does not take that method",
        );
    }

    // --- Authentication: the API serves members only ----------------------------------------
    let status_url = devnet.url(1, "/v1/status");
    let unauthenticated = |what: &str, authorization: Option<&str>, message: &str| {
        devnet
            .http
            .get_with_authorization(&status_url, authorization)
            .unwrap()
            .expect_error(what, 401, "unauthenticated", message);
    };
    unauthenticated(
        "a request without a token",
        None,
        "missing Authorization: Bearer <token> header; create one with 'tally token --key FILE'",
    );
    let client_key = read_key(&devnet.key("client"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut forged = ApiToken::issue(&client_key, &chain_id, now, now + 60_000).unwrap();
    forged.signature = tally_identity::SecretKey::from_seed([77; 32]).sign(
        tally_identity::Domain::Request,
        &chain_id,
        &forged.signing_payload(),
    );
    unauthenticated(
        "a forged token",
        Some(&format!("Bearer {forged}")),
        &format!(
            "token signature does not verify for member {}",
            client_key.public_key()
        ),
    );
    let expired = ApiToken::issue(&client_key, &chain_id, now - 600_000, now - 300_000).unwrap();
    unauthenticated(
        "an expired token",
        Some(&format!("Bearer {expired}")),
        &format!("token expired at {}", tally_identity::utc(now - 300_000)),
    );
    // `tally token` makes a token any HTTP client can send.
    let output = run(
        tally()
            .args(["token", "--minutes", "5", "--node", &devnet.api(1), "--key"])
            .arg(devnet.key("client")),
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "tally token: {}",
        describe(&output)
    );
    let token = stdout_of(&output).trim().to_string();
    let reply = devnet
        .http
        .get_with_authorization(&status_url, Some(&format!("Bearer {token}")))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json::<tally_node::wire::StatusJson>().chain_id,
        chain_id
    );
    // The finance client reads the books but not the access log; an admin reads it.
    devnet
        .http
        .get(&devnet.url(1, "/v1/reads"))
        .unwrap()
        .expect_error(
            "the access log read by finance",
            403,
            "not_allowed",
            "the access log is for the admin and auditor roles",
        );
    let admin = format!("Bearer {}", devnet.token("admin"));
    let reply = devnet
        .http
        .get_with_authorization(&devnet.url(1, "/v1/reads"), Some(&admin))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    // A command that reads without a key says how to give one.
    let output = run(
        tally()
            .args(["report", "trial-balance", "--node", &devnet.api(1)])
            .env_remove("TALLY_KEY"),
        Duration::from_secs(30),
    );
    expect_cli_user_error(
        "a report without a member key",
        &output,
        &["--key FILE", "TALLY_KEY"],
    );

    let dead = format!("http://127.0.0.1:{}", unused_port());
    let path = devnet.write_entry(&sale("nowhere-1", 100));
    let output = run(
        tally()
            .args(["submit", "--wait", "5", "--node"])
            .arg(&dead)
            .arg("--key")
            .arg(devnet.key("client"))
            .arg(&path),
        Duration::from_secs(40),
    );
    assert!(
        !output.status.success(),
        "submit to {dead}: {}",
        describe(&output)
    );
    assert!(
        stderr_of(&output).starts_with("error: cannot reach")
            && stderr_of(&output).contains("is the node running?"),
        "submit to {dead}: {}",
        describe(&output)
    );
    let output = run(
        tally()
            .args(["report", "trial-balance", "--node"])
            .arg(&dead)
            .arg("--key")
            .arg(devnet.key("client")),
        Duration::from_secs(40),
    );
    assert!(
        !output.status.success() && stderr_of(&output).contains("cannot reach"),
        "trial balance from {dead}: {}",
        describe(&output)
    );

    // `devnet init` into the existing devnet refuses and leaves it alone.
    let genesis = std::fs::read(devnet.net_dir().join("genesis.json")).unwrap();
    let client_key = std::fs::read(devnet.key("client")).unwrap();
    let output = run(
        tally()
            .args(["devnet", "init", "--out"])
            .arg(devnet.net_dir())
            .args(["--base-port", &devnet.base_port.to_string()]),
        Duration::from_secs(30),
    );
    expect_cli_user_error(
        "devnet init into an existing devnet",
        &output,
        &["already holds a devnet"],
    );
    assert_eq!(
        std::fs::read(devnet.net_dir().join("genesis.json")).unwrap(),
        genesis
    );
    assert_eq!(std::fs::read(devnet.key("client")).unwrap(), client_key);

    // --- Nothing changed, and every node still runs -----------------------------------------
    // Give any wrongly admitted transaction a few blocks to be committed before checking.
    let now = devnet.highest_height();
    let statuses = devnet.wait_all_height(now + 3, Duration::from_secs(30));
    for (status, name) in statuses.iter().flatten().zip(NAMES) {
        assert_eq!(status.entries, baseline.entries, "{name}: entries changed");
        assert_eq!(
            status.state_root, baseline.state_root,
            "{name}: state root changed"
        );
        assert_eq!(
            status.log_root, baseline.log_root,
            "{name}: entry log changed"
        );
        assert_eq!(
            status.mempool_entries, 0,
            "{name}: something is waiting in the mempool"
        );
        assert!(status.balanced, "{name}: not balanced");
    }
    for (index, name) in NAMES.iter().enumerate() {
        assert_eq!(
            sorted(devnet.trial_balance_http(index)),
            baseline_balance,
            "{}: trial balance changed",
            name
        );
    }
    for id in [
        "unknown-account-1",
        "unbalanced-1",
        "overdraft-1",
        "batch-good-1",
        "zero-1",
        "negative-1",
        "decimals-1",
        "signed-1",
        "signed-batch-1",
        "auditor-1",
        "batch-twice-1",
        "batch-big-0",
        "stock-1",
        "stranger-1",
        "nowhere-1",
    ] {
        assert_not_found(&devnet, id);
    }
    let reply = devnet
        .http
        .get(&devnet.url(1, "/v1/entries/sale-1"))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json::<tally_node::wire::CommittedEntryJson>().entry,
        first,
        "sale-1 must keep its original content"
    );
    devnet.check_alive();

    // --- Double submissions still commit each entry exactly once ---------------------------
    // The same transaction to every node (each has its own mempool), and twice to one of them.
    let third = sale("sale-3", 777);
    let third_tx = sign_single(&client, &chain_id, &third);
    let mut accepted = Vec::new();
    for index in [0, 1, 2, 3, 0] {
        let reply = devnet.post_tx(index, &third_tx);
        match reply.status {
            202 => accepted.push(index),
            200 => assert_eq!(reply.json::<SubmitJson>().status, "committed"),
            _ => reply.expect_error("the same transaction again", 409, "already_pending", ""),
        }
    }
    assert!(!accepted.is_empty(), "no node accepted sale-3");
    eprintln!("sale-3 sent to every node: accepted by {accepted:?}");
    let hash = hex::encode(third_tx.hash());
    for index in accepted {
        wait_for(
            &format!("sale-3 committed on {}", NAMES[index]),
            Duration::from_secs(30),
            || {
                devnet.check_alive();
                let status = devnet.tx_status(index, &hash)?;
                match status.status.as_str() {
                    "committed" => Ok(()),
                    "rejected" => {
                        panic!("sale-3 rejected on {}: {:?}", NAMES[index], status.reason)
                    }
                    other => Err(other.to_string()),
                }
            },
        );
    }
    // One entry id in two different transactions (two signers) sent to two nodes at once:
    // exactly one is committed, the other refused at once (a duplicate, or already pending
    // there) or rejected when proposed.
    let fourth = sale("sale-4", 4_444);
    let candidates = [
        (2, sign_single(&client, &chain_id, &fourth)),
        (3, sign_single(&finance, &chain_id, &fourth)),
    ];
    let replies: Vec<Reply> = candidates
        .iter()
        .map(|(index, tx)| devnet.post_tx(*index, tx))
        .collect();
    let mut outcomes = Vec::new();
    for ((index, tx), reply) in candidates.iter().zip(replies) {
        if reply.status == 202 {
            let hash = hex::encode(tx.hash());
            let outcome = wait_for(
                &format!("a final outcome of sale-4 on {}", NAMES[*index]),
                Duration::from_secs(30),
                || {
                    devnet.check_alive();
                    let status = devnet.tx_status(*index, &hash)?;
                    match status.status.as_str() {
                        "committed" => Ok("committed".to_string()),
                        "rejected" => {
                            Ok(format!("rejected: {}", status.reason.unwrap_or_default()))
                        }
                        other => Err(other.to_string()),
                    }
                },
            );
            outcomes.push(outcome);
        } else {
            // Refused at once: committed already, or already waiting in that node's mempool
            // (relayed from the node that took the first).
            let code = if reply.body.contains("already_pending") {
                "already_pending"
            } else {
                "duplicate_id"
            };
            reply.expect_error("sale-4 from a second signer", 409, code, "sale-4");
            outcomes.push("refused".to_string());
        }
    }
    eprintln!("sale-4 from two signers: {outcomes:?}");
    let winners = outcomes
        .iter()
        .filter(|outcome| *outcome == "committed")
        .count();
    assert_eq!(winners, 1, "sale-4 outcomes: {outcomes:?}");
    for outcome in &outcomes {
        assert!(
            outcome == "committed" || outcome == "refused" || outcome.contains("sale-4"),
            "sale-4 outcomes: {outcomes:?}"
        );
    }
    let statuses = devnet.wait_all_entries(4, Duration::from_secs(30));
    let height = statuses
        .iter()
        .flatten()
        .map(|status| status.height)
        .max()
        .unwrap();
    let statuses = devnet.wait_all_height(height + 2, Duration::from_secs(30));
    let roots: Vec<_> = statuses
        .iter()
        .flatten()
        .map(|status| &status.state_root)
        .collect();
    assert!(
        roots.windows(2).all(|pair| pair[0] == pair[1]),
        "nodes disagree after the double submissions: {}",
        summary(&statuses)
    );
    for status in statuses.iter().flatten() {
        assert_eq!(status.entries, 4, "{}", summary(&statuses));
        assert_eq!(status.mempool_entries, 0, "{}", summary(&statuses));
    }
    devnet.check_alive();
    eprintln!(
        "bad_input_is_refused_and_changes_nothing took {:?}",
        started.elapsed()
    );
}
