//! End to end: a 4-validator devnet of real `tally node` processes survives one validator being
//! SIGKILLed and restarted. The three others keep committing; the restarted one catches up to the
//! same state root, entry log and trial balance, and takes part in consensus again. Then finance
//! closes the period with `tally close-period` (the default policy: one sign-off), every node
//! serves the same closing trial balance, and an entry dated in the closed period is refused.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tally_node::wire::{CloseSignerJson, ClosingJson, CommittedEntryJson, EntryJson, StatusJson};

/// Runs `tally submit` for each (node, entry) concurrently and asserts every one is committed.
fn submit_all(devnet: &mut Devnet, jobs: &[(usize, EntryJson)]) {
    let key = devnet.key("client");
    let mut commands = Vec::new();
    for (node, entry) in jobs {
        let path = devnet.write_entry(entry);
        commands.push((
            *node,
            entry.id.clone(),
            devnet.submit_command(*node, &key, &path, 30),
        ));
    }
    let outputs: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = commands
            .into_iter()
            .map(|(node, id, mut command)| {
                scope.spawn(move || (node, id, run(&mut command, Duration::from_secs(45))))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    for (node, id, output) in outputs {
        let stdout = stdout_of(&output);
        assert!(
            output.status.success()
                && stdout.starts_with(&format!("entry {id} committed at height ")),
            "tally submit of {id} to {}: {}",
            NAMES[node],
            describe(&output)
        );
    }
}

/// Waits until all running nodes report the same height, then asserts they agree on the tip.
fn assert_same_tip(devnet: &mut Devnet) -> Vec<StatusJson> {
    let statuses = wait_for(
        "all nodes at the same height",
        Duration::from_secs(20),
        || {
            devnet.check_alive();
            let statuses: Vec<StatusJson> = devnet.statuses()?.into_iter().flatten().collect();
            if statuses
                .windows(2)
                .all(|pair| pair[0].height == pair[1].height)
            {
                Ok(statuses)
            } else {
                Err(summary(
                    &statuses.iter().cloned().map(Some).collect::<Vec<_>>(),
                ))
            }
        },
    );
    for (status, name) in statuses.iter().zip(NAMES) {
        assert_eq!(
            (
                &status.tip,
                &status.state_root,
                &status.log_root,
                status.entries
            ),
            (
                &statuses[0].tip,
                &statuses[0].state_root,
                &statuses[0].log_root,
                statuses[0].entries
            ),
            "{name} disagrees with {} at height {}",
            NAMES[0],
            status.height
        );
    }
    statuses
}

/// The height a (re)started node reports in its first log line: "node NAME: chain 'ID' at
/// height N, API on http://ADDR".
fn restarted_height(devnet: &mut Devnet, index: usize) -> u64 {
    wait_for(
        &format!("{} to log its start", NAMES[index]),
        Duration::from_secs(30),
        || {
            devnet.check_alive();
            let log = devnet.last_log(index);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let line = text
                .lines()
                .find(|line| line.starts_with(&format!("node {}: chain ", NAMES[index])))
                .ok_or_else(|| format!("no start line yet in {}", log.display()))?;
            let height = line
                .split(" at height ")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .and_then(|height| height.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("unexpected start line: {line}"));
            Ok(height)
        },
    )
}

/// Waits until the restarted node `index` reaches `height` and holds `entries` entries.
fn wait_caught_up(devnet: &mut Devnet, index: usize, height: u64, entries: u64) {
    wait_for(
        &format!("{} to catch up to height {height}", NAMES[index]),
        Duration::from_secs(45),
        || {
            devnet.check_alive();
            let status = devnet.status(index)?;
            if status.height >= height && status.entries == entries {
                Ok(())
            } else {
                Err(format!(
                    "height {} entries {}",
                    status.height, status.entries
                ))
            }
        },
    );
}

#[test]
fn devnet_survives_kill_and_restart() {
    let started = Instant::now();
    let mut devnet = Devnet::start("restart");
    eprintln!("all 4 nodes at height >= 1 after {:?}", started.elapsed());

    let status = devnet.status(0).expect("status");
    assert_eq!(status.chain_id, "merchant-private");
    assert_eq!(status.validators, 4);
    assert_eq!(status.entries, 0);
    let chain_id = status.chain_id.clone();
    let client = read_key(&devnet.key("client"));

    let mut committed: Vec<EntryJson> = Vec::new();

    // Phase 1: 16 entries via `tally submit`, spread over all four nodes, all at once.
    let jobs: Vec<(usize, EntryJson)> = (0..16)
        .map(|i| (i % 4, sale(&format!("cli-{i:03}"), 10_000 + 137 * i as u64)))
        .collect();
    submit_all(&mut devnet, &jobs);
    committed.extend(jobs.into_iter().map(|(_, entry)| entry));

    // ... and 5 as one signed batch over HTTP.
    let batch: Vec<EntryJson> = (0..5)
        .map(|i| sale(&format!("batch-{i:03}"), 5_000 + 11 * i as u64))
        .collect();
    let batch_tx = sign_batch(&client, &chain_id, &batch);
    let height = devnet.post_and_commit(3, &batch_tx, Duration::from_secs(30));
    eprintln!("batch committed at height {height}");
    committed.extend(batch);

    let statuses = devnet.wait_all_entries(committed.len() as u64, Duration::from_secs(30));
    eprintln!(
        "phase 1 done after {:?}: {}",
        started.elapsed(),
        summary(&statuses)
    );
    assert_same_tip(&mut devnet);

    // Phase 2: SIGKILL logistics; the other three (exactly a quorum) keep committing.
    const VICTIM: usize = 2;
    let before_kill = devnet.status(VICTIM).expect("status of the victim");
    devnet.kill_node(VICTIM);
    assert!(
        devnet.status(VICTIM).is_err(),
        "the killed node still answers its API"
    );
    let killed_at = Instant::now();
    let jobs: Vec<(usize, EntryJson)> = (0..6)
        .map(|i| {
            (
                [0, 1, 3][i % 3],
                sale(&format!("down-{i:03}"), 20_000 + 59 * i as u64),
            )
        })
        .collect();
    submit_all(&mut devnet, &jobs);
    committed.extend(jobs.into_iter().map(|(_, entry)| entry));
    let batch: Vec<EntryJson> = (0..3)
        .map(|i| sale(&format!("down-batch-{i:03}"), 7_000 + 3 * i as u64))
        .collect();
    devnet.post_and_commit(
        1,
        &sign_batch(&client, &chain_id, &batch),
        Duration::from_secs(30),
    );
    committed.extend(batch);
    let statuses = devnet.wait_all_entries(committed.len() as u64, Duration::from_secs(30));
    eprintln!(
        "phase 2 (one node down) done {:?} after the kill: {}",
        killed_at.elapsed(),
        summary(&statuses)
    );
    let target = statuses
        .iter()
        .flatten()
        .map(|status| status.height)
        .max()
        .unwrap();

    // Phase 3: restart it with the same config; it must catch up.
    devnet.start_node(VICTIM);
    let restarted_at = Instant::now();
    // What it committed before the kill survived it: it restarts at least where it was.
    let restart_height = restarted_height(&mut devnet, VICTIM);
    assert!(
        restart_height >= before_kill.height,
        "{} restarted at height {restart_height} but had reported height {} before SIGKILL",
        NAMES[VICTIM],
        before_kill.height
    );
    wait_caught_up(&mut devnet, VICTIM, target, committed.len() as u64);
    eprintln!("restarted node caught up in {:?}", restarted_at.elapsed());

    // An entry committed while it was down is readable from it, with its provenance.
    let reply = devnet
        .http
        .get(&devnet.url(VICTIM, "/v1/entries/down-000"))
        .expect("GET entry");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let entry: CommittedEntryJson = reply.json();
    assert_eq!(
        entry.entry, committed[21],
        "down-000 as the restarted node has it"
    );
    assert_eq!(entry.signer, client.public_key().to_string());

    // It proposes again: an entry submitted to it (mempools are per node) gets committed.
    let last = sale("after-restart", 31_415);
    submit_all(&mut devnet, &[(VICTIM, last.clone())]);
    committed.push(last);
    devnet.wait_all_entries(committed.len() as u64, Duration::from_secs(30));

    // It votes again: with another node down, no quorum of 3 exists without it.
    const SECOND: usize = 0;
    devnet.kill_node(SECOND);
    let jobs: Vec<(usize, EntryJson)> = [1, VICTIM, 3]
        .into_iter()
        .enumerate()
        .map(|(i, node)| (node, sale(&format!("quorum-{i:03}"), 9_900 + i as u64)))
        .collect();
    submit_all(&mut devnet, &jobs);
    committed.extend(jobs.into_iter().map(|(_, entry)| entry));
    devnet.wait_all_entries(committed.len() as u64, Duration::from_secs(30));
    let target = devnet.highest_height();
    devnet.start_node(SECOND);
    wait_caught_up(&mut devnet, SECOND, target, committed.len() as u64);
    eprintln!("second kill and restart done after {:?}", started.elapsed());

    // Submissions have stopped: every node must agree on state and entries.
    let statuses = assert_same_tip(&mut devnet);
    for status in &statuses {
        assert!(status.balanced, "ledger not balanced: {status:?}");
        assert_eq!(status.entries, committed.len() as u64);
        assert_eq!(status.mempool_entries, 0);
    }
    let expected = expected_trial_balance(&committed);
    for (index, name) in NAMES.iter().enumerate() {
        let report = sorted(devnet.trial_balance_cli(index));
        assert_eq!(
            report, expected,
            "trial balance of {} differs from the submitted entries",
            name
        );
    }
    // The state root did not move while reading the reports (no new entries).
    let after: Vec<StatusJson> = devnet.statuses().unwrap().into_iter().flatten().collect();
    for (status, name) in after.iter().zip(NAMES) {
        assert_eq!(status.state_root, statuses[0].state_root, "{name}");
        assert_eq!(status.log_root, statuses[0].log_root, "{name}");
        assert!(
            status.height >= statuses[0].height,
            "{name} went back in height"
        );
    }

    // Every node serves the same finalized blocks, and most carry their own certificate.
    let height = statuses[0].height;
    let mut certified = 0;
    for block_height in 1..=height {
        let mut digests = Vec::new();
        for index in 0..NAMES.len() {
            let reply = devnet
                .http
                .get(&devnet.url(index, &format!("/v1/blocks/{block_height}")))
                .unwrap();
            assert_eq!(reply.status, 200, "block {block_height}: {}", reply.body);
            let block: tally_node::wire::BlockJson = reply.json();
            if index == 0 && block.certificate.is_some() {
                certified += 1;
            }
            digests.push(block.digest);
        }
        assert!(
            digests.iter().all(|d| *d == digests[0]),
            "nodes disagree on block {block_height}"
        );
    }
    assert!(
        certified * 2 >= height,
        "only {certified} of {height} blocks carry a certificate"
    );

    // History: a reversal and an adjustment of committed entries, shown with who and why.
    let mut reversal = sale("rev-cli-000", 0);
    reversal.postings = committed[0]
        .postings
        .iter()
        .map(|posting| tally_node::wire::PostingJson {
            debit: posting.credit.clone(),
            credit: posting.debit.clone(),
            ..posting.clone()
        })
        .collect();
    reversal.description = "customer cancelled the order".into();
    reversal.reverses = Some("cli-000".into());
    let mut adjustment = sale("adj-cli-000", 100);
    adjustment.description = "late shipping surcharge".into();
    adjustment.references = vec![tally_node::wire::ReferenceJson {
        kind: "adjusts".into(),
        value: "cli-000".into(),
    }];
    let mut bogus = sale("adj-nothing", 100);
    bogus.references = vec![tally_node::wire::ReferenceJson {
        kind: "adjusts".into(),
        value: "no-such-entry".into(),
    }];
    let output = devnet.submit_cli(0, "client", &bogus);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr_of(&output)
            .contains("the entry adjusts 'no-such-entry', which is not a committed entry"),
        "{}",
        describe(&output)
    );
    submit_all(
        &mut devnet,
        &[(0, reversal.clone()), (1, adjustment.clone())],
    );
    committed.push(reversal);
    committed.push(adjustment);
    // Node 2 was sent neither: it shows them once it has committed their blocks.
    let expected = [
        "entry cli-000",
        "reversal of cli-000 by entry rev-cli-000",
        "adjustment of cli-000 by entry adj-cli-000",
        "reason     customer cancelled the order",
        "reason     late shipping surcharge",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = run(
            tally()
                .args(["history", "cli-000", "--node"])
                .arg(devnet.api(2))
                .env("TALLY_KEY", devnet.key("client")),
            Duration::from_secs(30),
        );
        assert!(output.status.success(), "{}", describe(&output));
        let stdout = stdout_of(&output);
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|line| !stdout.contains(line))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing {missing:?} in:\n{stdout}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Proofs from a running node, checked offline with the genesis alone.
    let genesis = devnet.net_dir().join("genesis.json");
    let proof_path = devnet.root.join("down-000.proof");
    let output = run(
        tally()
            .args(["proof", "entry", "down-000", "--node"])
            .arg(devnet.api(3))
            .arg("--key")
            .arg(devnet.key("client"))
            .arg("--out")
            .arg(&proof_path),
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let check = |path: &std::path::Path| {
        run(
            tally()
                .args(["proof", "check"])
                .arg(path)
                .arg("--genesis")
                .arg(&genesis),
            Duration::from_secs(30),
        )
    };
    let output = check(&proof_path);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains(&format!("entry 'down-000' is in chain '{chain_id}'")),
        "{stdout}"
    );
    let mut altered = std::fs::read(&proof_path).unwrap();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x01;
    let altered_path = devnet.root.join("altered.proof");
    std::fs::write(&altered_path, altered).unwrap();
    let output = check(&altered_path);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(
        stderr_of(&output).contains("does not check"),
        "{}",
        describe(&output)
    );

    let consistency_path = devnet.root.join("consistency.proof");
    let output = run(
        tally()
            .args(["proof", "consistency", "--from", "1", "--to", "3", "--node"])
            .arg(devnet.api(0))
            .arg("--key")
            .arg(devnet.key("auditor"))
            .arg("--out")
            .arg(&consistency_path),
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let output = check(&consistency_path);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout_of(&output).contains("extends block 1"),
        "{}",
        describe(&output)
    );

    // Phase 4: finance closes November; the closing trial balance holds every entry. Finance
    // signs the trial balance node 1 reports, which the chain refuses if node 1 had not yet
    // committed every entry: wait until every node holds the highest block any of them has.
    let highest = devnet.highest_height();
    devnet.wait_all_height(highest, Duration::from_secs(30));
    let expected = expected_trial_balance(&committed);
    let output = run(
        tally()
            .args(["close-period", "--through", "2026-11-30", "--node"])
            .arg(devnet.api(1))
            .arg("--key")
            .arg(devnet.key("client")),
        Duration::from_secs(45),
    );
    let stdout = stdout_of(&output);
    let closed_at: u64 = stdout
        .strip_prefix("period closed through 2026-11-30 at height ")
        .and_then(|rest| rest.strip_suffix(" (signed off by finance)\n"))
        .and_then(|height| height.parse().ok())
        .unwrap_or_else(|| panic!("tally close-period: {}", describe(&output)));
    assert!(output.status.success(), "{}", describe(&output));
    devnet.wait_all_height(closed_at, Duration::from_secs(30));
    for (index, name) in NAMES.iter().enumerate() {
        let reply = devnet
            .http
            .get(&devnet.url(index, "/v1/closings/2026-11-30"))
            .unwrap();
        assert_eq!(reply.status, 200, "closing on {name}: {}", reply.body);
        let closing: ClosingJson = reply.json();
        assert_eq!(closing.height, closed_at, "{name}");
        assert_eq!(
            closing.signers,
            vec![CloseSignerJson {
                role: "finance".into(),
                member: client.public_key().to_string()
            }],
            "{name}"
        );
        assert_eq!(
            sorted(closing.trial_balance.expect("a closing trial balance")),
            expected,
            "closing trial balance of {name}"
        );
    }
    // An entry dated in the closed period is refused: exit 2, the ledger's message, its code.
    let output = devnet.submit_cli(2, "client", &sale("after-close", 1_234));
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert_eq!(
        stderr_of(&output),
        "error: 2026-11-24 is in a closed period (closed through 2026-11-30) (period_closed)\n"
    );
    assert!(output.stdout.is_empty(), "{}", describe(&output));

    // The closing trial balance has its own proof, checked with the genesis alone.
    let closing_path = devnet.root.join("closing.proof");
    let output = run(
        tally()
            .args(["proof", "closing", "--through", "2026-11-30", "--node"])
            .arg(devnet.api(2))
            .arg("--key")
            .arg(devnet.key("client"))
            .arg("--out")
            .arg(&closing_path),
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let output = check(&closing_path);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = stdout_of(&output);
    assert!(
        stdout.contains("accepted this trial balance as of 2026-11-30"),
        "{stdout}"
    );
    for line in &expected {
        assert!(
            stdout.contains(&line.account),
            "{} missing in:\n{stdout}",
            line.account
        );
    }

    // Offline audit of a stopped node's data: clean, then with one flipped byte in a block.
    const AUDITED: usize = 1;
    devnet.kill_node(AUDITED);
    let data = devnet.net_dir().join(NAMES[AUDITED]).join("data");
    let output = run(
        tally()
            .arg("verify")
            .arg("--data")
            .arg(&data)
            .arg("--genesis")
            .arg(&genesis)
            .arg("--quiet"),
        Duration::from_secs(60),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = stdout_of(&output);
    assert!(stdout.contains("no problems found"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} entries", committed.len())),
        "{stdout}"
    );

    let damaged = devnet.root.join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    let store_path = damaged.join("ledger.redb");
    std::fs::copy(data.join(&chain_id).join("ledger.redb"), &store_path).unwrap();
    let block = {
        let (store, _) = tally_chain::Store::open_existing(&store_path).unwrap();
        store.raw_block(2).unwrap().expect("block 2")
    };
    flip_in_every_copy(&store_path, &block);
    let output = run(
        tally()
            .arg("verify")
            .arg("--data")
            .arg(&damaged)
            .arg("--quiet"),
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!("chain '{chain_id}', block 2: ")),
        "{stderr}"
    );

    // A running node protects itself: damage block 2 in the stopped node's own store, restart
    // it, and read the block. It reports the fault, repairs from a good copy, and serves the
    // block every other node serves; its data then passes the offline audit again.
    let live_store = data.join(&chain_id).join("ledger.redb");
    flip_in_every_copy(&live_store, &block);
    devnet.start_node(AUDITED);
    wait_for("the damaged node's API", Duration::from_secs(30), || {
        devnet.status(AUDITED)
    });
    let block_of = |index: usize| -> tally_node::wire::BlockJson {
        let reply = devnet.http.get(&devnet.url(index, "/v1/blocks/2")).unwrap();
        assert_eq!(
            reply.status, 200,
            "block 2 from node {index}: {}",
            reply.body
        );
        reply.json()
    };
    assert_eq!(block_of(AUDITED).digest, block_of(0).digest);
    let log = devnet.log_tail(AUDITED, 200);
    assert!(log.contains("stored block failed its check"), "{log}");
    assert!(log.contains("repaired a damaged block"), "{log}");
    devnet.kill_node(AUDITED);
    let output = run(
        tally()
            .arg("verify")
            .arg("--data")
            .arg(&data)
            .arg("--quiet"),
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "after repair: {}",
        describe(&output)
    );

    eprintln!(
        "devnet_survives_kill_and_restart: {} entries, final height ~{}, took {:?}",
        committed.len(),
        after[0].height,
        started.elapsed()
    );
}

/// Flips one byte in the middle of every copy of `record` in the file at `path` (the store's
/// copy-on-write leaves stale copies in free pages; one of them is the live record).
fn flip_in_every_copy(path: &std::path::Path, record: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let spots: Vec<usize> = bytes
        .windows(record.len())
        .enumerate()
        .filter(|(_, window)| *window == record)
        .map(|(at, _)| at)
        .collect();
    assert!(!spots.is_empty(), "the record is not in {}", path.display());
    for at in spots {
        bytes[at + record.len() / 2] ^= 0x01;
    }
    std::fs::write(path, bytes).unwrap();
}
