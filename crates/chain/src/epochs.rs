//! Validator-set epochs: which heights form an epoch, which validators sign each epoch, and the
//! record the store keeps of every epoch (see `docs/validator-epochs.md`).
//!
//! A genesis with `epoch_blocks = L` cuts the chain into epochs of `L` heights, exactly as
//! commonware's `FixedEpocher` does: epoch `e` covers heights `e*L ..= e*L + L - 1`, so the genesis
//! block (height 0) lies in epoch 0. The validator set of epoch `e + 1` is a function of the state
//! committed by block `last(e)`: on the consortium chain, the validator keys of the registry's
//! active enterprises ([`ChainState::next_validators`]). A genesis without `epoch_blocks` keeps
//! one epoch forever ([`LEGACY_EPOCH_BLOCKS`]), and its validator set is the genesis's.
//!
//! On a chain with epochs, every block's `state_root` also commits to the validator list its state
//! names for the next epoch ([`epoch_state_root`]), so a light client that trusts the set of epoch
//! `e` learns the set of epoch `e + 1` from the certified header of block `last(e)`, the 32-byte
//! legacy root and the list. A chain without epochs keeps the legacy root, byte for byte.
//!
//! Invariants:
//! - a height's epoch never changes, and epochs ascend with height;
//! - an [`EpochRecord`]'s validators are sorted ascending and hold no duplicates;
//! - the record of epoch `e + 1` is stored in the same write transaction as block `last(e)`.

use std::collections::BTreeSet;
use std::num::NonZeroU64;

use commonware_consensus::types::FixedEpocher;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{
    block::header_digest,
    genesis::{Genesis, GenesisError, VALIDATORS_MAX},
    state::ChainState,
};

/// Epoch length of a chain whose genesis sets no `epoch_blocks`: one epoch that never ends in
/// practice. It is the length the consensus engine has always used.
pub const LEGACY_EPOCH_BLOCKS: u64 = u64::MAX / 2;

/// Fewest blocks a genesis may give an epoch: `FixedEpocher` refuses an epoch of the genesis
/// block alone (it panics on a length of one).
pub const EPOCH_BLOCKS_MIN: u64 = 2;

/// Most blocks a genesis may give an epoch: below [`LEGACY_EPOCH_BLOCKS`], so a chain with epochs
/// is never mistaken for one without.
pub const EPOCH_BLOCKS_MAX: u64 = LEGACY_EPOCH_BLOCKS - 1;

/// Bytes of a raw Ed25519 consensus public key.
pub const VALIDATOR_KEY_BYTES: usize = 32;

/// Domain tag of the state root of a chain with epochs ([`epoch_state_root`]).
pub const STATE_ROOT_V2_TAG: &[u8] = b"tally/v2/state";

/// Domain tag of the digest of a validator list ([`validators_digest`]).
pub const VALIDATORS_DIGEST_TAG: &[u8] = b"tally/v2/validators";

/// The digest of a validator list, in the order given: SHA-256 over
/// [`VALIDATORS_DIGEST_TAG`], the number of keys (8 bytes, big-endian) and the keys.
pub fn validators_digest(validators: &[[u8; VALIDATOR_KEY_BYTES]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(VALIDATORS_DIGEST_TAG);
    hasher.update((validators.len() as u64).to_be_bytes());
    for key in validators {
        hasher.update(key);
    }
    hasher.finalize().into()
}

/// The state root of a chain with epochs: SHA-256 over [`STATE_ROOT_V2_TAG`], the legacy root
/// ([`ChainState::legacy_state_root`]) and the [`validators_digest`] of the list the state names
/// for the next epoch ([`ChainState::committed_validators`]; empty when it names none, and the
/// next epoch then keeps the current set).
///
/// A light client that holds a certified header opens its `state_root` with the legacy root and
/// the list: any other list gives another root.
pub fn epoch_state_root(
    legacy_root: &[u8; 32],
    next_validators: &[[u8; VALIDATOR_KEY_BYTES]],
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(STATE_ROOT_V2_TAG);
    hasher.update(legacy_root);
    hasher.update(validators_digest(next_validators));
    hasher.finalize().into()
}

/// The raw key a hex validator key names, if it is exactly [`VALIDATOR_KEY_BYTES`] bytes of hex.
pub(crate) fn decode_validator_key(text: &str) -> Option<[u8; VALIDATOR_KEY_BYTES]> {
    hex::decode(text).ok()?.try_into().ok()
}

/// How a chain's heights are cut into validator-set epochs; the same cut as
/// [`FixedEpocher`] with [`EpochSchedule::blocks`] heights per epoch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EpochSchedule {
    blocks: NonZeroU64,
}

impl EpochSchedule {
    /// The schedule of a chain: `genesis.epoch_blocks` heights per epoch, or
    /// [`LEGACY_EPOCH_BLOCKS`] when the genesis sets none. A genesis whose `epoch_blocks` is 1
    /// fails [`Genesis::initial_state`], so no store holds one.
    pub fn of(genesis: &Genesis) -> Self {
        let legacy = NonZeroU64::new(LEGACY_EPOCH_BLOCKS).expect("the legacy length is not zero");
        EpochSchedule {
            blocks: genesis.epoch_blocks.unwrap_or(legacy),
        }
    }

    /// Heights per epoch.
    pub fn blocks(&self) -> NonZeroU64 {
        self.blocks
    }

    /// Whether the validator set can change: false for the legacy single epoch.
    pub fn is_enabled(&self) -> bool {
        self.blocks.get() != LEGACY_EPOCH_BLOCKS
    }

    /// The epoch that contains `height`.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height / self.blocks.get()
    }

    /// The first height of `epoch`; `u64::MAX` for an epoch beyond the heights (one
    /// `FixedEpocher::first` answers `None` for).
    pub fn first(&self, epoch: u64) -> u64 {
        epoch.saturating_mul(self.blocks.get())
    }

    /// The last height of `epoch`; `u64::MAX` for an epoch that would end beyond the heights (one
    /// `FixedEpocher::last` answers `None` for).
    pub fn last(&self, epoch: u64) -> u64 {
        self.first(epoch).saturating_add(self.blocks.get() - 1)
    }

    /// Whether `height` is the last of its epoch: the block whose committed state names the next
    /// epoch's validators.
    pub fn is_last(&self, height: u64) -> bool {
        height % self.blocks.get() == self.blocks.get() - 1
    }

    /// The commonware epocher with the same cut, for marshal and the application.
    ///
    /// # Panics
    ///
    /// If the length is 1, as `FixedEpocher::new` does; a valid genesis never has it.
    pub fn epocher(&self) -> FixedEpocher {
        FixedEpocher::new(self.blocks)
    }
}

/// One epoch as the store records it: where it starts, what simplex uses as its floor, and who
/// signs it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch's number.
    pub epoch: u64,
    /// Its first height: `first(epoch)`.
    pub first_height: u64,
    /// The header digest ([`header_digest`]) of block `last(epoch - 1)`, or of the genesis block
    /// for epoch 0: the digest simplex starts the epoch from (its floor).
    pub boundary: [u8; 32],
    /// The epoch's validators: raw Ed25519 consensus public keys, sorted ascending, no
    /// duplicates.
    pub validators: Vec<[u8; 32]>,
}

/// The record of epoch 0: it starts at the genesis block, and its validators are the genesis's.
/// Fails when the genesis is invalid (see [`Genesis::initial_state`]) or names a validator key
/// that is not 32 bytes of hex.
pub fn genesis_epoch(genesis: &Genesis) -> Result<EpochRecord, GenesisError> {
    let validators = genesis.validator_keys()?;
    let block = genesis.block()?;
    Ok(EpochRecord {
        epoch: 0,
        first_height: 0,
        boundary: header_digest(&block.header).0,
        validators,
    })
}

impl EpochRecord {
    /// The record of the epoch after `current`, when `block` is the last block of `current`'s
    /// epoch on a chain with epochs and `state` is the state it committed: it starts after
    /// `block`, from `block`'s digest, with the validators `state` names, or `current`'s when it
    /// names none (see [`ChainState::next_validators`]). `None` for any other block.
    ///
    /// The store writes this record with the block, and an audit that replays the chain derives
    /// it again: both call this, so they cannot disagree.
    pub fn after(
        schedule: &EpochSchedule,
        current: &EpochRecord,
        block: &crate::Block,
        state: &ChainState,
    ) -> Option<EpochRecord> {
        let height = block.height();
        if !schedule.is_enabled()
            || !schedule.is_last(height)
            || schedule.epoch_of(height) != current.epoch
        {
            return None;
        }
        // The last possible height starts no epoch.
        let first_height = height.checked_add(1)?;
        Some(EpochRecord {
            epoch: current.epoch + 1,
            first_height,
            boundary: header_digest(&block.header).0,
            validators: state
                .next_validators()
                .unwrap_or_else(|| current.validators.clone()),
        })
    }
}

impl ChainState {
    /// The validator set this state names for the next epoch: on a consortium chain, the keys of
    /// the registry's active enterprises that have a validator key, sorted ascending and without
    /// duplicates. A key that is not 32 bytes of hex names no validator.
    ///
    /// `None` means "keep the current set": on a chain without a consortium, and when the derived
    /// set is empty or larger than [`VALIDATORS_MAX`]. The rule is deterministic, so every node
    /// derives the same set from the same state.
    pub fn next_validators(&self) -> Option<Vec<[u8; 32]>> {
        let consortium = self.consortium.as_ref()?;
        let keys: BTreeSet<[u8; 32]> = consortium
            .enterprises
            .values()
            .filter(|record| record.active)
            .filter_map(|record| record.validator_key.as_deref())
            .filter_map(decode_validator_key)
            .collect();
        if keys.is_empty() || keys.len() > VALIDATORS_MAX {
            return None;
        }
        Some(keys.into_iter().collect())
    }

    /// The validator list this state's root commits to on a chain with epochs (see
    /// [`epoch_state_root`]): [`Self::next_validators`], or an empty list when that is `None`
    /// ("keep the current set", which the state alone does not know).
    pub fn committed_validators(&self) -> Vec<[u8; 32]> {
        self.next_validators().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use commonware_consensus::types::{Epoch, Epocher, Height};
    use tally_contracts::{EnterpriseKind, EnterpriseName, EnterpriseRecord, Threshold};
    use tally_identity::SecretKey;

    use super::*;
    use crate::{
        consortium::{ConsortiumGenesis, EnterpriseGenesis},
        genesis::Validator,
    };

    fn key(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    fn name(text: &str) -> EnterpriseName {
        EnterpriseName::new(text).unwrap()
    }

    /// A consortium genesis with epochs of 20 blocks: enterprises `e1`..`e3` whose validator
    /// keys are `key(1)`..`key(3)`, the genesis validators.
    fn genesis() -> Genesis {
        let root = SecretKey::from_seed([9; 32]).public_key();
        Genesis {
            chain_id: "epochs".into(),
            enterprise: "Epochs".into(),
            time_ms: 1_767_225_600_000,
            root_key: root,
            validators: [3u8, 1, 2]
                .iter()
                .map(|byte| Validator {
                    name: format!("v{byte}"),
                    consensus_key: hex::encode(key(*byte)),
                })
                .collect(),
            members: Vec::new(),
            chart: Vec::new(),
            consortium: Some(ConsortiumGenesis {
                threshold: Threshold {
                    numerator: 2,
                    denominator: 3,
                },
                enterprises: (1..=3u8)
                    .map(|byte| EnterpriseGenesis {
                        name: name(&format!("e{byte}")),
                        kind: EnterpriseKind::Merchant,
                        root_key: SecretKey::from_seed([byte; 32]).public_key(),
                        validator_key: Some(hex::encode(key(byte))),
                    })
                    .collect(),
            }),
            close_policy: Default::default(),
            read_policy: Default::default(),
            epoch_blocks: NonZeroU64::new(20),
        }
    }

    fn schedule(blocks: u64) -> EpochSchedule {
        EpochSchedule {
            blocks: NonZeroU64::new(blocks).unwrap(),
        }
    }

    fn registry(
        state: &mut ChainState,
    ) -> &mut std::collections::BTreeMap<EnterpriseName, EnterpriseRecord> {
        &mut state.consortium.as_mut().unwrap().enterprises
    }

    #[test]
    fn the_schedule_cuts_heights_as_the_fixed_epocher_does() {
        for blocks in [2, 3, 5, 20, 1_000, EPOCH_BLOCKS_MAX, LEGACY_EPOCH_BLOCKS] {
            let schedule = schedule(blocks);
            let epocher = schedule.epocher();
            let mut heights = vec![0, 1, 2, 3, 4, 19, 20, 21, 999, 1_000, 1_001, 123_456_789];
            for epoch in [0, 1, 2, 7, 1_000] {
                if let Some(first) = epocher.first(Epoch::new(epoch)) {
                    heights.extend([first.get(), first.get().saturating_sub(1)]);
                    heights.push(first.get().saturating_add(1));
                }
                if let Some(last) = epocher.last(Epoch::new(epoch)) {
                    heights.extend([last.get(), last.get().saturating_add(1)]);
                }
            }
            heights.extend([u64::MAX / 3, u64::MAX - 2]);
            for height in heights {
                let Some(info) = epocher.containing(Height::new(height)) else {
                    continue;
                };
                let epoch = info.epoch().get();
                assert_eq!(schedule.epoch_of(height), epoch, "L={blocks} h={height}");
                assert_eq!(
                    schedule.first(epoch),
                    info.first().get(),
                    "L={blocks} e={epoch}"
                );
                assert_eq!(
                    schedule.last(epoch),
                    info.last().get(),
                    "L={blocks} e={epoch}"
                );
                assert_eq!(
                    schedule.is_last(height),
                    height == info.last().get(),
                    "L={blocks} h={height}"
                );
                assert_eq!(
                    epocher.first(Epoch::new(epoch)).map(Height::get),
                    Some(schedule.first(epoch))
                );
                assert_eq!(
                    epocher.last(Epoch::new(epoch)).map(Height::get),
                    Some(schedule.last(epoch))
                );
            }
        }
    }

    #[test]
    fn epoch_zero_holds_the_genesis_block_and_epochs_follow_each_other() {
        let schedule = schedule(3);
        assert_eq!(schedule.epoch_of(0), 0);
        assert_eq!((schedule.first(0), schedule.last(0)), (0, 2));
        assert_eq!((schedule.first(1), schedule.last(1)), (3, 5));
        assert!(!schedule.is_last(0));
        assert!(!schedule.is_last(1));
        assert!(schedule.is_last(2));
        assert!(schedule.is_last(5));
        assert_eq!(schedule.epoch_of(3), 1);
        // Beyond the heights, first and last saturate where the epocher has no answer.
        assert_eq!(schedule.first(u64::MAX), u64::MAX);
        assert_eq!(schedule.last(u64::MAX / 3), u64::MAX);
    }

    #[test]
    fn a_genesis_without_epoch_blocks_has_one_epoch_forever() {
        let mut legacy = genesis();
        legacy.epoch_blocks = None;
        let schedule = EpochSchedule::of(&legacy);
        assert!(!schedule.is_enabled());
        assert_eq!(schedule.blocks().get(), LEGACY_EPOCH_BLOCKS);
        assert_eq!(schedule.epoch_of(1_000_000_000_000), 0);
        assert!(!schedule.is_last(1_000_000_000_000));

        let schedule = EpochSchedule::of(&genesis());
        assert!(schedule.is_enabled());
        assert_eq!(schedule.blocks().get(), 20);
        assert_eq!(
            schedule.epocher(),
            FixedEpocher::new(NonZeroU64::new(20).unwrap())
        );
    }

    #[test]
    fn the_genesis_epoch_starts_at_the_genesis_block_with_sorted_validators() {
        let genesis = genesis();
        let record = genesis_epoch(&genesis).unwrap();
        let tip = genesis.initial_state().unwrap().tip;
        assert_eq!(
            record,
            EpochRecord {
                epoch: 0,
                first_height: 0,
                boundary: tip,
                validators: vec![key(1), key(2), key(3)],
            }
        );
        assert_eq!(
            record.boundary,
            header_digest(&genesis.block().unwrap().header).0
        );

        let mut bad = genesis;
        bad.epoch_blocks = None;
        bad.validators[0].consensus_key = "00".into();
        assert_eq!(
            genesis_epoch(&bad).unwrap_err().to_string(),
            "genesis validator v3: consensus key \"00\" is not 32 bytes of hex"
        );
    }

    #[test]
    fn the_registry_names_the_genesis_set_at_first() {
        let state = genesis().initial_state().unwrap();
        assert_eq!(state.next_validators(), Some(vec![key(1), key(2), key(3)]));
    }

    #[test]
    fn a_rotation_replaces_the_key() {
        let mut state = genesis().initial_state().unwrap();
        registry(&mut state)
            .get_mut(&name("e2"))
            .unwrap()
            .validator_key = Some(hex::encode(key(0xf0)));
        assert_eq!(
            state.next_validators(),
            Some(vec![key(1), key(3), key(0xf0)])
        );
    }

    #[test]
    fn a_removal_drops_the_key() {
        let mut state = genesis().initial_state().unwrap();
        registry(&mut state).get_mut(&name("e1")).unwrap().active = false;
        assert_eq!(state.next_validators(), Some(vec![key(2), key(3)]));
    }

    #[test]
    fn an_enterprise_added_with_a_key_adds_it_and_one_without_adds_none() {
        let mut state = genesis().initial_state().unwrap();
        let record = |byte: u8, validator_key: Option<String>| EnterpriseRecord {
            root_key: SecretKey::from_seed([byte; 32]).public_key(),
            kind: EnterpriseKind::Carrier,
            active: true,
            validator_key,
        };
        registry(&mut state).insert(name("a0"), record(40, Some(hex::encode(key(0)))));
        registry(&mut state).insert(name("z9"), record(41, None));
        assert_eq!(
            state.next_validators(),
            Some(vec![key(0), key(1), key(2), key(3)])
        );
    }

    #[test]
    fn an_empty_or_oversized_set_keeps_the_current_one() {
        let mut state = genesis().initial_state().unwrap();
        for record in registry(&mut state).values_mut() {
            record.active = false;
        }
        assert_eq!(state.next_validators(), None, "no active enterprise");

        let mut state = genesis().initial_state().unwrap();
        for record in registry(&mut state).values_mut() {
            record.validator_key = None;
        }
        assert_eq!(state.next_validators(), None, "no validator key");

        let mut state = genesis().initial_state().unwrap();
        for index in 0..VALIDATORS_MAX {
            let byte = u8::try_from(index + 100).unwrap();
            registry(&mut state).insert(
                name(&format!("x{index}")),
                EnterpriseRecord {
                    root_key: SecretKey::from_seed([byte; 32]).public_key(),
                    kind: EnterpriseKind::Merchant,
                    active: true,
                    validator_key: Some(hex::encode(key(byte))),
                },
            );
        }
        assert_eq!(state.next_validators(), None, "more than VALIDATORS_MAX");
        // The three genesis keys and VALIDATORS_MAX added: drop three to reach the limit.
        for index in 0..3 {
            registry(&mut state).remove(&name(&format!("x{index}")));
        }
        assert_eq!(
            state.next_validators().map(|set| set.len()),
            Some(VALIDATORS_MAX),
            "exactly VALIDATORS_MAX"
        );
    }

    #[test]
    fn a_private_chain_names_no_set() {
        let mut private = genesis();
        private.consortium = None;
        assert_eq!(private.initial_state().unwrap().next_validators(), None);
    }

    #[test]
    fn the_set_is_sorted_deduplicated_and_independent_of_registry_order() {
        let mut state = genesis().initial_state().unwrap();
        // e3 takes e1's key: one validator, named once.
        registry(&mut state)
            .get_mut(&name("e3"))
            .unwrap()
            .validator_key = Some(hex::encode(key(1)));
        assert_eq!(state.next_validators(), Some(vec![key(1), key(2)]));
        // A key that is not 32 bytes of hex names no validator.
        registry(&mut state)
            .get_mut(&name("e2"))
            .unwrap()
            .validator_key = Some("zz".into());
        assert_eq!(state.next_validators(), Some(vec![key(1)]));

        // Names sort opposite to keys: the set still sorts by key.
        let mut state = genesis().initial_state().unwrap();
        for (enterprise, byte) in [("e1", 0xc0), ("e2", 0xb0), ("e3", 0xa0)] {
            registry(&mut state)
                .get_mut(&name(enterprise))
                .unwrap()
                .validator_key = Some(hex::encode(key(byte)));
        }
        let set = state.next_validators().unwrap();
        assert_eq!(set, vec![key(0xa0), key(0xb0), key(0xc0)]);
        assert_eq!(state.clone().next_validators().unwrap(), set);
    }

    /// The state root of [`genesis`] without `epoch_blocks`, as computed before the roots of
    /// chains with epochs committed to the next set.
    const LEGACY_CONSORTIUM_ROOT: &str =
        "67fc96a7550464596372f0826207597af4394efa2d32f5627ef0a5db4a53d274";
    /// The header digest of that genesis's block, likewise.
    const LEGACY_CONSORTIUM_GENESIS_BLOCK: &str =
        "6f40786742cb7fea16144f3108c208fd47b4985e6a074fb34854693ac642667b";

    #[test]
    fn a_chain_without_epochs_keeps_its_legacy_state_root() {
        let mut legacy = genesis();
        legacy.epoch_blocks = None;
        let state = legacy.initial_state().unwrap();
        assert!(!state.epochs_enabled());
        assert_eq!(hex::encode(state.state_root()), LEGACY_CONSORTIUM_ROOT);
        assert_eq!(state.state_root(), state.legacy_state_root());
        assert_eq!(
            hex::encode(header_digest(&legacy.block().unwrap().header).0),
            LEGACY_CONSORTIUM_GENESIS_BLOCK
        );
    }

    #[test]
    fn a_chain_with_epochs_commits_the_next_set_in_its_state_root() {
        let genesis = genesis();
        let state = genesis.initial_state().unwrap();
        assert!(state.epochs_enabled());
        let legacy = state.legacy_state_root();
        // The same state as the legacy chain's, apart from the flag.
        assert_eq!(hex::encode(legacy), LEGACY_CONSORTIUM_ROOT);
        let next = vec![key(1), key(2), key(3)];
        assert_eq!(state.committed_validators(), next);
        assert_eq!(state.state_root(), epoch_state_root(&legacy, &next));
        assert_ne!(state.state_root(), legacy);
        assert_eq!(
            genesis.block().unwrap().header.state_root,
            state.state_root()
        );

        // A rotation changes the root through the set alone.
        let mut rotated = state.clone();
        registry(&mut rotated)
            .get_mut(&name("e2"))
            .unwrap()
            .validator_key = Some(hex::encode(key(0xf0)));
        let next = vec![key(1), key(3), key(0xf0)];
        assert_eq!(
            rotated.state_root(),
            epoch_state_root(&rotated.legacy_state_root(), &next)
        );
        assert_ne!(rotated.state_root(), state.state_root());

        // A state that names no set commits an empty list.
        let mut private = genesis.clone();
        private.consortium = None;
        let state = private.initial_state().unwrap();
        assert_eq!(state.committed_validators(), Vec::<[u8; 32]>::new());
        assert_eq!(
            state.state_root(),
            epoch_state_root(&state.legacy_state_root(), &[])
        );
    }

    #[test]
    fn the_epoch_state_root_binds_the_legacy_root_and_every_key_in_order() {
        let legacy = [5; 32];
        let set = [key(1), key(2)];
        let root = epoch_state_root(&legacy, &set);
        assert_ne!(root, epoch_state_root(&[6; 32], &set));
        assert_ne!(root, epoch_state_root(&legacy, &[key(2), key(1)]));
        assert_ne!(root, epoch_state_root(&legacy, &[key(1)]));
        assert_ne!(root, epoch_state_root(&legacy, &[]));
        assert_ne!(validators_digest(&[]), validators_digest(&[[0; 32]]));
        // The layout, spelled out: tag, legacy root, digest of the count and keys.
        let mut keys = Sha256::new();
        keys.update(b"tally/v2/validators");
        keys.update(2u64.to_be_bytes());
        keys.update(key(1));
        keys.update(key(2));
        let keys: [u8; 32] = keys.finalize().into();
        let mut expected = Sha256::new();
        expected.update(b"tally/v2/state");
        expected.update(legacy);
        expected.update(keys);
        assert_eq!(root, <[u8; 32]>::from(expected.finalize()));
    }

    #[test]
    fn a_store_restores_the_epoch_flag_of_its_state() {
        for epoch_blocks in [None, NonZeroU64::new(20)] {
            let mut genesis = genesis();
            genesis.epoch_blocks = epoch_blocks;
            let store = crate::Store::open_in_memory(&genesis).unwrap();
            let state = store.state().unwrap();
            assert_eq!(state.epochs_enabled(), epoch_blocks.is_some());
            assert_eq!(
                state.state_root(),
                genesis.initial_state().unwrap().state_root()
            );
        }
    }

    #[test]
    fn a_record_round_trips_through_postcard() {
        let record = EpochRecord {
            epoch: 4,
            first_height: 80,
            boundary: [7; 32],
            validators: vec![key(1), key(2)],
        };
        let bytes = postcard::to_stdvec(&record).unwrap();
        assert_eq!(postcard::from_bytes::<EpochRecord>(&bytes).unwrap(), record);
    }
}
