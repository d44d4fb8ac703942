//! Policy reload without a restart: on SIGHUP (or a call), parse and validate the file;
//! swap it in only if valid, otherwise keep the old policy and say why.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{error, info};
use vabot_commands::config::Policy;
use vabot_commands::pipeline::Deps;

/// Re-reads `path` and swaps it into `deps` if it validates.
pub fn reload_policy(deps: &Deps, path: &Path) -> Result<(), String> {
    let policy = Policy::load(path, &deps.catalog).map_err(|e| e.to_string())?;
    match deps.policy.write() {
        Ok(mut guard) => *guard = Arc::new(policy),
        Err(poisoned) => *poisoned.into_inner() = Arc::new(policy),
    }
    metrics::counter!("vabot_policy_reloads_total", "result" => "ok").increment(1);
    Ok(())
}

/// Reloads the policy at each SIGHUP until the task is dropped.
pub fn spawn_sighup_reload(deps: Deps, path: PathBuf) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            error!("cannot listen for SIGHUP; policy reload is off");
            return;
        };
        while hup.recv().await.is_some() {
            match reload_policy(&deps, &path) {
                Ok(()) => info!(path = %path.display(), "Policy reloaded"),
                Err(error) => {
                    metrics::counter!("vabot_policy_reloads_total", "result" => "rejected")
                        .increment(1);
                    error!(path = %path.display(), %error, "Policy reload rejected; keeping the old policy");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::RwLock;

    use vabot_commands::catalog::Catalog;
    use vabot_commands::config::Directory;
    use vabot_commands::ports::{SystemClock, Unconfigured};
    use vabot_commands::store::MemoryStore;

    use super::*;

    const DEMO: &str = include_str!("../../../deploy/demo/policy.yaml");

    #[test]
    fn an_invalid_policy_is_rejected_and_the_old_one_kept() {
        let catalog = Catalog::voicehelper();
        let policy = Policy::parse("p", DEMO, false, &catalog).unwrap();
        let deps = Deps {
            catalog: Arc::new(catalog),
            policy: Arc::new(RwLock::new(Arc::new(policy))),
            directory: Arc::new(Directory::default()),
            cluster: Arc::new(Unconfigured),
            dependencies: Arc::new(Unconfigured),
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            replica: vabot_commands::model::ReplicaId::generate(Some("test")),
        };
        let dir = std::env::temp_dir().join(format!("vabot-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("policy.yaml");

        std::fs::write(&file, DEMO.replace("[viewer]", "[nonexistent]")).unwrap();
        let err = reload_policy(&deps, &file).unwrap_err();
        assert!(
            err.contains("`console:carol` is given role `nonexistent`"),
            "{err}"
        );
        assert!(deps.policy().users.contains_key("console:carol"));
        assert_eq!(
            deps.policy().users["console:carol"],
            vec!["viewer".to_owned()]
        );

        std::fs::write(
            &file,
            DEMO.replace(
                "\"console:carol\": [viewer]",
                "\"console:carol\": [operator]",
            ),
        )
        .unwrap();
        reload_policy(&deps, &file).unwrap();
        assert_eq!(
            deps.policy().users["console:carol"],
            vec!["operator".to_owned()]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
