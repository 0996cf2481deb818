//! The module layering, as data, and a test that reads every `crate::`
//! path in `src/` and fails on any edge against it (naming the file, the
//! line and the rule broken).
//!
//! Layers, lowest first: the domain (pure rules) and `paths`; the
//! `platform` port and `config`; the adapters; `host`, the composition
//! root; the console and the CLI. A module may use any module of a lower
//! layer, a module of its own layer only when [`SIDEWAYS`] lists the edge,
//! and a higher layer never, except where [`UPWARD`] says why. The console
//! reaches no adapter: it talks to the port and the host.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Domain,
    Port,
    Adapter,
    Host,
    Ui,
}

/// Each unit (a module path; the longest that matches wins) and its layer.
const UNITS: &[(&str, Layer)] = &[
    ("domain", Layer::Domain),
    ("paths", Layer::Domain),
    ("platform", Layer::Port),
    ("config", Layer::Port),
    ("platform::api", Layer::Adapter),
    ("platform::embedded", Layer::Adapter),
    ("store", Layer::Adapter),
    ("bus", Layer::Adapter),
    ("runtime", Layer::Adapter),
    ("secrets", Layer::Adapter),
    ("serve", Layer::Adapter),
    ("logging", Layer::Adapter),
    ("incident", Layer::Adapter),
    ("cluster", Layer::Adapter),
    ("store::pg::tls", Layer::Adapter),
    ("host", Layer::Host),
    ("tui", Layer::Ui),
    ("cli", Layer::Ui),
];

/// Edges between two units of one layer that are allowed, and why.
const SIDEWAYS: &[(&str, &str, &str)] = &[
    (
        "platform::embedded",
        "store",
        "the embedded platform is the store behind the port",
    ),
    (
        "platform::embedded",
        "bus",
        "it reads the whole Redis stream on request",
    ),
    (
        "platform::embedded",
        "cluster",
        "on PostgreSQL, who hosts an instance is who holds its lease",
    ),
    ("platform::api", "bus", "live status comes from Redis"),
    (
        "platform::api",
        "store",
        "the flight recorder keeps what it observed in a store-shaped file",
    ),
    ("bus", "store", "the relay publishes the store's outbox"),
    (
        "store",
        "cluster",
        "a status report written for a lease is fenced by it in its own statement",
    ),
    (
        "cluster",
        "store::pg::tls",
        "every PostgreSQL connection is set up (sslmode, CAs) one way",
    ),
    (
        "runtime",
        "secrets",
        "secret references are resolved when a server starts",
    ),
    (
        "serve",
        "platform::api",
        "client and server share the wire shapes and the token",
    ),
    (
        "serve",
        "cluster",
        "a request for an instance another replica hosts is forwarded to its lease's owner",
    ),
    ("cli", "tui", "the CLI starts the console"),
    (
        "config",
        "platform::history",
        "the call history's retention defaults are the port's",
    ),
];

/// Edges to a higher layer that are allowed, and why.
const UPWARD: &[(&str, &str, &str)] = &[(
    "config",
    "runtime::childenv",
    "the child environment allowlist's default and rule are the runtime's",
)];

/// Units that may not use a lower layer directly, and why.
const NOT_BELOW: &[(&str, Layer, &str)] = &[(
    "tui",
    Layer::Adapter,
    "the console talks to the port and the host, never to an adapter",
)];

/// Files the layering does not bind: the console's own test and rendering
/// kit (fixtures, screenshots: it builds an embedded platform to draw
/// from), and this file (its samples break every rule on purpose). Test
/// code elsewhere (a `tests.rs`, a `#[cfg(test)]` module) may also reach
/// anything: it is not part of the shipped graph.
const EXEMPT_FILES: &[&str] = &[
    "src/tui/fixtures.rs",
    "src/tui/screenshots.rs",
    "src/tui/svg.rs",
    "src/layering.rs",
];

#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
    rule: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} uses {}: {}",
            self.file, self.line, self.from, self.to, self.rule
        )
    }
}

/// The unit a module path belongs to (the longest listed prefix).
fn unit(path: &str) -> Option<(&'static str, Layer)> {
    UNITS
        .iter()
        .filter(|(u, _)| path == *u || path.starts_with(&format!("{u}::")))
        .max_by_key(|(u, _)| u.len())
        .copied()
}

/// The module path of a file under `src/` (`src/a/b.rs`, `src/a/b/mod.rs`: `a::b`).
fn module_of(file: &str) -> String {
    let rel = file.trim_start_matches("src/").trim_end_matches(".rs");
    let rel = rel.trim_end_matches("/mod");
    rel.replace('/', "::")
}

/// Every `crate::…` path on a line of code (comments skipped), as module
/// paths (`crate::{a, b::c}` gives `a` and `b::c`).
fn paths_in(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            out.extend(inner.split(',').map(|p| path_head(p.trim())));
        } else {
            out.push(path_head(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The module part of a path: lowercase segments, up to the first item.
fn path_head(p: &str) -> String {
    p.split("::")
        .take_while(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect::<Vec<_>>()
        .join("::")
}

/// The rule an edge from unit `from` to module path `to` breaks, if any.
fn broken(from: (&str, Layer), to_path: &str) -> Option<String> {
    let to = unit(to_path)?;
    if from.0 == to.0 {
        return None;
    }
    let listed = |t: &[(&str, &str, &str)]| {
        t.iter().any(|(f, p, _)| {
            *f == from.0 && (to_path == *p || to_path.starts_with(&format!("{p}::")))
        })
    };
    if let Some((_, _, why)) = NOT_BELOW
        .iter()
        .find(|(u, layer, _)| *u == from.0 && to.1 == *layer)
    {
        return Some(format!("{:?} may not be used from here: {why}", to.1));
    }
    match to.1.cmp(&from.1) {
        std::cmp::Ordering::Less => None,
        std::cmp::Ordering::Equal if listed(SIDEWAYS) => None,
        std::cmp::Ordering::Equal => Some(format!(
            "two {:?} units reach each other only where SIDEWAYS lists the edge",
            to.1
        )),
        std::cmp::Ordering::Greater if listed(UPWARD) => None,
        std::cmp::Ordering::Greater => Some(format!(
            "the {:?} layer may not use the {:?} layer above it",
            from.1, to.1
        )),
    }
}

/// Check `files` (path under `src/`, text) against the layering.
fn check(files: &[(String, String)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (file, text) in files {
        if EXEMPT_FILES.contains(&file.as_str()) || file.ends_with("/tests.rs") {
            continue;
        }
        let Some(from) = unit(&module_of(file)) else {
            continue;
        };
        let mut test_module = false;
        let mut cfg_test = false;
        for (n, line) in text.lines().enumerate() {
            // A top-level `#[cfg(test)] mod … {` runs to the next `}` in
            // column 0 (rustfmt's layout).
            if test_module {
                test_module = line != "}";
                continue;
            }
            if cfg_test && line.starts_with("mod ") && line.ends_with('{') {
                test_module = true;
                continue;
            }
            cfg_test = line == "#[cfg(test)]";
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            for to in paths_in(line) {
                if let Some(rule) = broken(from, &to) {
                    out.push(Violation {
                        file: file.clone(),
                        line: n + 1,
                        from: from.0.to_string(),
                        to,
                        rule,
                    });
                }
            }
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string();
            out.push((rel, std::fs::read_to_string(&p).unwrap_or_default()));
        }
    }
}

#[test]
fn no_module_uses_one_against_the_layering() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 50, "the walk found {} files", files.len());
    let found = check(&files);
    let listed: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(listed.is_empty(), "layering broken:\n{}", listed.join("\n"));
}

#[test]
fn the_checker_names_file_line_and_rule_of_a_bad_edge() {
    let bad = vec![
        (
            "src/store/mod.rs".to_string(),
            "use crate::domain::Instance;\n#[cfg(test)]\nmod tests {\n    use crate::runtime::plan;\n}\nuse crate::runtime::plan;\n".to_string(),
        ),
        (
            "src/runtime/mod.rs".to_string(),
            "//! crate::platform::embedded in a comment is no edge\nuse crate::platform::embedded::EmbeddedPlatform;\nuse crate::platform::{Platform, RuntimePort};\n".to_string(),
        ),
        (
            "src/platform/mod.rs".to_string(),
            "pub use crate::runtime::ToolCallOutcome;\n".to_string(),
        ),
        (
            "src/tui/app.rs".to_string(),
            "let x = crate::{domain::spec, runtime::check_args};\n".to_string(),
        ),
        (
            "src/platform/embedded/mod.rs".to_string(),
            "use crate::store::Store; use crate::runtime::plan;\n".to_string(),
        ),
    ];
    let found = check(&bad);
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "src/store/mod.rs:6: store uses runtime: two Adapter units reach each other only where SIDEWAYS lists the edge",
            "src/runtime/mod.rs:2: runtime uses platform::embedded: two Adapter units reach each other only where SIDEWAYS lists the edge",
            "src/platform/mod.rs:1: platform uses runtime: the Port layer may not use the Adapter layer above it",
            "src/tui/app.rs:1: tui uses runtime::check_args: Adapter may not be used from here: the console talks to the port and the host, never to an adapter",
            "src/platform/embedded/mod.rs:1: platform::embedded uses runtime: two Adapter units reach each other only where SIDEWAYS lists the edge",
        ]
    );
}

#[test]
fn module_paths_and_units_are_read_as_written() {
    assert_eq!(
        module_of("src/platform/embedded/mod.rs"),
        "platform::embedded"
    );
    assert_eq!(module_of("src/tui/app/surface.rs"), "tui::app::surface");
    assert_eq!(
        unit("platform::api::wire").map(|u| u.0),
        Some("platform::api")
    );
    assert_eq!(unit("platform::tools").map(|u| u.0), Some("platform"));
    assert_eq!(paths_in("a(crate::x::Y, my_crate::z)"), ["x"]);
}
