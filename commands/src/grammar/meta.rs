//! Commands the core answers itself or from the store: help, links, history, votes.

use super::lexer::Args;
use super::spec::Spec;
use super::values;
use super::{Command, ParseError};
use crate::catalog::Catalog;
use crate::model::ShortId;

pub(super) fn parse(spec: &'static Spec, mut a: Args, _c: &Catalog) -> Result<Command, ParseError> {
    let cmd = match spec.name {
        "help" => {
            let topic = a.rest();
            Command::Help {
                topic: (!topic.trim().is_empty()).then_some(topic),
            }
        }
        "links" => Command::Links,
        "oncall" => Command::Oncall,
        "history" => Command::History {
            n: match a.optional() {
                Some(t) => values::int_in(spec, "the count", &t, 1, 200)? as u32,
                None => 20,
            },
        },
        "timeline" => Command::Timeline {
            since: match a.flag("since")? {
                Some(t) => Some(values::duration(spec, "--since", &t)?),
                None => None,
            },
        },
        "pending" => Command::Pending,
        "incident start" => {
            let title = a.rest();
            let title = title.trim();
            if title.is_empty() {
                return Err(ParseError::missing(spec, "a title"));
            }
            if title.chars().count() > 200 {
                return Err(ParseError::out_of_range(
                    spec,
                    format!(
                        "the title is {} characters; the limit is 200",
                        title.chars().count()
                    ),
                ));
            }
            Command::IncidentStart {
                title: title.to_owned(),
            }
        }
        "incident end" => Command::IncidentEnd,
        "approve" | "deny" | "cancel" => {
            let t = a.required("an approval id (see `/va pending`)")?;
            let id = ShortId::parse('a', &t).ok_or_else(|| {
                ParseError::invalid(
                    spec,
                    format!(
                        "`{t}` is not an approval id; ids look like a-3MZ81C (see `/va pending`)"
                    ),
                )
            })?;
            match spec.name {
                "approve" => Command::Approve { id },
                "deny" => Command::Deny { id },
                _ => Command::Cancel { id },
            }
        }
        other => {
            return Err(ParseError::syntax(format!(
                "internal: `{other}` has no parser"
            )));
        }
    };
    a.finish()?;
    Ok(cmd)
}
