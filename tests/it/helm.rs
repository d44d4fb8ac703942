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
    run(Command::new(helm())
        .args(["install", "vabot"])
        .arg(chart())
        .args(["--namespace", &ns, "--create-namespace", "--wait=false"]));
    let deploy = run(Command::new(kubectl()).args([
        "get",
        "deployment",
        "vabot-vabot",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}",
    ]));
    assert_eq!(deploy, "true");
    for target in ["voiceassistant-prod", "voiceassistant-infra"] {
        let rules = run(Command::new(kubectl()).args([
            "get",
            "role",
            "vabot-vabot",
            "-n",
            target,
            "-o",
            "json",
        ]));
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
        run(Command::new(kubectl()).args(["get", "rolebinding", "vabot-vabot", "-n", target]));
    }
    // Impersonation is off by default: no impersonate verb anywhere.
    let cr = run(Command::new(kubectl()).args(["get", "clusterrole", "vabot-vabot", "-o", "json"]));
    assert!(!cr.contains("impersonate"), "{cr}");
    run(Command::new(helm()).args(["uninstall", "vabot", "--namespace", &ns]));
    let _ = Command::new(kubectl())
        .args(["delete", "namespace", &ns, "--wait=false"])
        .output();
}
