//! Replay: rebuild the state from the genesis by executing every block again.

use std::collections::HashMap;

use tally_ledger::{EntryId, KnownEntry};

use crate::{
    block::Block,
    genesis::{Genesis, GenesisError},
    state::{execute_block, BlockError, ChainState},
};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("genesis: {0}")]
    Genesis(#[from] GenesisError),
    #[error("block {height}: {source}")]
    Block { height: u64, source: BlockError },
}

/// Executes `blocks` (heights 1, 2, ...) on the genesis state and returns the final state.
pub fn replay<'a>(
    genesis: &Genesis,
    blocks: impl IntoIterator<Item = &'a Block>,
) -> Result<ChainState, ReplayError> {
    let mut state = genesis.initial_state()?;
    let mut known: HashMap<EntryId, KnownEntry> = HashMap::new();
    for block in blocks {
        let executed = execute_block(&state, &known, HashMap::new(), block).map_err(|source| {
            ReplayError::Block {
                height: block.height(),
                source,
            }
        })?;
        known.extend(executed.pending.entries());
        state = executed.state;
    }
    Ok(state)
}
