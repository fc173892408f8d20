//! The dashboard end to end, in a real headless browser: the `tally demo` binary runs the whole
//! topology and serves the merchant's API and dashboard; Debian's Chromium, driven through
//! chromedriver, visits every view and the test checks what it shows against the API: the
//! height, the blocks, the entries, the trial balance, the charts, a trade with its events and
//! its bookings, an entry's author, a proof (which `tally proof check` then accepts), a token
//! taken from the URL, and an API error shown with its code.
//!
//! Without `/usr/bin/chromium` or `/usr/bin/chromedriver` the test prints
//! `skipped: chromium not installed` and passes (`web/tests/install-browser.sh` installs them).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{tally, unused_port, wait_for, Http};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the demo's workload runs: long enough for trades to settle and for the browser to
/// visit every view while the API is up (the demo then settles and exits).
const DEMO_SECONDS: u64 = 75;

/// Longest wait for anything the page shows: a loaded 2-core machine runs sixteen validators,
/// four consortium validators and the browser at once.
const VIEW_TIMEOUT: Duration = Duration::from_secs(30);

/// How far the height the page shows may trail the API's: the health view refreshes every few
/// seconds while the chain keeps growing.
const HEIGHT_SLACK: u64 = 30;

/// A directory removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("tally-dashboard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed when dropped (also when the test panics).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo and waits for the merchant's dashboard line; returns the process, the base
/// URL, the member token the line carries and the receiver of the rest of its standard error.
fn start_demo(data: &Path, summary: &Path) -> (Running, String, String, mpsc::Receiver<String>) {
    let mut child = tally()
        .args([
            "demo",
            "--seconds",
            &DEMO_SECONDS.to_string(),
            "--rate",
            "5",
            "--seed",
            "7",
        ])
        .args(["--api", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--summary-json")
        .arg(summary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tally demo");
    let stderr = child.stderr.take().expect("piped stderr");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // The summary goes to standard output; drain it so the demo never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut BufReader::new(stdout), &mut sink);
    });
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match received.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("dashboard: ") {
                    if rest.contains("(merchant;") {
                        let url = rest.split_whitespace().next().expect("a URL");
                        let (page, token) = url.split_once("#token=").expect("a token");
                        let base = page.trim_end_matches("/dashboard/").to_string();
                        return (running, base, token.to_string(), received);
                    }
                }
                seen.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!(
        "the demo printed no merchant dashboard line; its output:\n{}",
        seen.join("\n")
    );
}

/// The key under which the W3C WebDriver protocol names an element.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session through chromedriver, spoken to in the W3C WebDriver protocol
/// (JSON over HTTP) with the reqwest client the CLI already uses: the few commands this test
/// needs do not justify a client crate, and the crates that offer one change the workspace's
/// JSON behaviour (thirtyfour turns on serde_json's `preserve_order` for every test build).
struct Browser {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`, once the session is open.
    session: String,
    _chromedriver: Running,
    _profile: Scratch,
}

impl Browser {
    fn start() -> Browser {
        let port = unused_port();
        let chromedriver = Running(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        let profile = Scratch::new("profile");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.0.display()));
        let capabilities = serde_json::json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            }}
        });
        let server = format!("http://127.0.0.1:{port}");
        let mut browser = Browser {
            runtime,
            client,
            session: String::new(),
            _chromedriver: chromedriver,
            _profile: profile,
        };
        let started = Instant::now();
        let session = loop {
            match browser.command(
                reqwest::Method::POST,
                &format!("{server}/session"),
                Some(&capabilities),
            ) {
                Ok(value) => {
                    break value["sessionId"]
                        .as_str()
                        .expect("a session id")
                        .to_string()
                }
                Err(error) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("no browser session through chromedriver on {server}: {error}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        browser.session = format!("{server}/session/{session}");
        browser
    }

    /// Sends one WebDriver command and returns its `value`, or the driver's error.
    fn command(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        self.runtime.block_on(async {
            let mut request = self.client.request(method, url);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|error| format!("{url}: {error}"))?;
            let status = response.status();
            let mut answer: Value = response
                .json()
                .await
                .map_err(|error| format!("{url}: {error}"))?;
            let value = answer["value"].take();
            if status.is_success() {
                Ok(value)
            } else {
                Err(format!("{url}: {} {}", value["error"], value["message"]))
            }
        })
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.command(
            reqwest::Method::POST,
            &format!("{}{path}", self.session),
            Some(&body),
        )
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        self.command(
            reqwest::Method::GET,
            &format!("{}{path}", self.session),
            None,
        )
    }

    fn goto(&self, url: &str) {
        self.post("/url", serde_json::json!({ "url": url }))
            .unwrap_or_else(|error| panic!("cannot open {url}: {error}"));
    }

    /// The ids of the elements matching `css`, in the page or under element `within`.
    fn find_all(&self, within: Option<&str>, css: &str) -> Result<Vec<String>, String> {
        let path = match within {
            Some(element) => format!("/element/{element}/elements"),
            None => "/elements".to_string(),
        };
        let found = self.post(
            &path,
            serde_json::json!({ "using": "css selector", "value": css }),
        )?;
        Ok(found
            .as_array()
            .ok_or("not a list of elements")?
            .iter()
            .filter_map(|element| element[ELEMENT_KEY].as_str().map(str::to_string))
            .collect())
    }

    fn text(&self, element: &str) -> Result<String, String> {
        Ok(self
            .get(&format!("/element/{element}/text"))?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// The text of every element matching `css`, once at least one matches.
    fn texts(&self, css: &str) -> Vec<String> {
        self.wait(css, |texts| {
            if texts.is_empty() {
                Err("nothing matches".into())
            } else {
                Ok(texts.to_vec())
            }
        })
    }

    fn read_texts(&self, css: &str) -> Result<Vec<String>, String> {
        self.find_all(None, css)?
            .iter()
            .map(|element| self.text(element))
            .collect()
    }

    /// Waits until the texts of the elements matching `css` satisfy `check`.
    fn wait<T>(&self, css: &str, mut check: impl FnMut(&[String]) -> Result<T, String>) -> T {
        wait_for(css, VIEW_TIMEOUT, || check(&self.read_texts(css)?))
    }

    /// The cells' texts of every row matching `css`.
    fn table_cells(&self, css: &str) -> Result<Vec<Vec<String>>, String> {
        self.find_all(None, css)?
            .iter()
            .map(|row| {
                self.find_all(Some(row), "td")?
                    .iter()
                    .map(|cell| self.text(cell))
                    .collect()
            })
            .collect()
    }

    fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find_all(None, css).ok()?.into_iter().next()?;
        self.get(&format!("/element/{element}/attribute/{name}"))
            .ok()?
            .as_str()
            .map(str::to_string)
    }

    fn click(&self, css: &str) {
        let element = wait_for(css, VIEW_TIMEOUT, || {
            self.find_all(None, css)?
                .into_iter()
                .next()
                .ok_or_else(|| "nothing matches".to_string())
        });
        self.post(&format!("/element/{element}/click"), serde_json::json!({}))
            .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
    }

    /// Runs `script` (which may `await`) in the page and returns what it returns.
    fn run(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];
             (async () => {{ {script} }})().then(done, (error) => done({{ error: String(error) }}));"
        );
        self.post(
            "/execute/async",
            serde_json::json!({ "script": wrapped, "args": [] }),
        )
        .unwrap_or_else(|error| panic!("script failed: {error}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.command(reqwest::Method::DELETE, &self.session, None);
        }
    }
}

fn get_json(http: &Http, url: &str) -> Result<Value, String> {
    let reply = http.get(url)?;
    if reply.status != 200 {
        return Err(format!("GET {url}: HTTP {}: {}", reply.status, reply.body));
    }
    serde_json::from_str(&reply.body).map_err(|error| format!("GET {url}: {error}"))
}

/// The trial balance lines as the page and the API both give them: account, currency, debit,
/// credit.
fn api_trial_balance(http: &Http, base: &str) -> Result<Vec<Vec<String>>, String> {
    let lines = get_json(http, &format!("{base}/v1/reports/trial-balance"))?;
    Ok(lines
        .as_array()
        .ok_or("not a list")?
        .iter()
        .map(|line| {
            ["account", "currency", "debit", "credit"]
                .iter()
                .map(|field| line[field].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect())
}

#[test]
fn the_dashboard_shows_what_the_api_says_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        println!("skipped: chromium not installed");
        return;
    }
    let scratch = Scratch::new("demo");
    let data = scratch.0.join("data");
    let summary = scratch.0.join("summary.json");
    let (mut demo, base, token, stderr) = start_demo(&data, &summary);
    let mut http = Http::new();
    http.set_token(Some(token.clone()));
    let dashboard = format!("{base}/dashboard/");

    // A trade the merchant is party to, settled and booked in its books: what the trade views
    // are checked against.
    let (trade, booked) = wait_for(
        "a settled trade booked by the merchant",
        Duration::from_secs(120),
        || {
            let page = get_json(&http, &format!("{base}/v1/chains/consortium/contracts?party=merchant&kind=trade&state=settled&limit=50"))?;
            let id = page["contracts"][0]["id"]
                .as_str()
                .ok_or("no settled trade yet")?
                .to_string();
            let entries = get_json(&http, &format!("{base}/v1/entries?reference=trade:{id}"))?;
            let ids: Vec<String> = entries["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| entry["entry"]["id"].as_str().unwrap().to_string())
                .collect();
            if ids.is_empty() {
                return Err(format!("trade {id} is not booked yet"));
            }
            Ok((id, ids))
        },
    );

    let browser = Browser::start();

    // A token the node refuses: the page asks to sign in, with the command that makes one.
    browser.goto(&format!("{dashboard}#token=0123"));
    let hint = browser.wait("#auth-message", |texts| match texts.first() {
        Some(text) if text.contains("tally token") => Ok(text.clone()),
        _ => Err("no sign-in hint shown".to_string()),
    });
    assert!(hint.contains("tally token"), "{hint}");
    // The token of the URL fragment is kept for the tab and leaves the address bar.
    browser.goto(&format!("{dashboard}#token={token}"));
    browser.texts("[data-chain='merchant'] .height");
    let kept = browser
        .run("return { token: sessionStorage.getItem('tally.token'), hash: location.hash };");
    assert_eq!(kept["token"], token.as_str());
    assert_eq!(kept["hash"], "#/health");

    // Health: every hosted chain, the merchant's height close to the API's, its validators.
    let api_height = get_json(&http, &format!("{base}/v1/status")).unwrap()["height"]
        .as_u64()
        .unwrap();
    let shown: u64 = browser.texts("[data-chain='merchant'] .height")[0]
        .parse()
        .unwrap();
    assert!(
        shown + HEIGHT_SLACK >= api_height && shown <= api_height + HEIGHT_SLACK,
        "the page shows height {shown}, the API {api_height}"
    );
    assert_eq!(
        browser
            .texts("[data-chain='merchant'] ul.validators li")
            .len(),
        4
    );
    assert_eq!(
        browser
            .texts("[data-chain='consortium'] ul.validators li")
            .len(),
        4
    );
    let lag = browser.texts("[data-chain='merchant'] dl")[0].clone();
    assert!(lag.contains("median"), "no finality lag shown: {lag}");

    // Blocks: newest first, a page of 20, the newest close to the API's height. A loaded machine
    // may still be short of a full page here: wait for one.
    wait_for(
        "the merchant's chain to hold a page of blocks",
        VIEW_TIMEOUT,
        || {
            let height = get_json(&http, &format!("{base}/v1/status"))?["height"]
                .as_u64()
                .ok_or("a status without a height")?;
            if height > 20 {
                Ok(())
            } else {
                Err(format!("height {height}"))
            }
        },
    );
    browser.goto(&format!("{dashboard}#/blocks?chain=merchant"));
    let heights: Vec<u64> = browser
        .texts("#blocks tbody tr td:first-child")
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
    assert_eq!(heights.len(), 20);
    assert!(
        heights.windows(2).all(|pair| pair[0] == pair[1] + 1),
        "{heights:?}"
    );
    let api_height = get_json(&http, &format!("{base}/v1/status")).unwrap()["height"]
        .as_u64()
        .unwrap();
    assert!(
        heights[0] + HEIGHT_SLACK >= api_height,
        "{} vs {api_height}",
        heights[0]
    );

    // Entries: the first page of the bank account's entries is the API's.
    browser.goto(&format!("{dashboard}#/entries?account=1000"));
    let shown = browser.texts("#entries tbody tr td:first-child");
    let api = get_json(&http, &format!("{base}/v1/entries?account=1000&limit=50")).unwrap();
    let expected: Vec<String> = api["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["entry"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, expected[..shown.len()].to_vec());
    assert!(shown.len() > 1, "{shown:?}");

    // Statements: the trial balance rows equal the API's. The books move while the demo runs,
    // so the page is reloaded until one reading of each agrees.
    browser.goto(&format!("{dashboard}#/reports"));
    browser.texts("#trial-balance tbody tr");
    wait_for("the trial balance to equal the API's", VIEW_TIMEOUT, || {
        let before = api_trial_balance(&http, &base)?;
        browser.run("await window.tallyDashboard.render(); return true;");
        let shown = browser.table_cells("#trial-balance tbody tr")?;
        let after = api_trial_balance(&http, &base)?;
        if shown.is_empty() || (shown != before && shown != after) {
            return Err(format!("page {shown:?}, API {after:?}"));
        }
        Ok(())
    });
    let balanced = browser.texts("[data-view='reports'] p.good");
    assert!(
        balanced.iter().any(|text| text == "balanced"),
        "{balanced:?}"
    );
    assert!(!browser.texts("table.income-statement tbody tr").is_empty());

    // Charts: revenue and bank as lines (or a single point), receivables by age as four bars.
    browser.goto(&format!("{dashboard}#/charts?currency=EUR&interval=day"));
    browser.wait("#revenue-chart svg, #revenue-chart .error", |found| {
        (!found.is_empty())
            .then_some(())
            .ok_or("no chart yet".into())
    });
    assert!(
        browser
            .read_texts("#revenue-chart .error")
            .unwrap()
            .is_empty(),
        "the revenue chart failed"
    );
    let revenue_last = browser
        .attribute("#revenue-chart", "data-last")
        .unwrap_or_default();
    assert!(
        revenue_last.contains('.'),
        "revenue so far: {revenue_last:?}"
    );
    browser.texts("#cash-chart svg");
    assert!(
        browser.read_texts("#cash-chart .error").unwrap().is_empty(),
        "the bank chart failed"
    );
    let bars =
        browser.run("return document.querySelectorAll('#ageing-chart svg rect.bar').length;");
    assert_eq!(bars, 4);

    // Trades: the settled trade the API lists is on the page; its own view shows its events and
    // what the merchant booked for it.
    browser.goto(&format!(
        "{dashboard}#/trades?party=merchant&kind=trade&state=settled"
    ));
    let listed = browser.texts("#contracts tbody tr td:first-child");
    assert!(listed.contains(&trade), "{trade} not among {listed:?}");
    browser.click(&format!("#contracts tr[data-contract='{trade}'] a"));
    let events = browser.texts("#events tbody tr td:nth-child(3)");
    assert_eq!(
        events.first().map(String::as_str),
        Some("trade_proposed"),
        "{events:?}"
    );
    assert!(events.iter().any(|event| event == "settled"), "{events:?}");
    let api_events = get_json(
        &http,
        &format!("{base}/v1/chains/consortium/contracts/{trade}"),
    )
    .unwrap();
    assert_eq!(events.len(), api_events["events"].as_array().unwrap().len());
    let shown_booked = browser.texts("#booked #entries tbody tr td:first-child");
    for id in &booked {
        assert!(shown_booked.contains(id), "{id} not among {shown_booked:?}");
    }

    // An entry: its author as the history endpoint names it, and its proof.
    let entry = booked[0].clone();
    browser.click(&format!("#booked tr[data-entry='{entry}'] a"));
    let author = browser.texts("#author-name")[0].clone();
    let history = get_json(&http, &format!("{base}/v1/entries/{entry}/history")).unwrap();
    assert_eq!(author, history["author"]["name"].as_str().unwrap());
    browser.click("#download-proof");
    let saved = browser.wait("#proof-status", |texts| {
        texts
            .first()
            .filter(|text| text.starts_with("saved"))
            .cloned()
            .ok_or(format!("{texts:?}"))
    });
    let bytes = browser.run(&format!(
        "return Array.from(await window.tallyDashboard.fetchProof({entry:?}));"
    ));
    let bytes: Vec<u8> = serde_json::from_value(bytes).expect("the proof's bytes");
    assert!(bytes.starts_with(b"TALLYPF1"), "not a proof file");
    assert!(
        saved.contains(&format!("({} bytes)", bytes.len())),
        "{saved}"
    );
    let proof = scratch.0.join("entry.proof");
    std::fs::write(&proof, &bytes).unwrap();

    // An unknown entry shows the API's error with its code.
    browser.goto(&format!("{dashboard}#/entry/no-such-entry"));
    let error = browser.texts(".error[data-code='not_found']");
    assert!(error[0].contains("no entry 'no-such-entry'"), "{error:?}");
    drop(browser);

    // The demo finishes on its own, balanced and reconciled, and writes its summary.
    let deadline = Instant::now() + Duration::from_secs(DEMO_SECONDS + 180);
    let status = loop {
        if let Some(status) = demo.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the demo did not finish");
        std::thread::sleep(Duration::from_millis(200));
    };
    let said: Vec<String> = stderr.try_iter().collect();
    assert!(
        status.success(),
        "the demo failed: {status}; its summary: {}; the end of its output:\n{}",
        std::fs::read_to_string(&summary).unwrap_or_default(),
        said[said.len().saturating_sub(20)..].join("\n")
    );
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["balanced"], true);

    // The downloaded proof checks offline against the merchant chain's genesis.
    let store = std::fs::read_dir(data.join("merchant"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|node| node.path().join("merchant.redb"))
        .find(|path| path.exists())
        .expect("the merchant's store");
    let (_, genesis) =
        tally_chain::Store::open_existing(&store).expect("open the merchant's store");
    let genesis_file = scratch.0.join("genesis.json");
    std::fs::write(&genesis_file, serde_json::to_string(&genesis).unwrap()).unwrap();
    let output = common::run(
        tally()
            .args(["proof", "check"])
            .arg(&proof)
            .arg("--genesis")
            .arg(&genesis_file),
        Duration::from_secs(60),
    );
    assert!(output.status.success(), "{}", common::describe(&output));
    assert!(
        common::stdout_of(&output).contains(&format!("proof checks: entry '{entry}'")),
        "{}",
        common::describe(&output)
    );
}
