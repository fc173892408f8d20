//! Shopify order exports (CSV): placeholder until the parser lands.
