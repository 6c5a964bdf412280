//! Blink-Store client.
