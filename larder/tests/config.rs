//! `CacheConfig` (feature `serde`): from TOML, YAML and environment variables, the cache and
//! the tier it builds, `Policy` by name, and typed errors for bad input.

#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use larder::config::{CacheConfig, L2Config};
use larder::{Cache, ErrorKind, Policy};

#[test]
fn policy_names_parse_in_any_case_and_bad_ones_list_the_valid() {
    for (name, policy) in [
        ("s3fifo", Policy::S3Fifo),
        ("S3-FIFO", Policy::S3Fifo),
        ("Lru", Policy::Lru),
        ("LFU", Policy::Lfu),
        ("fifo", Policy::Fifo),
    ] {
        assert_eq!(name.parse::<Policy>().unwrap(), policy);
    }
    let err = "random".parse::<Policy>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    for valid in ["s3fifo", "lru", "lfu", "fifo"] {
        assert!(err.to_string().contains(valid), "{err}");
    }
}

#[test]
fn env_vars_set_every_field_and_skip_other_prefixes() {
    let config = CacheConfig::from_vars(
        "APP_USERS",
        [
            ("APP_USERS_NAME", "users"),
            ("APP_USERS_CAPACITY", "5000"),
            ("APP_USERS_POLICY", "LFU"),
            ("APP_USERS_TTL", "5m"),
            ("APP_USERS_TTI", "1m"),
            ("APP_USERS_TTL_JITTER", "10s"),
            ("APP_USERS_NEGATIVE_TTL", "30s"),
            ("APP_USERS_STALE_WHILE_REVALIDATE", "1m"),
            ("APP_USERS_REFRESH_AHEAD", "1.5"),
            ("APP_USERS_SHARDS", "8"),
            ("APP_USERS_L2_URL", "memory://?namespace=users"),
            ("APP_USERS_L2_TTL", "1h"),
            ("APP_USERS_L2_TIMEOUT", "250ms"),
            ("APP_USERS_L2_BREAKER_FAILURES", "3"),
            ("APP_USERS_L2_BREAKER_COOLDOWN", "2s"),
            ("APP_USERS_L2_LEASE", "2s"),
            ("APP_USERS_L2_WATCH", "false"),
            ("APP_USERS_L2_SCOPE", "tenant-a"),
            ("APP_USERS_L2_VERSION", "3"),
            ("APP_USERS_L2_WRITE_BEHIND", "100"),
            ("APP_OTHER_TTL", "not a duration, not ours"),
        ],
    )
    .unwrap();
    assert_eq!(config.name.as_deref(), Some("users"));
    assert_eq!(config.capacity, Some(5000));
    assert_eq!(config.policy, Some(Policy::Lfu));
    assert_eq!(config.ttl, Some(Duration::from_secs(300)));
    assert_eq!(config.tti, Some(Duration::from_secs(60)));
    assert_eq!(config.ttl_jitter, Some(Duration::from_secs(10)));
    assert_eq!(config.negative_ttl, Some(Duration::from_secs(30)));
    assert_eq!(config.stale_while_revalidate, Some(Duration::from_secs(60)));
    assert_eq!(config.refresh_ahead, Some(1.5));
    assert_eq!(config.shards, Some(8));
    let l2 = config.l2.as_ref().unwrap();
    assert_eq!(l2.url, "memory://?namespace=users");
    assert_eq!(l2.ttl, Some(Duration::from_secs(3600)));
    assert_eq!(l2.timeout, Some(Duration::from_millis(250)));
    let breaker = l2.breaker.as_ref().unwrap();
    assert_eq!(
        (breaker.failures, breaker.cooldown),
        (Some(3), Some(Duration::from_secs(2)))
    );
    assert_eq!(l2.lease, Some(Duration::from_secs(2)));
    assert_eq!(l2.watch, Some(false));
    assert_eq!(l2.scope.as_deref(), Some("tenant-a"));
    assert_eq!(l2.version, Some(3));
    assert_eq!(l2.write_behind, Some(100));
}

#[test]
fn bad_env_vars_are_config_errors_naming_the_variable() {
    let cases = [
        ("X_TTL", "five minutes", "X_TTL"),
        ("X_CAPACITY", "-1", "X_CAPACITY"),
        ("X_POLICY", "arc", "X_POLICY"),
        ("X_L2_WATCH", "maybe", "X_L2_WATCH"),
        ("X_TLL", "5m", "X_TLL"),
        ("X_L2_TIMEOUT", "1s", "X_L2_URL"),
    ];
    for (key, value, named) in cases {
        let err = CacheConfig::from_vars("X", [(key, value)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key}");
        assert!(err.to_string().contains(named), "{key}: {err}");
    }
}

#[test]
fn the_process_environment_is_read_by_prefix() {
    // Nothing under this prefix is set: the defaults.
    let config = CacheConfig::from_env("LARDER_TEST_NOTHING_SET_HERE").unwrap();
    assert_eq!(config, CacheConfig::default());
}

#[test]
fn a_config_builds_the_cache_it_describes() {
    let mut config = CacheConfig::default();
    config.name = Some("sessions".into());
    config.capacity = Some(2);
    config.policy = Some(Policy::Lru);
    let cache: Cache<u32, &str> = config.build().unwrap();
    assert_eq!(cache.name(), Some("sessions"));
    cache.insert(1, "a");
    cache.insert(2, "b");
    cache.get(&1);
    cache.insert(3, "c");
    assert!(
        cache.contains_key(&1) && !cache.contains_key(&2),
        "LRU evicts 2"
    );

    config.ttl_jitter = Some(Duration::from_secs(1)); // without a ttl
    let err = config.build::<u32, u32>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn debug_never_shows_the_l2_url() {
    let mut config = CacheConfig::default();
    config.l2 = Some(L2Config::new("redis://:hunter2@10.0.0.1:6379"));
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[cfg(feature = "toml")]
mod toml_files {
    use super::*;

    const FULL: &str = r#"
        name = "users"
        capacity = 10_000
        policy = "lru"
        ttl = "5m"
        tti = "1m"
        negative_ttl = "30s"
        swr = "1m"
        refresh_ahead = 1.0
        shards = 16

        [l2]
        url = "memory://?namespace=users"
        ttl = "1h"
        timeout = "250ms"
        breaker = { failures = 3, cooldown = "2s" }
        lease = "2s"
        watch = false
        scope = "tenant-a"
        version = 2
    "#;

    #[test]
    fn a_toml_file_sets_every_field() {
        let config = CacheConfig::from_toml(FULL).unwrap();
        assert_eq!(config.capacity, Some(10_000));
        assert_eq!(config.policy, Some(Policy::Lru));
        assert_eq!(config.stale_while_revalidate, Some(Duration::from_secs(60)));
        assert_eq!(config.refresh_ahead, Some(1.0));
        let l2 = config.l2.unwrap();
        assert_eq!(l2.version, Some(2));
        assert_eq!(l2.breaker.unwrap().cooldown, Some(Duration::from_secs(2)));
    }

    #[test]
    fn bad_toml_is_a_config_error_with_the_field_and_line_and_no_password() {
        let cases = [
            ("ttl = \"5 parsecs\"", "ttl"),
            ("capacity = 10\npolicy = \"arc\"", "line 2"),
            ("colour = \"blue\"", "colour"),
            ("ttl = 30", "ttl"),
            ("[l2]\nttl = \"1h\"", "url"),
            (
                "[l2]\nurl = \"redis://:hunter2@h\"\nlease = \"soon\"",
                "lease",
            ),
            ("[l2]\nurl = \"redis://:hunter2@h\n", "line 2"),
        ];
        for (text, named) in cases {
            let err = CacheConfig::from_toml(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{text}");
            let message = err.to_string();
            assert!(message.contains(named), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{text}: {message}");
        }
    }

    #[cfg(feature = "tier")]
    #[tokio::test]
    async fn a_toml_file_builds_a_tier_over_its_l2_url() {
        let config = CacheConfig::from_toml(FULL).unwrap();
        let tiered: larder::tier::Tiered<String, String> = config.build_tiered().await.unwrap();
        assert_eq!(tiered.l1().name(), Some("users"));
        tiered.insert("k".into(), "v".into()).await;
        assert_eq!(tiered.get(&"k".to_string()).await.as_deref(), Some("v"));
        assert!(!tiered.is_watching(), "watch = false");

        let no_l2 = CacheConfig::from_toml("capacity = 5").unwrap();
        let err = no_l2.build_tiered::<String, String>().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);

        let bad_url = CacheConfig::from_toml("[l2]\nurl = \"redis://:hunter2@h:0\"").unwrap();
        let err = bad_url.build_tiered::<String, String>().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("hunter2"));
    }
}

#[cfg(feature = "yaml")]
#[test]
fn a_yaml_file_sets_the_same_fields() {
    let config = CacheConfig::from_yaml(
        "
name: users
capacity: 10000
policy: S3-FIFO
ttl: 5m
l2:
  url: memory://?namespace=users
  timeout: 250ms
  breaker:
    failures: 3
",
    )
    .unwrap();
    assert_eq!(config.policy, Some(Policy::S3Fifo));
    assert_eq!(config.ttl, Some(Duration::from_secs(300)));
    let l2 = config.l2.unwrap();
    assert_eq!(l2.timeout, Some(Duration::from_millis(250)));
    assert_eq!(l2.breaker.unwrap().failures, Some(3));

    for (text, named) in [
        ("ttl: 5 parsecs", "ttl"),
        ("policy: arc", "lru"),
        ("capacity: many", "capacity"),
        ("l2:\n  timeout: 1s", "url"),
        ("colour: blue", "colour"),
    ] {
        let err = CacheConfig::from_yaml(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{text}");
        assert!(err.to_string().contains(named), "{text}: {err}");
    }
}
