//! What every chat adapter does, once: the SDK-free half of the Slack and Discord adapters.
//!
//! An adapter translates its SDK's events into calls here and renders what comes back;
//! everything else lives in this crate and is tested once:
//!
//! - [`inbox`]: deliveries recorded before the platform is acked, worked on by a bounded
//!   pool, claimed by compare-and-set, resumed from the store when a process dies;
//! - [`seen`]: a bounded memory of delivery ids, to drop redeliveries before posting;
//! - [`pace`]: at most one message per channel per interval, as the platforms ask;
//! - [`progress`]: run the work; if it is slow, show a placeholder and replace it later;
//! - [`pins`]: the 📌 flow (refusals, approval cards, fetching, recording, unpinning)
//!   over a platform's [`pins::MessageSource`];
//! - [`cards`]: which approval a reacted message is, and the records of posted messages
//!   (so cards update in place and reactions map back).
//!
//! Like `commands/`, this crate knows no chat SDK: the invariant is its `Cargo.toml`.

pub mod cards;
pub mod inbox;
pub mod pace;
pub mod pins;
pub mod progress;
pub mod seen;
