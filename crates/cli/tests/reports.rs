//! End to end through the real binary: sales booked on a devnet of 4 `tally node` processes,
//! then every report through `tally report ... --format json` compared with the node's HTTP API
//! (the same JSON), on each node, at the head, a past height and a date; CSV and table output
//! carry the same numbers; a refused report exits with code 2 and the node's message.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// `tally report ARGS --format json --node URL`, parsed.
fn report_cli(devnet: &Devnet, index: usize, args: &[&str], format: &str) -> String {
    let output = run(
        tally()
            .arg("report")
            .args(args)
            .args(["--format", format, "--node"])
            .arg(devnet.api(index))
            .arg("--key")
            .arg(devnet.key("client")),
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "tally report {args:?}: {}",
        describe(&output)
    );
    stdout_of(&output)
}

fn api(devnet: &Devnet, index: usize, path: &str) -> Value {
    let reply = devnet
        .http
        .get(&devnet.url(index, path))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()
}

#[test]
fn cli_and_api_reports_agree() {
    let mut devnet = Devnet::start("reports");
    let sales: Vec<_> = (0..6)
        .map(|i| sale(&format!("rep-{i:03}"), 10_000 + 1_000 * i as u64))
        .collect();
    for (index, entry) in sales.iter().enumerate() {
        let output = devnet.submit_cli(index % VALIDATORS, "client", entry);
        assert!(output.status.success(), "{}", describe(&output));
    }
    let statuses = devnet.wait_all_entries(sales.len() as u64, Duration::from_secs(30));
    // The lowest head of the four, which every node can report at.
    let height = statuses
        .iter()
        .map(|status| status.as_ref().expect("every node runs").height)
        .min()
        .expect("four nodes");

    let cases: [(&[&str], String); 6] = [
        (&["balance-sheet"], "/v1/reports/balance-sheet".to_string()),
        (
            &["income-statement"],
            "/v1/reports/income-statement".to_string(),
        ),
        (
            &["ledger", "1100", "--limit", "4"],
            "/v1/reports/ledger/1100?limit=4".to_string(),
        ),
        (
            &["ageing", "--side", "receivable", "--as-of", "2026-12-31"],
            "/v1/reports/ageing?as_of=2026-12-31&side=receivable".to_string(),
        ),
        (&["departments"], "/v1/reports/departments".to_string()),
        (&["trial-balance"], "/v1/reports/trial-balance".to_string()),
    ];
    // The chain keeps finalizing (empty) blocks, so both ask for the same height.
    let pinned = height.to_string();
    for (index, name) in NAMES.iter().enumerate() {
        for (args, path) in &cases {
            let mut args = args.to_vec();
            args.extend(["--height", pinned.as_str()]);
            let separator = if path.contains('?') { '&' } else { '?' };
            let path = format!("{path}{separator}height={height}");
            let cli: Value = serde_json::from_str(&report_cli(&devnet, index, &args, "json"))
                .unwrap_or_else(|error| panic!("{args:?} is not JSON: {error}"));
            assert_eq!(cli, api(&devnet, index, &path), "{args:?} on {name}");
        }
    }
    // At the head, all but the height the report stands at.
    let mut cli: Value =
        serde_json::from_str(&report_cli(&devnet, 0, &["balance-sheet"], "json")).unwrap();
    let mut head = api(&devnet, 0, "/v1/reports/balance-sheet");
    cli["height"] = Value::Null;
    head["height"] = Value::Null;
    assert_eq!(cli, head);

    // The numbers: the sales' receivables, revenue and VAT.
    let sheet = api(&devnet, 0, "/v1/reports/balance-sheet");
    let eur = &sheet["sections"][0];
    assert_eq!(eur["currency"], "EUR");
    assert_eq!(eur["balanced"], true);
    let net: u64 = (0..6).map(|i| 10_000 + 1_000 * i).sum();
    let vat: u64 = (0..6).map(|i| (10_000 + 1_000 * i) * 19 / 100).sum();
    assert_eq!(eur["total_assets"], eur_text(net + vat));
    assert_eq!(eur["result"], eur_text(net));
    let ageing = api(&devnet, 1, "/v1/reports/ageing?as_of=2026-12-31");
    assert_eq!(ageing["partners"][0]["partner"], "customers");
    assert_eq!(ageing["partners"][0]["days_31_60"], eur_text(net + vat));
    assert_eq!(ageing["partners"][0]["items"], 6);

    // A past height and a date through both.
    let past_args = ["balance-sheet", "--height", "1", "--as-of", common::DATE];
    let cli: Value = serde_json::from_str(&report_cli(&devnet, 2, &past_args, "json")).unwrap();
    let path = format!("/v1/reports/balance-sheet?height=1&as_of={}", common::DATE);
    assert_eq!(cli, api(&devnet, 2, &path));
    assert!(height >= 1);

    // CSV and table carry the API's amounts.
    let csv = report_cli(&devnet, 0, &["income-statement"], "csv");
    assert!(
        csv.starts_with("currency,section,account,name,amount\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("EUR,result,,,{}", eur_text(net))),
        "{csv}"
    );
    let table = report_cli(&devnet, 0, &["ledger", "1100"], "table");
    assert!(
        table.contains("rep-005") && table.contains(&eur_text(net + vat)),
        "{table}"
    );

    // A report the node refuses: exit code 2 with its message and code.
    let output = run(
        tally()
            .args(["report", "balance-sheet", "--currency", "USD", "--node"])
            .arg(devnet.api(0))
            .arg("--key")
            .arg(devnet.key("client")),
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("no FX rate from EUR to USD") && stderr.contains("(no_fx_rate)"),
        "{stderr}"
    );
}

fn eur_text(cents: u64) -> String {
    eur(cents)
}
