//! The service catalog: which services exist, where they run, and their bounds.
//!
//! Every service name typed in chat is resolved here; a name that is not in the catalog is
//! refused with suggestions, so a typo can never reach the cluster.

use serde::{Deserialize, Serialize};

use crate::model::Namespace;

/// The workload kind behind a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        })
    }
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub kind: WorkloadKind,
    pub namespace: Namespace,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub containers: Vec<String>,
    /// The dependency this workload serves (`postgres`, `redis`, …), if it is one.
    #[serde(default)]
    pub dependency: Option<String>,
    #[serde(default)]
    pub hpa: Option<String>,
    #[serde(default)]
    pub configmap: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub virtual_service: Option<String>,
}

/// The two namespaces of the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespaces {
    pub apps: Namespace,
    pub infra: Namespace,
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub namespaces: Namespaces,
    pub services: Vec<Service>,
}

const DEFAULT_CATALOG: &str = include_str!("../catalog.yaml");

impl Catalog {
    /// The VoiceHelper topology of the runbook.
    pub fn voicehelper() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        #[allow(clippy::expect_used)] // see comment above
        serde_norway::from_str(DEFAULT_CATALOG).expect("embedded catalog.yaml is valid")
    }

    pub fn get(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|s| s.name.as_str())
    }

    /// All namespaces that services live in, apps first.
    pub fn all_namespaces(&self) -> Vec<Namespace> {
        vec![self.namespaces.apps.clone(), self.namespaces.infra.clone()]
    }

    pub fn knows_namespace(&self, ns: &str) -> bool {
        self.namespaces.apps.as_str() == ns || self.namespaces.infra.as_str() == ns
    }

    /// Checks internal consistency; returns what is wrong, one line each.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for s in &self.services {
            if !seen.insert(&s.name) {
                problems.push(format!("service `{}` is listed twice", s.name));
            }
            if s.min_replicas > s.max_replicas {
                problems.push(format!(
                    "service `{}`: min_replicas {} is above max_replicas {}",
                    s.name, s.min_replicas, s.max_replicas
                ));
            }
            if s.containers.is_empty() {
                problems.push(format!("service `{}` has no containers", s.name));
            }
            if !self.knows_namespace(s.namespace.as_str()) {
                problems.push(format!(
                    "service `{}` is in namespace `{}`, which is neither the apps nor the infra namespace",
                    s.name, s.namespace
                ));
            }
        }
        problems
    }
}

/// Up to three names from `candidates` close to `input`, best first.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, c)| *score >= 0.80 || c.starts_with(input) && !input.is_empty())
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_is_the_voicehelper_topology() {
        let c = Catalog::voicehelper();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let ae = c.get("agent-engine").expect("agent-engine");
        assert_eq!(ae.namespace.as_str(), "voiceassistant-prod");
        assert_eq!(ae.kind, WorkloadKind::Deployment);
        for infra in ["postgres", "redis", "nacos", "milvus", "elasticsearch"] {
            let s = c.get(infra).expect(infra);
            assert_eq!(s.namespace.as_str(), "voiceassistant-infra");
            assert_eq!(s.kind, WorkloadKind::StatefulSet);
        }
        assert!(c.services.len() >= 12);
    }

    #[test]
    fn suggestions_find_near_misses() {
        let c = Catalog::voicehelper();
        assert_eq!(suggest("agent-engin", c.names())[0], "agent-engine");
        assert_eq!(suggest("identity", c.names())[0], "identity-service");
        assert!(suggest("zzzz", c.names()).is_empty());
    }
}
