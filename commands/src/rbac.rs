//! The Kubernetes permissions each command needs: the source of the Helm chart's
//! least-privilege Role. A test keeps `deploy/helm/vabot/files/rbac-rules.yaml` equal to
//! [`render_rules`], so the chart cannot grant more than the catalogue uses.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::Catalog;
use crate::grammar::spec::{Family, SPECS};

/// One permission: verbs on a resource of an API group, optionally on named objects only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
}

/// What a watch cache needs: the list it starts from and the watch that follows.
const WATCH: &[&str] = &["list", "watch"];
const LIST: &[&str] = &["list"];
const GET: &[&str] = &["get"];

const fn need(group: &'static str, resource: &'static str, verbs: &'static [&'static str]) -> Need {
    Need {
        group,
        resource,
        verbs,
    }
}

/// What the watch caches behind `health` (and the diagnose playbooks) read.
const CACHES: &[Need] = &[
    need("", "pods", WATCH),
    need("apps", "deployments", WATCH),
    need("apps", "statefulsets", WATCH),
    need("discovery.k8s.io", "endpointslices", WATCH),
    need("", "persistentvolumeclaims", WATCH),
    need("", "events", WATCH),
    need("networking.istio.io", "envoyfilters", WATCH),
];

/// Reading one workload (and one pod, for `describe <pod>`) by name.
const WORKLOADS_GET: &[Need] = &[
    need("apps", "deployments", GET),
    need("apps", "statefulsets", GET),
];

/// The namespaced permissions one command needs (beyond the watch caches).
pub fn needs(command: &str) -> Vec<Need> {
    let mut v: Vec<Need> = Vec::new();
    match command {
        "health" | "pods" | "events" | "endpoints" | "diagnose" => {}
        // EndpointSlices as the caches list them; nodes by the ClusterRole; the service
        // proxy on named services only (see `render_rules`).
        "probe" => {}
        "describe" => {
            v.extend(WORKLOADS_GET.iter().cloned());
            v.push(need("", "pods", GET));
            v.push(need("apps", "replicasets", LIST));
        }
        "logs" => v.push(need("", "pods/log", &["get"])),
        "netpol" => v.push(need("networking.k8s.io", "networkpolicies", LIST)),
        "svc" => v.push(need("", "services", LIST)),
        // PVCs and events are listed like the caches do; nodes are cluster-scoped (the
        // chart's ClusterRole).
        "pvc" | "nodes" => {}
        "env" => {
            v.extend(WORKLOADS_GET.iter().cloned());
            v.push(need("", "configmaps", GET));
        }
        "top" => v.push(need("metrics.k8s.io", "pods", LIST)),
        "rollout status" => {
            v.extend(WORKLOADS_GET.iter().cloned());
            v.push(need("apps", "replicasets", LIST));
        }
        "rollout history" => {
            v.extend(WORKLOADS_GET.iter().cloned());
            v.push(need("apps", "replicasets", LIST));
            v.push(need("apps", "controllerrevisions", LIST));
        }
        "hpa" => v.push(need(
            "autoscaling",
            "horizontalpodautoscalers",
            &["get", "list"],
        )),
        "hpa set" => v.push(need(
            "autoscaling",
            "horizontalpodautoscalers",
            &["get", "patch"],
        )),
        // Deleted with its manifest kept; `undo` re-creates it.
        "hpa disable" => v.push(need(
            "autoscaling",
            "horizontalpodautoscalers",
            &["get", "delete", "create"],
        )),
        "config get" => {
            v.push(need("", "configmaps", &["get"]));
            // Keys only are shown; `get` is the only way to learn them.
            v.push(need("", "secrets", &["get"]));
        }
        "config set" => v.push(need("", "configmaps", &["get", "patch"])),
        "bluegreen status" => {
            v.push(need("networking.istio.io", "virtualservices", GET));
            v.push(need("networking.istio.io", "destinationrules", LIST));
            v.push(need("", "services", LIST));
        }
        "istio" => v.push(need(
            "networking.istio.io",
            "virtualservices",
            &["get", "list"],
        )),
        "scale" | "scale-all" | "stop" => {
            v.push(need(
                "apps",
                "deployments/scale",
                &["get", "patch", "update"],
            ));
            v.push(need(
                "apps",
                "statefulsets/scale",
                &["get", "patch", "update"],
            ));
        }
        "restart" | "set-image" => {
            v.push(need("apps", "deployments", &["get", "patch"]));
            v.push(need("apps", "statefulsets", &["get", "patch"]));
        }
        "rollback" => {
            v.push(need("apps", "deployments", &["get", "patch"]));
            v.push(need("apps", "statefulsets", &["get", "patch"]));
            v.push(need("apps", "replicasets", LIST));
            v.push(need("apps", "controllerrevisions", LIST));
        }
        "traffic" => v.push(need(
            "networking.istio.io",
            "virtualservices",
            &["get", "patch"],
        )),
        "envoyfilter set" => v.push(need(
            "networking.istio.io",
            "envoyfilters",
            &["get", "patch"],
        )),
        "envoyfilter delete" => v.push(need(
            "networking.istio.io",
            "envoyfilters",
            &["get", "delete", "create"],
        )),
        // Undo restores what the original change touched: the union of the write commands.
        "undo" => {
            for c in [
                "scale",
                "restart",
                "rollback",
                "hpa set",
                "hpa disable",
                "config set",
                "traffic",
                "envoyfilter set",
                "envoyfilter delete",
            ] {
                v.extend(needs(c));
            }
        }
        _ => {}
    }
    v
}

/// What `health istio-system` reads in the mesh control plane's namespace: one list of
/// Deployments and one of pods (no watch, no writes).
pub const MESH: &[Need] = &[need("", "pods", LIST), need("apps", "deployments", LIST)];

/// The mesh namespace's Role rules (`vabot rbac --mesh`).
pub fn render_mesh_rules() -> String {
    let mut out = String::from(
        "# Generated by `vabot rbac --mesh`: what `health istio-system` reads; do not edit.\n",
    );
    for n in MESH {
        out.push_str(&rule_yaml::<&str>(n.group, &[n.resource], &[], n.verbs));
    }
    out
}

/// `["a", "b"]`: a YAML flow list of quoted strings.
fn quoted<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|i| format!("\"{}\"", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One entry of a Role's `rules:`; `names` restricts it to named objects.
fn rule_yaml<S: AsRef<str>>(
    group: &str,
    resources: &[&str],
    names: &[S],
    verbs: &[&str],
) -> String {
    let names = if names.is_empty() {
        String::new()
    } else {
        format!("  resourceNames: [{}]\n", quoted(names))
    };
    format!(
        "- apiGroups: [\"{group}\"]\n  resources: [{}]\n{names}  verbs: [{}]\n",
        quoted(resources),
        quoted(verbs)
    )
}

/// Merged namespaced rules for the whole catalogue: (group, resource) → verbs.
pub fn namespaced_rules() -> BTreeMap<(&'static str, &'static str), BTreeSet<&'static str>> {
    let mut rules: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    let mut add = |n: &Need| {
        rules
            .entry((n.group, n.resource))
            .or_default()
            .extend(n.verbs.iter().copied());
    };
    CACHES.iter().for_each(&mut add);
    for s in SPECS
        .iter()
        .filter(|s| s.family == Family::Kube || s.name == "diagnose")
    {
        needs(s.name).iter().for_each(&mut add);
    }
    rules
}

/// The rules as the YAML list a Role's `rules:` takes; Secrets restricted to the
/// catalog's named Secrets.
pub fn render_rules(catalog: &Catalog) -> String {
    let mut secrets: Vec<&str> = catalog
        .services
        .iter()
        .filter_map(|s| s.secret.as_deref())
        .collect();
    secrets.sort_unstable();
    secrets.dedup();
    let mut by_group: BTreeMap<&str, Vec<(&str, &BTreeSet<&str>)>> = BTreeMap::new();
    let rules = namespaced_rules();
    for ((group, resource), verbs) in &rules {
        by_group.entry(group).or_default().push((resource, verbs));
    }
    let mut out =
        String::from("# Generated by `vabot rbac` from the command catalogue; do not edit.\n");
    for (group, items) in by_group {
        // Rules with the same verbs share one entry, so the Role stays readable.
        let mut by_verbs: BTreeMap<Vec<&str>, Vec<&str>> = BTreeMap::new();
        for (resource, verbs) in items {
            let verbs: Vec<&str> = verbs.iter().copied().collect();
            if resource == "secrets" {
                continue;
            }
            by_verbs.entry(verbs).or_default().push(resource);
        }
        for (verbs, resources) in by_verbs {
            out.push_str(&rule_yaml::<&str>(group, &resources, &[], &verbs));
        }
    }
    // `probe`: the service proxy, on each catalogued `<service>:<port>` only (the API
    // server checks the name with its port), and only `get`.
    let mut probes: Vec<String> = catalog
        .services
        .iter()
        .filter_map(|s| s.probe_port.as_ref().map(|p| format!("{}:{p}", s.name)))
        .collect();
    probes.sort_unstable();
    if !probes.is_empty() {
        out.push_str(&rule_yaml("", &["services/proxy"], &probes, GET));
    }
    if !secrets.is_empty() {
        out.push_str(&rule_yaml("", &["secrets"], &secrets, GET));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_grants_no_wildcards_and_secrets_only_get_by_name() {
        let rules = namespaced_rules();
        for ((g, r), verbs) in &rules {
            assert!(!g.contains('*') && !r.contains('*'), "{g}/{r}");
            assert!(!verbs.contains("*"), "{g}/{r}");
            assert!(
                !verbs.contains("deletecollection")
                    && !verbs.contains("escalate")
                    && !verbs.contains("bind"),
                "{g}/{r}"
            );
        }
        assert_eq!(rules[&("", "secrets")], BTreeSet::from(["get"]));
        let text = render_rules(&Catalog::voicehelper());
        assert!(text.contains("resources: [\"secrets\"]\n  resourceNames: [\"agent-engine-secret\"]\n  verbs: [\"get\"]"), "{text}");
        assert!(!text.contains("\"*\""));
        // Nothing may touch pods/exec, pods/proxy or portforward: vabot never dials pods.
        for forbidden in ["pods/exec", "pods/proxy", "pods/portforward", "pods/attach"] {
            assert!(!text.contains(forbidden), "{forbidden}");
        }
        // The service proxy (`probe`) only by name and port, only `get`.
        assert!(
            text.contains(
                "resources: [\"services/proxy\"]\n  resourceNames: [\"agent-engine:http\", "
            ) && text.contains("\"voice-gateway:http\"]\n  verbs: [\"get\"]"),
            "{text}"
        );
        assert_eq!(text.matches("services/proxy").count(), 1, "{text}");
        // Deletes only where a destructive command needs them.
        let deletes: Vec<String> = rules
            .iter()
            .filter(|(_, v)| v.contains("delete"))
            .map(|((g, r), _)| format!("{g}/{r}"))
            .collect();
        assert_eq!(
            deletes,
            vec![
                "autoscaling/horizontalpodautoscalers",
                "networking.istio.io/envoyfilters"
            ]
        );
    }

    #[test]
    fn the_charts_rules_are_generated_from_the_catalogue() {
        let committed = include_str!("../../deploy/helm/vabot/files/rbac-rules.yaml");
        assert_eq!(
            committed,
            render_rules(&Catalog::voicehelper()),
            "regenerate with `vabot rbac > deploy/helm/vabot/files/rbac-rules.yaml`"
        );
    }

    #[test]
    fn the_charts_mesh_rules_are_generated_and_read_only() {
        let committed = include_str!("../../deploy/helm/vabot/files/rbac-mesh-rules.yaml");
        assert_eq!(
            committed,
            render_mesh_rules(),
            "regenerate with `vabot rbac --mesh > deploy/helm/vabot/files/rbac-mesh-rules.yaml`"
        );
        assert!(MESH.iter().all(|n| n.verbs == LIST));
    }

    #[test]
    fn every_write_command_has_write_permissions() {
        for s in SPECS
            .iter()
            .filter(|s| s.family == Family::Kube && s.risk > crate::plan::RiskClass::Read)
        {
            assert!(
                needs(s.name).iter().any(|n| n
                    .verbs
                    .iter()
                    .any(|v| ["patch", "update", "delete", "create"].contains(v))),
                "{} has no write permission",
                s.name
            );
        }
    }
}
