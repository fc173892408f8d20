//! End to end: the two-tier topology as separate `tally node` processes, written by
//! `tally devnet two-tier` (one department per enterprise: four processes, each validating its
//! enterprise's private chain and the consortium chain, and running its bookkeeper).
//!
//! A trade between merchant (buyer) and supplier (seller) goes through its whole life with
//! `tally contract call`, each step signed by the party the contract names; a confirmation
//! forged by the proposer and a malformed call are refused and change nothing. The merchant seals
//! a delivery address on it: the supplier reads and discloses it, the carrier (no party) cannot
//! read it but checks the disclosure, and a forged disclosure fails. Each party's node
//! books its side automatically; `tally report reconcile` pairs them with no difference. Then
//! `tally verify --partner` checks the partners' anchors against the blocks their nodes serve,
//! and so does each node's partner watch while it runs: all match. After the supplier rebuilds
//! its private chain from scratch (its books rewritten), both report the supplier's anchors as
//! broken (`verify` with exit 3, the carrier's running node in its log and metrics).
//!
//! In a second topology, governance removes the carrier: from the next epoch boundary the
//! consortium's status names three validators, and the carrier's running node no longer makes
//! up a quorum when the marketplace's node is stopped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::Duration;

use common::*;
use rand::Rng;
use tally_node::reconcile::ReconcileLine;
use tally_node::wire::{AnchorJson, ContractDetailJson, StatusJson, TrialBalanceJson};

/// The enterprises `devnet two-tier` writes, in its order.
const ENTERPRISES: [&str; 4] = ["merchant", "supplier", "carrier", "marketplace"];
const MERCHANT: usize = 0;
const SUPPLIER: usize = 1;
/// Ports each enterprise takes from the base port (as `devnet two-tier` assigns them).
const PORTS_PER_ENTERPRISE: u16 = 10;
/// Private-chain blocks between anchors: small, so every partner anchors within seconds.
const ANCHOR_EVERY: &str = "5";

/// Four node processes of a two-tier topology; killed on drop, logs printed on failure.
struct TwoTier {
    root: PathBuf,
    base_port: u16,
    nodes: Vec<Option<Child>>,
    logs: Vec<Vec<PathBuf>>,
    files: usize,
}

/// A base port with every p2p and API port of the topology free on loopback.
fn free_topology_port() -> u16 {
    let mut rng = rand::thread_rng();
    for _ in 0..64 {
        let base: u16 = rng.gen_range(30_000..59_000);
        let ports = (0..ENTERPRISES.len() as u16).flat_map(|i| {
            [
                base + PORTS_PER_ENTERPRISE * i,
                base + 100 + PORTS_PER_ENTERPRISE * i,
            ]
        });
        let listeners: Result<Vec<std::net::TcpListener>, _> = ports
            .map(|port| std::net::TcpListener::bind(("127.0.0.1", port)))
            .collect();
        if listeners.is_ok() {
            return base;
        }
    }
    panic!("found no free base port in 64 tries");
}

impl TwoTier {
    fn init() -> TwoTier {
        let base_port = free_topology_port();
        let root = std::env::temp_dir().join(format!(
            "tally-e2e-two-tier-{}-{base_port}-{}",
            std::process::id(),
            rand::thread_rng().gen::<u32>()
        ));
        std::fs::create_dir_all(root.join("logs")).expect("create temp dir");
        let topology = TwoTier {
            root,
            base_port,
            nodes: ENTERPRISES.iter().map(|_| None).collect(),
            logs: vec![Vec::new(); ENTERPRISES.len()],
            files: 0,
        };
        let output = run(
            tally()
                .args(["devnet", "two-tier", "--departments", "1", "--anchor-every"])
                .arg(ANCHOR_EVERY)
                .args(["--partner-check-seconds", "1"])
                // Short validator-set epochs: the consortium's nodes cross boundaries (a simplex
                // restart each) over TCP while the trades run.
                .args(["--epoch-blocks", "5"])
                .arg("--base-port")
                .arg(base_port.to_string())
                .arg("--out")
                .arg(topology.net()),
            Duration::from_secs(30),
        );
        assert!(
            output.status.success(),
            "devnet two-tier: {}",
            describe(&output)
        );
        let stdout = stdout_of(&output);
        for enterprise in ENTERPRISES {
            let config = topology
                .enterprise_dir(enterprise)
                .join("sales")
                .join("node.toml");
            assert!(
                stdout.contains(&format!("tally node --config {}", config.display())),
                "devnet two-tier names each node's config: {stdout}"
            );
        }
        eprintln!("two-tier topology in {}", topology.root.display());
        topology
    }

    fn net(&self) -> PathBuf {
        self.root.join("net")
    }

    fn enterprise_dir(&self, enterprise: &str) -> PathBuf {
        self.net().join(enterprise)
    }

    /// A member key of `enterprise` (`client`, `auditor`, `consortium-trader`, ...).
    fn key(&self, enterprise: usize, name: &str) -> PathBuf {
        self.enterprise_dir(ENTERPRISES[enterprise])
            .join(format!("{name}.key"))
    }

    fn data(&self, enterprise: usize) -> PathBuf {
        self.enterprise_dir(ENTERPRISES[enterprise])
            .join("sales")
            .join("data")
    }

    fn api(&self, enterprise: usize) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.base_port + 100 + PORTS_PER_ENTERPRISE * enterprise as u16
        )
    }

    fn start(&mut self, enterprise: usize) {
        assert!(self.nodes[enterprise].is_none(), "already running");
        let name = ENTERPRISES[enterprise];
        let log_path = self
            .root
            .join("logs")
            .join(format!("{name}.{}.log", self.logs[enterprise].len() + 1));
        let log = std::fs::File::create(&log_path).expect("create log file");
        let child = tally()
            .arg("node")
            .arg("--config")
            .arg(self.enterprise_dir(name).join("sales").join("node.toml"))
            .stdout(log.try_clone().expect("clone log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}'s node: {error}"));
        self.logs[enterprise].push(log_path);
        self.nodes[enterprise] = Some(child);
        let api = self.api(enterprise);
        let http = Http::new();
        wait_for(
            &format!("{name}'s node to serve its API"),
            Duration::from_secs(60),
            || {
                self.check_alive();
                http.get(&format!("{api}/v1/identity")).map(|_| ())
            },
        );
    }

    /// The value of `sample` (e.g. `tally_partner_anchor_mismatches{enterprise="supplier"}`)
    /// in `enterprise`'s node's `/metrics`.
    fn metric(&self, enterprise: usize, sample: &str) -> Result<f64, String> {
        let reply = Http::new().get(&format!("{}/metrics", self.api(enterprise)))?;
        reply
            .body
            .lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .ok_or_else(|| format!("no sample {sample} in /metrics"))?
            .parse()
            .map_err(|error| format!("{sample}: {error}"))
    }

    /// The log of `enterprise`'s node since its last start.
    fn log(&self, enterprise: usize) -> String {
        let path = self.logs[enterprise].last().expect("started");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    fn kill(&mut self, enterprise: usize) {
        let mut child = self.nodes[enterprise].take().expect("running");
        child.kill().expect("kill node");
        child.wait().expect("reap node");
    }

    fn check_alive(&mut self) {
        for (index, node) in self.nodes.iter_mut().enumerate() {
            if let Some(child) = node {
                if let Ok(Some(status)) = child.try_wait() {
                    *node = None;
                    panic!("{}'s node exited with {status}", ENTERPRISES[index]);
                }
            }
        }
    }

    fn write(&mut self, name: &str, json: &str) -> PathBuf {
        self.files += 1;
        let path = self.root.join(format!("{:02}-{name}.json", self.files));
        std::fs::write(&path, json).expect("write file");
        path
    }

    /// `tally contract call` of `call` (JSON) signed by `enterprise`'s member `key` (its
    /// `consortium-trader` for trades, `consortium-admin` for governance) at its own node.
    fn call_as(&mut self, enterprise: usize, key: &str, call: &str) -> Output {
        let path = self.write("call", call);
        run(
            tally()
                .args(["contract", "call", "--node"])
                .arg(self.api(enterprise))
                .arg("--key")
                .arg(self.key(enterprise, key))
                .arg(path),
            Duration::from_secs(45),
        )
    }

    /// [`TwoTier::call_as`] signed by `enterprise`'s trader.
    fn call(&mut self, enterprise: usize, call: &str) -> Output {
        self.call_as(enterprise, "consortium-trader", call)
    }

    /// [`TwoTier::call_as`] signed by `enterprise`'s consortium admin (governance).
    fn govern(&mut self, enterprise: usize, call: &str) -> Output {
        self.call_as(enterprise, "consortium-admin", call)
    }

    /// Asserts `output` says `what` was committed, signed by `enterprise`.
    fn assert_committed(output: &Output, enterprise: usize, what: &str) {
        assert!(
            output.status.success()
                && stdout_of(output).starts_with(&format!("{what} committed at height ")),
            "{what} signed by {}: {}",
            ENTERPRISES[enterprise],
            describe(output)
        );
    }

    /// As [`TwoTier::call`], and asserts the call was committed.
    fn call_ok(&mut self, enterprise: usize, call: &str, what: &str) {
        let output = self.call(enterprise, call);
        Self::assert_committed(&output, enterprise, what);
    }

    /// As [`TwoTier::govern`], and asserts the call was committed.
    fn govern_ok(&mut self, enterprise: usize, call: &str, what: &str) {
        let output = self.govern(enterprise, call);
        Self::assert_committed(&output, enterprise, what);
    }

    /// An HTTP client holding a consortium token of `enterprise`'s consortium admin.
    fn consortium_http(&self, enterprise: usize) -> Http {
        let mut http = Http::new();
        let key = tally_identity::SecretKey::read_file(&self.key(enterprise, "consortium-admin"))
            .expect("member key");
        http.set_token(Some(
            tally_node::auth::mint(&key, "consortium", 60 * 60 * 1000).expect("a token"),
        ));
        http
    }

    /// The consortium chain's status at `enterprise`'s node, asked with `http`
    /// ([`TwoTier::consortium_http`]).
    fn consortium_status(&self, http: &Http, enterprise: usize) -> Result<StatusJson, String> {
        let reply = http.get(&format!(
            "{}/v1/chains/consortium/status",
            self.api(enterprise)
        ))?;
        if reply.status != 200 {
            return Err(format!("HTTP {}: {}", reply.status, reply.body));
        }
        Ok(reply.json())
    }

    /// `tally contract show` of `id` at `enterprise`'s node.
    fn show(&self, enterprise: usize, id: &str) -> Result<ContractDetailJson, String> {
        let output = run(
            tally()
                .args(["contract", "show", id, "--format", "json", "--node"])
                .arg(self.api(enterprise))
                .arg("--key")
                .arg(self.key(enterprise, "consortium-admin")),
            Duration::from_secs(30),
        );
        if !output.status.success() {
            return Err(describe(&output));
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|error| format!("{error}: {}", describe(&output)))
    }

    /// Waits until `enterprise`'s node shows trade t-1 in `state`: a party acts on what its own
    /// node shows, and a node checks a call against its own copy of the chain, which may be a
    /// block behind the node that committed the previous step.
    fn wait_state(&mut self, enterprise: usize, state: &str) {
        wait_for(
            &format!("{}'s node to show t-1 {state}", ENTERPRISES[enterprise]),
            Duration::from_secs(30),
            || {
                self.check_alive();
                let detail = self.show(enterprise, "t-1")?;
                if detail.contract.state == state {
                    Ok(())
                } else {
                    Err(detail.contract.state)
                }
            },
        )
    }

    fn trial_balance(&self, enterprise: usize) -> Vec<TrialBalanceJson> {
        let output = run(
            tally()
                .args(["report", "trial-balance", "--format", "json", "--node"])
                .arg(self.api(enterprise))
                .arg("--key")
                .arg(self.key(enterprise, "auditor")),
            Duration::from_secs(30),
        );
        assert!(
            output.status.success(),
            "trial balance: {}",
            describe(&output)
        );
        serde_json::from_slice(&output.stdout).expect("trial balance JSON")
    }

    /// `tally report reconcile` of the merchant with the supplier.
    fn reconcile(&self) -> Output {
        run(
            tally()
                .args([
                    "report",
                    "reconcile",
                    "--with",
                    "supplier",
                    "--enterprise",
                    "merchant",
                ])
                .args(["--format", "json", "--node"])
                .arg(self.api(MERCHANT))
                .arg("--key")
                .arg(self.key(MERCHANT, "auditor"))
                .arg("--partner-node")
                .arg(self.api(SUPPLIER))
                .arg("--partner-key")
                .arg(self.key(SUPPLIER, "auditor")),
            Duration::from_secs(30),
        )
    }

    /// `tally verify` of the merchant's stores, checking anchors against the three partners.
    fn verify_with_partners(&self) -> Output {
        let mut command = tally();
        command
            .args(["verify", "--quiet", "--data"])
            .arg(self.data(MERCHANT))
            .arg("--key")
            .arg(self.key(MERCHANT, "consortium-admin"));
        for partner in 1..ENTERPRISES.len() {
            command.arg("--partner").arg(self.api(partner));
        }
        run(&mut command, Duration::from_secs(60))
    }
}

impl Drop for TwoTier {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "\n==== test failed; topology kept in {} ====",
                self.root.display()
            );
            for (name, logs) in ENTERPRISES.iter().zip(&self.logs) {
                for path in logs {
                    eprintln!("---- {name} ----\n{}", tail_of(path, 30));
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// The balance of `account` in a trial balance, as (debit, credit) strings.
fn balance(lines: &[TrialBalanceJson], account: &str) -> Option<(String, String)> {
    lines
        .iter()
        .find(|line| line.account == account)
        .map(|line| (line.debit.clone(), line.credit.clone()))
}

/// Waits until the reconciliation has trade t-1 booked on both sides (at least `entries` derived
/// entries each) with no difference; returns its line.
fn wait_reconciled(topology: &mut TwoTier, entries: usize) -> ReconcileLine {
    wait_for(
        &format!("t-1 booked on both sides ({entries}+ entries each) and reconciled"),
        Duration::from_secs(60),
        || {
            topology.check_alive();
            let output = topology.reconcile();
            let lines: Vec<ReconcileLine> = serde_json::from_slice(&output.stdout)
                .map_err(|error| format!("{error}: {}", describe(&output)))?;
            let line = lines
                .into_iter()
                .find(|line| line.trade == "t-1")
                .ok_or_else(|| format!("no line for t-1: {}", describe(&output)))?;
            if line.our_entries.len() >= entries
                && line.their_entries.len() >= entries
                && line.difference_minor == 0
                && output.status.success()
            {
                Ok(line)
            } else {
                Err(format!("{line:?}; {}", describe(&output)))
            }
        },
    )
}

#[test]
fn a_trade_between_node_processes_is_booked_on_both_sides_and_anchors_are_checked() {
    let mut topology = TwoTier::init();
    for enterprise in 0..ENTERPRISES.len() {
        topology.start(enterprise);
    }

    // 10 x 12.50 - 5.00 discount + 9.00 shipping + 23.00 tax = 152.00 EUR.
    topology.call_ok(
        MERCHANT,
        r#"{"propose_trade": {"id": "t-1", "terms": {"seller": "supplier", "buyer": "merchant",
            "buyer_is_agent": false, "currency": "EUR",
            "lines": [{"sku": "WIDGET-1", "quantity": 10, "unit_price": 1250}],
            "discount": 500, "shipping": 900, "tax": 2300}}}"#,
        "propose_trade t-1",
    );
    // The proposer cannot confirm its own proposal; a malformed call is refused before signing.
    let forged = topology.call(MERCHANT, r#"{"confirm_trade": {"id": "t-1"}}"#);
    assert_exit(
        &forged,
        2,
        "trade t-1: only supplier (the party that did not propose) may confirm; merchant signed",
    );
    let malformed = topology.call(MERCHANT, r#"{"confirm_trade": {"id": 7}}"#);
    assert_exit(&malformed, 2, "is not a valid contract call");

    topology.wait_state(SUPPLIER, "proposed");
    topology.call_ok(
        SUPPLIER,
        r#"{"confirm_trade": {"id": "t-1"}}"#,
        "confirm_trade t-1",
    );
    topology.call_ok(
        SUPPLIER,
        r#"{"ship_trade": {"id": "t-1", "cost": 7000}}"#,
        "ship_trade t-1",
    );
    private_terms(&mut topology);

    topology.wait_state(MERCHANT, "shipped");
    topology.call_ok(
        MERCHANT,
        r#"{"deliver_trade": {"id": "t-1"}}"#,
        "deliver_trade t-1",
    );
    topology.wait_state(SUPPLIER, "delivered");
    topology.call_ok(
        SUPPLIER,
        r#"{"invoice_trade": {"id": "t-1"}}"#,
        "invoice_trade t-1",
    );

    // Invoiced: the merchant owes the supplier 152.00, in both books.
    let line = wait_reconciled(&mut topology, 1);
    assert_eq!(
        (line.ours.as_str(), line.theirs.as_str()),
        ("-152.00", "152.00"),
        "{line:?}"
    );

    topology.call_ok(
        SUPPLIER,
        r#"{"settle": {"id": "t-1", "fee": 0}}"#,
        "settle t-1",
    );
    // The merchant's bank is empty: its payment cannot be booked (the bank may not go below
    // zero), so its bookkeeper says why once and retries.
    let stuck = "tally_bookkeeper_stuck_entries";
    wait_for(
        "the merchant's bookkeeper to report the payment it cannot book",
        Duration::from_secs(30),
        || {
            topology.check_alive();
            let count = topology.metric(MERCHANT, stuck)?;
            let log = topology.log(MERCHANT);
            let said = log.contains("derived entry refused by the private chain")
                && log.contains("may not go below zero");
            if count == 1.0 && said {
                Ok(())
            } else {
                Err(format!("{count} stuck, logged: {said}"))
            }
        },
    );
    assert_eq!(
        topology
            .log(MERCHANT)
            .matches("derived entry refused by the private chain")
            .count(),
        1,
        "said once, not on every retry"
    );

    // An opening balance of 10,000.00 EUR pays it: the retried entry is booked.
    let opening = topology.write(
        "opening",
        r#"{"id": "opening", "date": "2026-12-01", "description": "opening bank balance",
            "postings": [{"account": "1000", "debit": "10000.00", "currency": "EUR"},
                         {"account": "3000", "credit": "10000.00", "currency": "EUR"}]}"#,
    );
    let output = run(
        tally()
            .args(["submit", "--node"])
            .arg(topology.api(MERCHANT))
            .arg("--key")
            .arg(topology.key(MERCHANT, "client"))
            .arg(opening),
        Duration::from_secs(45),
    );
    assert!(output.status.success(), "opening: {}", describe(&output));

    let line = wait_reconciled(&mut topology, 2);
    assert_eq!(
        (line.ours.as_str(), line.theirs.as_str()),
        ("0.00", "0.00"),
        "{line:?}"
    );
    let merchant = topology.trial_balance(MERCHANT);
    assert_eq!(
        balance(&merchant, "1000"),
        Some(("9848.00".into(), "0.00".into())),
        "merchant paid 152.00: {merchant:?}"
    );
    wait_for(
        "the merchant's bookkeeper to have nothing stuck",
        Duration::from_secs(30),
        || match topology.metric(MERCHANT, stuck)? {
            0.0 => Ok(()),
            count => Err(format!("{count} stuck")),
        },
    );
    let supplier = topology.trial_balance(SUPPLIER);
    assert_eq!(
        balance(&supplier, "1000"),
        Some(("152.00".into(), "0.00".into())),
        "supplier was paid 152.00: {supplier:?}"
    );

    // A third member of the consortium sees the contract and who signed each step.
    topology.wait_state(2, "settled");
    let detail = topology.show(2, "t-1").expect("contract show");
    let events: Vec<(&str, Option<&str>)> = detail
        .events
        .iter()
        .map(|event| (event.event.as_str(), event.enterprise.as_deref()))
        .collect();
    assert_eq!(
        events,
        [
            ("trade_proposed", Some("merchant")),
            ("trade_confirmed", Some("supplier")),
            ("trade_shipped", Some("supplier")),
            ("terms_sealed", Some("merchant")),
            ("trade_delivered", Some("merchant")),
            ("trade_invoiced", Some("supplier")),
            ("settled", Some("supplier")),
        ]
    );

    // Every enterprise anchors its private chain's head on the consortium chain.
    let http = topology.consortium_http(MERCHANT);
    let url = format!("{}/v1/chains/consortium/anchors", topology.api(MERCHANT));
    let anchored = wait_for(
        "every enterprise to anchor its private chain",
        Duration::from_secs(60),
        || {
            topology.check_alive();
            let reply = http.get(&url)?;
            if reply.status != 200 {
                return Err(format!("HTTP {}: {}", reply.status, reply.body));
            }
            let anchors: Vec<AnchorJson> = reply.json();
            let mut enterprises: Vec<&str> = anchors
                .iter()
                .filter(|anchor| anchor.enterprise == anchor.chain_id && anchor.count >= 1)
                .map(|anchor| anchor.enterprise.as_str())
                .collect();
            enterprises.sort_unstable();
            if enterprises == ["carrier", "marketplace", "merchant", "supplier"] {
                Ok(anchors)
            } else {
                Err(reply.body)
            }
        },
    );
    for anchor in &anchored {
        assert!(
            anchor.latest_height >= 5,
            "anchored once the chain moved 5 blocks: {anchor:?}"
        );
        assert_eq!(anchor.latest_block_hash.len(), 64, "{anchor:?}");
    }

    // While it runs, each node checks its partners' anchors against their nodes: all match.
    wait_for(
        "the merchant's node to check every partner's anchors",
        Duration::from_secs(60),
        || {
            topology.check_alive();
            for partner in ["supplier", "carrier", "marketplace"] {
                let sample =
                    |name: &str| format!("tally_partner_{name}{{enterprise=\"{partner}\"}}");
                let checked = topology.metric(MERCHANT, &sample("anchors_checked"))?;
                let mismatches = topology.metric(MERCHANT, &sample("anchor_mismatches"))?;
                let unreachable = topology.metric(MERCHANT, &sample("unreachable"))?;
                assert_eq!(mismatches, 0.0, "{partner}'s anchors match");
                if checked < 1.0 || unreachable != 0.0 {
                    return Err(format!(
                        "{partner}: {checked} checked, unreachable {unreachable}"
                    ));
                }
            }
            Ok(())
        },
    );

    // Stop the merchant's node and audit its stores: every partner's anchors match the blocks
    // its node serves.
    topology.kill(MERCHANT);
    let output = topology.verify_with_partners();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "verify: {}", describe(&output));
    // The consortium passed epoch boundaries, each checked with its own validator set.
    let consortium = stdout
        .lines()
        .find(|line| line.starts_with("ok  consortium "))
        .unwrap_or_else(|| panic!("verify reports the consortium: {stdout}"));
    assert!(
        consortium.contains(" validator-set epochs "),
        "the consortium crossed no epoch boundary: {consortium}"
    );
    let anchors = stdout
        .lines()
        .find(|line| line.starts_with("anchors on 'consortium': "))
        .unwrap_or_else(|| panic!("verify reports the anchors: {stdout}"));
    let checked: u64 = anchors
        .trim_start_matches("anchors on 'consortium': ")
        .split(' ')
        .next()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("a count of anchors: {anchors}"));
    assert!(
        checked >= ENTERPRISES.len() as u64
            && anchors.contains(" 0 mismatched")
            && !anchors.contains("not checked"),
        "every enterprise's anchors checked, none mismatched: {anchors}"
    );

    // The supplier rebuilds its private chain from nothing: the blocks its node now serves are
    // not the ones it anchored.
    topology.kill(SUPPLIER);
    let data = topology.data(SUPPLIER);
    remove_private_chain(&data, "supplier");
    topology.start(SUPPLIER);
    let output = topology.verify_with_partners();
    assert_exit(&output, 3, "a partner's private chain no longer matches its anchor: enterprise supplier anchored block ");
    // The carrier's node, running throughout, sees it too.
    const CARRIER: usize = 2;
    wait_for(
        "the carrier's node to report the supplier's broken anchors",
        Duration::from_secs(60),
        || {
            topology.check_alive();
            let sample = "tally_partner_anchor_mismatches{enterprise=\"supplier\"}";
            let mismatches = topology.metric(CARRIER, sample)?;
            let logged = topology.log(CARRIER).contains(
                "a partner's private chain no longer matches its anchor: enterprise supplier anchored block ",
            );
            if mismatches >= 1.0 && logged {
                Ok(())
            } else {
                Err(format!("{mismatches} mismatches, logged: {logged}"))
            }
        },
    );
}

/// Governance removes the carrier from the consortium, through the node processes: from the next
/// epoch boundary the consortium's validators are the other three, so the carrier's votes no
/// longer count. With the marketplace's node also stopped, the carrier's running node cannot
/// make up a quorum (two of the three remaining validators), and the chain stands still; it goes
/// on when the marketplace's node is back. (With the carrier still a validator, merchant,
/// supplier and carrier would be three of four, a quorum.)
#[test]
fn an_enterprise_removed_by_governance_stops_counting_at_the_next_epoch() {
    const CARRIER: usize = 2;
    const MARKETPLACE: usize = 3;
    let mut topology = TwoTier::init();
    for enterprise in 0..ENTERPRISES.len() {
        topology.start(enterprise);
    }
    let http = topology.consortium_http(MERCHANT);
    let status = wait_for("the consortium to start", Duration::from_secs(60), || {
        topology.check_alive();
        let status = topology.consortium_status(&http, MERCHANT)?;
        if status.height >= 2 {
            Ok(status)
        } else {
            Err(format!("height {}", status.height))
        }
    });
    let names = |status: &StatusJson| {
        let mut names: Vec<String> = status
            .validator_set
            .iter()
            .map(|validator| validator.name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&status),
        ["carrier", "marketplace", "merchant", "supplier"]
    );

    topology.govern_ok(
        MERCHANT,
        r#"{"propose_governance": {"id": "remove-carrier",
            "action": {"remove_enterprise": {"name": "carrier"}}}}"#,
        "propose_governance remove-carrier",
    );
    for approver in [SUPPLIER, MARKETPLACE] {
        // The approver's node checks the call against its own copy of the chain, which may not
        // hold the proposal yet: the approval is refused until it does.
        wait_for("the approval to commit", Duration::from_secs(60), || {
            topology.check_alive();
            let output = topology.govern(
                approver,
                r#"{"approve_governance": {"id": "remove-carrier"}}"#,
            );
            if output.status.success()
                && stdout_of(&output)
                    .starts_with("approve_governance remove-carrier committed at height ")
            {
                Ok(())
            } else {
                Err(describe(&output))
            }
        });
    }

    // At the next boundary (epochs of 5 blocks) the set is the other three.
    let removed = wait_for(
        "the carrier to leave the consortium's validator set",
        Duration::from_secs(60),
        || {
            topology.check_alive();
            let status = topology.consortium_status(&http, MERCHANT)?;
            if names(&status) == ["marketplace", "merchant", "supplier"] {
                Ok(status)
            } else {
                Err(format!("epoch {}: {:?}", status.epoch, names(&status)))
            }
        },
    );
    assert!(removed.epoch > status.epoch, "{removed:?}");
    wait_for(
        "the chain to move on in the new epoch",
        Duration::from_secs(60),
        || {
            topology.check_alive();
            let status = topology.consortium_status(&http, MERCHANT)?;
            (status.epoch > removed.epoch)
                .then_some(())
                .ok_or_else(|| format!("epoch {}", status.epoch))
        },
    );

    // The carrier's node runs on, but its votes no longer count: without the marketplace's
    // node the chain stands still.
    topology.kill(MARKETPLACE);
    // A block in flight when the marketplace stopped may still land.
    std::thread::sleep(Duration::from_secs(3));
    let stalled = topology.consortium_status(&http, MERCHANT).unwrap().height;
    std::thread::sleep(Duration::from_secs(6));
    let still = topology.consortium_status(&http, MERCHANT).unwrap().height;
    assert_eq!(
        still, stalled,
        "the consortium moved from {stalled} to {still} with only merchant, supplier and the removed carrier voting"
    );
    assert!(topology.nodes[CARRIER].is_some(), "the carrier's node runs");

    // The marketplace is back: the chain goes on.
    topology.start(MARKETPLACE);
    wait_for(
        "the consortium to move on with the marketplace back",
        Duration::from_secs(90),
        || {
            topology.check_alive();
            let height = topology.consortium_status(&http, MERCHANT)?.height;
            (height >= still + 3)
                .then_some(())
                .ok_or_else(|| format!("height {height}"))
        },
    );
}

/// The merchant seals a delivery address on t-1 for the trade's parties: the supplier reads it
/// and discloses it; the carrier, not a party, cannot read it, nor seal terms on it, but checks
/// the disclosure against the commitment on the chain (and refuses a forged one).
fn private_terms(topology: &mut TwoTier) {
    const CARRIER: usize = 2;
    let seal = |topology: &TwoTier, enterprise: usize| {
        run(
            tally()
                .args(["contract", "seal-terms", "t-1", "--node"])
                .arg(topology.api(enterprise))
                .arg("--key")
                .arg(topology.key(enterprise, "consortium-trader"))
                .args(["--field", "delivery_address=Hauptstr. 1, 10115 Berlin"])
                .args(["--field", "dock=7"]),
            Duration::from_secs(45),
        )
    };
    let output = seal(topology, MERCHANT);
    let stdout = stdout_of(&output);
    assert!(
        output.status.success()
            && stdout.starts_with("seal_terms t-1 committed at height ")
            && stdout.contains("2 field(s) readable by 6 member(s) of supplier and merchant"),
        "{}",
        describe(&output)
    );
    let output = seal(topology, CARRIER);
    assert_exit(
        &output,
        2,
        "trade t-1: only a party may seal its terms; carrier signed",
    );

    let read = |topology: &TwoTier, enterprise: usize, disclose: Option<&Path>| {
        let mut command = tally();
        command
            .args(["read", "t-1", "--contract", "--json", "--node"])
            .arg(topology.api(enterprise))
            .arg("--key")
            .arg(topology.key(enterprise, "consortium-bookkeeper"));
        if let Some(out) = disclose {
            command
                .args(["--disclose", "delivery_address", "--out"])
                .arg(out);
        }
        run(&mut command, Duration::from_secs(30))
    };
    let disclosure = topology.root.join("disclosure.json");
    let opened: serde_json::Value = wait_for(
        "the supplier to read the sealed terms at its node",
        Duration::from_secs(30),
        || {
            let output = read(topology, SUPPLIER, Some(&disclosure));
            if !output.status.success() {
                return Err(describe(&output));
            }
            serde_json::from_slice(&output.stdout).map_err(|error| error.to_string())
        },
    );
    assert_eq!(
        opened,
        serde_json::json!({"delivery_address": "Hauptstr. 1, 10115 Berlin", "dock": "7"})
    );
    let refused = wait_for(
        "the carrier's node to hold the sealed terms",
        Duration::from_secs(30),
        || {
            let output = read(topology, CARRIER, None);
            if stderr_of(&output).contains("has no sealed terms") {
                Err(describe(&output))
            } else {
                Ok(output)
            }
        },
    );
    assert_exit(
        &refused,
        2,
        "not authorised for the private terms of contract 't-1'",
    );

    let check = |topology: &TwoTier, file: &Path| {
        run(
            tally()
                .args(["disclosure", "check"])
                .arg(file)
                .args(["--contract", "--node"])
                .arg(topology.api(CARRIER))
                .arg("--key")
                .arg(topology.key(CARRIER, "consortium-admin")),
            Duration::from_secs(30),
        )
    };
    let output = check(topology, &disclosure);
    assert!(
        output.status.success(),
        "disclosure check: {}",
        describe(&output)
    );
    let text = std::fs::read_to_string(&disclosure).expect("disclosure");
    assert!(text.contains("Hauptstr. 1, 10115 Berlin"), "{text}");
    let forged = topology.root.join("forged.json");
    std::fs::write(&forged, text.replace("Hauptstr. 1", "Hauptstr. 9")).expect("write");
    let output = check(topology, &forged);
    assert_eq!(
        output.status.code(),
        Some(3),
        "a forged disclosure: {}",
        describe(&output)
    );
}

/// Deletes a node's store and consensus storage of its private chain `chain_id`, leaving the
/// consortium chain's.
fn remove_private_chain(data: &Path, chain_id: &str) {
    std::fs::remove_dir_all(data.join(chain_id)).expect("remove the private chain's store");
    let prefix = format!("{chain_id}-sales-{chain_id}-");
    let mut removed = 0;
    for entry in std::fs::read_dir(data.join("consensus")).expect("consensus storage") {
        let entry = entry.expect("directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("remove partition");
            } else {
                std::fs::remove_file(&path).expect("remove partition");
            }
            removed += 1;
        }
    }
    assert!(
        removed > 0,
        "the private chain has consensus partitions under {prefix}*"
    );
}

#[test]
fn two_tier_init_refuses_bad_arguments_and_an_existing_topology() {
    let root = std::env::temp_dir().join(format!(
        "tally-e2e-two-tier-init-{}-{}",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    ));
    let init = |extra: &[&str]| {
        run(
            tally()
                .args(["devnet", "two-tier", "--out"])
                .arg(&root)
                .args(extra),
            Duration::from_secs(30),
        )
    };
    for (args, message) in [
        (
            ["--departments", "0"],
            "--departments must be between 1 and 4",
        ),
        (
            ["--departments", "5"],
            "--departments must be between 1 and 4",
        ),
        (["--anchor-every", "0"], "--anchor-every must be at least 1"),
        (
            ["--base-port", "65001"],
            "--base-port must be between 1 and 65000",
        ),
    ] {
        let output = init(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(
            stderr_of(&output).contains(message),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(!root.exists(), "{args:?} wrote nothing");
    }
    let output = init(&["--departments", "2"]);
    assert!(output.status.success(), "{}", describe(&output));
    // Two departments per enterprise: eight nodes, the first of each also on the consortium.
    for enterprise in ENTERPRISES {
        for department in ["sales", "finance"] {
            let config = root.join(enterprise).join(department).join("node.toml");
            let text = std::fs::read_to_string(&config).expect("node config");
            assert_eq!(
                text.contains("consortium/genesis.json"),
                department == "sales",
                "{}: {text}",
                config.display()
            );
            assert_eq!(
                text.contains("[bookkeeping]"),
                department == "sales",
                "{text}"
            );
        }
        assert!(!root.join(enterprise).join("logistics").exists());
    }
    let genesis = std::fs::read_to_string(root.join("consortium").join("genesis.json"))
        .expect("consortium genesis");
    let again = init(&[]);
    assert_exit(&again, 2, "already holds a topology");
    assert_eq!(
        std::fs::read_to_string(root.join("consortium").join("genesis.json")).unwrap(),
        genesis,
        "the existing topology is left as it was"
    );
    let _ = std::fs::remove_dir_all(&root);
}
