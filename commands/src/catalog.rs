//! The service catalog: which services exist, where they run, and their bounds.
//!
//! Every service name typed in chat is resolved here; a name that is not in the catalog is
//! refused with suggestions, so a typo can never reach the cluster.

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ConfigErrors, located, yaml_error};
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
    /// Injected containers (`istio-proxy`): their logs can be read, their image is not
    /// vabot's to change.
    #[serde(default)]
    pub sidecars: Vec<String>,
    /// The Service port `probe` asks through the API server's service proxy (`http`);
    /// none: the service has no probe. The chart's Role names `<service>:<port>` only.
    #[serde(default)]
    pub probe_port: Option<String>,
    /// The path `probe` requests (default `/health`).
    #[serde(default)]
    pub probe_path: Option<String>,
}

impl Service {
    /// The probe's path: the catalog's, else `/health`.
    pub fn probe_path(&self) -> &str {
        self.probe_path.as_deref().unwrap_or("/health")
    }
}

/// The two namespaces of the platform, and the service mesh's control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespaces {
    pub apps: Namespace,
    pub infra: Namespace,
    /// The Istio control plane (`istio-system`): `health istio-system` reads its pods and
    /// Deployments; nothing else acts there.
    #[serde(default)]
    pub mesh: Option<Namespace>,
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub namespaces: Namespaces,
    pub services: Vec<Service>,
}

/// The embedded VoiceHelper catalog (the demo default).
pub const DEFAULT_CATALOG: &str = include_str!("../catalog.yaml");

impl Catalog {
    /// The VoiceHelper topology of the runbook.
    pub fn voicehelper() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        #[allow(clippy::expect_used)] // see comment above
        serde_norway::from_str(DEFAULT_CATALOG).expect("embedded catalog.yaml is valid")
    }

    /// Reads and validates a catalog file (YAML).
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                line: 0,
                message: format!("cannot read the catalog file: {e}"),
            }])
        })?;
        Self::parse(&file, &text)
    }

    /// Parses and validates catalog text; `file` names it in errors, with the line of
    /// each problem.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigErrors> {
        let catalog: Catalog = serde_norway::from_str(text).map_err(|e| yaml_error(file, &e))?;
        located(file, text, catalog.problems()).map(|()| catalog)
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

    /// Whether `ns` is the mesh control plane's namespace.
    pub fn is_mesh(&self, ns: &str) -> bool {
        self.namespaces
            .mesh
            .as_ref()
            .is_some_and(|m| m.as_str() == ns)
    }

    /// Checks internal consistency; returns what is wrong, one line each.
    pub fn validate(&self) -> Vec<String> {
        self.problems().into_iter().map(|(_, m)| m).collect()
    }

    /// What is wrong, each with a text to find its line by.
    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let at = |s: &Service| format!("name: {}", s.name);
        for s in &self.services {
            if !is_dns_label(&s.name) {
                problems.push((
                    at(s),
                    format!(
                        "service `{}`: a name must be lowercase letters, digits and `-` (a Kubernetes name)",
                        s.name
                    ),
                ));
            }
            if !seen.insert(&s.name) {
                problems.push((at(s), format!("service `{}` is listed twice", s.name)));
            }
            if s.min_replicas > s.max_replicas {
                problems.push((
                    at(s),
                    format!(
                        "service `{}`: min_replicas {} is above max_replicas {}",
                        s.name, s.min_replicas, s.max_replicas
                    ),
                ));
            }
            if s.containers.is_empty() {
                problems.push((at(s), format!("service `{}` has no containers", s.name)));
            }
            if let Some(port) = &s.probe_port
                && !is_dns_label(port)
                && port.parse::<u16>().is_err()
            {
                problems.push((
                    at(s),
                    format!(
                        "service `{}`: probe_port `{port}` is neither a port name nor a number",
                        s.name
                    ),
                ));
            }
            if let Some(path) = &s.probe_path
                && !(path.starts_with('/')
                    && path.len() <= 100
                    && !path.contains("..")
                    && path
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b)))
            {
                problems.push((
                    at(s),
                    format!(
                        "service `{}`: probe_path `{path}` must start with `/` and use letters, digits, `/`, `-`, `_`, `.` (no `..`)",
                        s.name
                    ),
                ));
            }
            if !self.knows_namespace(s.namespace.as_str()) {
                problems.push((
                    at(s),
                    format!(
                        "service `{}` is in namespace `{}`, which is neither the apps nor the infra namespace",
                        s.name, s.namespace
                    ),
                ));
            }
        }
        for ns in [&self.namespaces.apps, &self.namespaces.infra]
            .into_iter()
            .chain(self.namespaces.mesh.as_ref())
        {
            if !is_dns_label(ns.as_str()) {
                problems.push((
                    ns.to_string(),
                    format!("namespace `{ns}` is not a Kubernetes namespace name"),
                ));
            }
        }
        problems
    }
}

/// A Kubernetes DNS label: 1–63 of `[a-z0-9-]`, starting and ending alphanumeric.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
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
    fn a_bad_catalog_file_reports_file_line_and_problem() {
        let twice = DEFAULT_CATALOG.replace(
            "  - { name: identity-service,",
            "  - { name: agent-engine,         kind: Deployment,  namespace: voiceassistant-prod, min_replicas: 1, max_replicas: 3, containers: [x] }\n  - { name: identity-service,",
        );
        let e = Catalog::parse("catalog.yaml", &twice)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("catalog.yaml:"), "{e}");
        assert!(e.contains("service `agent-engine` is listed twice"), "{e}");
        let bad_kind = DEFAULT_CATALOG.replace("kind: StatefulSet", "kind: Statefulset");
        let e = Catalog::parse("catalog.yaml", &bad_kind)
            .unwrap_err()
            .to_string();
        let line = DEFAULT_CATALOG
            .lines()
            .position(|l| l.contains("StatefulSet"))
            .unwrap()
            + 1;
        assert!(e.starts_with(&format!("catalog.yaml:{line}: ")), "{e}");
        assert!(e.contains("unknown variant `Statefulset`"), "{e}");
        let bad_ns = DEFAULT_CATALOG.replace("infra: voiceassistant-infra", "infra: Voice_Infra");
        let e = Catalog::parse("catalog.yaml", &bad_ns)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Kubernetes namespace name"), "{e}");
        // A blue/green second version is configuration, not a rebuild.
        let v2 = format!(
            "{DEFAULT_CATALOG}  - {{ name: agent-engine-v2, kind: Deployment, namespace: voiceassistant-prod, min_replicas: 1, max_replicas: 20, containers: [agent-engine, istio-proxy] }}\n"
        );
        let c = Catalog::parse("catalog.yaml", &v2).expect("v2");
        assert_eq!(
            c.get("agent-engine-v2").unwrap().containers[1],
            "istio-proxy"
        );
    }

    #[test]
    fn suggestions_find_near_misses() {
        let c = Catalog::voicehelper();
        assert_eq!(suggest("agent-engin", c.names())[0], "agent-engine");
        assert_eq!(suggest("identity", c.names())[0], "identity-service");
        assert!(suggest("zzzz", c.names()).is_empty());
    }
}
