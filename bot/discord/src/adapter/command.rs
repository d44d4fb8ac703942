//! The slash command: deferred at once (Discord's 3 s), run through the pipeline, answered
//! by a follow-up that roots a thread (or privately); and autocomplete of its options.

use super::*;

impl Inner {
    pub(super) async fn on_command(&self, ctx: &Context, cmd: CommandInteraction) {
        if cmd.data.name != crate::schema::COMMAND {
            return;
        }
        // Discord fails the interaction after 3 s; the pipeline may take longer.
        if let Err(e) = cmd.defer(&ctx.http).await {
            // Also what a replayed interaction gets: it was answered the first time.
            warn!(error = %e, interaction = %cmd.id, "Deferring an interaction failed");
            api_error("defer");
            return;
        }
        let text = match self.schema.text_of(&cmd.data.options) {
            Ok(t) => t,
            Err(e) => {
                let m = Message::text(Tone::Warning, e.to_string()).ephemeral();
                self.answer_privately(ctx, &cmd, &[m]).await;
                return;
            }
        };
        let (channel, in_thread) = channel_of(cmd.guild_id, cmd.channel_id, cmd.channel.as_ref());
        let inv = Invocation {
            actor: actor_of(cmd.user.id, cmd.member.as_deref()),
            channel,
            text: text.clone(),
            delivery: DeliveryId::new(format!("interaction:{}", cmd.id)),
        };
        info!(interaction = %cmd.id, text = %text, "Slash command");
        let reply = pipeline::handle(&self.deps, inv).await;
        if reply.duplicate {
            let _ = cmd.delete_response(&ctx.http).await;
            return;
        }
        let (public, private): (Vec<&Message>, Vec<&Message>) = reply
            .messages
            .iter()
            .partition(|m| m.visibility == Visibility::Thread);
        if public.is_empty() {
            let private: Vec<Message> = private.into_iter().cloned().collect();
            self.answer_privately(ctx, &cmd, &private).await;
            return;
        }
        if in_thread {
            // Already in a thread: answer there, one follow-up per message.
            for m in &public {
                let r = render(m);
                match cmd.create_followup(&ctx.http, r.followup()).await {
                    Ok(sent) => {
                        let approval = card_approval(m);
                        self.record(&sent, Some(cmd.channel_id), &reply, approval.clone())
                            .await;
                        if approval.is_some() {
                            self.add_vote_reactions(ctx, &sent).await;
                        }
                    }
                    Err(e) => warn!(error = %e, "Follow-up failed"),
                }
            }
        } else {
            self.answer_in_thread(ctx, &cmd, &text, &reply, &public)
                .await;
        }
        for m in private {
            let _ = cmd.create_followup(&ctx.http, render(m).followup()).await;
        }
    }

    /// The follow-up names the command and who asked; its thread holds everything else.
    pub(super) async fn answer_in_thread(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        text: &str,
        reply: &Reply,
        public: &[&Message],
    ) {
        let tone = public.last().map(|m| m.tone).unwrap_or(Tone::Info);
        let id = reply
            .invocation
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut root = Message::new(tone)
            .header(format!("/va {text}"))
            .paragraph(format!("Requested by <@{}>.", cmd.user.id));
        root = if reply.opened.is_some() {
            root.context(format!("{id} · waiting for approval in the thread"))
        } else {
            root.context(format!("{id} · details in the thread"))
        };
        let root_msg = match cmd
            .create_followup(&ctx.http, render(&root).followup())
            .await
        {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "Follow-up failed");
                return;
            }
        };
        self.record(&root_msg, None, reply, None).await;
        let thread = cmd
            .channel_id
            .create_thread_from_message(
                &ctx.http,
                root_msg.id,
                CreateThread::new(thread_name(&format!("{text} · {id}")))
                    .auto_archive_duration(AutoArchiveDuration::OneDay),
            )
            .await;
        match thread {
            Ok(thread) => {
                for m in public {
                    self.post(ctx, thread.id, m, reply, None).await;
                }
            }
            Err(e) => {
                // No thread (missing permission, a DM): answer with follow-ups instead.
                warn!(error = %e, "Creating a thread failed; answering in the channel");
                for m in public {
                    if let Ok(sent) = cmd.create_followup(&ctx.http, render(m).followup()).await {
                        let approval = card_approval(m);
                        self.record(&sent, None, reply, approval.clone()).await;
                        if approval.is_some() {
                            self.add_vote_reactions(ctx, &sent).await;
                        }
                    }
                }
            }
        }
    }

    /// Replaces the public "thinking…" placeholder by private follow-ups.
    pub(super) async fn answer_privately(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        messages: &[Message],
    ) {
        // The first follow-up after a public defer would inherit its visibility.
        if let Err(e) = cmd.delete_response(&ctx.http).await {
            debug!(error = %e, "Deleting the deferred response failed");
        }
        for m in messages {
            let mut r: Rendered = render(m);
            r.ephemeral = true;
            if let Err(e) = cmd.create_followup(&ctx.http, r.followup()).await {
                warn!(error = %e, "Ephemeral follow-up failed");
                api_error("follow_up");
            }
        }
    }

    // --- autocomplete ---

    pub(super) async fn on_autocomplete(&self, ctx: &Context, ac: CommandInteraction) {
        let Some(focused) = ac.data.autocomplete() else {
            return;
        };
        let (path, _) = path_of(&ac.data.options);
        let completion = self
            .schema
            .leaf(&path)
            .and_then(|l| l.options.iter().find(|o| o.name == focused.name))
            .and_then(|o| o.completion);
        let typed = focused.value.to_lowercase();
        let mut choices: Vec<(String, String)> = Vec::new();
        match completion {
            Some(Completion::Service) | Some(Completion::ServiceOrNamespace) => {
                if completion == Some(Completion::ServiceOrNamespace) {
                    let ns = &self.deps.catalog.namespaces;
                    for n in [&ns.apps, &ns.infra] {
                        choices.push((n.to_string(), n.to_string()));
                    }
                }
                for s in self.deps.catalog.names() {
                    choices.push((s.to_owned(), s.to_owned()));
                }
            }
            Some(Completion::Approval) => {
                let (channel, _) = channel_of(ac.guild_id, ac.channel_id, ac.channel.as_ref());
                let now = self.deps.clock.now();
                match self
                    .deps
                    .store
                    .approvals(Some(&channel.key()), ApprovalStatus::Pending)
                    .await
                {
                    Ok(reqs) => {
                        for r in reqs
                            .iter()
                            .filter(|r| r.status_at(now) == ApprovalStatus::Pending)
                        {
                            let label: String = format!("{} — {}", r.id, r.plan.summary)
                                .chars()
                                .take(100)
                                .collect();
                            choices.push((label, r.id.to_string()));
                        }
                    }
                    Err(e) => warn!(error = %e, "Listing pending approvals failed"),
                }
            }
            None => {}
        }
        let mut response = CreateAutocompleteResponse::new();
        for (label, value) in choices
            .into_iter()
            .filter(|(l, _)| l.to_lowercase().contains(&typed))
            .take(crate::schema::MAX_CHOICES)
        {
            response = response.add_string_choice(label, value);
        }
        if let Err(e) = ac
            .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
            .await
        {
            debug!(error = %e, "Autocomplete response failed");
        }
    }

    // --- votes ---
}
