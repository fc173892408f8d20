//! ledger / hledger / beancount journals: placeholder until the parser lands.
