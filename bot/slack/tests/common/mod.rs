//! Shared by the integration tests: the fake Slack, Slack's payloads, and a bot wired
//! to both. Each test binary uses a different part, hence the allow.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test
#![allow(dead_code)]

pub mod fake;
pub mod fixtures;
pub mod world;
