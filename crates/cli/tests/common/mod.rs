//! Helpers for end-to-end tests that drive the real `tally` binary: a devnet of 4 `tally node`
//! processes on free loopback ports, an HTTP client, CLI runs with time limits, and entries.
//!
//! A [`Devnet`] kills every node it started when it is dropped, also when the test panics; on a
//! panic it prints the temporary directory and the tail of every node's log and keeps the
//! directory for inspection. On success the directory is removed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::de::DeserializeOwned;
use tally_chain::Transaction;
use tally_node::wire::{
    EntryJson, ErrorJson, PostingJson, ReferenceJson, StatusJson, SubmitJson, TrialBalanceJson,
    TxStatusJson,
};

pub const VALIDATORS: usize = 4;
/// The node names `tally devnet init` uses, in validator order.
pub const NAMES: [&str; VALIDATORS] = ["sales", "finance", "logistics", "service"];
/// The date of every test entry (no period is closed on a new devnet).
pub const DATE: &str = "2026-11-24";

pub fn tally_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tally")
}

/// A `tally` command with stdin closed.
pub fn tally() -> Command {
    let mut command = Command::new(tally_bin());
    command.stdin(Stdio::null());
    command
}

/// Runs a command to completion, capturing its output; kills it and panics after `timeout`.
pub fn run(command: &mut Command, timeout: Duration) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr =
                    String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
                panic!("{command:?} did not finish within {timeout:?}; stderr so far:\n{stderr}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("waiting for {command:?}: {error}"),
        }
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A one-line description of a finished command for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        output.status.code(),
        stdout_of(output),
        stderr_of(output)
    )
}

/// Asserts that a command exited with `code` and said `expected` on stderr.
pub fn assert_exit(output: &Output, code: i32, expected: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    let stderr = stderr_of(output);
    assert!(
        stderr.contains(expected),
        "expected '{expected}' in:\n{stderr}"
    );
}

/// The last `lines` lines of the file at `path`, under a heading naming it.
pub fn tail_of(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    let mut out = format!("==> {} ({} lines) <==\n", path.display(), all.len());
    for line in &all[from..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Polls `check` every 100 ms until it answers `Ok`; panics after `timeout` with the last `Err`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A base port P with P..P+VALIDATORS (p2p) and P+100..P+100+VALIDATORS (API) free on loopback.
pub fn free_base_port() -> u16 {
    let mut rng = rand::thread_rng();
    for _ in 0..64 {
        let base: u16 = rng.gen_range(30_000..59_800);
        let ports = (0..VALIDATORS as u16).flat_map(|i| [base + i, base + 100 + i]);
        let listeners: Result<Vec<TcpListener>, _> = ports
            .map(|port| TcpListener::bind(("127.0.0.1", port)))
            .collect();
        if listeners.is_ok() {
            return base;
        }
    }
    panic!("found no free base port in 64 tries");
}

/// A loopback port nothing listens on (bound and released).
pub fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// An HTTP answer: status and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|error| {
            panic!(
                "HTTP {} body is not the expected JSON ({error}): {}",
                self.status, self.body
            )
        })
    }

    /// Asserts this is an error reply with `status` and `code` whose message contains `message`.
    pub fn expect_error(&self, what: &str, status: u16, code: &str, message: &str) {
        assert_eq!(
            self.status, status,
            "{what}: expected HTTP {status} {code}, got {}: {}",
            self.status, self.body
        );
        assert!(
            self.content_type.starts_with("application/json"),
            "{what}: error body is not JSON (content-type '{}'): {}",
            self.content_type,
            self.body
        );
        let body: ErrorJson = serde_json::from_str(&self.body).unwrap_or_else(|error| {
            panic!(
                "{what}: error body is not {{\"error\": {{code, message}}}} ({error}): {}",
                self.body
            )
        });
        assert_eq!(
            body.error.code, code,
            "{what}: wrong error code in {}",
            self.body
        );
        assert!(
            body.error.message.contains(message),
            "{what}: error message should contain {message:?}: {}",
            self.body
        );
    }
}

/// A small blocking HTTP client over reqwest's async API. With a token, it sends it as
/// `Authorization: Bearer <token>` on every request (the node serves members only).
pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    token: Option<String>,
}

impl Http {
    pub fn new() -> Http {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("HTTP client");
        Http {
            runtime,
            client,
            token: None,
        }
    }

    /// The same client sending `token` from now on (`None`: no Authorization header).
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// A GET with exactly this Authorization header (or none), whatever the client's token.
    pub fn get_with_authorization(
        &self,
        url: &str,
        authorization: Option<&str>,
    ) -> Result<Reply, String> {
        self.runtime.block_on(async {
            let mut request = self.client.get(url);
            if let Some(authorization) = authorization {
                request = request.header(reqwest::header::AUTHORIZATION, authorization);
            }
            let response = request
                .send()
                .await
                .map_err(|error| format!("GET {url}: {error}"))?;
            Self::reply(response).await
        })
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn reply(response: reqwest::Response) -> Result<Reply, String> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response
            .text()
            .await
            .map_err(|error| format!("reading the body: {error}"))?;
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }

    pub fn get(&self, url: &str) -> Result<Reply, String> {
        self.runtime.block_on(async {
            let response = self
                .authorised(self.client.get(url))
                .send()
                .await
                .map_err(|error| format!("GET {url}: {error}"))?;
            Self::reply(response).await
        })
    }

    /// POSTs `body` with an optional content type.
    pub fn post(
        &self,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        self.runtime.block_on(async {
            let mut request = self.authorised(self.client.post(url)).body(body);
            if let Some(content_type) = content_type {
                request = request.header(reqwest::header::CONTENT_TYPE, content_type);
            }
            let response = request
                .send()
                .await
                .map_err(|error| format!("POST {url}: {error:?}"))?;
            Self::reply(response).await
        })
    }

    pub fn post_json(&self, url: &str, body: &impl serde::Serialize) -> Result<Reply, String> {
        let bytes = serde_json::to_vec(body).expect("serialise request");
        self.post(url, Some("application/json"), bytes)
    }
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

/// A devnet of `tally node` processes in a temporary directory.
pub struct Devnet {
    /// The temporary directory: `net/` (what `devnet init` wrote), `logs/`, `entries/`.
    pub root: PathBuf,
    pub base_port: u16,
    pub http: Http,
    nodes: Vec<Option<Child>>,
    /// Log file of every start of every node, in order.
    logs: Vec<Vec<PathBuf>>,
    entry_files: usize,
}

impl Devnet {
    /// `devnet init` into a fresh temporary directory (no nodes started yet).
    pub fn init(name: &str) -> Devnet {
        let mut last = String::new();
        for _ in 0..3 {
            let base_port = free_base_port();
            let unique = format!(
                "tally-e2e-{name}-{}-{}-{}",
                std::process::id(),
                base_port,
                rand::thread_rng().gen::<u32>()
            );
            let root = std::env::temp_dir().join(unique);
            std::fs::create_dir_all(root.join("logs")).expect("create temp dir");
            std::fs::create_dir_all(root.join("entries")).expect("create temp dir");
            let devnet = Devnet {
                root,
                base_port,
                http: Http::new(),
                nodes: (0..VALIDATORS).map(|_| None).collect(),
                logs: vec![Vec::new(); VALIDATORS],
                entry_files: 0,
            };
            let output = run(
                tally()
                    .arg("devnet")
                    .arg("init")
                    .arg("--out")
                    .arg(devnet.net_dir())
                    .args(["--validators", "4", "--base-port"])
                    .arg(base_port.to_string()),
                Duration::from_secs(30),
            );
            if output.status.success() {
                let mut devnet = devnet;
                let token = devnet.token("client");
                devnet.http.set_token(Some(token));
                eprintln!(
                    "devnet in {} (p2p ports {}.., API ports {}..)",
                    devnet.root.display(),
                    base_port,
                    base_port + 100
                );
                return devnet;
            }
            last = describe(&output);
        }
        panic!("tally devnet init failed 3 times; last: {last}");
    }

    /// `init`, start all nodes, and wait (60 s at most) until every node reports height >= 1.
    pub fn start(name: &str) -> Devnet {
        let mut devnet = Devnet::init(name);
        for index in 0..VALIDATORS {
            devnet.start_node(index);
        }
        devnet.wait_all_height(1, Duration::from_secs(60));
        devnet
    }

    pub fn net_dir(&self) -> PathBuf {
        self.root.join("net")
    }

    pub fn config(&self, index: usize) -> PathBuf {
        self.net_dir().join(NAMES[index]).join("node.toml")
    }

    pub fn key(&self, name: &str) -> PathBuf {
        self.net_dir().join(format!("{name}.key"))
    }

    /// The devnet's chain id, from its genesis.
    pub fn chain_id(&self) -> String {
        let text = std::fs::read_to_string(self.net_dir().join("genesis.json")).expect("genesis");
        let genesis: serde_json::Value = serde_json::from_str(&text).expect("genesis is JSON");
        genesis["chain_id"].as_str().expect("chain_id").to_string()
    }

    /// An API token of the member `name` (`client`, `admin`, ...) for the devnet's chain,
    /// valid for an hour: longer than any test.
    pub fn token(&self, name: &str) -> String {
        tally_node::auth::mint(&read_key(&self.key(name)), &self.chain_id(), 60 * 60 * 1000)
            .expect("mint a token")
    }

    pub fn api(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.base_port + 100 + index as u16)
    }

    pub fn url(&self, index: usize, path: &str) -> String {
        format!("{}{path}", self.api(index))
    }

    /// Starts (or restarts) node `index`, its stderr going to a new log file.
    pub fn start_node(&mut self, index: usize) {
        assert!(
            self.nodes[index].is_none(),
            "node {} is already running",
            NAMES[index]
        );
        let log_path = self.root.join("logs").join(format!(
            "{}.{}.log",
            NAMES[index],
            self.logs[index].len() + 1
        ));
        let log = std::fs::File::create(&log_path).expect("create log file");
        let child = tally()
            .arg("node")
            .arg("--config")
            .arg(self.config(index))
            .stdout(log.try_clone().expect("clone log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start node {}: {error}", NAMES[index]));
        self.logs[index].push(log_path);
        self.nodes[index] = Some(child);
    }

    /// SIGKILLs node `index` and reaps it.
    pub fn kill_node(&mut self, index: usize) {
        let mut child = self.nodes[index]
            .take()
            .unwrap_or_else(|| panic!("node {} is not running", NAMES[index]));
        child.kill().expect("kill node");
        child.wait().expect("reap node");
    }

    pub fn is_running(&self, index: usize) -> bool {
        self.nodes[index].is_some()
    }

    /// Panics (with the node's log) if a node this devnet started has exited on its own.
    pub fn check_alive(&mut self) {
        for (index, name) in NAMES.iter().enumerate() {
            if let Some(child) = self.nodes[index].as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.nodes[index] = None;
                    panic!(
                        "node {} exited unexpectedly with {status}; log tail:\n{}",
                        name,
                        self.log_tail(index, 40)
                    );
                }
            }
        }
    }

    /// The log file of the latest start of node `index`.
    pub fn last_log(&self, index: usize) -> PathBuf {
        self.logs[index]
            .last()
            .expect("the node was started")
            .clone()
    }

    pub fn log_tail(&self, index: usize, lines: usize) -> String {
        self.logs[index]
            .iter()
            .map(|path| tail_of(path, lines))
            .collect()
    }

    pub fn status(&self, index: usize) -> Result<StatusJson, String> {
        let reply = self.http.get(&self.url(index, "/v1/status"))?;
        if reply.status != 200 {
            return Err(format!("HTTP {}: {}", reply.status, reply.body));
        }
        serde_json::from_str(&reply.body).map_err(|error| format!("{error}: {}", reply.body))
    }

    /// Statuses of all running nodes, `None` for stopped ones.
    pub fn statuses(&self) -> Result<Vec<Option<StatusJson>>, String> {
        (0..VALIDATORS)
            .map(|index| {
                if self.is_running(index) {
                    self.status(index)
                        .map(Some)
                        .map_err(|error| format!("{}: {error}", NAMES[index]))
                } else {
                    Ok(None)
                }
            })
            .collect()
    }

    /// The highest height any running node reports.
    pub fn highest_height(&self) -> u64 {
        self.statuses()
            .unwrap()
            .into_iter()
            .flatten()
            .map(|status| status.height)
            .max()
            .expect("a node runs")
    }

    /// Waits until every running node reports at least `height`.
    pub fn wait_all_height(&mut self, height: u64, timeout: Duration) -> Vec<Option<StatusJson>> {
        let what = format!("every running node at height >= {height}");
        self.wait_all(&what, timeout, |status| status.height >= height)
    }

    /// Waits until every running node reports `entries` entries.
    pub fn wait_all_entries(&mut self, entries: u64, timeout: Duration) -> Vec<Option<StatusJson>> {
        let what = format!("every running node to hold {entries} entries");
        self.wait_all(&what, timeout, |status| status.entries == entries)
    }

    /// Waits until every running node's status satisfies `ready`.
    fn wait_all(
        &mut self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&StatusJson) -> bool,
    ) -> Vec<Option<StatusJson>> {
        wait_for(what, timeout, || {
            self.check_alive();
            let statuses = self.statuses()?;
            if statuses.iter().flatten().all(&ready) {
                Ok(statuses)
            } else {
                Err(summary(&statuses))
            }
        })
    }

    /// Writes an entry file under `entries/` and returns its path.
    pub fn write_entry(&mut self, entry: &impl serde::Serialize) -> PathBuf {
        self.entry_files += 1;
        let path = self
            .root
            .join("entries")
            .join(format!("entry-{:04}.json", self.entry_files));
        std::fs::write(
            &path,
            serde_json::to_string_pretty(entry).expect("entry JSON"),
        )
        .expect("write entry file");
        path
    }

    /// The `tally submit` command for `entry` against node `index`, signed with key `key`.
    pub fn submit_command(&self, index: usize, key: &Path, entry: &Path, wait_s: u64) -> Command {
        let mut command = tally();
        command
            .arg("submit")
            .arg("--node")
            .arg(self.api(index))
            .arg("--key")
            .arg(key)
            .arg("--wait")
            .arg(wait_s.to_string())
            .arg(entry);
        command
    }

    /// Runs `tally submit` and returns its output (it is not checked).
    pub fn submit_cli(&mut self, index: usize, key: &str, entry: &impl serde::Serialize) -> Output {
        let path = self.write_entry(entry);
        let key = self.key(key);
        run(
            &mut self.submit_command(index, &key, &path, 30),
            Duration::from_secs(45),
        )
    }

    /// POSTs a signed transaction to node `index`.
    pub fn post_tx(&self, index: usize, tx: &Transaction) -> Reply {
        self.http
            .post_json(&self.url(index, "/v1/transactions"), tx)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    pub fn tx_status(&self, index: usize, hash: &str) -> Result<TxStatusJson, String> {
        let reply = self
            .http
            .get(&self.url(index, &format!("/v1/transactions/{hash}")))?;
        if reply.status != 200 {
            return Err(format!("HTTP {}: {}", reply.status, reply.body));
        }
        serde_json::from_str(&reply.body).map_err(|error| format!("{error}: {}", reply.body))
    }

    /// POSTs `tx` to node `index`, expects 202 accepted, and waits until it is committed there.
    /// Returns the height.
    pub fn post_and_commit(&mut self, index: usize, tx: &Transaction, timeout: Duration) -> u64 {
        let reply = self.post_tx(index, tx);
        assert_eq!(
            reply.status, 202,
            "submitting to {}: {}",
            NAMES[index], reply.body
        );
        let receipt: SubmitJson = reply.json();
        assert_eq!(receipt.status, "accepted", "{}", reply.body);
        assert_eq!(
            receipt.hash,
            hex::encode(tx.hash()),
            "the node's transaction hash differs from the client's"
        );
        let what = format!(
            "transaction {} to be committed on {}",
            receipt.hash, NAMES[index]
        );
        wait_for(&what, timeout, || {
            self.check_alive();
            let status = self.tx_status(index, &receipt.hash)?;
            match status.status.as_str() {
                "committed" => Ok(status.height.expect("a committed transaction has a height")),
                "rejected" => panic!("transaction rejected: {:?}", status.reason),
                other => Err(other.to_string()),
            }
        })
    }

    /// The trial balance of node `index` through `tally report trial-balance --format json`.
    pub fn trial_balance_cli(&self, index: usize) -> Vec<TrialBalanceJson> {
        let output = run(
            tally()
                .args(["report", "trial-balance", "--format", "json", "--key"])
                .arg(self.key("client"))
                .arg("--node")
                .arg(self.api(index)),
            Duration::from_secs(30),
        );
        assert!(
            output.status.success(),
            "trial balance of {}: {}",
            NAMES[index],
            describe(&output)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!("trial balance is not JSON ({error}): {}", describe(&output))
        })
    }

    /// The trial balance of node `index` through the HTTP API.
    pub fn trial_balance_http(&self, index: usize) -> Vec<TrialBalanceJson> {
        let reply = self
            .http
            .get(&self.url(index, "/v1/reports/trial-balance"))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "\n==== test failed; devnet kept in {} ====",
                self.root.display()
            );
            for (index, name) in NAMES.iter().enumerate() {
                eprintln!("---- node {} ----\n{}", name, self.log_tail(index, 30));
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// One line per node: height, entries, state root prefix.
pub fn summary(statuses: &[Option<StatusJson>]) -> String {
    statuses
        .iter()
        .zip(NAMES)
        .map(|(status, name)| match status {
            Some(status) => format!(
                "{name}: height {} entries {} state_root {}..",
                status.height,
                status.entries,
                &status.state_root[..12]
            ),
            None => format!("{name}: stopped"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Formats cents as EUR with two decimals.
pub fn eur(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A sale: receivable debit gross, revenue credit net, output VAT credit 19 % of net.
pub fn sale(id: &str, net_cents: u64) -> EntryJson {
    let vat = net_cents * 19 / 100;
    let posting = |account: &str, debit: Option<u64>, credit: Option<u64>| PostingJson {
        account: account.to_string(),
        debit: debit.map(eur),
        credit: credit.map(eur),
        currency: "EUR".to_string(),
    };
    EntryJson {
        id: id.to_string(),
        date: DATE.to_string(),
        description: format!("Sale {id}"),
        postings: vec![
            posting("1100", Some(net_cents + vat), None),
            posting("4000", None, Some(net_cents)),
            posting("2100", None, Some(vat)),
        ],
        references: vec![ReferenceJson {
            kind: "order".to_string(),
            value: id.to_string(),
        }],
        reverses: None,
        sealed: Vec::new(),
        sealed_groups: Vec::new(),
        seal_keys: Vec::new(),
    }
}

/// The trial balance the given sales should produce (each account only ever on one side).
pub fn expected_trial_balance(sales: &[EntryJson]) -> Vec<TrialBalanceJson> {
    let mut totals: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let cents = |text: &str| -> u64 {
        let (whole, fraction) = text.split_once('.').expect("two decimals");
        whole.parse::<u64>().unwrap() * 100 + fraction.parse::<u64>().unwrap()
    };
    for entry in sales {
        for posting in &entry.postings {
            let total = totals
                .entry((posting.account.clone(), posting.currency.clone()))
                .or_default();
            if let Some(debit) = &posting.debit {
                total.0 += cents(debit);
            }
            if let Some(credit) = &posting.credit {
                total.1 += cents(credit);
            }
        }
    }
    totals
        .into_iter()
        .map(|((account, currency), (debit, credit))| {
            let (debit, credit) = if debit >= credit {
                (debit - credit, 0)
            } else {
                (0, credit - debit)
            };
            TrialBalanceJson {
                account,
                currency,
                debit: eur(debit),
                credit: eur(credit),
            }
        })
        .collect()
}

/// Sorts trial balance lines for comparison.
pub fn sorted(mut lines: Vec<TrialBalanceJson>) -> Vec<TrialBalanceJson> {
    lines.sort_by(|a, b| (&a.account, &a.currency).cmp(&(&b.account, &b.currency)));
    lines
}

/// Signs one entry as a single transaction.
pub fn sign_single(
    key: &tally_identity::SecretKey,
    chain_id: &str,
    entry: &EntryJson,
) -> Transaction {
    let draft = entry.to_draft().expect("a valid entry");
    Transaction::Single(tally_chain::SignedTx::sign(
        key,
        chain_id,
        tally_chain::TxBody::Post(draft),
    ))
}

/// Signs entries as one batch.
pub fn sign_batch(
    key: &tally_identity::SecretKey,
    chain_id: &str,
    entries: &[EntryJson],
) -> Transaction {
    let drafts = entries
        .iter()
        .map(|entry| entry.to_draft().expect("a valid entry"))
        .collect();
    Transaction::Batch(tally_chain::SignedBatch::sign(key, chain_id, drafts))
}

pub fn read_key(path: &Path) -> tally_identity::SecretKey {
    tally_identity::SecretKey::read_file(path)
        .unwrap_or_else(|error| panic!("reading key {}: {error}", path.display()))
}
