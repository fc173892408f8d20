//! Field encryption: placeholder until the crate lands.
