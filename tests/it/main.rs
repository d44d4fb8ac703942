//! Integration tests: the real `vabot` binary, the local environment, the platform fakes.
//!
//! The binary is built by the test command (`cargo build --workspace --bins` runs first).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

// The Discord fake shared with bot/discord's tests (it names its fixtures `super::fixtures`).
#[path = "../../bot/discord/tests/support/fake.rs"]
#[allow(dead_code)]
mod discord_fake;
#[path = "../../bot/discord/tests/support/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

mod console;
mod helm;
mod rbac;
mod replicas;
mod review;
mod secrets;
mod store_crash;

use std::path::PathBuf;

/// The `vabot` binary of this build profile (next to the test executable's `deps/` dir).
pub fn vabot_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let bin = dir.join("vabot");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` (the test command does)",
        bin.display()
    );
    bin
}

/// The demo policy (alice operator, bob and erin approvers, carol viewer).
pub const DEMO_POLICY: &str = include_str!("../../deploy/demo/policy.yaml");
