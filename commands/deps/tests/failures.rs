//! Each way a dependency can fail gives a clear reply within the timeout, and no reply,
//! error or log detail ever contains a connection string.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use common::*;
use vabot_commands::ports::ExecError;
use vabot_commands::secret::Secret;
use vabot_deps::{DepsConfig, DepsExecutor};

const TIMEOUT_SECS: u64 = 2;

fn executor(cfg: DepsConfig) -> DepsExecutor {
    DepsExecutor::new(
        DepsConfig {
            timeout_secs: TIMEOUT_SECS,
            ..cfg
        },
        empty_cluster(),
        Vec::new(),
    )
    .expect("executor")
}

/// Runs `command`, checks it failed within the timeout and leaked none of `secrets`.
async fn fails(cfg: DepsConfig, command: &str, secrets: &[&str]) -> (ExecError, String) {
    let exec = executor(cfg);
    let started = Instant::now();
    let err = match run_direct(&exec, command).await {
        Ok(o) => panic!("`{command}` should fail: {}", o.message.plain_text()),
        Err(e) => e,
    };
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(TIMEOUT_SECS * 1000 + 500),
        "`{command}` took {took:?}, over the {TIMEOUT_SECS} s timeout"
    );
    let shown = err.to_string();
    let detail = err.detail().unwrap_or_default().to_owned();
    let debug = format!("{err:?}");
    for s in secrets {
        assert!(!shown.contains(s), "reply leaks {s}: {shown}");
        assert!(!detail.contains(s), "log detail leaks {s}: {detail}");
        assert!(!debug.contains(s), "debug leaks {s}: {debug}");
    }
    (err, shown)
}

fn pg_url(port: u16, password: &str) -> String {
    format!("postgres://vabot:{password}@127.0.0.1:{port}/vabot")
}

#[tokio::test]
async fn postgres_down_says_it_is_not_reachable() {
    let url = pg_url(closed_port(), "s3cret-pw");
    let cfg = DepsConfig {
        postgres: Some(Secret::new(url.clone())),
        ..DepsConfig::default()
    };
    let (err, shown) = fails(cfg, "pg status", &[&url, "s3cret-pw"]).await;
    assert!(matches!(err, ExecError::Unavailable { .. }), "{err:?}");
    assert_eq!(shown, "PostgreSQL is not reachable right now");
}

#[tokio::test]
async fn postgres_that_never_answers_times_out() {
    let url = pg_url(silent_port().await, "s3cret-pw");
    let cfg = DepsConfig {
        postgres: Some(Secret::new(url.clone())),
        ..DepsConfig::default()
    };
    let (_, shown) = fails(cfg, "pg connections", &[&url, "s3cret-pw"]).await;
    assert_eq!(shown, "PostgreSQL did not answer within 2 s");
}

#[tokio::test]
async fn postgres_with_a_wrong_password_says_credentials_were_refused() {
    let real = postgres_url();
    let port: u16 = real
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port in POSTGRES_URL");
    let url = pg_url(port, "wrong-password-123");
    let cfg = DepsConfig {
        postgres: Some(Secret::new(url.clone())),
        ..DepsConfig::default()
    };
    let (err, shown) = fails(cfg, "pg status", &[&url, "wrong-password-123"]).await;
    assert!(matches!(err, ExecError::Forbidden { .. }), "{err:?}");
    assert!(shown.contains("refused vabot's credentials"), "{shown}");
}

#[tokio::test]
async fn redis_down_says_it_is_not_reachable() {
    let url = format!("redis://:s3cret-pw@127.0.0.1:{}", closed_port());
    let cfg = DepsConfig {
        redis: Some(Secret::new(url.clone())),
        ..DepsConfig::default()
    };
    let (err, shown) = fails(cfg, "redis info memory", &[&url, "s3cret-pw"]).await;
    assert!(matches!(err, ExecError::Unavailable { .. }), "{err:?}");
    assert_eq!(shown, "Redis is not reachable right now");
}

#[tokio::test]
async fn redis_that_never_answers_times_out() {
    let url = format!("redis://127.0.0.1:{}", silent_port().await);
    let cfg = DepsConfig {
        redis: Some(Secret::new(url.clone())),
        ..DepsConfig::default()
    };
    let (_, shown) = fails(cfg, "redis hitrate", &[&url]).await;
    assert_eq!(shown, "Redis did not answer within 2 s");
}

#[tokio::test]
async fn redis_with_a_wrong_password_says_credentials_were_refused() {
    let real = redis_url();
    let url = real.replacen("redis://", "redis://:wrong-password-123@", 1);
    let cfg = DepsConfig {
        redis: Some(Secret::new(url.clone())),
        ..DepsConfig::default()
    };
    let (err, shown) = fails(cfg, "redis info", &[&url, "wrong-password-123"]).await;
    assert!(matches!(err, ExecError::Forbidden { .. }), "{err:?}");
    assert!(shown.contains("refused vabot's credentials"), "{shown}");
}

#[tokio::test]
async fn prometheus_down_says_it_is_not_reachable() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let cfg = DepsConfig {
        prometheus: Some(url.clone()),
        ..DepsConfig::default()
    };
    let (_, shown) = fails(cfg, "prom 429-rate", &[&url]).await;
    assert_eq!(shown, "Prometheus is not reachable right now");
}

#[tokio::test]
async fn slow_http_dependencies_time_out() {
    let slow = fake_slow().await;
    let cases: [(&str, DepsConfig, &str); 4] = [
        (
            "es health",
            DepsConfig {
                elasticsearch: Some(slow.clone()),
                ..DepsConfig::default()
            },
            "Elasticsearch did not answer within 2 s",
        ),
        (
            "milvus collections",
            DepsConfig {
                milvus: Some(slow.clone()),
                ..DepsConfig::default()
            },
            "Milvus did not answer within 2 s",
        ),
        (
            "nacos health",
            DepsConfig {
                nacos: Some(slow.clone()),
                ..DepsConfig::default()
            },
            "Nacos did not answer within 2 s",
        ),
        (
            "prom 429-rate",
            DepsConfig {
                prometheus: Some(slow.clone()),
                ..DepsConfig::default()
            },
            "Prometheus did not answer within 2 s",
        ),
    ];
    let runs = cases.into_iter().map(|(cmd, cfg, want)| {
        let slow = slow.clone();
        async move {
            let (_, shown) = fails(cfg, cmd, &[&slow]).await;
            assert_eq!(shown, want, "{cmd}");
        }
    });
    futures::future::join_all(runs).await;
}

#[tokio::test]
async fn http_dependency_down_or_refusing_auth_gets_a_clear_reply() {
    let closed = format!("http://elastic:pw-789@127.0.0.1:{}", closed_port());
    let cfg = DepsConfig {
        elasticsearch: Some(closed.clone()),
        ..DepsConfig::default()
    };
    let (_, shown) = fails(cfg, "es indices", &[&closed, "pw-789"]).await;
    assert_eq!(shown, "Elasticsearch is not reachable right now");

    let no = fake_unauthorized().await;
    let cfg = DepsConfig {
        elasticsearch: Some(no.clone()),
        ..DepsConfig::default()
    };
    let (err, shown) = fails(cfg, "es health", &[&no]).await;
    assert!(matches!(err, ExecError::Forbidden { .. }), "{err:?}");
    assert!(
        shown.contains("Elasticsearch refused vabot's credentials (HTTP 401)"),
        "{shown}"
    );

    let milvus = format!("http://127.0.0.1:{}", closed_port());
    let cfg = DepsConfig {
        milvus: Some(milvus.clone()),
        milvus_metrics: Some(milvus.clone()),
        ..DepsConfig::default()
    };
    let (_, shown) = fails(cfg, "milvus health", &[&milvus]).await;
    assert_eq!(shown, "Milvus is not reachable right now");
}

#[tokio::test]
async fn unconfigured_dependencies_say_which_setting_is_missing() {
    for (cmd, want) in [
        (
            "pg status",
            "no PostgreSQL endpoint (endpoints.postgres, POSTGRES_URL) is configured",
        ),
        (
            "redis slowlog",
            "no Redis endpoint (endpoints.redis, REDIS_URL) is configured",
        ),
        ("prom 429-rate", "no Prometheus endpoint"),
        ("es health", "no Elasticsearch endpoint"),
        ("milvus collections", "no Milvus endpoint"),
        ("nacos health", "no Nacos endpoint"),
    ] {
        let (err, shown) = fails(DepsConfig::default(), cmd, &[]).await;
        assert!(
            matches!(err, ExecError::NotConfigured { .. }),
            "{cmd}: {err:?}"
        );
        assert!(shown.contains(want), "{cmd}: {shown}");
    }
}

#[tokio::test]
async fn the_pipeline_reply_for_a_down_dependency_names_it_without_its_url() {
    let url = format!("redis://:pipeline-pw@127.0.0.1:{}", closed_port());
    let w = world(
        DepsConfig {
            redis: Some(Secret::new(url.clone())),
            timeout_secs: TIMEOUT_SECS,
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    let out = text(&w.say("alice", "redis info memory").await);
    assert!(
        out.contains("Failed: Redis is not reachable right now"),
        "{out}"
    );
    assert!(!out.contains("pipeline-pw") && !out.contains(&url), "{out}");
}
