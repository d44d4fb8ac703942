//! Slack user groups → the policy's group roles, as Discord guild roles are.
//!
//! The policy names groups as `slack:S0123ABCD`; their members come from
//! `usergroups.users.list`, cached and fetched again every `groups_refresh_secs` (and at
//! once when the policy starts naming a group the cache does not cover). A user's groups
//! are what the last successful fetch said; a failed fetch keeps the previous answer.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, RwLock};
use tracing::{info, warn};
use vabot_commands::config::Policy;
use vabot_commands::model::GroupId;

use crate::SlackError;
use crate::outbound::Outbound;

/// The cache.
#[derive(Default)]
pub struct UserGroups {
    state: RwLock<Option<Members>>,
    /// One fetch at a time.
    fetching: Mutex<()>,
}

struct Members {
    /// The policy's groups this fetch covered.
    groups: BTreeSet<String>,
    by_user: HashMap<String, Vec<GroupId>>,
    at: Instant,
}

/// The Slack user groups a policy names (`slack:S…` keys).
pub fn named(policy: &Policy) -> BTreeSet<String> {
    policy
        .groups
        .keys()
        .filter_map(|k| k.strip_prefix("slack:"))
        .map(str::to_owned)
        .collect()
}

impl UserGroups {
    /// The groups `user` is in, among those the policy names.
    pub async fn of(&self, out: &Outbound, policy: &Policy, user: &str) -> Vec<GroupId> {
        let wanted = named(policy);
        if wanted.is_empty() {
            return Vec::new();
        }
        let covered = self
            .state
            .read()
            .await
            .as_ref()
            .is_some_and(|m| wanted.is_subset(&m.groups));
        if !covered {
            self.refresh(out, &wanted).await;
        }
        self.state
            .read()
            .await
            .as_ref()
            .and_then(|m| m.by_user.get(user).cloned())
            .unwrap_or_default()
    }

    /// Fetches again if the last fetch is older than `every`.
    pub async fn refresh_if_older(&self, out: &Outbound, policy: &Policy, every: Duration) {
        let wanted = named(policy);
        let stale = self
            .state
            .read()
            .await
            .as_ref()
            .is_none_or(|m| m.at.elapsed() >= every || !wanted.is_subset(&m.groups));
        if stale && !wanted.is_empty() {
            self.refresh(out, &wanted).await;
        }
    }

    async fn refresh(&self, out: &Outbound, wanted: &BTreeSet<String>) {
        let _one = self.fetching.lock().await;
        // Someone else may have fetched while this one waited.
        if self
            .state
            .read()
            .await
            .as_ref()
            .is_some_and(|m| wanted.is_subset(&m.groups) && m.at.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let mut by_user: HashMap<String, Vec<GroupId>> = HashMap::new();
        let mut covered = BTreeSet::new();
        let previous = self.state.read().await.as_ref().map(|m| m.by_user.clone());
        for g in wanted {
            let fetched =
                tokio::time::timeout(Duration::from_secs(5), out.usergroup_members(g)).await;
            match fetched {
                Ok(Ok(users)) => {
                    for u in users {
                        by_user.entry(u).or_default().push(GroupId::new(g.clone()));
                    }
                    covered.insert(g.clone());
                }
                Ok(Err(SlackError::Api {
                    code: Some(code), ..
                })) if code == "missing_scope" => {
                    warn!(group = %g, "Slack refused usergroups.users.list: the app lacks the usergroups:read scope (add it in the app manifest and reinstall); group roles do not apply");
                }
                Ok(Err(error)) => {
                    warn!(group = %g, %error, "Could not read a Slack user group's members; keeping the last known ones")
                }
                Err(_) => {
                    warn!(group = %g, "Reading a Slack user group's members timed out; keeping the last known ones")
                }
            }
        }
        // A group that could not be read keeps its previous members.
        if let Some(prev) = previous {
            for (user, groups) in prev {
                for g in groups {
                    if !covered.contains(g.as_str()) {
                        let e = by_user.entry(user.clone()).or_default();
                        if !e.contains(&g) {
                            e.push(g);
                        }
                    }
                }
            }
        }
        info!(
            groups = covered.len(),
            users = by_user.len(),
            "Slack user groups fetched"
        );
        *self.state.write().await = Some(Members {
            // Cover every wanted group, so a failing one is not fetched on every command;
            // the periodic refresh tries it again.
            groups: wanted.clone(),
            by_user,
            at: Instant::now(),
        });
    }
}
