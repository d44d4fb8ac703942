//! What vabot posts to Discord outside any interaction: the result of an approval another
//! replica's sweep executed, an expired card. REST only, so every replica can do it (the
//! gateway is held by the Lease leader alone).

use std::sync::Arc;

use async_trait::async_trait;
use serenity::all::{ChannelId, MessageId};
use serenity::http::Http;
use tracing::{info, warn};
use vabot_commands::approval::ApprovalRequest;
use vabot_commands::message::{Message, Visibility};
use vabot_commands::model::Platform;
use vabot_commands::ports::Chat;
use vabot_commands::store::{PostedMessage, Store};

use crate::DiscordConfig;
use crate::render::render;

/// The Discord side of [`Chat`].
pub struct DiscordChat {
    http: Arc<Http>,
    store: Arc<dyn Store>,
}

impl DiscordChat {
    pub fn new(config: &DiscordConfig, store: Arc<dyn Store>) -> Self {
        Self {
            http: Arc::new(crate::http_client(config)),
            store,
        }
    }
}

fn id_of(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|n| *n != 0)
}

#[async_trait]
impl Chat for DiscordChat {
    async fn follow_up(&self, req: &ApprovalRequest, messages: &[Message], card: Option<&Message>) {
        let posted = match self.store.card_of(Platform::Discord, &req.id).await {
            Ok(p) => p,
            Err(error) => {
                warn!(%error, approval = %req.id, "Could not look up the approval card");
                None
            }
        };
        // The card lives in the command's thread; without a card, where it was asked.
        let place = posted
            .as_ref()
            .map(|p| p.channel.clone())
            .or_else(|| req.channel.thread.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| req.channel.channel.to_string());
        let Some(channel) = id_of(&place).map(ChannelId::new) else {
            return warn!(approval = %req.id, "No Discord channel to follow up in");
        };
        if let (Some(card), Some(p)) = (card, &posted)
            && let Some(message) = id_of(&p.message).map(MessageId::new)
            && let Err(error) = channel
                .edit_message(&self.http, message, render(card).edit())
                .await
        {
            warn!(%error, approval = %req.id, "Updating the approval card failed");
        }
        for m in messages
            .iter()
            .filter(|m| m.visibility == Visibility::Thread)
        {
            match channel.send_message(&self.http, render(m).message()).await {
                Ok(sent) => {
                    let record = PostedMessage {
                        platform: Platform::Discord,
                        channel: sent.channel_id.to_string(),
                        message: sent.id.to_string(),
                        thread: Some(place.clone()),
                        invocation: Some(req.invocation.clone()),
                        approval: None,
                        at: chrono::Utc::now(),
                    };
                    if let Err(error) = self.store.record_posted(&record).await {
                        warn!(%error, "Recording a posted message failed");
                    }
                }
                Err(error) => warn!(%error, approval = %req.id, "Posting a follow-up failed"),
            }
        }
        info!(approval = %req.id, "Followed up on Discord");
    }
}
