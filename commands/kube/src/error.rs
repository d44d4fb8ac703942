//! kube-rs errors → [`ExecError`]s a user can act on.
//!
//! Every API call goes through [`Op::run`], which bounds it in time and names what was
//! attempted, so a 403 reads "the cluster's RBAC denies alice: patch deployments/scale in
//! voiceassistant-prod" rather than a library error.

use std::future::Future;
use std::time::Duration;

use vabot_commands::ports::ExecError;

/// Errors of connecting to a cluster at start-up (reported by the bot, not in chat).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the kubeconfig {path}: {detail}")]
    Kubeconfig { path: String, detail: String },
    #[error("the kubeconfig {path} is unusable: {detail}")]
    Config { path: String, detail: String },
    #[error("cannot build a Kubernetes client: {0}")]
    Client(String),
    #[error("cannot use the pod's service account: {detail}")]
    InCluster { detail: String },
}

/// What a request does, for error messages: `patch deployments/scale in ns`.
#[derive(Debug, Clone)]
pub struct Op<'a> {
    pub verb: &'a str,
    /// The resource as RBAC names it (`deployments/scale`, `envoyfilters`).
    pub resource: &'a str,
    pub namespace: &'a str,
    /// The object, for "not found" messages; empty for lists.
    pub name: &'a str,
    /// Whom the cluster sees (the impersonated user, or vabot itself).
    pub who: &'a str,
    pub timeout: Duration,
}

impl Op<'_> {
    /// Runs one API request, bounded by the per-request timeout.
    pub async fn run<T>(
        &self,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ExecError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(ExecError::Timeout {
                what: "the Kubernetes API server".into(),
                secs: self.timeout.as_secs().max(1),
            }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.map(e)),
        }
    }

    fn object(&self) -> String {
        if self.name.is_empty() {
            format!("{} in {}", self.resource, self.namespace)
        } else {
            format!("{} {} in {}", self.resource, self.name, self.namespace)
        }
    }

    /// Maps a kube error; public so callers can map errors of raw requests too.
    pub fn map(&self, e: kube::Error) -> ExecError {
        match e {
            kube::Error::Api(status) => match status.code {
                401 => ExecError::Forbidden {
                    what: "the Kubernetes API server rejected vabot's credentials".into(),
                },
                403 => ExecError::Forbidden {
                    what: format!(
                        "the cluster's RBAC denies {}: {} {} in {}",
                        self.who, self.verb, self.resource, self.namespace
                    ),
                },
                404 => ExecError::NotFound {
                    what: self.object(),
                },
                409 => ExecError::Conflict {
                    what: self.object(),
                },
                400 | 415 | 422 => ExecError::Precondition {
                    // The API server's message is specific ("spec.replicas: Invalid value…").
                    why: format!(
                        "the API server refused to {} {}: {}",
                        self.verb,
                        self.object(),
                        status.message
                    ),
                },
                429 | 500..=599 => ExecError::Unavailable {
                    what: "the Kubernetes API server".into(),
                    detail: format!("{} {}: {}", status.code, status.reason, status.message),
                },
                _ => ExecError::Internal {
                    detail: format!(
                        "{} {}: {} {}",
                        self.verb, self.resource, status.code, status.message
                    ),
                },
            },
            kube::Error::SerdeError(e) => ExecError::Internal {
                detail: format!("{} {}: decoding the answer: {e}", self.verb, self.resource),
            },
            other => {
                // A connect or read timeout inside the client is a slow server, not a gone one.
                let chain = format!("{other:?}").to_ascii_lowercase();
                if chain.contains("timed out")
                    || chain.contains("elapsed")
                    || chain.contains("timeout")
                {
                    ExecError::Timeout {
                        what: "the Kubernetes API server".into(),
                        secs: self.timeout.as_secs().max(1),
                    }
                } else {
                    ExecError::Unavailable {
                        what: "the Kubernetes API server".into(),
                        detail: other.to_string(),
                    }
                }
            }
        }
    }
}

/// Whether an error is a 409 conflict (retried by `scale`).
pub fn is_conflict(e: &ExecError) -> bool {
    matches!(e, ExecError::Conflict { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op() -> Op<'static> {
        Op {
            verb: "patch",
            resource: "deployments/scale",
            namespace: "voiceassistant-prod",
            name: "agent-engine",
            who: "alice",
            timeout: Duration::from_secs(5),
        }
    }

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            message: "nope".into(),
            reason: "Forbidden".into(),
            ..Default::default()
        }))
    }

    #[test]
    fn a_403_names_the_user_the_verb_and_the_namespace() {
        let e = op().map(api(403));
        assert_eq!(
            e.to_string(),
            "the cluster's RBAC denies alice: patch deployments/scale in voiceassistant-prod"
        );
    }

    #[test]
    fn a_404_409_and_422_become_not_found_conflict_and_precondition() {
        assert!(matches!(op().map(api(404)), ExecError::NotFound { .. }));
        assert!(is_conflict(&op().map(api(409))));
        assert!(matches!(op().map(api(422)), ExecError::Precondition { .. }));
        assert!(matches!(op().map(api(503)), ExecError::Unavailable { .. }));
    }

    #[tokio::test]
    async fn a_request_that_does_not_answer_times_out() {
        let mut o = op();
        o.timeout = Duration::from_millis(50);
        let r: Result<(), _> = o.run(std::future::pending()).await;
        assert!(matches!(r, Err(ExecError::Timeout { .. })));
    }
}
