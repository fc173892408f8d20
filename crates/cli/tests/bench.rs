//! End to end: `tally bench --data DIR` keeps its stores, and `tally verify` finds them whole.
//! The bench stops its validators the moment its last entry is final, while consensus still
//! hands over blocks: every block a store holds must still be covered by a finalization
//! certificate, or an audit calls the chain's last blocks not final.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn bench_stores_verify_after_an_abrupt_stop() {
    let dir = std::env::temp_dir().join(format!("tally-bench-test-{}", std::process::id()));
    // Big batches fill blocks faster than one validator commits them, so consensus runs ahead
    // of the commits and has blocks in hand when the bench stops.
    // Sealed customer fields are indexed by their place in the block, which the audit checks;
    // plain-text ones are the baseline the bench compares them with.
    let runs = [
        ("1", "20000", "1000", "orders"),
        ("4", "6000", "200", "plain"),
    ];
    for (validators, entries, batch, sealed) in runs {
        let output = run(
            tally()
                .args(["bench", "--validators", validators, "--entries", entries])
                .args(["--batch", batch, "--sealed", sealed, "--data"])
                .arg(&dir),
            Duration::from_secs(300),
        );
        assert!(output.status.success(), "bench: {}", describe(&output));
        let table = stdout_of(&output);
        assert!(
            table.contains("entries/s") && table.contains(entries),
            "bench prints its figures: {table}"
        );
    }
    let output = run(
        tally().arg("verify").arg("--data").arg(&dir),
        Duration::from_secs(300),
    );
    assert!(output.status.success(), "verify: {}", describe(&output));
    let summary = stdout_of(&output);
    assert!(
        summary.contains("verified 5 store(s)") && summary.contains("no problems found"),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn repeated_runs_are_summarised_with_the_cost_of_customer_fields() {
    let output = run(
        tally()
            .args(["bench", "--validators", "1", "--entries", "2000"])
            .args(["--batch", "500", "--sealed", "off,plain,orders"])
            .args(["--repeat", "2"]),
        Duration::from_secs(300),
    );
    assert!(output.status.success(), "bench: {}", describe(&output));
    let table = stdout_of(&output);
    let (runs, summary) = table
        .split_once("median/s")
        .unwrap_or_else(|| panic!("a summary follows the runs: {table}"));
    assert_eq!(runs.matches("   2000  ").count(), 6, "{table}");
    let orders = summary
        .lines()
        .find(|line| line.contains("orders"))
        .unwrap_or_else(|| panic!("a summary row for orders: {table}"));
    // Cost against no customer data and against plain text, in entries/s and in CPU time.
    assert_eq!(orders.matches('%').count(), 3, "{orders}");
    assert!(table.contains("cpu us/entry"), "{table}");

    let refused = run(
        tally().args(["bench", "--repeat", "0"]),
        Duration::from_secs(60),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--repeat must be between 1 and 20"),
        "{}",
        describe(&refused)
    );
}
