use super::*;
use proptest::prelude::*;
use serde_json::json;

fn kind(v: Value) -> ProviderKind {
    ProviderKind::detect(v.as_object().unwrap())
}

/// Assert the report has a finding of `severity` at exactly `pointer`
/// whose message contains `text`.
#[track_caller]
fn has(report: &Report, severity: Severity, pointer: &str, text: &str) {
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.severity == severity && i.pointer == pointer && i.message.contains(text)),
        "expected {severity} at {pointer:?} containing {text:?}, got {:#?}",
        report.issues
    );
}

#[track_caller]
fn error(spec: Value, pointer: &str, text: &str) {
    let r = validate(&spec);
    has(&r, Severity::Error, pointer, text);
    assert!(!r.is_valid());
}

#[track_caller]
fn warning(spec: Value, pointer: &str, text: &str) {
    let r = validate(&spec);
    has(&r, Severity::Warning, pointer, text);
}

#[track_caller]
fn note(spec: Value, pointer: &str, text: &str) {
    let r = validate(&spec);
    has(&r, Severity::Note, pointer, text);
}

#[track_caller]
fn clean(spec: Value) -> Report {
    let r = validate(&spec);
    assert!(r.issues.is_empty(), "{spec}: {:#?}", r.issues);
    r
}

#[test]
fn detects_every_dialect() {
    use ProviderKind::*;
    let cases = [
        (json!({"endpoint_url": "https://x/mcp"}), External),
        (json!({"type": "url", "endpoint": "https://x"}), External),
        (json!({"endpoint": "https://x"}), External),
        (json!({"type": "http"}), External),
        (json!({"type": "sse"}), External),
        (json!({"type": "streamable-http"}), External),
        (json!({"type": "external"}), External),
        (json!({"command": ["npx", "-y", "p"]}), Process),
        (json!({"command": "uvx"}), Process),
        (json!({"type": "stdio"}), Process),
        (json!({"type": "process"}), Process),
        (json!({"type": "command"}), Process),
        (json!({"type": "docker", "image": "mcp/fs"}), Container),
        (json!({"type": "container"}), Container),
        (json!({"image": "mcp/fs"}), Container),
        (json!({"type": "k8s", "image": "mcp/fs"}), Container),
        (json!({"env_vars": {"A": "b"}}), Container),
        (json!({}), Container),
    ];
    for (spec, want) in cases {
        assert_eq!(kind(spec.clone()), want, "{spec}");
        assert_eq!(validate(&spec).kind, Some(want), "{spec}");
    }
}

#[test]
fn every_dialect_is_valid() {
    // The seed's external endpoint and container.
    let r = clean(json!({"endpoint_url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": "secret_ref:gh-token", "Accept": "application/json"}}));
    assert_eq!(r.kind, Some(ProviderKind::External));
    let r = clean(json!({"image": "mcp/github", "env_vars": {"API_KEY": "secret_ref_123"}}));
    assert_eq!(r.kind, Some(ProviderKind::Container));
    // The real AgentArea's url and docker specs.
    let r = clean(json!({"type": "url", "endpoint": "http://127.0.0.1:8080",
        "health_check": {"path": "/health"},
        "authentication": {"type": "bearer", "token": "secret_ref:api.token"},
        "available_tools": [{"name": "search", "description": "find", "inputSchema": {}}]}));
    assert_eq!(r.kind, Some(ProviderKind::External));
    let r = clean(
        json!({"type": "docker", "image": "mcp/filesystem", "port": 8000,
        "environment": {"ROOT": "/data", "GITHUB_TOKEN": "secret_ref:gh"},
        "cmd": ["serve", "--port", "8000"], "env_vars": ["ROOT"]}),
    );
    assert_eq!(r.kind, Some(ProviderKind::Container));
    // Ours: a stdio process.
    let r = clean(
        json!({"command": ["npx", "-y", "@modelcontextprotocol/server-everything"],
        "args": ["stdio"], "env_vars": {"DEBUG": "1", "OPENAI_API_KEY": "secret_ref:openai"},
        "cwd": "/tmp"}),
    );
    assert_eq!(r.kind, Some(ProviderKind::Process));
    assert!(r.is_valid());
    assert_eq!(r.summary(), "json_spec is valid");
}

#[test]
fn the_whole_spec_must_be_a_bounded_object() {
    error(json!([1, 2]), "", "not an array");
    error(Value::Null, "", "not null");
    error(json!("x"), "", "must be a JSON object");
    error(json!(3), "", "must be a JSON object");
    let big = json!({"endpoint_url": "https://x", "y": "a".repeat(super::super::instance::MAX_SPEC_BYTES)});
    error(big, "", "the limit is 1024 KiB");
    let mut deep = json!("leaf");
    for _ in 0..MAX_SPEC_DEPTH {
        deep = json!([deep]);
    }
    error(json!({ "x": deep }), "", "the limit is 64");
    assert_eq!(validate(&json!([1])).kind, None);
}

#[test]
fn type_rules() {
    error(
        json!({"type": 3, "image": "a"}),
        "/type",
        "must be a string",
    );
    note(
        json!({"type": "k8s", "image": "a"}),
        "/type",
        "treated as docker",
    );
    assert!(validate(&json!({"type": "k8s", "image": "a"})).is_valid());
    error(json!({"type": "url"}), "/endpoint", "needs an `endpoint`");
    error(json!({"type": "stdio"}), "/command", "needs a `command`");
    warning(json!({"type": "docker"}), "/image", "has no `image`");
    assert!(validate(&json!({"type": "docker"})).is_valid());
}

#[test]
fn endpoint_rules() {
    error(
        json!({"endpoint_url": 5}),
        "/endpoint_url",
        "must be a URL string",
    );
    error(json!({"endpoint_url": ""}), "/endpoint_url", "is empty");
    error(
        json!({"endpoint": "/mcp"}),
        "/endpoint",
        "not an absolute URL",
    );
    error(
        json!({"endpoint_url": "ftp://h/x"}),
        "/endpoint_url",
        "scheme 'ftp'",
    );
    error(
        json!({"endpoint_url": " https://h "}),
        "/endpoint_url",
        "spaces",
    );
    error(
        json!({"endpoint_url": "https://"}),
        "/endpoint_url",
        "not an absolute URL",
    );
    error(
        json!({"endpoint_url": "https://a", "endpoint": "https://b"}),
        "/endpoint",
        "keep one",
    );
}

#[test]
fn transport_rules() {
    for t in ["sse", "streamable-http", "auto"] {
        let r = validate(&json!({"endpoint_url": "https://h", "transport": t}));
        assert!(r.issues.is_empty(), "{t}: {:?}", r.issues);
    }
    error(
        json!({"endpoint_url": "https://h", "transport": "websocket"}),
        "/transport",
        "`transport` must be \"sse\" (the legacy HTTP+SSE transport), \"streamable-http\" or \"auto\", not \"websocket\"",
    );
    error(
        json!({"endpoint_url": "https://h", "transport": 1}),
        "/transport",
        "not a number",
    );
}

#[test]
fn header_rules() {
    error(
        json!({"endpoint_url": "https://h", "headers": ["a"]}),
        "/headers",
        "must be an object",
    );
    error(
        json!({"endpoint_url": "https://h", "headers": {"X-N": 5}}),
        "/headers/X-N",
        "must be a string, not a number",
    );
    error(
        json!({"endpoint_url": "https://h", "headers": {"bad name": "v"}}),
        "/headers/bad name",
        "not a valid header name",
    );
    error(
        json!({"endpoint_url": "https://h", "headers": {"X-A": "v\r\nX-B: w"}}),
        "/headers/X-A",
        "line break",
    );
}

#[test]
fn authentication_rules() {
    let base =
        |auth: Value| json!({"type": "url", "endpoint": "https://h", "authentication": auth});
    error(
        base(json!("bearer")),
        "/authentication",
        "must be an object",
    );
    error(
        base(json!({"token": "secret_ref:t"})),
        "/authentication/type",
        "needs a `type`",
    );
    error(
        base(json!({"type": 1})),
        "/authentication/type",
        "must be a string",
    );
    error(
        base(json!({"type": "bearer"})),
        "/authentication/token",
        "needs a `token`",
    );
    error(
        base(json!({"type": "bearer", "token": ""})),
        "/authentication/token",
        "is empty",
    );
    error(
        base(json!({"type": "bearer", "token": 7})),
        "/authentication/token",
        "must be a string",
    );
    let r = validate(&base(json!({"type": "bearer", "token": "abc123"})));
    assert!(r.is_valid());
    has(
        &r,
        Severity::Warning,
        "/authentication/token",
        "secret_ref:NAME",
    );
    note(
        base(json!({"type": "oauth2"})),
        "/authentication/type",
        "checks only \"bearer\"",
    );
    clean(base(json!({"type": "bearer", "token": "secret_ref:tok"})));
}

#[test]
fn health_check_rules() {
    let base = |hc: Value| json!({"type": "url", "endpoint": "https://h", "health_check": hc});
    error(
        base(json!({"path": "health"})),
        "/health_check/path",
        "must start with '/'",
    );
    error(
        base(json!({"path": 5})),
        "/health_check/path",
        "must be a string",
    );
    error(base(json!("/health")), "/health_check", "must be an object");
    clean(base(json!({"path": "/health", "interval": 5})));
}

#[test]
fn command_rules() {
    error(json!({"command": ""}), "/command", "is empty");
    error(json!({"command": []}), "/command", "empty array");
    error(
        json!({"command": [1]}),
        "/command/0",
        "must be a string, not a number",
    );
    error(json!({"command": ["npx", null]}), "/command/1", "not null");
    error(json!({"command": [" "]}), "/command/0", "program name");
    error(
        json!({"command": ["npx", ""]}),
        "/command/1",
        "an item of `command` is empty",
    );
    clean(json!({"command": "x", "args": [""]}));
    error(
        json!({"command": {"x": 1}}),
        "/command",
        "must be a program name or an array",
    );
    error(
        json!({"command": "x", "args": "a b"}),
        "/args",
        "must be an array of strings",
    );
    error(
        json!({"command": "x", "args": ["--port", 8000]}),
        "/args/1",
        "write \"8000\" in quotes",
    );
    error(json!({"command": "x", "cwd": ""}), "/cwd", "is empty");
    error(
        json!({"command": "x", "cwd": 1}),
        "/cwd",
        "must be a directory path string",
    );
}

#[test]
fn timeout_and_roots_rules() {
    clean(json!({"command": "x", "timeout_seconds": 300, "roots": ["/srv", "docs"]}));
    clean(json!({"endpoint_url": "https://h/mcp", "timeout_seconds": 1.5}));
    error(
        json!({"command": "x", "timeout_seconds": 0}),
        "/timeout_seconds",
        "`timeout_seconds` must be more than 0 and at most 86400 (a day); it is 0",
    );
    error(
        json!({"command": "x", "timeout_seconds": "5m"}),
        "/timeout_seconds",
        "`timeout_seconds` must be a number of seconds such as 300, not a string",
    );
    error(
        json!({"command": "x", "roots": "/srv"}),
        "/roots",
        "`roots` must be an array of strings",
    );
}

#[test]
fn env_rules() {
    error(
        json!({"command": "x", "env_vars": {"PORT": 80}}),
        "/env_vars/PORT",
        "write \"80\" in quotes",
    );
    error(
        json!({"command": "x", "env_vars": {"A": null}}),
        "/env_vars/A",
        "must be a string, not null",
    );
    error(
        json!({"command": "x", "env_vars": {"A=B": "c"}}),
        "/env_vars/A=B",
        "contains '='",
    );
    error(
        json!({"command": "x", "env_vars": {"": "c"}}),
        "/env_vars/",
        "name is empty",
    );
    error(
        json!({"command": "x", "env_vars": "A=b"}),
        "/env_vars",
        "or a list of names",
    );
    error(
        json!({"command": "x", "env_vars": ["A", 1]}),
        "/env_vars/1",
        "names as strings",
    );
    clean(json!({"command": "x", "env_vars": ["A", "B"]}));
    error(
        json!({"image": "i", "environment": ["A"]}),
        "/environment",
        "must be an object",
    );
    error(
        json!({"image": "i", "environment": {"A": true}}),
        "/environment/A",
        "must be a string",
    );
}

#[test]
fn container_rules() {
    error(json!({"image": ""}), "/image", "is empty");
    error(json!({"image": "mcp/fs latest"}), "/image", "whitespace");
    error(
        json!({"image": 3}),
        "/image",
        "must be an image name string",
    );
    for port in [json!(0), json!(65536), json!(-1), json!(80.5)] {
        error(
            json!({"image": "i", "port": port}),
            "/port",
            "from 1 to 65535",
        );
    }
    error(
        json!({"image": "i", "port": "8000"}),
        "/port",
        "write 8000 without quotes",
    );
    error(
        json!({"image": "i", "port": true}),
        "/port",
        "not true/false",
    );
    clean(json!({"image": "i", "port": 65535}));
    error(
        json!({"image": "i", "cmd": "serve"}),
        "/cmd",
        "must be an array of strings",
    );
    error(
        json!({"image": "i", "cmd": ["serve", {}]}),
        "/cmd/1",
        "not an object",
    );
}

#[test]
fn a_spec_must_be_one_kind() {
    error(
        json!({"endpoint_url": "https://h", "command": ["x"]}),
        "/command",
        "`command` makes this a stdio process, but `endpoint_url` makes it an external endpoint",
    );
    error(
        json!({"command": ["x"], "image": "i"}),
        "/image",
        "a spec must be one kind",
    );
    error(
        json!({"type": "url", "image": "i", "endpoint": "https://h"}),
        "/image",
        "type \"url\" makes it",
    );
    error(
        json!({"type": "docker", "endpoint": "https://h"}),
        "/type",
        "type \"docker\" makes this a container, but `endpoint` makes it an external endpoint",
    );
    // A conflicting type does not also ask for what the type needs.
    let r = validate(&json!({"type": "docker", "command": ["x"]}));
    assert!(r.at("/image").next().is_none(), "{:#?}", r.issues);
}

#[test]
fn available_tools_are_accepted() {
    clean(json!({"endpoint_url": "https://h", "available_tools": []}));
    warning(
        json!({"endpoint_url": "https://h", "available_tools": {}}),
        "/available_tools",
        "list of tools",
    );
    warning(
        json!({"endpoint_url": "https://h", "available_tools": [{"name": "a"}, {"title": "b"}]}),
        "/available_tools/1",
        "string `name`",
    );
}

#[test]
fn secret_references_are_checked() {
    error(
        json!({"command": "x", "env_vars": {"API_KEY": "secret_ref:a b"}}),
        "/env_vars/API_KEY",
        "contains ' '",
    );
    error(
        json!({"endpoint_url": "https://h", "headers": {"Authorization": "secret_ref:"}}),
        "/headers/Authorization",
        "no name after 'secret_ref:'",
    );
    // The name is never echoed: it might be a pasted value.
    let r = validate(&json!({"command": "x", "env_vars": {"T": "secret_ref:ghp_abc/def"}}));
    assert!(
        r.issues.iter().all(|i| !i.message.contains("ghp_abc")),
        "{:#?}",
        r.issues
    );
    has(&r, Severity::Error, "/env_vars/T", "contains '/'");
    clean(
        json!({"command": "x", "env_vars": {"API_KEY": "secret_ref_123", "B_TOKEN": "secret_ref:a.b-c_d"}}),
    );
    assert!(is_valid_secret_name("gh.token-1_x"));
    assert!(!is_valid_secret_name("a b"));
    assert!(!is_valid_secret_name(""));
}

#[test]
fn plain_secrets_are_flagged() {
    warning(
        json!({"endpoint_url": "https://h", "headers": {"Authorization": "Bearer abc"}}),
        "/headers/Authorization",
        "write \"secret_ref:NAME\" here",
    );
    for name in [
        "GITHUB_TOKEN",
        "OPENAI_API_KEY",
        "CLIENT_SECRET",
        "PASSWORD",
        "DB_PASSWORD",
        "x-api-key",
    ] {
        let p = format!("/env_vars/{name}");
        warning(
            json!({"command": "x", "env_vars": {name: "v"}}),
            &p,
            "plain secret",
        );
        warning(
            json!({"image": "i", "environment": {name: "v"}}),
            &format!("/environment/{name}"),
            "plain secret",
        );
    }
    warning(
        json!({"command": "x", "env_vars": {"PIN_TOKEN": 1234}}),
        "/env_vars/PIN_TOKEN",
        "plain secret",
    );
    warning(
        json!({"command": "x", "args": ["-H", "Bearer abc"]}),
        "/args/1",
        "looks like a credential",
    );
    warning(
        json!({"command": "x", "args": ["redis://u:pw@127.0.0.1"]}),
        "/args/0",
        "URL holds credentials",
    );
    // Empty values, names that are not secret, and references are fine.
    clean(json!({"command": "x", "env_vars": {"API_KEY": "", "KEYBOARD": "us", "ROOT": "/d"}}));
    // Warnings do not block saving.
    assert!(validate(&json!({"command": "x", "env_vars": {"A_TOKEN": "v"}})).is_valid());
}

#[test]
fn secret_key_names() {
    for k in [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "PASSWORD",
        "password",
        "passwd",
        "TOKEN",
        "token",
        "SECRET",
        "GITHUB_TOKEN",
        "accessToken",
        "x-auth-token",
        "OPENAI_API_KEY",
        "x-api-key",
        "apiKey",
        "api_key",
        "AWS_SECRET_ACCESS_KEY",
        "client_secret",
        "clientSecret",
        "DB_PASSWORD",
        "privateKey",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "ROOT",
        "PORT",
        "monkey",
        "hotkey",
        "KEYBOARD",
        "max_tokens",
        "path",
        "Accept",
        "TOKENIZER",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
}

#[test]
fn unknown_keys_are_notes_with_escaped_pointers() {
    let r = validate(&json!({"command": "x", "a/b~c": 1, "comand": 2}));
    assert!(r.is_valid());
    has(&r, Severity::Note, "/a~1b~0c", "not a key aacon knows");
    has(&r, Severity::Note, "/comand", "did you mean `command`?");
    let r = validate(&json!({"command": "x", "id": 1, "enviroment": {}, "imag": "i"}));
    assert!(
        !r.at("/id").any(|i| i.message.contains("did you mean")),
        "{:#?}",
        r.issues
    );
    has(
        &r,
        Severity::Note,
        "/enviroment",
        "did you mean `environment`?",
    );
    has(&r, Severity::Note, "/imag", "did you mean `image`?");
    note(
        json!({"endpoint_url": "https://h", "cwd": "/"}),
        "/cwd",
        "not used by an external endpoint",
    );
    note(
        json!({"command": "x", "port": 80}),
        "/port",
        "not used by a stdio process",
    );
    note(json!({}), "", "nothing says how to run this instance");
    let long = "k".repeat(500);
    let r = validate(&json!({"command": "x", long.clone(): 1}));
    assert!(r.issues[0].message.len() < 200, "messages stay short");
    assert_eq!(r.issues[0].pointer, format!("/{long}"));
}

#[test]
fn pointer_tokens_round_trip() {
    assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    assert_eq!(
        pointer_tokens("/a~1b~0c/0"),
        Some(vec!["a/b~c".to_string(), "0".to_string()])
    );
    assert_eq!(pointer_tokens(""), Some(vec![]));
    assert_eq!(pointer_tokens("x"), None);
    // Every pointer we report resolves in the spec when it names something there.
    let spec = json!({"headers": {"a/b": 1}, "endpoint_url": "https://h"});
    let r = validate(&spec);
    has(&r, Severity::Error, "/headers/a~1b", "must be a string");
    assert_eq!(spec.pointer("/headers/a~1b"), Some(&json!(1)));
}

#[test]
fn summary_names_the_first_error_and_counts_the_rest() {
    let r = validate(&json!({"image": "", "port": 0, "cmd": "x"}));
    assert_eq!(
        r.summary(),
        "/image: `image` is empty; write an image name such as \"mcp/filesystem\" (and 2 more problems)"
    );
    assert_eq!(r.errors().count(), 3);
    assert_eq!(
        validate(&json!([])).summary(),
        "/: json_spec must be a JSON object, not an array"
    );
}

#[test]
fn syntax_errors_have_line_and_character_column() {
    let e = parse_and_validate("{\n  \"command\": \"x\",\n}").unwrap_err();
    assert_eq!((e.line, e.column), (3, 1));
    assert_eq!(e.message, "a trailing comma is not allowed in JSON");
    // Columns count characters, not bytes.
    let e = parse_and_validate("{\"é\": x}").unwrap_err();
    assert_eq!((e.line, e.column), (1, 7), "{e}");
    let e = parse_and_validate("{\"command\": \"x\"").unwrap_err();
    assert!(e.message.contains("a '}' is missing"), "{e}");
    let e = parse_and_validate("").unwrap_err();
    assert!(e.message.contains("json_spec is empty"), "{e}");
    assert!(e.line >= 1 && e.column >= 1);
    let e = parse_and_validate("{} x").unwrap_err();
    assert!(e.message.contains("text after the end"), "{e}");
    assert_eq!(
        e.to_string(),
        format!("line 1, column {}: {}", e.column, e.message)
    );
    for (text, want) in [
        ("{\"a\": 1 \"b\": 2}", "(is a comma missing?)"),
        ("{\"a\": tru}", "expected true, false or null"),
        ("{\"a\": 'x'}", "expected a value (a \"string\""),
        ("{\"a\" 1}", "expected ':' after the key"),
        ("{\"a\": 01}", "invalid number"),
        (
            "{\"a\": \"x\\q\"}",
            "an invalid escape in a string (use \\\\, \\\", \\n",
        ),
        ("{\"a\": \"x\ny\"}", "write it as \\n"),
    ] {
        let e = parse_and_validate(text).unwrap_err();
        assert!(e.message.contains(want), "{text}: {e}");
    }
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let e = parse_and_validate(&deep).unwrap_err();
    assert!(e.message.contains("too deeply"), "{e}");
}

#[test]
fn parsing_reports_duplicates_and_validates() {
    let p = parse_spec("{\"command\": \"a\", \"env_vars\": {\"A\": \"1\", \"A\": 2}}").unwrap();
    has(
        &p.report,
        Severity::Warning,
        "/env_vars/A",
        "appears more than once",
    );
    has(
        &p.report,
        Severity::Error,
        "/env_vars/A",
        "write \"2\" in quotes",
    );
    assert_eq!(p.value["env_vars"]["A"], json!(2));
    assert_eq!(p.report.kind, Some(ProviderKind::Process));
    let r = parse_and_validate("[1]").unwrap();
    has(&r, Severity::Error, "", "not an array");
    let text = "{\"command\": [\"npx\", 1.5, -2, true, null, {\"k\": \"v\"}]}";
    assert_eq!(
        parse_spec(text).unwrap().value,
        serde_json::from_str::<Value>(text).unwrap()
    );
}

#[test]
fn locate_finds_pointers_in_text() {
    let text = "{\n  \"a/b\": 1,\n  \"env_vars\": {\"X\": [10, {\"é\": 2}]},\n  \"a/b\": 3\n}";
    let pos = |p| locate(text, p).map(|p| (p.line, p.column));
    assert_eq!(pos(""), Some((1, 1)));
    assert_eq!(pos("/a~1b"), Some((4, 3)), "the last of duplicate keys");
    assert_eq!(pos("/env_vars"), Some((3, 3)));
    assert_eq!(pos("/env_vars/X"), Some((3, 16)));
    assert_eq!(pos("/env_vars/X/0"), Some((3, 22)));
    assert_eq!(pos("/env_vars/X/1/é"), Some((3, 27)));
    assert_eq!(pos("/env_vars/X/2"), None);
    assert_eq!(pos("/nope"), None);
    assert_eq!(pos("/a~1b/x"), None);
    assert_eq!(
        locate("{\"a\": \"x\\\"}\"}", "/a").map(|p| p.column),
        Some(2)
    );
}

#[test]
fn masks_secrets_and_refs_for_the_screen() {
    let spec = json!({
        "headers": {"Authorization": "Bearer abc", "Accept": "json"},
        "env_vars": {"API_KEY": "secret_ref:k", "ROOT": "/d", "PIN_TOKEN": 1234, "EMPTY_TOKEN": ""},
        "args": ["--auth", "Basic dXNlcjpwdw==", "redis://:hunter2@127.0.0.1:6379/0"],
        "X_SECRET": ["a", "b"],
        "seed": "secret_ref_123"
    });
    let m = mask_secrets(&spec);
    assert_eq!(m["headers"]["Authorization"], MASK);
    assert_eq!(m["headers"]["Accept"], "json");
    assert_eq!(m["env_vars"]["API_KEY"], MASK);
    assert_eq!(m["env_vars"]["ROOT"], "/d");
    assert_eq!(m["env_vars"]["PIN_TOKEN"], MASK);
    assert_eq!(m["env_vars"]["EMPTY_TOKEN"], "");
    assert_eq!(m["args"][0], "--auth");
    assert_eq!(m["args"][1], MASK);
    assert_eq!(m["args"][2], format!("redis://:{MASK}@127.0.0.1:6379/0"));
    assert_eq!(m["X_SECRET"], json!([MASK, MASK]));
    assert_eq!(m["seed"], MASK);
    let r = redact_plain_secrets(&spec);
    assert_eq!(r["headers"]["Authorization"], REDACTED);
    assert_eq!(r["env_vars"]["API_KEY"], "secret_ref:k");
    assert_eq!(r["seed"], "secret_ref_123");
    assert_eq!(
        r["args"][2],
        format!("redis://:{REDACTED}@127.0.0.1:6379/0")
    );
}

#[test]
fn url_credentials() {
    assert_eq!(
        url_credentials_range("redis://:pw@h").map(|r| &"redis://:pw@h"[r]),
        Some("pw")
    );
    assert_eq!(
        mask_url_credentials("https://u:p@h/x@y", "*").as_deref(),
        Some("https://u:*@h/x@y")
    );
    assert_eq!(url_credentials_range("https://h/a:b@c"), None);
    assert_eq!(url_credentials_range("https://u@h"), None);
    assert_eq!(url_credentials_range("redis://u:@h"), None);
    assert_eq!(url_credentials_range("no url: a@b"), None);
}

#[test]
fn any_depth_is_safe() {
    // Deep values are built and dropped on a thread with room for serde_json's
    // recursive Drop; validate itself counts depth without recursion.
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(|| {
            let mut deep = json!(1);
            for _ in 0..100_000 {
                deep = wrap_object("a", Value::Array(vec![deep]));
            }
            let r = validate(&deep);
            has(&r, Severity::Error, "", "the limit is 64");
        })
        .unwrap()
        .join()
        .unwrap();
}

/// `{key: v}` without copying `v` (`json!` serializes its arguments).
fn wrap_object(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

/// Arbitrary JSON: scalars (with the occasional huge string), nested
/// arrays and objects with keys drawn from the spec's vocabulary.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_string()),
        Just("endpoint_url".to_string()),
        Just("endpoint".to_string()),
        Just("headers".to_string()),
        Just("Authorization".to_string()),
        Just("authentication".to_string()),
        Just("token".to_string()),
        Just("health_check".to_string()),
        Just("path".to_string()),
        Just("command".to_string()),
        Just("args".to_string()),
        Just("env_vars".to_string()),
        Just("environment".to_string()),
        Just("GITHUB_TOKEN".to_string()),
        Just("cwd".to_string()),
        Just("image".to_string()),
        Just("port".to_string()),
        Just("cmd".to_string()),
        Just("available_tools".to_string()),
        Just("name".to_string()),
        ".{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,30}".prop_map(Value::String),
        prop_oneof![
            Just("secret_ref:".to_string()),
            Just("secret_ref:a b".to_string()),
            Just("secret_ref_1".to_string()),
            Just("https://u:p@h/x".to_string()),
            Just("Bearer x".to_string()),
            Just("url".to_string()),
            Just("docker".to_string()),
            Just("/health".to_string()),
        ]
        .prop_map(Value::String),
        // Now and then a huge string (two of them cross the size limit).
        (0usize..2).prop_map(|n| Value::String("é".repeat(n * 300_000))),
    ];
    let nested = leaf.prop_recursive(8, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    });
    // Sometimes wrap in a deep chain to cross the depth limit.
    (nested, 0usize..100, any::<bool>()).prop_map(|(mut v, depth, obj)| {
        for _ in 0..depth {
            v = if obj {
                wrap_object("a", v)
            } else {
                Value::Array(vec![v])
            };
        }
        v
    })
}

/// Every (key, value) pair in `v`, with array items carrying their key.
fn pairs<'a>(v: &'a Value, key: Option<&'a str>, out: &mut Vec<(Option<&'a str>, &'a Value)>) {
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| pairs(v, Some(k), out)),
        Value::Array(items) => items.iter().for_each(|i| pairs(i, key, out)),
        other => out.push((key, other)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn validate_never_panics(v in arb_json(), wrap in any::<bool>()) {
        let v = if wrap {
            let mut m = Map::new();
            m.insert("spec".into(), v);
            m.insert("command".into(), json!("x"));
            Value::Object(m)
        } else {
            v
        };
        let r = validate(&v);
        for i in &r.issues {
            prop_assert!(i.pointer.is_empty() || i.pointer.starts_with('/'));
            prop_assert!(!i.message.is_empty() && i.message.len() < 400, "{}", i.message);
        }
        if r.kind.is_none() {
            prop_assert!(!r.is_valid());
        }
        // Whatever it says, parsing the same text says the same.
        let text = serde_json::to_string(&v).unwrap();
        if let Ok(p) = parse_spec(&text) {
            prop_assert_eq!(p.report, validate(&serde_json::from_str::<Value>(&text).unwrap()));
        }
    }

    #[test]
    fn mask_never_shows_a_plain_secret(
        v in arb_json(),
        secrets in prop::collection::vec(("(Authorization|authorization|X_TOKEN|API_KEY|token)", "[a-z]{1,8}"), 1..4),
    ) {
        let mut spec = json!({"headers": {}, "env_vars": {}, "nested": [{}]});
        spec["nested"][0]["x"] = v;
        for (i, (k, s)) in secrets.iter().enumerate() {
            let value = format!("SECRETVALUE{s}");
            spec["headers"][k] = json!(value);
            spec["env_vars"][format!("{k}{i}_TOKEN")] = json!(value);
            spec["nested"][0][k] = json!([value]);
        }
        let masked = mask_secrets(&spec);
        let text = masked.to_string();
        prop_assert!(!text.contains("SECRETVALUE"), "{}", text);
        let mut all = Vec::new();
        pairs(&masked, None, &mut all);
        for (k, value) in all {
            if k.is_some_and(is_secret_key) {
                prop_assert!(
                    value.is_null() || value.is_boolean() || *value == json!("") || *value == json!(MASK),
                    "{:?} = {}", k, value
                );
            }
        }
        let redacted = redact_plain_secrets(&spec).to_string();
        prop_assert!(!redacted.contains("SECRETVALUE"));
    }
}

/// Every pointer in `v`, with whether it names an object member.
fn all_pointers(v: &Value, base: String, out: &mut Vec<(String, bool, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{base}/{}", pointer_token(k));
                out.push((p.clone(), true, item.clone()));
                all_pointers(item, p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{base}/{i}");
                out.push((p.clone(), false, item.clone()));
                all_pointers(item, p, out);
            }
        }
        _ => {}
    }
}

/// The text from a 1-based line and character column on.
fn text_at(text: &str, pos: Position) -> String {
    let line = text.lines().nth(pos.line - 1).unwrap_or("");
    let from: String = line.chars().skip(pos.column - 1).collect();
    let rest: Vec<&str> = text.lines().skip(pos.line).collect();
    format!("{from}\n{}", rest.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn locate_finds_every_pointer(
        v in prop::collection::btree_map(".{0,6}", arb_small_json(), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        pretty in any::<bool>(),
    ) {
        let text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
        let mut ptrs = Vec::new();
        all_pointers(&v, String::new(), &mut ptrs);
        for (p, member, item) in ptrs {
            let pos = locate(&text, &p);
            prop_assert!(pos.is_some(), "{} in {}", p, text);
            let at = text_at(&text, pos.unwrap());
            if member {
                let key = pointer_tokens(&p).unwrap().pop().unwrap();
                prop_assert!(at.starts_with(&Value::String(key).to_string()), "{} at {:?}", p, at);
            } else {
                // The element's own text starts there.
                let mut de = serde_json::Deserializer::from_str(&at).into_iter::<Value>();
                prop_assert_eq!(de.next().unwrap().unwrap(), item);
            }
        }
        prop_assert_eq!(locate(&text, "/no such key/x"), None);
    }

    #[test]
    fn locate_never_panics(text in ".{0,80}", p in "(/[a-z0-9~]{0,3}){0,3}") {
        let _ = locate(&text, &p);
    }
}

fn arb_small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z/~\"é]{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
