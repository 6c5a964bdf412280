//! The wire protocol (in progress on the `protocol` branch).
