//! `@modelcontextprotocol/server-everything`, installed by
//! scripts/test.d/mcp-servers.sh into `.aacon-test-cache/npm`.

use std::path::PathBuf;

/// Its entry point (`node PATH stdio` runs it over stdio).
pub fn path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        ".aacon-test-cache/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
    );
    assert!(
        p.is_file(),
        "server-everything is not installed; run `bash scripts/test.d/mcp-servers.sh` (scripts/test does it)"
    );
    p
}

/// A json_spec that runs it over stdio.
pub fn stdio_spec() -> serde_json::Value {
    serde_json::json!({"command": ["node", path().to_str().unwrap(), "stdio"]})
}
