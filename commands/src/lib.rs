//! The ChatOps core of vabot.
//!
//! This crate knows what a command is, who may run it where, what it will change and how
//! the result reads; it knows nothing of Slack, Discord or HTTP. The pipeline
//! (`parse → resolve → authorize → plan → approve → execute → render`) lives in
//! [`pipeline`]; every stage's result is a value, and the types make a skipped stage a
//! compile error: [`plan::Plan`] needs an [`authz::Permit`], and executors take an
//! [`approval::Approved`] plan.
//!
//! Side effects go through the small traits in [`ports`]: the cluster, the dependencies,
//! the store and the chat platform.

pub mod approval;
pub mod authz;
pub mod catalog;
pub mod config;
pub mod error;
pub mod grammar;
pub mod message;
pub mod model;
pub mod pins;
pub mod pipeline;
pub mod plan;
pub mod ports;
pub mod rbac;
pub mod recovery;
pub mod render;
pub mod secret;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::PipelineError;
pub use grammar::{Command, ParseError, parse};
pub use model::{Invocation, Platform};
