//! Platform adapters: each turns platform events into [`Invocation`]s and replies back.
//!
//! [`Invocation`]: vabot_commands::Invocation

pub mod console;
