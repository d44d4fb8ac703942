//! Integration-test helpers live in `it/`; this library is intentionally empty.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test
