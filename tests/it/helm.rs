//! The Helm chart against the local control plane: lint, server-side dry run, install.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn helm() -> PathBuf {
    let p = std::env::var_os("HELM").map(PathBuf::from).expect(
        "HELM is not set: run the tests through tests/run (it builds helm from its Go module)",
    );
    assert!(p.exists(), "{} does not exist", p.display());
    p
}

fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .expect("KUBECTL is not set: run the tests through tests/run")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{:?} failed:\n{}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chart() -> PathBuf {
    root().join("deploy/helm/vabot")
}

#[test]
fn the_chart_lints_and_the_server_accepts_its_manifests() {
    run(Command::new(helm())
        .arg("lint")
        .arg(chart())
        .arg("--strict"));
    let rendered = run(Command::new(helm())
        .args(["template", "vabot"])
        .arg(chart())
        .args(["--namespace", "vabot-system"]));
    let file = std::env::temp_dir().join(format!("vabot-chart-{}.yaml", std::process::id()));
    std::fs::write(&file, &rendered).unwrap();
    // The namespace must exist for a server-side dry run of namespaced objects.
    let _ = Command::new(kubectl())
        .args(["create", "namespace", "vabot-system"])
        .output();
    run(Command::new(kubectl())
        .args(["apply", "--dry-run=server", "-f"])
        .arg(&file));
    let _ = std::fs::remove_file(&file);
}

#[test]
fn the_rendered_manifests_in_deploy_k8s_are_current() {
    let rendered = run(Command::new(helm())
        .args(["template", "vabot"])
        .arg(chart())
        .args(["--namespace", "vabot-system"]));
    let committed = std::fs::read_to_string(root().join("deploy/k8s/vabot.yaml")).unwrap();
    assert!(
        committed == rendered,
        "deploy/k8s/vabot.yaml is stale: regenerate with `helm template vabot deploy/helm/vabot --namespace vabot-system > deploy/k8s/vabot.yaml`"
    );
}

#[test]
fn installing_the_chart_creates_the_deployment_and_least_privilege_rbac() {
    let ns = format!("vabot-helm-{}", std::process::id());
    // A release name of its own: the ClusterRole is cluster-wide, and the other tests
    // render the chart as `vabot` at the same time.
    let release = format!("helm-it-{}", std::process::id());
    let full = format!("{release}-vabot");
    run(Command::new(helm())
        .args(["install", &release])
        .arg(chart())
        .args(["--namespace", &ns, "--create-namespace", "--wait=false"]));
    let deploy = run(Command::new(kubectl()).args([
        "get",
        "deployment",
        &full,
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}",
    ]));
    assert_eq!(deploy, "true");
    for target in ["voiceassistant-prod", "voiceassistant-infra"] {
        let rules =
            run(Command::new(kubectl()).args(["get", "role", &full, "-n", target, "-o", "json"]));
        let role: serde_json::Value = serde_json::from_str(&rules).unwrap();
        let rules = role["rules"].as_array().unwrap();
        assert!(!rules.is_empty());
        for r in rules {
            let text = r.to_string();
            assert!(!text.contains("\"*\""), "wildcard in {text}");
            if r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == "secrets")
            {
                assert_eq!(r["verbs"], serde_json::json!(["get"]), "{text}");
                assert!(
                    r["resourceNames"].is_array(),
                    "secrets must be named: {text}"
                );
            }
        }
        run(Command::new(kubectl()).args(["get", "rolebinding", &full, "-n", target]));
    }
    // Impersonation is off by default: no impersonate verb anywhere.
    let cr = run(Command::new(kubectl()).args(["get", "clusterrole", &full, "-o", "json"]));
    assert!(!cr.contains("impersonate"), "{cr}");
    run(Command::new(helm()).args(["uninstall", &release, "--namespace", &ns]));
    let _ = Command::new(kubectl())
        .args(["delete", "namespace", &ns, "--wait=false"])
        .output();
}

fn template(args: &[&str]) -> std::process::Output {
    Command::new(helm())
        .args(["template", "vabot"])
        .arg(chart())
        .args(["--namespace", "vabot-system"])
        .args(args)
        .output()
        .expect("helm runs")
}

#[test]
fn the_chart_keeps_one_replica_on_sqlite_and_refuses_several_without_postgresql() {
    // Default: one replica, its history in SQLite on a claim, stopped before replaced.
    let out = template(&[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kind: PersistentVolumeClaim"), "{text}");
    assert!(text.contains("strategy: { type: Recreate }"), "{text}");
    assert!(text.contains("name: VABOT_DATA_DIR"), "{text}");
    assert!(
        !text.contains("kind: PodDisruptionBudget"),
        "no PDB for one replica"
    );

    // Two replicas without PostgreSQL: refused, saying why and what to set.
    let out = template(&["--set", "replicaCount=2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("replicaCount is 2 but no PostgreSQL database is configured")
            && err.contains("approvals would not be shared")
            && err.contains("database.secretName"),
        "{err}"
    );

    // With a PostgreSQL secret: DATABASE_URL from it, no claim, a PDB.
    let out = template(&[
        "--set",
        "replicaCount=2",
        "--set",
        "database.secretName=vabot-db",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("secretKeyRef: { name: \"vabot-db\", key: \"DATABASE_URL\" }"),
        "{text}"
    );
    assert!(!text.contains("kind: PersistentVolumeClaim"));
    assert!(text.contains("kind: PodDisruptionBudget"));
}

#[test]
fn impersonation_in_the_chart_turns_it_on_in_the_bot_and_grants_the_verb() {
    let out = template(&["--set", "impersonation.enabled=true"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kube:\n      impersonate: true"), "{text}");
    assert!(text.contains("verbs: [\"impersonate\"]"), "{text}");
    let off = String::from_utf8_lossy(&template(&[]).stdout).into_owned();
    assert!(!off.contains("impersonate"), "{off}");
}
