use super::*;

#[test]
fn urls_are_checked_and_shown_without_credentials() {
    let (u, shown) = parse_base_url("http://127.0.0.1:8080/").unwrap();
    assert_eq!(shown, "http://127.0.0.1:8080");
    assert_eq!(u.path(), "/");
    let (_, shown) = parse_base_url("https://h.example/api/v1/mcp-server-instances/").unwrap();
    assert_eq!(shown, "https://h.example/api");
    let e = parse_base_url("ftp://127.0.0.1/").unwrap_err().to_string();
    assert_eq!(
        e,
        "the API URL must start with http:// or https://, not ftp://"
    );
    let e = parse_base_url("http://u:secret@127.0.0.1/")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("secret"), "{e}");
    assert!(e.contains("must not carry credentials"), "{e}");
    let e = parse_base_url("127.0.0.1:8080").unwrap_err().to_string();
    assert!(e.contains("http"), "{e}");
    assert!(parse_base_url("not a url").is_err());
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let t = ApiToken::new("s3cr3t-token").unwrap();
    let mut o = ApiOptions::new("http://127.0.0.1:1");
    o.token = Some(t);
    let dbg = format!("{o:?}");
    assert!(!dbg.contains("s3cr3t"), "{dbg}");
    assert!(ApiToken::new("has space").is_err());
    assert!(ApiToken::new("").is_err());
}

fn inst(name: &str) -> Instance {
    wire::test_instance(name, json!({"type": "docker", "image": "x"}))
}

#[test]
fn diff_emits_what_changed_and_a_projection_follows_it() {
    use crate::domain::EventType;
    use crate::domain::projection::Projection;
    let a = inst("a");
    let b = inst("b");
    let old: HashMap<Uuid, Instance> = [(a.id, a.clone()), (b.id, b.clone())].into_iter().collect();
    let mut p = Projection::new();
    p.seed(old.values().cloned());
    let mut a2 = a.clone();
    a2.status = Status::Running;
    a2.desired_state = crate::domain::DesiredState::Running;
    let c = inst("c");
    let events = diff(&old, &[a2.clone(), c.clone()]);
    let kinds: Vec<_> = events.iter().filter_map(|e| e.kind()).collect();
    assert!(kinds.contains(&EventType::StatusChanged), "{kinds:?}");
    assert!(kinds.contains(&EventType::Started), "{kinds:?}");
    assert!(kinds.contains(&EventType::Created), "{kinds:?}");
    assert!(kinds.contains(&EventType::Deleted), "{kinds:?}");
    assert!(!kinds.contains(&EventType::Updated), "{kinds:?}");
    for e in &events {
        p.apply(e);
    }
    assert_eq!(p.get(&a.id).unwrap().status, Status::Running);
    assert!(p.get(&b.id).is_none());
    assert_eq!(p.get(&c.id).unwrap().name, "c");
    assert!(diff(&[(a2.id, a2.clone())].into_iter().collect(), &[a2]).is_empty());
}

mod settings_tests {
    use super::*;
    use crate::config::{Overrides, Settings};

    #[test]
    fn options_come_from_settings_and_the_token_from_env() {
        let env = |k: &str| match k {
            "AACON_API_URL" => Some("http://127.0.0.1:2".to_string()),
            "AACON_API_TOKEN" => Some("from-env".to_string()),
            "AACON_WORKSPACE" => Some("ws".to_string()),
            crate::config::ENV_POLL_MS => Some("500".to_string()),
            _ => None,
        };
        let s = Settings::resolve(&Overrides::default(), &env, None).unwrap();
        let o = ApiOptions::from_settings(&s).unwrap().unwrap();
        assert_eq!(o.url, "http://127.0.0.1:2");
        assert_eq!(o.token.unwrap().expose(), "from-env");
        assert_eq!(o.workspace.as_deref(), Some("ws"));
        assert_eq!(o.poll_interval, Duration::from_millis(500));
        let none = |_: &str| None;
        let s = Settings::resolve(&Overrides::default(), &none, None).unwrap();
        assert!(ApiOptions::from_settings(&s).unwrap().is_none());
    }
}
