//! The cache engine (in progress on the `store` branch).
