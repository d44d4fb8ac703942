//! `vabot console` scripted from stdin, as a newcomer would run it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::io::Write;
use std::process::{Command, Stdio};

fn console(script: &str) -> (String, String, i32) {
    // A home of its own: the default SQLite history goes there, and no ~/.kube/config.
    let home = std::env::temp_dir().join(vabot_testkit::unique("vabot-console-home"));
    let mut child = Command::new(crate::vabot_bin())
        .arg("console")
        .env_remove("DATABASE_URL")
        .env_remove("KUBECONFIG")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", &home)
        // The embedded defaults only: the test command exports the local environment's
        // endpoints, which would configure the dependency executor.
        .env_remove("POSTGRES_URL")
        .env_remove("REDIS_URL")
        .env_remove("PROMETHEUS_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vabot starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script written");
    let out = child.wait_with_output().expect("vabot exits");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn the_issue_script_gets_specific_replies_in_order() {
    let (out, err, code) = console(
        ":as alice\n:in #incident-prod\n/va help\n/va scale agent-engin 5\n/va scale agent-engine 500\n:as carol\n/va restart agent-engine\n",
    );
    assert_eq!(code, 0, "stderr: {err}");
    let help = out.find("vabot commands").expect("help printed");
    let typo = out
        .find("unknown service `agent-engin`: did you mean `agent-engine`?")
        .expect("did-you-mean");
    let bound = out
        .find("agent-engine allows at most 20 replicas (catalog bound), got 500")
        .expect("bound named");
    let denied = out
        .find("carol's role (viewer) may not run write commands such as `restart`")
        .expect("denial");
    assert!(help < typo && typo < bound && bound < denied, "{out}");
    assert!(
        !out.contains("panicked") && !err.contains("panicked"),
        "{out}{err}"
    );
}

#[test]
fn commands_without_an_executor_say_what_is_missing() {
    let (out, _, code) = console("/va pods agent-engine\n/va redis hitrate\n");
    assert_eq!(code, 0);
    assert!(
        out.contains("no Kubernetes cluster is configured for this bot, so `pods` cannot run here"),
        "{out}"
    );
    assert!(
        out.contains(
            "no Redis endpoint (endpoints.redis, REDIS_URL) is configured for this bot, so `redis hitrate` cannot run here"
        ),
        "{out}"
    );
}

#[test]
fn check_config_accepts_the_demo_and_rejects_a_bad_policy_with_its_line() {
    let ok = Command::new(crate::vabot_bin())
        .arg("check-config")
        .output()
        .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = std::env::temp_dir().join(format!("vabot-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("vabot.yaml"), "policy: policy.yaml\n").expect("config");
    std::fs::write(
        dir.join("policy.yaml"),
        "roles:\n  viewer: { may: [read] }\nusers:\n  \"console:carol\": [viewr]\n",
    )
    .expect("policy");
    let bad = Command::new(crate::vabot_bin())
        .args([
            "--config",
            dir.join("vabot.yaml").to_str().expect("utf8"),
            "check-config",
        ])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        err.contains("policy.yaml:4: `console:carol` is given role `viewr`, which is not defined"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
