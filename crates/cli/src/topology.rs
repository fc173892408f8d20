//! The whole two-tier topology inside this process: four enterprises' private chains of four
//! department validators each, the consortium chain validated by one node per enterprise, a
//! bookkeeper per enterprise, and the trade workload. `tally demo` and `tally bench trades` run it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use commonware_runtime::{tokio as cw_tokio, Spawner, Supervisor};
use serde::Serialize;
use tally_chain::{SignedTx, Transaction, TxBody};
use tally_consensus::{ChainHandle, Timing};
use tally_contracts::{EnterpriseName, PostingRules};
use tally_ledger::{Date, EntryId};
use tally_node::{
    bookkeeper::{run_bookkeeper, BookkeeperConfig, BookkeeperHandle},
    reconcile::{intercompany, reconcile, DERIVED_PREFIX},
    start_node,
    topology::{opening_entry, TopologyPlan},
    trades::{DriverStats, TradeDriver, TradeGenerator},
    wire::TrialBalanceJson,
    ChainSpec, NodeSpec,
};

use crate::local::{free_ports, now_ms};

/// Private chain blocks between two anchors of an enterprise's head on the consortium chain.
pub const ANCHOR_EVERY_BLOCKS: u64 = 20;

/// One enterprise running in this process.
pub struct RunningEnterprise {
    pub name: EnterpriseName,
    /// Its private chain, one handle per department validator.
    pub private: Vec<ChainHandle>,
    /// Its consortium validator's copy of the consortium chain.
    pub consortium: ChainHandle,
    pub bookkeeper: BookkeeperHandle,
}

pub struct RunningTopology {
    pub plan: TopologyPlan,
    pub enterprises: Vec<RunningEnterprise>,
}

/// Starts every node and bookkeeper of `plan` on loopback, storing under `data`.
pub async fn start_topology(
    context: cw_tokio::Context,
    data: &Path,
    mut plan: TopologyPlan,
) -> anyhow::Result<RunningTopology> {
    let count: usize = plan
        .enterprises
        .iter()
        .map(|enterprise| enterprise.chain.validators.len())
        .sum();
    let mut ports = free_ports(count)?.into_iter();
    for enterprise in &mut plan.enterprises {
        for validator in &mut enterprise.chain.validators {
            validator
                .p2p
                .set_port(ports.next().expect("one port per validator"));
        }
    }
    let mut consortium_addresses = Vec::new();
    for enterprise in &plan.enterprises {
        consortium_addresses.push(enterprise.chain.addresses()[0].clone());
    }
    let mut enterprises = Vec::new();
    for enterprise in &plan.enterprises {
        let mut private = Vec::new();
        let mut consortium = None;
        for (index, validator) in enterprise.chain.validators.iter().enumerate() {
            let dir = data.join(enterprise.name.as_str()).join(&validator.name);
            let mut chains = vec![ChainSpec {
                genesis: enterprise.chain.genesis.clone(),
                ledger_path: dir.join(format!("{}.redb", enterprise.chain_id())),
            }];
            let mut validators = enterprise.chain.addresses();
            if index == 0 {
                chains.push(ChainSpec {
                    genesis: plan.consortium.clone(),
                    ledger_path: dir.join("consortium.redb"),
                });
                validators.extend(consortium_addresses.iter().cloned());
            }
            let spec = NodeSpec {
                name: format!("{}-{}", enterprise.name, validator.name),
                chains,
                signer: validator.key.clone(),
                p2p_listen: validator.p2p,
                validators,
                timing: Timing::default(),
            };
            let mut handles = start_node(context.child("node"), spec).await?.into_iter();
            private.push(handles.next().expect("the private chain"));
            if let Some(handle) = handles.next() {
                consortium = Some(handle);
            }
        }
        let consortium = consortium.expect("validator 0 hosts the consortium chain");
        let bookkeeper = BookkeeperHandle::default();
        let config = BookkeeperConfig {
            enterprise: enterprise.name.clone(),
            rules: PostingRules::default(),
            key: enterprise
                .chain
                .member("bookkeeper")
                .expect("the plan has a bookkeeper")
                .clone(),
            anchor_key: Some(enterprise.bookkeeper.clone()),
            anchor_every_blocks: ANCHOR_EVERY_BLOCKS,
            cursor_path: data
                .join(enterprise.name.as_str())
                .join("bookkeeping.cursor"),
        };
        let (consortium_for_task, private_for_task, handle_for_task) =
            (consortium.clone(), private[0].clone(), bookkeeper.clone());
        context
            .child("bookkeeper")
            .with_attribute("enterprise", enterprise.name.as_str())
            .spawn(move |context| {
                run_bookkeeper(
                    context,
                    consortium_for_task,
                    private_for_task,
                    config,
                    handle_for_task,
                )
            });
        enterprises.push(RunningEnterprise {
            name: enterprise.name.clone(),
            private,
            consortium,
            bookkeeper,
        });
    }
    Ok(RunningTopology { plan, enterprises })
}

impl RunningTopology {
    /// Posts every enterprise's opening bank balance and waits until it is final.
    pub async fn post_openings(&self) -> anyhow::Result<()> {
        let date = Date::from_unix_ms(now_ms());
        let mut waiting = Vec::new();
        for (plan, running) in self.plan.enterprises.iter().zip(&self.enterprises) {
            let entry = opening_entry(running.name.as_str(), date);
            waiting.push((running.private[0].clone(), entry.id.clone()));
            let key = plan.chain.member("finance").expect("the plan has finance");
            let tx = Transaction::Single(SignedTx::sign(key, plan.chain_id(), TxBody::Post(entry)));
            running.private[0]
                .submit(tx)
                .map_err(|error| anyhow::anyhow!("opening balance refused: {error}"))?;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for (chain, id) in waiting {
            while chain.entry(&id)?.is_none() {
                if Instant::now() > deadline {
                    anyhow::bail!("the opening balances were not final within 60 s");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// A trade driver with every enterprise's trader key.
    pub fn driver(&self, seed: u64) -> TradeDriver {
        let keys = self
            .plan
            .enterprises
            .iter()
            .map(|enterprise| (enterprise.name.clone(), enterprise.trader.clone()))
            .collect();
        let generator = TradeGenerator::new(seed, "").with_sealing(self.plan.sealing());
        TradeDriver::new(generator, keys)
    }

    /// Whether `party`'s private chain holds `entry`.
    pub fn booked(&self, party: &EnterpriseName, entry: &EntryId) -> bool {
        self.enterprises
            .iter()
            .find(|running| &running.name == party)
            .and_then(|running| running.private[0].entry(entry).ok().flatten())
            .is_some()
    }

    /// Runs trades at `rate` per second until `deadline` (or Ctrl-C), then lets the trades in
    /// flight finish. `report` is called after every poll with the driver's statistics. The
    /// driver polls when the consortium chain or a private chain it reads commits a block (so
    /// the latencies it records are not rounded up to a tick), and at least every tick.
    pub async fn run_trades(
        &self,
        seed: u64,
        rate: u64,
        duration: Option<Duration>,
        mut report: impl FnMut(&DriverStats, usize),
    ) -> DriverStats {
        let mut driver = self.driver(seed);
        let consortium = &self.enterprises[0].consortium;
        let start = Instant::now();
        let tick = Duration::from_millis(100);
        let mut owed = 0.0f64;
        let mut last_tick = start;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut heights: Vec<_> = std::iter::once(consortium.subscribe())
            .chain(
                self.enterprises
                    .iter()
                    .map(|running| running.private[0].subscribe()),
            )
            .collect();
        let mut stopping = false;
        let mut stop_deadline = None;
        loop {
            let running_for = start.elapsed();
            if !stopping && duration.is_some_and(|duration| running_for >= duration) {
                stopping = true;
            }
            if stopping {
                let deadline =
                    *stop_deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(60));
                if driver.in_flight() == 0 || Instant::now() > deadline {
                    break;
                }
            } else {
                // Owed by the time that really passed: a tick's own work makes it longer than
                // `tick`, and the offered rate must not sag with it.
                let now = Instant::now();
                owed += rate as f64 * now.duration_since(last_tick).as_secs_f64();
                last_tick = now;
                let count = owed.floor() as usize;
                owed -= count as f64;
                driver.start(count, now_ms());
            }
            driver.poll(consortium, now_ms(), |party, entry| {
                self.booked(party, entry)
            });
            report(&driver.stats, driver.in_flight());
            let committed = futures::future::select_all(
                heights.iter_mut().map(|height| Box::pin(height.changed())),
            );
            tokio::select! {
                _ = tokio::time::sleep(tick) => {},
                _ = committed => {},
                _ = &mut ctrl_c => stopping = true,
            }
        }
        driver.stats
    }

    /// Waits until each chain's validators reach the same height and the bookkeepers have caught
    /// up with the consortium chain, or `timeout` passes.
    pub async fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let consortium_height = self.enterprises[0].consortium.state().height;
            let quiet = self.enterprises.iter().all(|running| {
                let heights: Vec<u64> = running
                    .private
                    .iter()
                    .map(|chain| chain.state().height)
                    .collect();
                let pending: usize = running.private.iter().map(|c| c.mempool_entries()).sum();
                heights.iter().all(|height| *height == heights[0])
                    && pending == 0
                    && running.bookkeeper.status().booked_through + 2 >= consortium_height
            });
            if quiet {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The state of every chain and whether all partners' books reconcile.
    pub fn summary(&self) -> TopologySummary {
        let mut chains = Vec::new();
        for running in &self.enterprises {
            chains.push(ChainSummary::of(&running.private));
        }
        let consortium: Vec<ChainHandle> = self
            .enterprises
            .iter()
            .map(|running| running.consortium.clone())
            .collect();
        chains.push(ChainSummary::of(&consortium));
        let rules = PostingRules::default();
        let mut derived: BTreeMap<EnterpriseName, Vec<tally_chain::CommittedEntry>> =
            BTreeMap::new();
        for running in &self.enterprises {
            let entries = running.private[0]
                .store()
                .entries_with_prefix(DERIVED_PREFIX)
                .unwrap_or_default();
            derived.insert(running.name.clone(), entries);
        }
        let mut pairs = Vec::new();
        let mut differences = 0;
        let names: Vec<&EnterpriseName> = derived.keys().collect();
        for (position, a) in names.iter().enumerate() {
            for b in &names[position + 1..] {
                let ours = intercompany(&derived[*a], &rules, b.as_str());
                let theirs = intercompany(&derived[*b], &rules, a.as_str());
                let lines = reconcile(&ours, &theirs);
                let open = lines
                    .iter()
                    .filter(|line| line.difference_minor != 0)
                    .count();
                differences += open;
                pairs.push(PairSummary {
                    parties: format!("{a}/{b}"),
                    contracts: lines.len(),
                    differences: open,
                });
            }
        }
        let stuck: usize = self
            .enterprises
            .iter()
            .map(|running| running.bookkeeper.status().stuck.len())
            .sum();
        TopologySummary {
            reconciled: differences == 0 && stuck == 0,
            chains,
            reconciliation: pairs,
            stuck_entries: stuck,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ChainSummary {
    pub chain_id: String,
    pub validators: usize,
    pub blocks: u64,
    pub entries: u64,
    pub contract_events: u64,
    pub balanced: bool,
    pub agreed: bool,
    pub state_root: String,
    pub trial_balance: Vec<TrialBalanceJson>,
}

impl ChainSummary {
    /// The chain as its first validator sees it; `agreed` if every validator holds the same
    /// block at the lowest height any of them has committed. Idle chains keep making blocks,
    /// so validators seen one after another may be a block apart; what matters is that none
    /// holds a different block.
    fn of(handles: &[ChainHandle]) -> ChainSummary {
        let state = handles[0].state();
        let common = handles
            .iter()
            .map(|handle| handle.state().height)
            .min()
            .unwrap_or(0);
        let digest_at = |handle: &ChainHandle| {
            handle
                .store()
                .block(common)
                .ok()
                .flatten()
                .map(|block| tally_chain::header_digest(&block.header))
        };
        let first = digest_at(&handles[0]);
        let agreed = common == 0
            || (first.is_some() && handles.iter().all(|handle| digest_at(handle) == first));
        ChainSummary {
            chain_id: handles[0].chain_id().to_string(),
            validators: handles.len(),
            blocks: state.height,
            entries: state.log.len(),
            contract_events: state.contract_log.len(),
            balanced: state.ledger.is_balanced(),
            agreed,
            state_root: hex::encode(state.state_root()),
            trial_balance: state
                .ledger
                .trial_balance()
                .iter()
                .map(TrialBalanceJson::from_line)
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PairSummary {
    pub parties: String,
    pub contracts: usize,
    pub differences: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct TopologySummary {
    pub reconciled: bool,
    pub chains: Vec<ChainSummary>,
    pub reconciliation: Vec<PairSummary>,
    pub stuck_entries: usize,
}

/// Creates `data` (refusing a non-empty one) or a temporary directory removed on drop.
pub fn data_dir(
    given: Option<&Path>,
    name: &str,
) -> anyhow::Result<(std::path::PathBuf, Option<TempDir>)> {
    let (dir, temporary) = match given {
        Some(dir) => {
            if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
                return Err(crate::user_error(format!(
                    "{} is not empty; this starts new chains, so give it an empty or new directory",
                    dir.display()
                )));
            }
            (dir.to_path_buf(), None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("tally-{name}-{}", std::process::id()));
            (dir.clone(), Some(TempDir(dir)))
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok((dir, temporary))
}

pub struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
