//! Pacing per channel: Slack allows about one message per second per channel, and a burst
//! posted faster is throttled or dropped. Each channel gets the next free slot.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// When each channel may next receive a message.
pub struct Pacer {
    every: Duration,
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this channel's next slot.
    pub async fn wait(&self, channel: &str) {
        let wait = {
            let mut slots = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = slots.get(channel).copied().unwrap_or(now).max(now);
            slots.insert(channel.to_owned(), slot + self.every);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn messages_to_one_channel_wait_their_turn_and_other_channels_do_not() {
        let p = Pacer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        p.wait("C1").await;
        p.wait("C2").await;
        assert_eq!(t0.elapsed(), Duration::ZERO, "first messages go at once");
        p.wait("C1").await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        p.wait("C1").await;
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
    }
}
