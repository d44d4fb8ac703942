//! The real `vabot serve` as a child process: its configuration in a temp dir, start-up
//! until `/readyz` answers 200, and its resident memory from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The bench's Slack identity: a viewer in one channel, who may run `health`.
pub const USER: &str = "U0BENCH";
pub const CHANNEL: &str = "C0BENCH";
pub const TEAM: &str = "T0BENCH";
pub const SIGNING_SECRET: &str = "bench-signing-secret-0123456789ab";
pub const BOT_TOKEN: &str = "xoxb-bench-bot-token";

const POLICY: &str = r#"
roles:
  viewer:   { may: [read] }
  approver: { may: [read, write, destructive], approve: true }
users:
  "slack:U0BENCH": [viewer]
groups: {}
channels:
  "slack:C0BENCH":
    namespaces: [voiceassistant-prod, voiceassistant-infra]
    allow: [read]
approvals:
  - when: { risk: destructive }
    approvals: 1
    approvers: [approver]
    expiry: 15m
    exclude_requester: true
"#;

/// What the child is started with.
pub struct Spec<'a> {
    pub database_url: &'a str,
    pub kubeconfig: Option<&'a Path>,
    pub slack_api_base: &'a str,
}

/// A running `vabot serve`; killed when dropped.
pub struct Vabot {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

/// `target/release/vabot` next to this binary, or `$VABOT_BIN`.
pub fn vabot_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("VABOT_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("vabot");
    if !bin.exists() {
        bail!(
            "{} is missing: `cargo build --release -p vabot` first (bench/run does)",
            bin.display()
        );
    }
    Ok(bin)
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Writes `vabot.yaml` and `policy.yaml` into `dir`; returns the config path.
pub fn write_config(dir: &Path, spec: &Spec<'_>) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("policy.yaml"), POLICY)?;
    let mut cfg = format!(
        "policy: policy.yaml\ndatabase:\n  url: {}\nslack:\n  mode: http\n  api_base: {}\n  bot_token: {}\n  signing_secret: {}\n  pace_ms: 0\n  progress_after_ms: 5000\n",
        yaml_str(spec.database_url),
        yaml_str(spec.slack_api_base),
        yaml_str(BOT_TOKEN),
        yaml_str(SIGNING_SECRET),
    );
    if let Some(k) = spec.kubeconfig {
        cfg.push_str(&format!(
            "kube:\n  kubeconfig: {}\n",
            yaml_str(&k.display().to_string())
        ));
    }
    let path = dir.join("vabot.yaml");
    std::fs::write(&path, cfg)?;
    Ok(path)
}

impl Vabot {
    /// Starts `vabot serve` with a clean environment (only PATH and HOME are passed) and
    /// waits for `/readyz`; returns the process and how long start-up to ready took.
    pub async fn start(
        dir: &Path,
        spec: &Spec<'_>,
        client: &reqwest::Client,
    ) -> anyhow::Result<(Self, Duration)> {
        let config = write_config(dir, spec)?;
        let port = free_port()?;
        let log = dir.join(format!("vabot-{port}.log"));
        let log_file = std::fs::File::create(&log)?;
        let started = Instant::now();
        let child = Command::new(vabot_bin()?)
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .arg("--http")
            .arg(format!("127.0.0.1:{port}"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .context("start vabot serve")?;
        let mut me = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = started + Duration::from_secs(60);
        loop {
            if let Some(status) = me.child.try_wait()? {
                bail!(
                    "vabot serve exited ({status}) before it was ready; see {}",
                    me.log.display()
                );
            }
            let ready = client
                .get(format!("{}/readyz", me.base))
                .timeout(Duration::from_millis(500))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Ok((me, started.elapsed()));
            }
            if Instant::now() > deadline {
                bail!(
                    "vabot serve was not ready within 60 s; see {}",
                    me.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (VmRSS, VmHWM) in KiB: resident memory now and its peak.
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .with_context(|| format!("{name} in /proc/{}/status", self.pid()))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Whether the process is still running (it must survive the load).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Vabot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
