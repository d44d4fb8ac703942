use crate::model::ShortId;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::catalog::Catalog;

fn cat() -> Catalog {
    Catalog::voicehelper()
}

fn ok(input: &str) -> Command {
    match parse(input, &cat()) {
        Ok(c) => c,
        Err(e) => panic!("`{input}` should parse, got: {}", ParseErrorReport(&e)),
    }
}

fn svc(s: &str) -> String {
    s.to_owned()
}

#[test]
fn every_spec_example_parses_to_its_own_command() {
    for s in SPECS {
        let c = ok(s.example);
        assert_eq!(c.name(), s.name, "example of `{}`", s.name);
    }
}

#[test]
fn every_command_name_has_a_spec() {
    for s in SPECS {
        let c = ok(s.example);
        assert!(spec::spec(c.name()).is_some());
    }
}

#[test]
fn valid_forms_of_every_catalogue_command() {
    use Command::*;
    let table: Vec<(&str, Command)> = vec![
        ("help", Help { topic: None }),
        (
            "/va help scale",
            Help {
                topic: Some("scale".into()),
            },
        ),
        (
            "health",
            Health {
                scope: HealthScope::All,
            },
        ),
        (
            "health all",
            Health {
                scope: HealthScope::All,
            },
        ),
        (
            "health voiceassistant-infra",
            Health {
                scope: HealthScope::Namespace("voiceassistant-infra".into()),
            },
        ),
        (
            "health istio-system",
            Health {
                scope: HealthScope::Mesh("istio-system".into()),
            },
        ),
        (
            "health redis",
            Health {
                scope: HealthScope::Service(svc("redis")),
            },
        ),
        (
            "pods agent-engine",
            Pods {
                service: svc("agent-engine"),
            },
        ),
        (
            "describe postgres",
            Describe {
                target: Target::Service(svc("postgres")),
            },
        ),
        (
            "describe agent-engine-5d9f7c-x2x",
            Describe {
                target: Target::Pod {
                    service: svc("agent-engine"),
                    pod: "agent-engine-5d9f7c-x2x".into(),
                },
            },
        ),
        (
            "describe postgres-0",
            Describe {
                target: Target::Pod {
                    service: svc("postgres"),
                    pod: "postgres-0".into(),
                },
            },
        ),
        ("events", Events { service: None }),
        (
            "events identity-service",
            Events {
                service: Some(svc("identity-service")),
            },
        ),
        (
            "logs agent-engine",
            Logs {
                target: Target::Service(svc("agent-engine")),
                previous: false,
                container: None,
                tail: 200,
                since: None,
            },
        ),
        (
            "logs agent-engine-abc-123 --previous --container agent-engine --tail 50 --since 1h30m",
            Logs {
                target: Target::Pod {
                    service: svc("agent-engine"),
                    pod: "agent-engine-abc-123".into(),
                },
                previous: true,
                container: Some("agent-engine".into()),
                tail: 50,
                since: Some(Duration::from_secs(5400)),
            },
        ),
        (
            "logs redis --tail=10 --since=30s",
            Logs {
                target: Target::Service(svc("redis")),
                previous: false,
                container: None,
                tail: 10,
                since: Some(Duration::from_secs(30)),
            },
        ),
        (
            "endpoints identity-service",
            Endpoints {
                service: svc("identity-service"),
            },
        ),
        (
            "probe agent-engine",
            Probe {
                service: svc("agent-engine"),
            },
        ),
        (
            "pg backup voiceassistant",
            Pg(PgCommand::Backup {
                db: Some("voiceassistant".into()),
            }),
        ),
        ("pg backup", Pg(PgCommand::Backup { db: None })),
        (
            "pg restore voiceassistant-20261203T101500123Z",
            Pg(PgCommand::Restore {
                backup: "voiceassistant-20261203T101500123Z".into(),
            }),
        ),
        (
            "bluegreen status agent-engine",
            BluegreenStatus {
                service: svc("agent-engine"),
            },
        ),
        (
            "reindex voice_knowledge",
            Reindex {
                collection: "voice_knowledge".into(),
            },
        ),
        ("netpol", Netpol { namespace: None }),
        (
            "netpol voiceassistant-prod",
            Netpol {
                namespace: Some("voiceassistant-prod".into()),
            },
        ),
        (
            "top",
            Top {
                kind: TopKind::Pods,
            },
        ),
        (
            "top nodes",
            Top {
                kind: TopKind::Nodes,
            },
        ),
        (
            "rollout status agent-engine",
            RolloutStatus {
                service: svc("agent-engine"),
            },
        ),
        (
            "rollout history indexing-service",
            RolloutHistory {
                service: svc("indexing-service"),
            },
        ),
        ("hpa", Hpa { service: None }),
        (
            "hpa agent-engine",
            Hpa {
                service: Some(svc("agent-engine")),
            },
        ),
        (
            "hpa set agent-engine min=3 max=12",
            HpaSet {
                service: svc("agent-engine"),
                min: Some(3),
                max: Some(12),
                cpu: None,
                memory: None,
            },
        ),
        (
            "hpa set agent-engine cpu=60% memory=80",
            HpaSet {
                service: svc("agent-engine"),
                min: None,
                max: None,
                cpu: Some(60),
                memory: Some(80),
            },
        ),
        (
            "hpa set agent-engine max=12 min=12",
            HpaSet {
                service: svc("agent-engine"),
                min: Some(12),
                max: Some(12),
                cpu: None,
                memory: None,
            },
        ),
        (
            "hpa disable agent-engine",
            HpaDisable {
                service: svc("agent-engine"),
            },
        ),
        (
            "config get agent-engine",
            ConfigGet {
                service: svc("agent-engine"),
                key: None,
            },
        ),
        (
            "config get agent-engine LOG_LEVEL",
            ConfigGet {
                service: svc("agent-engine"),
                key: Some("LOG_LEVEL".into()),
            },
        ),
        (
            "config set agent-engine LOG_LEVEL=debug",
            ConfigSet {
                service: svc("agent-engine"),
                key: "LOG_LEVEL".into(),
                value: "debug".into(),
                restart: false,
            },
        ),
        (
            "config set agent-engine 'GREETING=hello world' --restart",
            ConfigSet {
                service: svc("agent-engine"),
                key: "GREETING".into(),
                value: "hello world".into(),
                restart: true,
            },
        ),
        (
            "config set postgres max_connections=500",
            ConfigSet {
                service: svc("postgres"),
                key: "max_connections".into(),
                value: "500".into(),
                restart: false,
            },
        ),
        ("istio", Istio { namespace: None }),
        (
            "istio voiceassistant-prod",
            Istio {
                namespace: Some("voiceassistant-prod".into()),
            },
        ),
        (
            "scale agent-engine 5",
            Scale {
                service: svc("agent-engine"),
                replicas: 5,
            },
        ),
        (
            "scale nacos 5",
            Scale {
                service: svc("nacos"),
                replicas: 5,
            },
        ),
        (
            "scale agent-engine 0",
            Scale {
                service: svc("agent-engine"),
                replicas: 0,
            },
        ),
        (
            "SCALE agent-engine 20",
            Scale {
                service: svc("agent-engine"),
                replicas: 20,
            },
        ),
        (
            "restart agent-engine",
            Restart {
                service: svc("agent-engine"),
            },
        ),
        (
            "rollback agent-engine",
            Rollback {
                service: svc("agent-engine"),
                to_revision: None,
            },
        ),
        (
            "rollback agent-engine --to-revision 2",
            Rollback {
                service: svc("agent-engine"),
                to_revision: Some(2),
            },
        ),
        (
            "rollback --to-revision=3 agent-engine",
            Rollback {
                service: svc("agent-engine"),
                to_revision: Some(3),
            },
        ),
        (
            "set-image agent-engine ghcr.io/voiceassistant/agent-engine:1.1.0",
            SetImage {
                service: svc("agent-engine"),
                container: "agent-engine".into(),
                image: "ghcr.io/voiceassistant/agent-engine:1.1.0".into(),
            },
        ),
        (
            "set-image agent-engine agent-engine=registry.local:5000/va/agent-engine:1.1.0-rc.1",
            SetImage {
                service: svc("agent-engine"),
                container: "agent-engine".into(),
                image: "registry.local:5000/va/agent-engine:1.1.0-rc.1".into(),
            },
        ),
        (
            "set-image redis redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            SetImage {
                service: svc("redis"),
                container: "redis".into(),
                image:
                    "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                        .into(),
            },
        ),
        (
            "traffic agent-engine blue=20 green=80",
            Traffic {
                service: svc("agent-engine"),
                weights: vec![
                    Weight {
                        subset: "blue".into(),
                        weight: 20,
                    },
                    Weight {
                        subset: "green".into(),
                        weight: 80,
                    },
                ],
            },
        ),
        (
            "traffic agent-engine blue=100",
            Traffic {
                service: svc("agent-engine"),
                weights: vec![Weight {
                    subset: "blue".into(),
                    weight: 100,
                }],
            },
        ),
        (
            "envoyfilter delete rate-limit-filter",
            EnvoyFilterDelete {
                name: "rate-limit-filter".into(),
            },
        ),
        ("pg status", Pg(PgCommand::Status)),
        ("pg connections", Pg(PgCommand::Connections)),
        ("pg slow", Pg(PgCommand::Slow { n: 10 })),
        ("pg slow 5", Pg(PgCommand::Slow { n: 5 })),
        ("redis info", Redis(RedisCommand::Info { section: None })),
        (
            "redis info memory",
            Redis(RedisCommand::Info {
                section: Some("memory".into()),
            }),
        ),
        (
            "redis info STATS",
            Redis(RedisCommand::Info {
                section: Some("stats".into()),
            }),
        ),
        ("redis slowlog", Redis(RedisCommand::Slowlog { n: 10 })),
        ("redis slowlog 25", Redis(RedisCommand::Slowlog { n: 25 })),
        ("redis hitrate", Redis(RedisCommand::Hitrate)),
        ("redis flushdb", Redis(RedisCommand::Flushdb { db: 0 })),
        ("redis flushdb 3", Redis(RedisCommand::Flushdb { db: 3 })),
        ("es health", Es(EsCommand::Health)),
        ("es indices", Es(EsCommand::Indices)),
        ("milvus health", Milvus(MilvusCommand::Health)),
        ("milvus collections", Milvus(MilvusCommand::Collections)),
        ("nacos health", Nacos),
        (
            "prom 429-rate",
            Prom {
                query: "429-rate".into(),
                since: None,
            },
        ),
        (
            "prom sum(rate(istio_requests_total{response_code=\"429\"}[5m])) --since 2h",
            Prom {
                query: "sum(rate(istio_requests_total{response_code=429}[5m]))".into(),
                since: Some(Duration::from_secs(7200)),
            },
        ),
        (
            "diagnose pod-crash",
            Diagnose {
                playbook: Playbook::PodCrash,
                service: None,
            },
        ),
        (
            "diagnose rate-limit agent-engine",
            Diagnose {
                playbook: Playbook::RateLimit,
                service: Some(svc("agent-engine")),
            },
        ),
        (
            "diagnose cache-penetration",
            Diagnose {
                playbook: Playbook::CachePenetration,
                service: None,
            },
        ),
        ("links", Links),
        ("oncall", Oncall),
        ("history", History { n: 20 }),
        ("history 5", History { n: 5 }),
        ("timeline", Timeline { since: None }),
        (
            "timeline --since 2h",
            Timeline {
                since: Some(Duration::from_secs(7200)),
            },
        ),
        ("pending", Pending),
        (
            "incident start agent-engine 5xx spike",
            IncidentStart {
                title: "agent-engine 5xx spike".into(),
            },
        ),
        (
            "incident start \"db down\"",
            IncidentStart {
                title: "db down".into(),
            },
        ),
        ("incident end", IncidentEnd),
        (
            "undo i-7K2F9Q",
            Undo {
                invocation: ShortId::parse('i', "i-7K2F9Q").expect("id"),
            },
        ),
        (
            "undo 7k2f9q",
            Undo {
                invocation: ShortId::parse('i', "i-7K2F9Q").expect("id"),
            },
        ),
        (
            "approve a-3MZ81C",
            Approve {
                id: ShortId::parse('a', "a-3MZ81C").expect("id"),
            },
        ),
        (
            "deny A-3mz81c",
            Deny {
                id: ShortId::parse('a', "a-3MZ81C").expect("id"),
            },
        ),
        (
            "cancel a-3MZ81C",
            Cancel {
                id: ShortId::parse('a', "a-3MZ81C").expect("id"),
            },
        ),
        (
            "  /va   pods   agent-engine  ",
            Pods {
                service: svc("agent-engine"),
            },
        ),
        (
            "@va pods agent-engine",
            Pods {
                service: svc("agent-engine"),
            },
        ),
    ];
    for (input, expected) in table {
        assert_eq!(ok(input), expected, "input: `{input}`");
    }
}

#[test]
fn risk_classes_follow_the_catalogue() {
    assert_eq!(ok("pods agent-engine").risk(), RiskClass::Read);
    assert_eq!(ok("scale agent-engine 3").risk(), RiskClass::Write);
    assert_eq!(ok("scale agent-engine 0").risk(), RiskClass::Destructive);
    assert_eq!(ok("redis flushdb").risk(), RiskClass::Destructive);
    assert_eq!(
        ok("hpa disable agent-engine").risk(),
        RiskClass::Destructive
    );
    assert_eq!(
        ok("envoyfilter delete rate-limit-filter").risk(),
        RiskClass::Destructive
    );
    assert_eq!(
        ok("traffic agent-engine blue=20 green=80").risk(),
        RiskClass::Write
    );
}

/// (input, the exact first line of the reply)
const MALFORMED: &[(&str, &str)] = &[
    ("", "no command given; try `/va help`"),
    ("/va", "no command given; try `/va help`"),
    ("   ", "no command given; try `/va help`"),
    (
        "scael agent-engine 5",
        "unknown command `scael`: did you mean `scale`? (`/va help` lists all commands)",
    ),
    (
        "helth",
        "unknown command `helth`: did you mean `health`? (`/va help` lists all commands)",
    ),
    (
        "rolback agent-engine",
        "unknown command `rolback`: did you mean `rollback`? (`/va help` lists all commands)",
    ),
    (
        "xyzzy",
        "unknown command `xyzzy`; `/va help` lists all commands",
    ),
    (
        "kubectl get pods",
        "unknown command `kubectl`; `/va help` lists all commands",
    ),
    (
        "scale agent-engin 5",
        "unknown service `agent-engin`: did you mean `agent-engine`?",
    ),
    (
        "pods identity",
        "unknown service `identity`: did you mean `identity-service`?",
    ),
    (
        "pods Agent-Engine",
        "service names are lowercase: did you mean `agent-engine`?",
    ),
    (
        "pods nginx",
        "unknown service `nginx`; `/va health` lists the services",
    ),
    ("restart", "`restart` needs a service name"),
    ("pods", "`pods` needs a service name"),
    ("scale agent-engine", "`scale` needs a replica count"),
    ("scale", "`scale` needs a service name"),
    (
        "scale agent-engine 500",
        "agent-engine allows at most 20 replicas (catalog bound), got 500",
    ),
    (
        "scale redis 4",
        "redis allows at most 3 replicas (catalog bound), got 4",
    ),
    (
        "scale agent-engine -1",
        "replicas cannot be negative, got -1",
    ),
    (
        "scale agent-engine five",
        "replicas must be a whole number, got `five`",
    ),
    (
        "scale agent-engine 2.5",
        "replicas must be a whole number, got `2.5`",
    ),
    (
        "scale agent-engine 99999999999999999999",
        "replicas must be a whole number, got `99999999999999999999`",
    ),
    ("scale agent-engine 5 6", "unexpected extra argument `6`"),
    (
        "scale agent-engine 5 --force",
        "`scale` has no options, but got `--force`",
    ),
    (
        "rollout",
        "`rollout` needs a sub-command: `rollout status`, `rollout history`",
    ),
    (
        "rollout undo agent-engine",
        "`rollout undo` is not a command; try one of `rollout status`, `rollout history`",
    ),
    (
        "rollout statsu agent-engine",
        "`rollout statsu` is not a command: did you mean `rollout status`? (`rollout status`, `rollout history`)",
    ),
    (
        "rollback agent-engine --to-revision",
        "`rollback` needs a value for `--to-revision`",
    ),
    (
        "rollback agent-engine --to-revision 0",
        "--to-revision must be at least 1, got 0",
    ),
    (
        "rollback agent-engine --to-revision two",
        "--to-revision must be a whole number, got `two`",
    ),
    (
        "rollback agent-engine --revision 2",
        "`--revision` is not an option of `rollback`; its options are --to-revision",
    ),
    (
        "logs agent-engine --tail 0",
        "--tail must be at least 1, got 0",
    ),
    (
        "logs agent-engine --tail 100000",
        "--tail must be at most 5000, got 100000",
    ),
    (
        "logs agent-engine --since 5y",
        "--since must be a duration such as 30s, 15m, 1h or 1h30m, got `5y`",
    ),
    (
        "logs agent-engine --since 30d",
        "--since can be at most 7d, got 30d",
    ),
    (
        "logs agent-engine --since 0s",
        "--since must be longer than zero",
    ),
    (
        "logs agent-engine --since h",
        "--since must be a duration such as 30s, 15m, 1h or 1h30m, got `h`",
    ),
    (
        "logs agent-engine --container sidecar",
        "agent-engine has no container `sidecar`; its containers are agent-engine, istio-proxy",
    ),
    (
        "logs agent-engine --previous=yes",
        "`--previous` takes no value, but got `--previous=yes`",
    ),
    (
        "logs agent-engine --folow",
        "`--folow` is not an option of `logs`; its options are --previous, --container, --tail, --since",
    ),
    ("logs", "`logs` needs a service or pod name"),
    (
        "describe AGENT_ENGINE-0",
        "unknown service `AGENT_ENGINE-0`: did you mean `agent-engine`?",
    ),
    (
        "describe agent-engine-ABC",
        "`agent-engine-ABC` is not a valid pod name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters (DNS-1123)",
    ),
    (
        "traffic agent-engine blue=20 green=70",
        "weights must sum to 100, these sum to 90",
    ),
    (
        "traffic agent-engine blue=120",
        "the weight of blue must be at most 100, got 120",
    ),
    (
        "traffic agent-engine blue=-5 green=105",
        "the weight of blue must be at least 0, got -5",
    ),
    (
        "traffic agent-engine blue",
        "expected subset=weight (e.g. blue=20), got `blue`",
    ),
    (
        "traffic agent-engine Blue=50 green=50",
        "`Blue` is not a valid subset name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (DNS-1123 label)",
    ),
    (
        "traffic agent-engine blue=50 blue=50",
        "subset `blue` is given twice",
    ),
    (
        "traffic agent-engine",
        "`traffic` needs at least one subset=weight",
    ),
    (
        "set-image agent-engine agent-engine",
        "`agent-engine` is not a valid image reference: it has no tag or digest (an untagged image means :latest, which is not reproducible); expected e.g. ghcr.io/voiceassistant/agent-engine:1.1.0",
    ),
    (
        "set-image agent-engine Ghcr.io/VA/agent:1.0",
        "`Ghcr.io/VA/agent:1.0` is not a valid image reference: the path component `VA` must be lowercase letters, digits and separators; expected e.g. ghcr.io/voiceassistant/agent-engine:1.1.0",
    ),
    (
        "set-image agent-engine agent-engine:",
        "`agent-engine:` is not a valid image reference: the tag may hold letters, digits, '_', '.' and '-' (at most 128); expected e.g. ghcr.io/voiceassistant/agent-engine:1.1.0",
    ),
    (
        "set-image agent-engine agent-engine@sha256:abc",
        "`agent-engine@sha256:abc` is not a valid image reference: the digest must look like sha256:<64 hex digits>; expected e.g. ghcr.io/voiceassistant/agent-engine:1.1.0",
    ),
    (
        "set-image agent-engine sidecar=envoy:1.0",
        "agent-engine has no container `sidecar`; its containers are agent-engine",
    ),
    (
        "set-image agent-engine",
        "`set-image` needs an image (image:tag or container=image:tag)",
    ),
    (
        "envoyfilter delete Rate_Limit",
        "`Rate_Limit` is not a valid EnvoyFilter name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters (DNS-1123)",
    ),
    (
        "envoyfilter delete -rate",
        "`-rate` is not a valid EnvoyFilter name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters (DNS-1123)",
    ),
    (
        "envoyfilter remove rate-limit-filter",
        "`envoyfilter remove` is not a command; try one of `envoyfilter set`, `envoyfilter delete`",
    ),
    (
        "envoyfilter",
        "`envoyfilter` needs a sub-command: `envoyfilter set`, `envoyfilter delete`",
    ),
    (
        "hpa set agent-engine",
        "`hpa set` needs at least one of min=<n>, max=<n>, cpu=<percent>, memory=<percent>",
    ),
    (
        "hpa set agent-engine cpu=0",
        "cpu must be at least 1, got 0",
    ),
    (
        "hpa set agent-engine min=8 max=4",
        "min (8) cannot be above max (4)",
    ),
    (
        "hpa set agent-engine min=0 max=4",
        "min must be at least 1, got 0",
    ),
    (
        "hpa set agent-engine min=2 max=50",
        "max must be at most 20, got 50",
    ),
    (
        "hpa set agent-engine min=2 max=4 min=3",
        "`min` is given twice",
    ),
    (
        "hpa set agent-engine low=2 max=4",
        "`low` is not an HPA setting; use min=<n>, max=<n>, cpu=<percent> or memory=<percent>",
    ),
    (
        "hpa set agent-engine 2 4",
        "expected min=<n>, max=<n>, cpu=<percent> or memory=<percent>, got `2`",
    ),
    (
        "config set agent-engine LOG_LEVEL",
        "expected KEY=VALUE, got `LOG_LEVEL`",
    ),
    (
        "config set agent-engine 'BAD KEY=1'",
        "`BAD KEY` is not a valid ConfigMap key: use letters, digits, '-', '_' and '.', at most 253 characters",
    ),
    (
        "config set agent-engine =1",
        "`` is not a valid ConfigMap key: use letters, digits, '-', '_' and '.', at most 253 characters",
    ),
    (
        "config get agent-engine KEY$",
        "`KEY$` is not a valid ConfigMap key: use letters, digits, '-', '_' and '.', at most 253 characters",
    ),
    (
        "config",
        "`config` needs a sub-command: `config get`, `config set`",
    ),
    (
        "netpol kube-system",
        "unknown namespace `kube-system`; vabot manages `voiceassistant-prod` or `voiceassistant-infra`",
    ),
    (
        "istio Prod",
        "`Prod` is not a valid namespace: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (DNS-1123 label)",
    ),
    (
        "health nowhere",
        "`nowhere` is neither a service nor a namespace; try `/va health`, `/va health voiceassistant-prod` or `/va health agent-engine`",
    ),
    (
        "top containers",
        "`top` shows `pods` or `nodes`, not `containers`",
    ),
    (
        "pg vacuum",
        "`pg vacuum` is not a command; try one of `pg status`, `pg connections`, `pg slow`, `pg backup`, `pg restore`",
    ),
    ("pg slow 0", "the count must be at least 1, got 0"),
    ("pg slow 500", "the count must be at most 50, got 500"),
    (
        "redis info cpu",
        "`cpu` is not an INFO section vabot reads; use one of memory, stats, server, clients, keyspace, replication",
    ),
    (
        "redis flushdb 16",
        "the database number must be at most 15, got 16",
    ),
    (
        "redis flushdb -1",
        "the database number must be at least 0, got -1",
    ),
    (
        "redis flushall",
        "`redis flushall` is not a command: did you mean `redis flushdb`? (`redis info`, `redis slowlog`, `redis hitrate`, `redis monitor`, `redis flushdb`)",
    ),
    (
        "redis slowlog 1000",
        "the count must be at most 128, got 1000",
    ),
    (
        "es stats",
        "`es stats` is not a command; try one of `es health`, `es indices`",
    ),
    ("prom", "`prom` needs an alias or a PromQL query"),
    (
        "prom up --since forever",
        "--since must be a duration such as 30s, 15m, 1h or 1h30m, got `forever`",
    ),
    (
        "diagnose crash",
        "unknown playbook `crash`: playbooks are pod-crash, service-comm, db-timeout, vector-search, cache-penetration, rate-limit",
    ),
    (
        "diagnose pod-crsh",
        "unknown playbook `pod-crsh`: did you mean `pod-crash`? playbooks are pod-crash, service-comm, db-timeout, vector-search, cache-penetration, rate-limit",
    ),
    ("diagnose", "`diagnose` needs a playbook"),
    ("history 0", "the count must be at least 1, got 0"),
    ("history 1000", "the count must be at most 200, got 1000"),
    ("timeline --since", "`timeline` needs a value for `--since`"),
    ("incident start", "`incident start` needs a title"),
    (
        "incident",
        "`incident` needs a sub-command: `incident start`, `incident end`",
    ),
    ("incident end now", "unexpected extra argument `now`"),
    (
        "undo 42",
        "`42` is not an invocation id; ids look like i-7K2F9Q (see `/va history`)",
    ),
    (
        "undo",
        "`undo` needs the id of the invocation to undo (see `/va history`)",
    ),
    (
        "approve",
        "`approve` needs an approval id (see `/va pending`)",
    ),
    (
        "approve yes",
        "`yes` is not an approval id; ids look like a-3MZ81C (see `/va pending`)",
    ),
    (
        "deny a-UUUUUU",
        "`a-UUUUUU` is not an approval id; ids look like a-3MZ81C (see `/va pending`)",
    ),
    ("links please", "unexpected extra argument `please`"),
    (
        "config set agent-engine \"KEY=unterminated",
        "unterminated quote: a \" was opened but never closed",
    ),
];

#[test]
fn malformed_inputs_get_their_exact_messages() {
    assert!(MALFORMED.len() >= 60, "{} malformed cases", MALFORMED.len());
    let c = cat();
    let mut failures = Vec::new();
    for (input, expected) in MALFORMED {
        match parse(input, &c) {
            Ok(cmd) => failures.push(format!("`{input}` parsed as {cmd:?}")),
            Err(e) if e.message != *expected => failures.push(format!(
                "`{input}`\n   got: {}\n  want: {expected}",
                e.message
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn argument_errors_carry_usage_and_example() {
    let e = parse("scale agent-engine 500", &cat()).unwrap_err();
    assert_eq!(
        ParseErrorReport(&e).to_string(),
        "agent-engine allows at most 20 replicas (catalog bound), got 500\nUsage: /va scale <service> <replicas>\nExample: /va scale agent-engine 5"
    );
    let e = parse("scale agent-engin 5", &cat()).unwrap_err();
    assert_eq!(e.suggestions, vec!["agent-engine".to_owned()]);
}

#[test]
fn help_is_generated_from_the_specs() {
    let all = help_all();
    for s in SPECS {
        assert!(all.contains(&s.usage()), "help lists {}", s.name);
    }
    let one = help_topic("scale").expect("scale");
    assert!(one.contains("/va scale <service> <replicas>"));
    assert!(one.contains("example: /va scale agent-engine 5"));
    let rollout = help_topic("rollout").expect("rollout");
    assert!(rollout.contains("rollout status") && rollout.contains("rollout history"));
    assert_eq!(
        help_topic("scael").unwrap_err(),
        "no command `scael`: did you mean `scale`?"
    );
}

#[test]
fn overlong_input_is_refused() {
    let long = format!("prom {}", "x".repeat(MAX_INPUT));
    assert!(
        parse(&long, &cat())
            .unwrap_err()
            .message
            .contains("the limit is 4000")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_parser_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = parse(&text, &cat());
    }

    #[test]
    fn the_parser_never_panics_on_command_like_text(
        verb in prop::sample::select(spec::verbs()),
        args in prop::collection::vec("[-a-zA-Z0-9=:@./'\"_]{0,30}", 0..6),
    ) {
        let text = format!("{verb} {}", args.join(" "));
        if let Err(e) = parse(&text, &cat()) {
            prop_assert!(!e.message.is_empty());
        }
    }
}
