//! Shared by the integration tests: the fake Slack, Slack's payloads, and a bot wired
//! to both. Each test binary uses a different part, hence the allow.
#![allow(dead_code)]

pub mod fake;
pub mod fixtures;
pub mod world;
