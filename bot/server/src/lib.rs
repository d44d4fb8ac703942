//! vabot's process plumbing, shared by every adapter: the HTTP server (`/healthz`,
//! `/readyz`, `/metrics` and whatever routes adapters add), readiness, policy reload and
//! leader election. It knows nothing of Slack or Discord.

pub mod http;
pub mod lease;
pub mod reload;

pub use http::{Readiness, router, serve};

/// Selects rustls' crypto provider once per process: several crates in the graph enable
/// different providers, and rustls refuses to guess.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
