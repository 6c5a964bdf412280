//! Unit tests of the store's rules: sizes, charges, exact LRU order, the cap,
//! replacement, TTL edge cases, lazy and proactive expiry, lag stats.
