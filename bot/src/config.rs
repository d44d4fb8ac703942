//! Settings: an embedded demo default, then a YAML/TOML file, then the environment.
//!
//! The environment is read through [`EnvSource`] so tests pass a map instead of touching
//! the process environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Format, Toml, Yaml};
use serde::{Deserialize, Serialize};
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};

/// The demo configuration, compiled in so `vabot console` works from anywhere.
pub const DEMO_CONFIG: &str = include_str!("../../deploy/demo/vabot.yaml");
/// The demo policy (alice operator, bob and erin approvers, carol viewer).
pub const DEMO_POLICY: &str = include_str!("../../deploy/demo/policy.yaml");

pub use vabot_commands::secret::Secret;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `postgres://…`, `sqlite://path` or `memory:` (a secret: it may hold a password).
    /// Unset: a SQLite file in the data directory, so the history survives a restart.
    #[serde(default)]
    pub url: Option<Secret>,
}

/// The Kubernetes Lease that elects the replica holding the Discord gateway. On when
/// `name` is set (the Helm chart sets `VABOT_LEASE_NAME`, `POD_NAMESPACE`, `POD_NAME`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseSettings {
    #[serde(default)]
    pub name: Option<String>,
    /// The Lease's namespace; default: the service account's namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// This replica's identity; default: host name and process id.
    #[serde(default)]
    pub identity: Option<String>,
    /// How long a Lease not renewed stays held; renewals every third of it.
    #[serde(default = "default_lease_seconds")]
    pub seconds: u64,
}

fn default_lease_seconds() -> u64 {
    15
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            name: None,
            namespace: None,
            identity: None,
            seconds: default_lease_seconds(),
        }
    }
}

/// Basic-auth credentials for the review pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub user: String,
    pub password: Secret,
}

/// The read-only post-incident review UI that `vabot serve` mounts under `/review`.
/// Off by default; when on, it needs a bearer `token` or `basic` credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    #[serde(default)]
    pub enabled: bool,
    /// `Authorization: Bearer <token>` (`VABOT_REVIEW__TOKEN`).
    #[serde(default)]
    pub token: Option<Secret>,
    /// Basic auth (`VABOT_REVIEW__BASIC__USER`, `VABOT_REVIEW__BASIC__PASSWORD`).
    #[serde(default)]
    pub basic: Option<BasicAuth>,
}

impl Review {
    /// The credentials to require, or `None` when the review UI is off. On but without
    /// credentials is a configuration error: the pages are never served unprotected.
    pub fn auth(&self) -> anyhow::Result<Option<vabot_review::Auth>> {
        if !self.enabled {
            return Ok(None);
        }
        match (&self.token, &self.basic) {
            (Some(_), Some(_)) => {
                anyhow::bail!("review: set either `review.token` or `review.basic`, not both")
            }
            (Some(t), None) if t.expose().len() >= 16 => {
                Ok(Some(vabot_review::Auth::Bearer(t.clone())))
            }
            (Some(_), None) => {
                anyhow::bail!("review.token is too short: use at least 16 characters")
            }
            (None, Some(b)) if !b.user.is_empty() && b.password.expose().len() >= 8 => {
                Ok(Some(vabot_review::Auth::Basic {
                    user: b.user.clone(),
                    password: b.password.clone(),
                }))
            }
            (None, Some(_)) => {
                anyhow::bail!("review.basic needs a user and a password of at least 8 characters")
            }
            (None, None) => anyhow::bail!(
                "review.enabled is true but no credentials are set: set review.token (VABOT_REVIEW__TOKEN) or review.basic"
            ),
        }
    }
}

/// Everything the process reads at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Policy file, relative to the config file; `None` means the demo policy.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    #[serde(default)]
    pub database: Database,
    #[serde(default)]
    pub directory: Directory,
    #[serde(default)]
    pub kube: vabot_kube::KubeConfig,
    #[serde(default)]
    pub endpoints: vabot_deps::DepsConfig,
    #[serde(default)]
    pub slack: Option<vabot_slack::SlackConfig>,
    #[serde(default)]
    pub discord: Option<vabot_discord::DiscordConfig>,
    /// The post-incident review UI (`/review`).
    #[serde(default)]
    pub review: Review,
    /// The service catalog file (services, namespaces, containers, bounds), relative to
    /// the config file; `None` means the embedded VoiceHelper catalog.
    #[serde(default)]
    pub catalog: Option<PathBuf>,
    /// Where the default SQLite history lives (`VABOT_DATA_DIR`); default
    /// `$XDG_DATA_HOME/vabot`, else `~/.local/share/vabot`.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub lease: LeaseSettings,
    /// Where relative paths are resolved (the config file's directory); not configurable.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
    /// The environment cluster access depends on (in-cluster variables, `HOME`).
    #[serde(skip)]
    pub cluster_env: vabot_kube::ClusterEnv,
    /// `XDG_DATA_HOME`, for the default data directory.
    #[serde(skip)]
    pub xdg_data_home: Option<PathBuf>,
}

/// Where environment variables come from.
pub trait EnvSource {
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Well-known variables that map onto settings (those `deploy/dev/env up` prints).
const ALIASES: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("KUBECONFIG", "kube.kubeconfig"),
    ("POSTGRES_URL", "endpoints.postgres"),
    ("REDIS_URL", "endpoints.redis"),
    ("PROMETHEUS_URL", "endpoints.prometheus"),
    ("ELASTICSEARCH_URL", "endpoints.elasticsearch"),
    ("MILVUS_URL", "endpoints.milvus"),
    ("NACOS_URL", "endpoints.nacos"),
    ("INDEXING_URL", "endpoints.indexing"),
    ("VABOT_DATA_DIR", "data_dir"),
    ("VABOT_LEASE_NAME", "lease.name"),
    ("POD_NAMESPACE", "lease.namespace"),
    ("POD_NAME", "lease.identity"),
    ("VABOT_LEASE_SECONDS", "lease.seconds"),
];

/// The top-level settings keys `VABOT_<KEY>` may set.
const SETTINGS_KEYS: &[&str] = &[
    "policy",
    "database",
    "directory",
    "kube",
    "endpoints",
    "slack",
    "discord",
    "review",
    "catalog",
    "data_dir",
    "lease",
];

/// Settings that are numbers; everything else from the environment stays a string
/// (URLs, tokens), or a boolean for `true`/`false`.
const NUMERIC_KEYS: &[&str] = &["lease.seconds", "kube.timeout_secs", "slack.workers"];

fn merge(fig: Figment, key: &str, v: &str) -> Figment {
    match v {
        "true" => fig.merge((key, true)),
        "false" => fig.merge((key, false)),
        _ => match v.parse::<u64>() {
            Ok(n) if NUMERIC_KEYS.contains(&key) => fig.merge((key, n)),
            _ => fig.merge((key, v.to_owned())),
        },
    }
}

impl Settings {
    /// Embedded demo defaults, then `file` (YAML, or TOML by extension), then the env:
    /// the aliases above and `VABOT_<SECTION>__<KEY>`.
    pub fn load(file: Option<&Path>, env: &dyn EnvSource) -> anyhow::Result<Self> {
        let mut fig = match file {
            None => Figment::from(Yaml::string(DEMO_CONFIG)),
            Some(p) if p.extension().is_some_and(|e| e == "toml") => {
                Figment::from(Toml::file_exact(p))
            }
            Some(p) => Figment::from(Yaml::file_exact(p)),
        };
        let vars = env.vars();
        for (name, key) in ALIASES {
            if let Some((_, v)) = vars.iter().find(|(k, _)| k == name) {
                fig = merge(fig, key, v);
            }
        }
        for (k, v) in &vars {
            if let Some(rest) = k.strip_prefix("VABOT_") {
                let key = rest.to_ascii_lowercase().replace("__", ".");
                // Only settings keys: VABOT_CONFIG, VABOT_DEV_HOME… belong to others.
                let top = key.split('.').next().unwrap_or("");
                if !SETTINGS_KEYS.contains(&top) {
                    continue;
                }
                fig = merge(fig, &key, v);
            }
        }
        let mut settings: Settings = fig.extract().map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration{}: {e}",
                file.map(|p| format!(" in {}", p.display()))
                    .unwrap_or_default()
            )
        })?;
        settings.base_dir = file.and_then(|p| p.parent().map(Path::to_path_buf));
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        settings.cluster_env = vabot_kube::ClusterEnv {
            service_host: var("KUBERNETES_SERVICE_HOST"),
            service_port: var("KUBERNETES_SERVICE_PORT"),
            home: var("HOME").map(PathBuf::from),
        };
        settings.xdg_data_home = var("XDG_DATA_HOME").map(PathBuf::from);
        Ok(settings)
    }

    /// A path from the config file, relative to its directory.
    fn relative(&self, p: &Path) -> PathBuf {
        match &self.base_dir {
            Some(base) => base.join(p),
            None => p.to_path_buf(),
        }
    }

    /// Where the default SQLite file goes: `data_dir`, else the XDG data directory.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.data_dir {
            return self.relative(d);
        }
        if let Some(x) = &self.xdg_data_home {
            return x.join("vabot");
        }
        match &self.cluster_env.home {
            Some(h) => h.join(".local/share/vabot"),
            None => PathBuf::from("vabot-data"),
        }
    }

    /// The history store's URL: the configured one, else a SQLite file in [`Self::data_dir`].
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) if !u.expose().trim().is_empty() => u.expose().to_owned(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir().join("vabot.db").display()
            ),
        }
    }

    /// Loads and validates the service catalog: the configured file, else the embedded one.
    pub fn load_catalog(&self) -> anyhow::Result<Catalog> {
        match &self.catalog {
            Some(p) => Catalog::load(&self.relative(p)).map_err(|e| anyhow::anyhow!("{e}")),
            None => Ok(Catalog::voicehelper()),
        }
    }

    /// The policy file on disk, if one is configured (for reloads).
    pub fn policy_path(&self) -> Option<PathBuf> {
        match (&self.policy, &self.base_dir) {
            (Some(p), Some(base)) => Some(base.join(p)),
            _ => None,
        }
    }

    /// Loads and validates the policy against the catalog.
    pub fn load_policy(&self, catalog: &Catalog) -> anyhow::Result<Policy> {
        match (&self.policy, &self.base_dir) {
            (Some(p), Some(base)) => {
                Policy::load(&base.join(p), catalog).map_err(|e| anyhow::anyhow!("{e}"))
            }
            (Some(p), None) if p.as_path() != Path::new("policy.yaml") => {
                Policy::load(p, catalog).map_err(|e| anyhow::anyhow!("{e}"))
            }
            _ => Policy::parse("<demo policy.yaml>", DEMO_POLICY, false, catalog)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("the embedded demo policy is invalid"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn demo_defaults_load_and_env_overrides_them() {
        let s = Settings::load(None, &env(&[("HOME", "/home/ops")])).expect("demo config");
        assert!(s.database.url.is_none());
        assert!(s.directory.links.contains_key("Grafana"));

        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "sqlite://x.db"),
                ("PROMETHEUS_URL", "http://127.0.0.1:59090"),
                ("VABOT_KUBE__KUBECONFIG", "/tmp/kc"),
                ("VABOT_DEV_HOME", "/x"),
                ("VABOT_CONFIG", "/y"),
                ("VABOT_LEASE_NAME", "vabot-gw"),
                ("VABOT_LEASE_SECONDS", "6"),
                ("POD_NAME", "vabot-0"),
                ("VABOT_REVIEW__ENABLED", "false"),
            ]),
        )
        .expect("env config");
        assert_eq!(s.database_url(), "sqlite://x.db");
        assert_eq!(
            s.endpoints.prometheus.as_deref(),
            Some("http://127.0.0.1:59090")
        );
        assert_eq!(s.kube.kubeconfig.as_deref(), Some(Path::new("/tmp/kc")));
        assert_eq!(s.lease.name.as_deref(), Some("vabot-gw"));
        assert_eq!(s.lease.identity.as_deref(), Some("vabot-0"));
        assert_eq!(s.lease.seconds, 6, "a number from the environment");
        assert!(
            !s.review.enabled,
            "VABOT_REVIEW__ENABLED=false is a boolean"
        );
    }

    #[test]
    fn the_history_is_a_sqlite_file_unless_memory_is_asked_for_by_name() {
        let home = Settings::load(None, &env(&[("HOME", "/home/ops")])).expect("config");
        assert_eq!(
            home.database_url(),
            "sqlite:///home/ops/.local/share/vabot/vabot.db?mode=rwc"
        );
        let xdg = Settings::load(
            None,
            &env(&[("HOME", "/home/ops"), ("XDG_DATA_HOME", "/data")]),
        )
        .expect("config");
        assert_eq!(xdg.database_url(), "sqlite:///data/vabot/vabot.db?mode=rwc");
        let dir =
            Settings::load(None, &env(&[("VABOT_DATA_DIR", "/var/lib/vabot")])).expect("config");
        assert_eq!(
            dir.database_url(),
            "sqlite:///var/lib/vabot/vabot.db?mode=rwc"
        );
        let memory = Settings::load(None, &env(&[("DATABASE_URL", "memory:")])).expect("config");
        assert_eq!(memory.database_url(), "memory:");
    }

    #[test]
    fn there_is_no_setting_that_swaps_the_cluster_for_a_fake() {
        let e = Settings::load(None, &env(&[("VABOT_DEMO_CLUSTER", "true")]));
        assert!(e.is_ok(), "unknown VABOT_ keys are ignored, not honoured");
        let dir = std::env::temp_dir().join(format!("vabot-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("vabot.yaml");
        std::fs::write(&file, "demo_cluster: true\n").unwrap();
        let e = Settings::load(Some(&file), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field: found `demo_cluster`"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn in_cluster_variables_come_from_the_environment_source() {
        let s = Settings::load(
            None,
            &env(&[
                ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
                ("KUBERNETES_SERVICE_PORT", "443"),
            ]),
        )
        .expect("config");
        assert_eq!(s.cluster_env.service_host.as_deref(), Some("10.96.0.1"));
        assert_eq!(s.cluster_env.service_port.as_deref(), Some("443"));
        assert_eq!(s.cluster_env.home, None);
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::load(
            None,
            &env(&[("POSTGRES_URL", "postgres://u:hunter2@127.0.0.1/db")]),
        )
        .expect("config");
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn the_review_ui_is_off_by_default_and_never_on_without_credentials() {
        let s = Settings::load(None, &env(&[])).expect("config");
        assert!(s.review.auth().expect("off").is_none());
        let on = |pairs: &[(&str, &str)]| {
            let mut all = vec![("VABOT_REVIEW__ENABLED", "true")];
            all.extend_from_slice(pairs);
            Settings::load(None, &env(&all))
                .expect("config")
                .review
                .auth()
        };
        let err = on(&[]).expect_err("no credentials");
        assert!(err.to_string().contains("no credentials are set"), "{err}");
        assert!(on(&[("VABOT_REVIEW__TOKEN", "short")]).is_err());
        let token = on(&[("VABOT_REVIEW__TOKEN", "0123456789abcdef")]).expect("token");
        assert!(matches!(token, Some(vabot_review::Auth::Bearer(_))));
        let basic = on(&[
            ("VABOT_REVIEW__BASIC__USER", "review"),
            ("VABOT_REVIEW__BASIC__PASSWORD", "correct horse"),
        ])
        .expect("basic");
        assert!(matches!(basic, Some(vabot_review::Auth::Basic { .. })));
        let s = Settings::load(
            None,
            &env(&[
                ("VABOT_REVIEW__ENABLED", "true"),
                ("VABOT_REVIEW__TOKEN", "0123456789abcdef-hunter2"),
            ]),
        )
        .expect("config");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn demo_policy_is_valid() {
        let s = Settings::load(None, &env(&[])).expect("config");
        s.load_policy(&Catalog::voicehelper()).expect("demo policy");
    }
}
