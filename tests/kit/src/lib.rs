//! Test support shared by every suite that needs the real local environment.
//!
//! - [`env`]: the variables `tests/run` exports (`KUBECONFIG`, `POSTGRES_URL`, …), with a
//!   message that says how to get them when they are missing.
//! - [`topology`]: a fresh pair of namespaces on the local control plane, seeded with the
//!   VoiceHelper manifests of `deploy/dev/manifests`, and the catalog that names them; so
//!   every test acts on a real cluster without touching another test's workloads.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

pub mod cluster;
pub mod console;
pub mod env;
pub mod topology;

pub use cluster::Counting;
pub use topology::Topology;

/// A name no other test (or earlier run) uses: `prefix-<pid><nanos>` in base 36, short
/// enough for a Kubernetes name.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = N.fetch_add(1, Ordering::SeqCst);
    let mut v = (u64::from(std::process::id()) << 24) ^ u64::from(nanos) ^ (n << 40);
    let mut s = String::new();
    for _ in 0..7 {
        let d = (v % 36) as u8;
        s.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
        v /= 36;
    }
    format!("{prefix}-{s}")
}

/// The repository root (for `deploy/…` files).
pub fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
