//! Outcomes and errors → [`Message`]. The one place the pipeline's errors become replies.

use crate::approval::ApprovalRequest;
use crate::error::PipelineError;
use crate::grammar::ParseErrorReport;
use crate::message::{Button, Message, Tone};
use crate::model::InvocationId;
use crate::plan::{Plan, RiskClass};

/// The reply for a failed invocation. User mistakes are private and say what would work;
/// internal failures are opaque, carry the request id, and are logged by the caller.
pub fn render_error(error: &PipelineError, request: &InvocationId) -> Message {
    match error {
        PipelineError::Parse(e) => {
            Message::text(Tone::Warning, ParseErrorReport(e).to_string()).ephemeral()
        }
        PipelineError::Denied(d) => {
            Message::text(Tone::Danger, format!("Not allowed: {}", d.reason)).ephemeral()
        }
        PipelineError::Vote(v) => {
            Message::text(Tone::Warning, format!("Vote not counted: {v}")).ephemeral()
        }
        PipelineError::UnknownApproval(_) | PipelineError::Precondition(_) => {
            Message::text(Tone::Warning, error.to_string()).ephemeral()
        }
        PipelineError::Exec(e) => match e {
            crate::ports::ExecError::Internal { .. } => Message::text(
                Tone::Danger,
                format!(
                    "Internal error while running the command (request {request}); the details are in the bot's log."
                ),
            ),
            other => Message::text(Tone::Danger, format!("Failed: {other} (request {request})")),
        },
        PipelineError::Store(e) => Message::text(
            Tone::Danger,
            format!("{e} (request {request}). vabot does not act without recording it first."),
        ),
    }
}

fn risk_label(risk: RiskClass) -> &'static str {
    match risk {
        RiskClass::Read => "read",
        RiskClass::Write => "write (reversible)",
        RiskClass::Destructive => "DESTRUCTIVE",
    }
}

/// The plan as approvers and requesters read it.
pub fn plan_fields(plan: &Plan) -> Vec<(String, String)> {
    let mut f = vec![("Action".to_owned(), plan.summary.clone())];
    if let Some(t) = &plan.target {
        f.push(("Target".into(), t.to_string()));
    }
    for c in &plan.changes {
        f.push((c.field.clone(), format!("{} → {}", c.before, c.after)));
    }
    f.push(("Risk".into(), risk_label(plan.risk).into()));
    f
}

/// The approval card: what will happen, who asked, who may approve, until when.
pub fn approval_card(req: &ApprovalRequest) -> Message {
    let mut m = Message::new(Tone::Warning)
        .header(format!(
            "Approval needed ({}) — {}",
            req.id, req.plan.summary
        ))
        .fields(plan_fields(&req.plan))
        .fields([
            ("Requested by".to_owned(), req.requester.user.to_string()),
            (
                "Approvals".to_owned(),
                format!(
                    "{}/{} from {}{}",
                    req.approvals(),
                    req.rule.approvals,
                    req.rule.approvers.join(" or "),
                    if req.rule.exclude_requester {
                        " (not the requester)"
                    } else {
                        ""
                    }
                ),
            ),
            (
                "Expires".to_owned(),
                req.expires_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ),
        ]);
    for n in &req.plan.notes {
        m = m.paragraph(format!("Note: {n}"));
    }
    m.context(format!(
        "Approve with ✅, the button, or `/va approve {id}`; deny with ❌ or `/va deny {id}`; the requester can `/va cancel {id}`.",
        id = req.id
    ))
    .buttons(vec![Button::approve(&req.id), Button::deny(&req.id)])
}

/// The card once decided (buttons removed), for updating it in place.
pub fn decided_card(req: &ApprovalRequest, outcome: &str) -> Message {
    let tone = match req.status {
        crate::approval::ApprovalStatus::Executed => Tone::Success,
        crate::approval::ApprovalStatus::Denied
        | crate::approval::ApprovalStatus::Failed
        | crate::approval::ApprovalStatus::Expired => Tone::Danger,
        _ => Tone::Info,
    };
    let voters: Vec<String> = req
        .votes
        .iter()
        .map(|v| format!("{} ({:?} via {})", v.voter.user, v.verdict, v.via).to_lowercase())
        .collect();
    Message::new(tone)
        .header(format!(
            "{} {} — {}",
            req.id,
            req.status.as_str(),
            req.plan.summary
        ))
        .fields(plan_fields(&req.plan))
        .fields([
            ("Requested by".to_owned(), req.requester.user.to_string()),
            (
                "Votes".to_owned(),
                if voters.is_empty() {
                    "none".into()
                } else {
                    voters.join(", ")
                },
            ),
        ])
        .context(outcome.to_owned())
}
