//! Votes: ✅/❌ on an approval card and the Approve/Deny buttons, through
//! `pipeline::handle_vote`; the card is found through the store, so votes work after a
//! reconnect or a restart, and is updated in place.

use super::*;

impl Inner {
    /// Casts a vote in the channel the request was made in (the card lives in its thread).
    pub(super) async fn vote(
        &self,
        actor: Actor,
        fallback: ChannelRef,
        approval: ApprovalId,
        verdict: Verdict,
        via: &'static str,
        delivery: String,
    ) -> Reply {
        let channel = match self.deps.store.approval(&approval).await {
            Ok(Some(req)) => req.channel,
            // Unknown or unreadable: the pipeline says so in its own words.
            _ => fallback,
        };
        pipeline::handle_vote(
            &self.deps,
            VoteEvent {
                actor,
                channel,
                approval,
                verdict,
                via,
                delivery: DeliveryId::new(delivery),
            },
        )
        .await
    }

    /// Where the card of an approval is, if it was posted on Discord.
    pub(super) async fn card(&self, approval: &ApprovalId) -> Option<(ChannelId, MessageId)> {
        let posted = cards::card_of(&self.deps, Platform::Discord, approval).await?;
        let channel = posted.channel.parse::<u64>().ok().filter(|c| *c != 0)?;
        let message = posted.message.parse::<u64>().ok().filter(|m| *m != 0)?;
        Some((ChannelId::new(channel), MessageId::new(message)))
    }

    /// Updates cards in place and posts the rest of a vote's reply in the card's thread.
    pub(super) async fn deliver_vote(
        &self,
        ctx: &Context,
        reply: &Reply,
        thread: ChannelId,
        skip_card: Option<&ApprovalId>,
    ) -> Vec<Message> {
        if let Some((id, card)) = &reply.card_update
            && Some(id) != skip_card
            && let Some((channel, message)) = self.card(id).await
            && let Err(e) = channel
                .edit_message(&ctx.http, message, render(card).edit())
                .await
        {
            warn!(error = %e, approval = %id, "Updating the approval card failed");
            api_error("update_card");
        }
        let mut private = Vec::new();
        for m in &reply.messages {
            if m.visibility == Visibility::Ephemeral {
                private.push(m.clone());
            } else {
                self.post(ctx, thread, m, reply, None).await;
            }
        }
        private
    }

    pub(super) async fn on_reaction(&self, ctx: &Context, r: Reaction) {
        let Some(user) = r.user_id else { return };
        if self.me.get() == Some(&user) || r.member.as_ref().is_some_and(|m| m.user.bot) {
            return;
        }
        let Some(emoji) = emoji_name(&r.emoji) else {
            return;
        };
        if same_emoji(&emoji, &self.config.pin_emoji) {
            self.pin_added(ctx, r).await;
            return;
        }
        let verdict = if same_emoji(&emoji, &self.config.approve_emoji) {
            Verdict::Approve
        } else if same_emoji(&emoji, &self.config.deny_emoji) {
            Verdict::Deny
        } else {
            return;
        };
        // Only an approval card's reactions are votes.
        let Some((approval, _)) = cards::approval_reacted_on(
            &self.deps,
            Platform::Discord,
            &r.channel_id.to_string(),
            &r.message_id.to_string(),
        )
        .await
        else {
            return;
        };
        let actor = actor_of(user, r.member.as_ref());
        let (fallback, _) = channel_of(r.guild_id, r.channel_id, None);
        info!(approval = %approval, user = %user, "Vote by reaction");
        let delivery = format!(
            "reaction:{}:{}:{}",
            r.message_id,
            user,
            emoji.replace('\u{fe0f}', "")
        );
        let reply = self
            .vote(actor, fallback, approval, verdict, "reaction", delivery)
            .await;
        if reply.duplicate {
            return;
        }
        let private = self.deliver_vote(ctx, &reply, r.channel_id, None).await;
        if !private.is_empty() {
            // A reaction has no private reply; say why in the thread, to that person, and
            // take the reaction back so the card does not look approved.
            for m in &private {
                self.post(ctx, r.channel_id, m, &reply, Some(user)).await;
            }
            if let Err(e) = r.delete(&ctx.http).await {
                debug!(error = %e, "Removing a refused reaction failed");
            }
        }
    }

    pub(super) async fn on_button(self: &Arc<Self>, ctx: &Context, c: ComponentInteraction) {
        let Some((verdict, approval)) = parse_button(&c.data.custom_id) else {
            let _ = c
                .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                .await;
            return;
        };
        let actor = actor_of(c.user.id, c.member.as_ref());
        let (fallback, _) = channel_of(c.guild_id, c.channel_id, c.channel.as_ref());
        info!(approval = %approval, user = %c.user.id, "Vote by button");
        let vote = {
            let this = Arc::clone(self);
            let approval = approval.clone();
            let delivery = format!("interaction:{}", c.id);
            tokio::spawn(async move {
                this.vote(actor, fallback, approval, verdict, "button", delivery)
                    .await
            })
        };
        // Slow (a long execution): acknowledge at the deadline, update the card when done.
        let (joined, slow) = with_progress(BUTTON_DEADLINE, vote, || async {
            if let Err(e) = c.defer(&ctx.http).await {
                warn!(error = %e, "Acknowledging a button failed");
                api_error("ack_button");
            }
        })
        .await;
        let reply = match joined {
            Ok(reply) => reply,
            Err(e) => {
                warn!(error = %e, "The vote task failed");
                return;
            }
        };
        let in_time = slow.is_none();
        if reply.duplicate {
            if in_time {
                let _ = c
                    .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                    .await;
            }
            return;
        }
        let card_here = reply
            .card_update
            .as_ref()
            .filter(|(id, _)| *id == approval)
            .map(|(_, m)| render(m));
        let mut private: Vec<Message> = Vec::new();
        match (&card_here, in_time) {
            (Some(card), true) => {
                if let Err(e) = c
                    .create_response(
                        &ctx.http,
                        CreateInteractionResponse::UpdateMessage(card.response()),
                    )
                    .await
                {
                    warn!(error = %e, "Updating the card by the button's response failed");
                }
            }
            (Some(card), false) => {
                if let Err(e) = c.edit_response(&ctx.http, card.edit_response()).await {
                    warn!(error = %e, "Updating the card after a slow vote failed");
                }
            }
            (None, _) => {}
        }
        let skip = card_here.as_ref().map(|_| &approval);
        private.extend(self.deliver_vote(ctx, &reply, c.channel_id, skip).await);
        let mut first = card_here.is_none() && in_time;
        for m in &private {
            let mut r = render(m);
            r.ephemeral = true;
            let result = if first {
                first = false;
                c.create_response(&ctx.http, CreateInteractionResponse::Message(r.response()))
                    .await
                    .map(|_| ())
            } else {
                c.create_followup(&ctx.http, r.followup()).await.map(|_| ())
            };
            if let Err(e) = result {
                warn!(error = %e, "Answering a refused vote failed");
            }
        }
        if first {
            // Nothing to say and nothing to update (should not happen): close the spinner.
            let _ = c
                .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                .await;
        }
    }
}
