//! Posted messages: recorded so an approval card can be updated in place (on any replica)
//! and a reaction on a message can be mapped back to what it shows.

use tracing::warn;
use vabot_commands::model::{ApprovalId, Platform};
use vabot_commands::pipeline::Deps;
use vabot_commands::store::PostedMessage;

/// Records a message the bot posted; a failure is logged (the message is out either way,
/// but without its record a reaction on it cannot be mapped back).
pub async fn record(deps: &Deps, posted: PostedMessage) {
    if let Err(e) = deps.store.record_posted(&posted).await {
        warn!(error = %e, message = %posted.message, "Could not record a posted message");
    }
}

/// The approval card an approval request was posted as, on a platform (latest if several).
pub async fn card_of(
    deps: &Deps,
    platform: Platform,
    approval: &ApprovalId,
) -> Option<PostedMessage> {
    match deps.store.card_of(platform, approval).await {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, approval = %approval, "Could not look up the approval card");
            None
        }
    }
}

/// The bot's posted message a reaction landed on, if it is one.
pub async fn reacted(
    deps: &Deps,
    platform: Platform,
    channel: &str,
    message: &str,
) -> Option<PostedMessage> {
    match deps.store.posted(platform, channel, message).await {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "Could not look up the reacted message");
            None
        }
    }
}

/// The approval request a reaction votes on: only an approval card's reactions are votes.
pub async fn approval_reacted_on(
    deps: &Deps,
    platform: Platform,
    channel: &str,
    message: &str,
) -> Option<(ApprovalId, Option<String>)> {
    let p = reacted(deps, platform, channel, message).await?;
    Some((p.approval?, p.thread))
}
