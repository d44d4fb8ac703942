//! The whole-system figures, one module each.

pub mod ack;
pub mod audit;
pub mod health;
pub mod process;
