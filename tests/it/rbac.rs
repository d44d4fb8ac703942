//! Least privilege, proven by the API server: the chart's rendered ServiceAccount, Roles,
//! ClusterRole and bindings are applied to the real local control plane, and the real
//! `vabot` runs **with that ServiceAccount's token**, found the way a pod finds it (the
//! in-cluster variables and a mounted service-account directory; no kubeconfig).
//!
//! 1. Every catalogue command (reads, writes, destructive ones after an approval, undo)
//!    and the Lease election run without a single 403.
//! 2. The API server's audit log of that run shows every granted verb in use.
//! 3. Each rule is removed in turn, and some command then fails with a 403: the output
//!    lists, for each rule, the commands it broke.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vabot_testkit::console::{ConsoleBot, approval_id, undo_id};
use vabot_testkit::env::{self, kubectl_run};
use vabot_testkit::{Topology, unique};

fn policy(t: &Topology) -> String {
    format!(
        r#"
roles:
  operator: {{ may: [read, write, destructive] }}
  approver: {{ may: [read, write, destructive], approve: true }}
users:
  "console:alice": [operator]
  "console:bob":   [approver]
channels:
  "console:#incident-prod":
    namespaces: [{}, {}, {}]
    allow: [read, write, destructive]
approvals:
  - when: {{ risk: destructive }}
    approvals: 1
    approvers: [approver]
    expiry: 15m
"#,
        t.prod, t.infra, t.mesh
    )
}

/// What one command did, as the test reads its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// The API server refused vabot (the reply names the RBAC denial).
    Forbidden(String),
    /// Failed for another reason (the reply).
    Failed(String),
}

fn outcome(reply: &str) -> Outcome {
    let forbidden = reply.contains("RBAC denies") || reply.contains("rejected vabot's credentials");
    if forbidden {
        Outcome::Forbidden(
            reply
                .lines()
                .find(|l| l.contains("RBAC"))
                .unwrap_or(reply)
                .to_owned(),
        )
    } else if reply.contains("Failed:")
        || reply.contains("Internal error")
        || reply.contains("not allowed")
    {
        Outcome::Failed(reply.to_owned())
    } else {
        Outcome::Ok
    }
}

/// One environment vabot runs in: a pod's, pointed at this test's service-account directory.
struct Pod {
    dir: PathBuf,
    sa_dir: PathBuf,
    host: String,
    port: String,
}

impl Pod {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(crate::vabot_bin());
        cmd.arg("--config")
            .arg(self.dir.join("vabot.yaml"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // No ~/.kube/config: the service account is the only way in.
            .env("HOME", &self.dir)
            .env("KUBERNETES_SERVICE_HOST", &self.host)
            .env("KUBERNETES_SERVICE_PORT", &self.port)
            .env("VABOT_KUBE__SERVICE_ACCOUNT_DIR", &self.sa_dir)
            .env("POSTGRES_URL", env::var("POSTGRES_URL"))
            .env("REDIS_URL", env::var("REDIS_URL"))
            .env("PROMETHEUS_URL", env::var("PROMETHEUS_URL"))
            .env("NO_COLOR", "1")
            .stderr(Stdio::null());
        cmd
    }
}

/// The catalogue, command by command; destructive ones are approved by bob, changes are
/// undone. Each entry: (label, line). `{pod}` is an agent-engine pod.
fn script(t: &Topology, pod: &str) -> Vec<(String, String)> {
    let prod = &t.prod;
    let mesh = &t.mesh;
    let lines = [
        "health",
        &format!("health {prod}"),
        &format!("health {mesh}"),
        "health agent-engine",
        "pods agent-engine",
        "describe agent-engine",
        &format!("describe {pod}"),
        "events",
        "events agent-engine",
        "logs agent-engine --tail 5",
        "endpoints agent-engine",
        // Its Service selects no pod (set up by the test): the proxy answers 503 itself,
        // and no simulated pod address is ever dialled.
        "probe notification-service",
        "netpol",
        "top pods",
        "top nodes",
        "svc",
        &format!("svc {prod}"),
        "pvc",
        "nodes",
        "env agent-engine LOG_LEVEL",
        "rollout status agent-engine",
        "rollout history agent-engine",
        "rollout history nacos",
        "hpa",
        "hpa agent-engine",
        "config get agent-engine",
        "config get agent-engine LOG_LEVEL",
        "istio",
        "bluegreen status agent-engine",
        "diagnose pod-crash",
        "diagnose service-comm agent-engine",
        "diagnose rate-limit",
        "diagnose db-timeout",
        "diagnose cache-penetration",
        "diagnose vector-search",
        "scale agent-engine 3",
        "undo",
        "scale nacos 2",
        "undo",
        "restart agent-engine",
        "restart nacos",
        "set-image agent-engine registry.voicehelper.local/voiceassistant/agent-engine:1.5.1",
        "rollback agent-engine",
        "set-image nacos nacos=registry.voicehelper.local/voiceassistant/nacos:2.3.3",
        "rollback nacos",
        "hpa set agent-engine min=2 max=8",
        "undo",
        "config set agent-engine LOG_LEVEL=debug",
        "undo",
        "config set agent-engine LOG_LEVEL=warn --restart",
        "traffic agent-engine blue=50 green=50",
        "undo",
        "hpa disable agent-engine",
        "undo",
        "envoyfilter set rate-limit-filter tokens=400 fill=2s",
        "undo",
        "envoyfilter delete rate-limit-filter",
        "undo",
        "scale agent-engine 0",
        "undo",
        "stop agent-engine",
        "undo",
        &format!("scale --all {prod} 2"),
        "undo",
    ];
    let mut out = Vec::new();
    let mut last_change = String::new();
    for l in lines {
        let label = if l == "undo" {
            format!("undo ({last_change})")
        } else {
            last_change = l.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            l.to_owned()
        };
        out.push((label, l.to_owned()));
    }
    out
}

/// `probe` goes through the service proxy; a Service with no pod behind it keeps the API
/// server from dialling a kwok pod's made-up address. Done before every round:
/// `Topology::reapply` (kubectl apply) puts the selector back.
fn empty_probe_target(t: &Topology) {
    kubectl_run(
        &[
            "-n",
            &t.prod,
            "patch",
            "service",
            "notification-service",
            "-p",
            r#"{"spec":{"selector":{"app":"vabot-probe-nobody"}}}"#,
        ],
        None,
    );
    let end = Instant::now() + Duration::from_secs(30);
    while !kubectl_run(
        &[
            "-n",
            &t.prod,
            "get",
            "endpoints",
            "notification-service",
            "-o",
            "jsonpath={.subsets}",
        ],
        None,
    )
    .trim()
    .is_empty()
    {
        assert!(
            Instant::now() < end,
            "notification-service kept its endpoints"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs the script through a console; the outcome of each step, by label.
fn run_script(pod: &Pod, t: &Topology, pod_name: &str) -> Vec<(String, Outcome)> {
    empty_probe_target(t);
    let mut bot = ConsoleBot::spawn(pod.command(&["console"]));
    let mut results = Vec::new();
    let mut undo_of: Option<String> = None;
    for (label, line) in script(t, pod_name) {
        let text = if line == "undo" {
            match undo_of.take() {
                Some(id) => format!("/va undo {id}"),
                None => {
                    results.push((
                        label,
                        Outcome::Failed("nothing to undo: the change failed".into()),
                    ));
                    continue;
                }
            }
        } else {
            format!("/va {line}")
        };
        let mut reply = bot.say(&text);
        if let Some(a) = approval_id(&reply) {
            bot.say(":as bob");
            reply = format!("{reply}\n{}", bot.say(&format!("/va approve {a}")));
            bot.say(":as alice");
        }
        if line != "undo" {
            undo_of = undo_id(&reply);
        }
        results.push((label, outcome(&reply)));
    }
    bot.quit();
    results
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `vabot serve` with the Lease on: whether it becomes the leader (and renews) in time.
async fn lease_check(pod: &Pod, ns: &str) -> Outcome {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let lease = unique("rbac-lease");
    let mut cmd = pod.command(&["serve", "--http", &addr.to_string()]);
    cmd.env("VABOT_LEASE_NAME", &lease)
        .env("POD_NAMESPACE", ns)
        .env("POD_NAME", "rbac-test")
        .env("VABOT_LEASE_SECONDS", "3")
        .env("RUST_LOG", "info,vabot_server=debug")
        .stdout(Stdio::null());
    let log = pod.dir.join(format!("{lease}.log"));
    cmd.stderr(std::fs::File::create(&log).unwrap());
    let mut child: Child = cmd.spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(12);
    let mut leading_since = None;
    let result = loop {
        let metrics = http_get(addr, "/metrics").await.unwrap_or_default();
        let leading = metrics.lines().any(|l| l.trim() == "vabot_leader 1");
        match (leading, leading_since) {
            // Leading for two renewals (every second): get, create and update all worked.
            (true, Some(t)) if Instant::now().duration_since(t) > Duration::from_millis(2500) => {
                break Outcome::Ok;
            }
            (true, None) => leading_since = Some(Instant::now()),
            (false, Some(_)) => leading_since = None,
            _ => {}
        }
        if Instant::now() > end {
            let logs = std::fs::read_to_string(&log).unwrap_or_default();
            break if logs.contains("RBAC denies") {
                Outcome::Forbidden("the Lease election was refused".into())
            } else {
                Outcome::Failed(format!("never led the Lease:\n{logs}"))
            };
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// One rule of the chart: which object holds it, and the rule.
#[derive(Debug, Clone)]
struct Rule {
    /// `Role` or `ClusterRole`, and its name.
    kind: String,
    name: String,
    index: usize,
    rule: Value,
}

impl Rule {
    fn label(&self) -> String {
        let list = |k: &str| {
            self.rule[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        let group = list("apiGroups");
        format!(
            "{} {}: [{}] {}{} {}",
            self.kind,
            self.name,
            if group.is_empty() {
                "core".into()
            } else {
                group
            },
            list("resources"),
            self.rule
                .get("resourceNames")
                .map(|_| format!(" ({})", list("resourceNames")))
                .unwrap_or_default(),
            list("verbs")
        )
    }
}

/// The rendered chart's documents.
fn render_chart(release: &str, sys: &str, t: &Topology) -> Vec<Value> {
    let chart = vabot_testkit::repo().join("deploy/helm/vabot");
    let helm = std::env::var_os("HELM")
        .map(PathBuf::from)
        .expect("HELM is set by tests/run");
    let out = Command::new(helm)
        .args(["template", release])
        .arg(&chart)
        .args(["--namespace", sys])
        .args([
            "--set",
            &format!("targetNamespaces={{{},{}}}", t.prod, t.infra),
        ])
        .args(["--set", &format!("meshNamespace={}", t.mesh)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The Roles and ClusterRoles with `skip` (kind, name, index) left out, applied.
fn apply_roles(docs: &[Value], skip: Option<&Rule>) {
    let mut out = Vec::new();
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or_default();
        if kind != "Role" && kind != "ClusterRole" {
            continue;
        }
        let mut d = d.clone();
        if let Some(r) = skip
            && r.kind == kind
            && r.name == d["metadata"]["name"]
        {
            d["rules"].as_array_mut().unwrap().remove(r.index);
        }
        out.push(serde_json::to_string(&d).unwrap());
    }
    // `replace`, not `apply`: an emptied rule list must really become empty.
    kubectl_run(&["replace", "-f", "-"], Some(&out.join("\n---\n")));
}

/// Waits until the API server's authorizer agrees with the rule being present or not (a
/// SubjectAccessReview: `kubectl auth can-i` cannot name an API group the server does
/// not serve, such as metrics.k8s.io here).
fn wait_authorizer(rule: &Rule, sa: &str, sys: &str, namespace: &str, present: bool) {
    let verb = rule.rule["verbs"][0].as_str().unwrap();
    let resource = rule.rule["resources"][0].as_str().unwrap();
    let group = rule.rule["apiGroups"][0].as_str().unwrap_or_default();
    let (res, sub) = resource
        .split_once('/')
        .map_or((resource, ""), |(r, s)| (r, s));
    let ns = if rule.kind == "ClusterRole" {
        ""
    } else if rule.name.ends_with("-lease") {
        sys
    } else {
        namespace
    };
    let review = serde_json::json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": format!("system:serviceaccount:{sys}:{sa}"),
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{sys}"), "system:authenticated"],
            "resourceAttributes": {
                "group": group, "resource": res, "subresource": sub, "verb": verb, "namespace": ns,
                "name": rule.rule["resourceNames"][0].as_str().unwrap_or_default(),
            }
        }
    });
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let allowed = kubectl_run(
            &["create", "-f", "-", "-o", "jsonpath={.status.allowed}"],
            Some(&review.to_string()),
        );
        if (allowed.trim() == "true") == present {
            return;
        }
        assert!(
            Instant::now() < end,
            "the authorizer never saw {} {}",
            rule.label(),
            if present { "restored" } else { "removed" }
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The namespace a namespaced rule's Role lives in (the mesh Role in the mesh namespace,
/// the target Roles stand for by the prod one).
fn rule_ns<'a>(rule: &Rule, t: &'a Topology) -> &'a str {
    if rule.name.ends_with("-mesh") {
        &t.mesh
    } else {
        &t.prod
    }
}

/// (verb, group, resource) the service account was granted, for the audit comparison.
fn granted(rules: &[Rule]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for r in rules {
        for g in r.rule["apiGroups"].as_array().unwrap() {
            for res in r.rule["resources"].as_array().unwrap() {
                for v in r.rule["verbs"].as_array().unwrap() {
                    out.insert((
                        v.as_str().unwrap().to_owned(),
                        g.as_str().unwrap().to_owned(),
                        res.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    out
}

/// (verb, group, resource) the service account asked for, from the API server's audit log.
fn used(audit_log: &Path, user: &str) -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(audit_log).unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let Ok(ev) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if ev["user"]["username"] != user {
            continue;
        }
        let o = &ev["objectRef"];
        let Some(res) = o["resource"].as_str() else {
            continue;
        };
        let resource = match o["subresource"].as_str() {
            Some(s) if !s.is_empty() => format!("{res}/{s}"),
            _ => res.to_owned(),
        };
        out.insert((
            ev["verb"].as_str().unwrap_or_default().to_owned(),
            o["apiGroup"].as_str().unwrap_or_default().to_owned(),
            resource,
        ));
    }
    out
}

/// Deletes the release's namespace and its cluster-wide objects, also when the test fails.
struct Cleanup {
    namespace: String,
    cluster_wide: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in [
            vec!["delete", "namespace", &self.namespace, "--wait=false"],
            vec![
                "delete",
                "clusterrole,clusterrolebinding",
                &self.cluster_wide,
                "--ignore-not-found",
            ],
        ] {
            let _ = Command::new(env::kubectl())
                .arg("--kubeconfig")
                .arg(env::kubeconfig())
                .args(args)
                .output();
        }
    }
}

fn pod_of(t: &Topology) -> String {
    let out = kubectl_run(
        &[
            "-n",
            &t.prod,
            "get",
            "pods",
            "-l",
            "app=agent-engine",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ],
        None,
    );
    out.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_service_account_runs_every_command_and_every_rule_is_needed() {
    let t = Topology::seed("rbac", &[]).await;
    // A release of its own: the ClusterRole is cluster-wide, named after the release.
    let release = t.prod.trim_end_matches("-prod").to_owned();
    let sa = format!("{release}-vabot");
    let sys = format!("{release}-sys");
    kubectl_run(&["create", "namespace", &sys], None);
    let _cleanup = Cleanup {
        namespace: sys.clone(),
        cluster_wide: sa.clone(),
    };
    let docs = render_chart(&release, &sys, &t);
    // The chart, applied for real (its pod is run by kwok; its image is never pulled).
    let all = docs
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect::<Vec<_>>();
    kubectl_run(&["apply", "-f", "-"], Some(&all.join("\n---\n")));

    // The pod's view: a token of the chart's ServiceAccount, the cluster CA, the namespace.
    let dir = std::env::temp_dir().join(unique("vabot-rbac"));
    let sa_dir = dir.join("serviceaccount");
    std::fs::create_dir_all(&sa_dir).unwrap();
    let token = kubectl_run(&["create", "token", &sa, "-n", &sys, "--duration=2h"], None);
    std::fs::write(sa_dir.join("token"), token.trim()).unwrap();
    let ca = kubectl_run(
        &[
            "config",
            "view",
            "--raw",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.certificate-authority-data}",
        ],
        None,
    );
    let ca = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(ca.trim().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap()
        .stdout;
    std::fs::write(sa_dir.join("ca.crt"), ca).unwrap();
    std::fs::write(sa_dir.join("namespace"), &sys).unwrap();
    t.write_catalog(&dir);
    std::fs::write(dir.join("policy.yaml"), policy(&t)).unwrap();
    let db = dir.join("store.db");
    std::fs::write(
        dir.join("vabot.yaml"),
        format!("policy: policy.yaml\ncatalog: catalog.yaml\ndatabase:\n  url: \"sqlite://{}?mode=rwc\"\n", db.display()),
    )
    .unwrap();
    let api = env::apiserver_url();
    let (host, port) = api.trim_start_matches("https://").rsplit_once(':').unwrap();
    let pod = Pod {
        dir: dir.clone(),
        sa_dir,
        host: host.into(),
        port: port.into(),
    };

    let rules: Vec<Rule> = docs
        .iter()
        .filter(|d| {
            matches!(d["kind"].as_str(), Some("Role" | "ClusterRole"))
                // One of the two identical target-namespace Roles stands for both.
                && (d["kind"] == "ClusterRole" || d["metadata"]["namespace"] != t.infra.as_str())
        })
        .flat_map(|d| {
            d["rules"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, r)| Rule {
                    kind: d["kind"].as_str().unwrap().to_owned(),
                    name: d["metadata"]["name"].as_str().unwrap().to_owned(),
                    index: i,
                    rule: r.clone(),
                })
        })
        .collect();

    // 1. Everything works with exactly the chart's rules.
    let started = Instant::now();
    let mut baseline = run_script(&pod, &t, &pod_of(&t));
    baseline.push(("lease election".into(), lease_check(&pod, &sys).await));
    let round_time = started.elapsed();
    let bad: Vec<String> = baseline
        .iter()
        .filter(|(_, o)| *o != Outcome::Ok)
        .map(|(l, o)| format!("{l}: {o:?}"))
        .collect();
    assert!(
        bad.is_empty(),
        "with the chart's own rules, these failed:\n{}",
        bad.join("\n")
    );
    println!(
        "every command ran with the chart's ServiceAccount ({} steps, {round_time:?})",
        baseline.len()
    );

    // 2. Every verb granted was used (the API server's audit log of that run).
    let audit = PathBuf::from(env::var("VABOT_DEV_HOME")).join("logs/kube-apiserver-audit.log");
    let used = used(&audit, &format!("system:serviceaccount:{sys}:{sa}"));
    let unused: Vec<String> = granted(&rules)
        .difference(&used)
        .map(|(v, g, r)| format!("{v} {g}/{r}"))
        .collect();
    assert!(
        unused.is_empty(),
        "granted but never asked for:\n{}\n(used: {used:#?})",
        unused.join("\n")
    );

    // 3. Without any one rule, some command fails with a 403.
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rule in &rules {
        apply_roles(&docs, Some(rule));
        wait_authorizer(rule, &sa, &sys, rule_ns(rule, &t), false);
        t.reapply().await;
        let mut round = run_script(&pod, &t, &pod_of(&t));
        round.push(("lease election".into(), lease_check(&pod, &sys).await));
        let broken: Vec<String> = round
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Forbidden(_)))
            .map(|(l, _)| l.clone())
            .collect();
        table.insert(rule.label(), broken);
        apply_roles(&docs, None);
        wait_authorizer(rule, &sa, &sys, rule_ns(rule, &t), true);
        t.reapply().await;
    }
    println!("rule removed → commands that then fail with 403:");
    for (rule, broken) in &table {
        println!(
            "  {rule}\n      → {}",
            if broken.is_empty() {
                "(nothing)".into()
            } else {
                broken.join(", ")
            }
        );
    }
    let unused: Vec<&String> = table
        .iter()
        .filter(|(_, b)| b.is_empty())
        .map(|(r, _)| r)
        .collect();
    assert!(unused.is_empty(), "rules no command needs: {unused:?}");

    let _ = std::fs::remove_dir_all(&dir);
}
