//! End to end: the observer that `devnet init` configures follows a 4-validator devnet of real
//! processes over their APIs without voting. It serves the same blocks and trial balance as the
//! validators, refuses transactions, keeps following when the validator it was reading from is
//! SIGKILLed, and resumes from its own store after it is killed itself.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use tally_node::wire::{BlockJson, StatusJson};

/// The observer process, its log, and its API.
struct Observer {
    child: Option<Child>,
    log: std::path::PathBuf,
    api: String,
}

impl Observer {
    fn start(devnet: &Devnet, run: usize) -> Observer {
        let log = devnet.root.join("logs").join(format!("observer.{run}.log"));
        let file = std::fs::File::create(&log).expect("create log file");
        // Structured logs: the test reads the observer's warnings as JSON objects.
        let child = tally()
            .env("TALLY_LOG_FORMAT", "json")
            .env("TALLY_LOG", "warn")
            .arg("node")
            .arg("--config")
            .arg(devnet.net_dir().join("observer").join("node.toml"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log file"))
            .stderr(file)
            .spawn()
            .expect("start the observer");
        Observer {
            child: Some(child),
            log,
            api: format!("http://127.0.0.1:{}", devnet.base_port + 100 + 4),
        }
    }

    fn status(&self, http: &Http) -> Result<StatusJson, String> {
        let reply = http.get(&format!("{}/v1/status", self.api))?;
        if reply.status != 200 {
            return Err(format!("HTTP {}: {}", reply.status, reply.body));
        }
        Ok(reply.json())
    }

    /// Waits until the observer has committed at least `height`.
    fn wait_height(&mut self, http: &Http, height: u64) -> StatusJson {
        wait_for(
            &format!("the observer at height {height}"),
            Duration::from_secs(60),
            || {
                if let Some(child) = self.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!(
                            "the observer exited with {status}; log:\n{}",
                            self.log_tail()
                        );
                    }
                }
                let status = self.status(http)?;
                if status.height >= height {
                    Ok(status)
                } else {
                    Err(format!("at {}", status.height))
                }
            },
        )
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- observer ----\n{}", self.log_tail());
        }
        self.kill();
    }
}

/// A block as `api` serves it (header and certificate), as JSON to compare. Validators
/// finalize the same height moments apart, so a node that has not reached `height` yet is
/// asked again until it has.
fn block(http: &Http, api: &str, height: u64) -> serde_json::Value {
    let reply = wait_for(
        &format!("block {height} from {api}"),
        Duration::from_secs(30),
        || {
            let reply = http.get(&format!("{api}/v1/blocks/{height}"))?;
            if reply.status == 404 {
                return Err(reply.body);
            }
            Ok(reply)
        },
    );
    assert_eq!(
        reply.status, 200,
        "block {height} from {api}: {}",
        reply.body
    );
    serde_json::to_value(reply.json::<BlockJson>()).unwrap()
}

/// Checks that the observer serves block `height` as the validator does, with a finalization
/// certificate for it. Not necessarily the same certificate bytes: any quorum of the
/// validators' votes certifies a block, and validators may each assemble a different one (the
/// observer checked the one it keeps when it followed the block).
fn assert_same_block(http: &Http, observer: &str, validator: &str, height: u64) {
    let without_certificate = |mut block: serde_json::Value| {
        let certificate = block
            .as_object_mut()
            .and_then(|fields| fields.remove("certificate"))
            .and_then(|certificate| certificate.as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("block {height} without a certificate: {block}"));
        (block, certificate)
    };
    let (observed, certificate) = without_certificate(block(http, observer, height));
    let (served, _) = without_certificate(block(http, validator, height));
    assert_eq!(
        observed, served,
        "block {height} from {observer} and {validator}"
    );
    let digest = observed["digest"].as_str().expect("a digest");
    assert!(
        certificate.contains(digest),
        "the observer's certificate {certificate} is not for block {digest}"
    );
}

/// The value of one sample of `api`'s `/metrics` text, e.g. `tally_chain_height{chain="x"}`.
fn metric(http: &Http, api: &str, sample: &str) -> f64 {
    let reply = http
        .get(&format!("{api}/metrics"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .body
        .lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {sample} in the metrics of {api}"))
        .parse()
        .unwrap_or_else(|error| panic!("{sample} of {api}: {error}"))
}

/// Commits one sale through validator `index` and returns its height.
fn commit_sale(devnet: &mut Devnet, index: usize, id: &str) -> u64 {
    let client = tally_identity::SecretKey::read_file(&devnet.key("client")).expect("client key");
    let tx = sign_single(&client, "merchant-private", &sale(id, 10_000));
    devnet.post_and_commit(index, &tx, Duration::from_secs(30))
}

#[test]
fn an_observer_follows_without_voting_and_survives_faults() {
    let mut devnet = Devnet::start("observer");
    let mut observer = Observer::start(&devnet, 1);
    let height = commit_sale(&mut devnet, 0, "observed-1");
    let seen = observer.wait_height(&devnet.http, height);
    assert_eq!(seen.validators, 4);

    // The same block as validators serve it, with a finalization certificate for it.
    assert_same_block(&devnet.http, &observer.api, &devnet.api(1), height);
    assert_same_block(&devnet.http, &observer.api, &devnet.api(2), height);

    // It takes no transactions: only validators propose.
    let client = tally_identity::SecretKey::read_file(&devnet.key("client")).unwrap();
    let tx = sign_single(&client, "merchant-private", &sale("to-the-observer", 500));
    devnet
        .http
        .post_json(&format!("{}/v1/transactions", observer.api), &tx)
        .unwrap()
        .expect_error(
            "a transaction sent to the observer",
            409,
            "observer_node",
            "this node observes chain 'merchant-private' and does not take transactions; submit to one of its validators",
        );

    // Metrics say which node observes, how far each is, and how fast blocks become final.
    let chain = r#"{chain="merchant-private"}"#;
    assert_eq!(
        metric(
            &devnet.http,
            &observer.api,
            &format!("tally_chain_observer{chain}")
        ),
        1.0
    );
    assert_eq!(
        metric(
            &devnet.http,
            &devnet.api(1),
            &format!("tally_chain_observer{chain}")
        ),
        0.0
    );
    assert!(
        metric(
            &devnet.http,
            &observer.api,
            &format!("tally_chain_height{chain}")
        ) >= height as f64
    );
    assert!(
        metric(
            &devnet.http,
            &devnet.api(1),
            &format!("tally_chain_finality_seconds_count{chain}")
        ) >= 1.0
    );
    assert_eq!(
        metric(
            &devnet.http,
            &devnet.api(1),
            &format!("tally_chain_balanced{chain}")
        ),
        1.0
    );

    // The validator it reads first goes away: it moves on to the others, and says so in a
    // structured warning.
    devnet.kill_node(0);
    let height = commit_sale(&mut devnet, 1, "observed-2");
    observer.wait_height(&devnet.http, height);
    assert_same_block(&devnet.http, &observer.api, &devnet.api(1), height);
    let log = std::fs::read_to_string(&observer.log).unwrap();
    let warning = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["level"] == "WARN")
        .unwrap_or_else(|| panic!("no JSON warning in the observer's log:\n{log}"));
    assert_eq!(
        warning["message"],
        "observer source failed; trying the next"
    );
    assert!(
        warning["error"]
            .as_str()
            .unwrap()
            .starts_with(&devnet.api(0)),
        "{warning}"
    );

    // Killed and restarted, it resumes from its own store and catches up.
    observer.kill();
    let height = commit_sale(&mut devnet, 2, "observed-3");
    let mut observer = Observer::start(&devnet, 2);
    let status = observer.wait_height(&devnet.http, height);
    let validator = wait_for(
        "validator 1 at the observer's height",
        Duration::from_secs(30),
        || {
            let status = devnet.status(1)?;
            (status.height >= height)
                .then_some(status)
                .ok_or("behind".to_string())
        },
    );
    assert_same_block(&devnet.http, &observer.api, &devnet.api(1), height);
    assert!(status.entries >= 3 && validator.entries >= 3);
    let reply = devnet
        .http
        .get(&format!(
            "{}/v1/reports/trial-balance?height={height}",
            observer.api
        ))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let theirs = devnet
        .http
        .get(&devnet.url(1, &format!("/v1/reports/trial-balance?height={height}")))
        .unwrap();
    assert_eq!(reply.body, theirs.body);
}
