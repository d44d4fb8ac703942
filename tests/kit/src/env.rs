//! The local environment, as `tests/run` (or `eval "$(deploy/dev/env up)"`) exports it.

use std::path::PathBuf;

/// A variable the test command exports; panics with how to get it.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests through tests/run, or `eval \"$(deploy/dev/env up)\"` first"
        )
    })
}

pub fn kubeconfig() -> PathBuf {
    PathBuf::from(var("KUBECONFIG"))
}

/// The kubectl built with the control plane.
pub fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL").map_or_else(
        || {
            let home = std::env::var("HOME").unwrap_or_default();
            PathBuf::from(format!("{home}/.cache/vabot/k8s-1.36.3/kubectl"))
        },
        PathBuf::from,
    )
}

/// `https://127.0.0.1:PORT` of the local API server.
pub fn apiserver_url() -> String {
    var("KUBE_APISERVER_URL")
}

/// The admin client of the local control plane.
pub async fn admin_config() -> kube::Config {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(kubeconfig()).expect("readable KUBECONFIG");
    kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("usable KUBECONFIG")
}

pub async fn admin() -> kube::Client {
    kube::Client::try_from(admin_config().await).expect("client")
}

/// Runs kubectl against the local cluster; returns stdout, panics with stderr on failure.
pub fn kubectl_run(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(kubeconfig())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write to kubectl");
    }
    let out = child.wait_with_output().expect("kubectl finishes");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
