//! The OpenAPI 3.1 description of what `serve` answers.

use super::ready;
use crate::platform::api::wire::{BASE_PATH, EVENTS_PATH};
use serde_json::{Value, json};

fn err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}})
}

fn inst() -> Value {
    json!({"$ref": "#/components/schemas/Instance"})
}

/// What the document describes.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// A bearer token is required on /v1.
    pub auth: bool,
    pub read_only: bool,
    /// A TCP server: /ready, /metrics and the replica header.
    pub ops: bool,
    /// /metrics answers without the token.
    pub metrics_public: bool,
}

/// The document for a server of this shape.
pub fn document(shape: Shape) -> Value {
    let Shape {
        auth,
        read_only,
        ops,
        metrics_public,
    } = shape;
    let common = json!({
        "401": err("Missing or wrong bearer token"),
        "403": err("Read-only server: mutations are refused"),
        "422": err("Malformed request (FastAPI validation list in detail)"),
    });
    let with = |mut responses: Value| {
        if let (Some(r), Some(c)) = (responses.as_object_mut(), common.as_object()) {
            for (k, v) in c {
                r.entry(k.clone()).or_insert(v.clone());
            }
        }
        responses
    };
    let base = format!("{BASE_PATH}/");
    let one = format!("{BASE_PATH}/{{id}}");
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "aacon serve — AgentArea MCP server instances",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "AgentArea's /v1/mcp-server-instances contract served by aacon's embedded platform.{}{} \
                 Extensions AgentArea clients may ignore: instance fields version, desired_state, kind, status_reason, \
                 aggregate_version, updated_by, last_healthy_at, tool_count, restarts; ETag and If-None-Match on the list; \
                 ETag \"<version>\" on an instance and If-Match \"<version>\" on PATCH (409 when stale); \
                 issues on a 400 for an invalid json_spec; the instance in start/stop/restart answers; POST /{{id}}/restart; {EVENTS_PATH}.",
                if auth { " Every /v1 call needs Authorization: Bearer <token>." } else { " No token is configured: loopback only." },
                if read_only { " This server is read-only." } else { "" },
            ),
            "x-aacon-capabilities": crate::platform::BackendProfile::aacon().capabilities_json(),
        },
        "paths": {
            "/health": {"get": {"summary": "Liveness; service \"aacon\" and its capabilities (creatable kinds, versions, routes)", "security": [], "responses": {"200": ok("Healthy", json!({"type": "object"}))}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": ok("OpenAPI", json!({"type": "object"}))}}},
            base.clone(): {
                "get": {"summary": "List instances", "parameters": [{"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
                        "responses": with(json!({"200": ok("Instances", json!({"type": "array", "items": inst()})), "304": {"description": "Unchanged since the ETag"}}))},
                "post": {"summary": "Create an instance", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewInstance"}}}},
                         "responses": with(json!({"200": ok("Created", inst()), "400": err("Invalid name or json_spec (issues lists every finding)"), "409": err("Name taken"), "413": err("Body too large")}))}
            },
            format!("{BASE_PATH}/check"): {
                "post": {"summary": "Validate a json_spec", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["json_spec"], "properties": {"json_spec": {"type": "object"}}}}}},
                         "responses": with(json!({"200": ok("Verdict", json!({"$ref": "#/components/schemas/Check"}))}))}
            },
            format!("{BASE_PATH}/health/containers"): {
                "get": {"summary": "Health of every instance", "responses": with(json!({"200": ok("Health report", json!({"type": "object", "properties": {"health_checks": {"type": "array", "items": {"type": "object", "properties": {"service_name": {"type": "string"}, "container_status": {"type": "string"}, "healthy": {"type": "boolean"}, "instance_id": {"type": "string"}}}}, "total": {"type": "integer"}, "healthy": {"type": "integer"}}}))}))}
            },
            format!("{BASE_PATH}/health/probes"): {
                "get": {"summary": "The runtime's last health probe of each running instance (aacon extension; probes are not events)", "responses": with(json!({"200": ok("Probes", json!({"type": "object", "properties": {"probes": {"type": "array", "items": {"type": "object", "properties": {"instance_id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "ok": {"type": "boolean"}, "latency_ms": {"type": "integer"}, "error": {"type": "string"}, "last_ok_at": {"type": "string", "format": "date-time"}}}}}}))}))}
            },
            one.clone(): {
                "parameters": [id_param()],
                "get": {"summary": "Read an instance", "responses": with(json!({"200": ok("Instance", inst()), "404": err("MCP Server Instance not found")}))},
                "patch": {"summary": "Change an instance", "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"}, "description": "\"<version>\": refuse with 409 unless the instance is at that version"}],
                          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Patch"}}}},
                          "responses": with(json!({"200": ok("Instance", inst()), "400": err("Invalid change"), "404": err("Not found"), "409": err("Changed meanwhile, or name taken")}))},
                "delete": {"summary": "Delete an instance", "responses": with(json!({"200": ok("Deleted", json!({"type": "object", "properties": {"status": {"const": "success"}}})), "404": err("Not found")}))}
            },
            format!("{one}/start"): {"parameters": [id_param()], "post": {"summary": "Ask for it to run", "responses": with(json!({"200": ok("Requested", json!({"$ref": "#/components/schemas/Action"})), "404": err("Not found")}))}},
            format!("{one}/stop"): {"parameters": [id_param()], "post": {"summary": "Ask for it to stop", "responses": with(json!({"200": ok("Requested", json!({"$ref": "#/components/schemas/Action"})), "404": err("Not found")}))}},
            format!("{one}/restart"): {"parameters": [id_param()], "post": {"summary": "Stop and start again as one operation under one correlation id (aacon extension; AgentArea has no restart)", "responses": with(json!({"200": ok("Requested", json!({"$ref": "#/components/schemas/Action"})), "404": err("Not found")}))}},
            format!("{one}/tools"): {"parameters": [id_param()], "get": {"summary": "Discovered tools (live, else json_spec.available_tools)", "responses": with(json!({"200": ok("Tools", json!({"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "inputSchema": {"type": "object"}}}})), "404": err("Not found")}))}},
            format!("{one}/tools/call"): {"parameters": [id_param()], "post": {"summary": "Call a tool (aacon extension); arguments checked against its input schema, secrets masked in the answer; closing the connection cancels the call (the server is sent notifications/cancelled); a server elicitation during it is declined",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "arguments": {"type": "object"}}}}}},
                "responses": with(json!({"200": ok("The tool's answer", json!({"type": "object", "properties": {"is_error": {"type": "boolean"}, "text": {"type": "string"}, "result": {"type": "object"}}})), "400": err("Arguments do not fit the schema, or no such tool"), "403": err("Read-only"), "404": err("Not found"), "503": err("The server cannot be reached")}))}},
            format!("{one}/logs"): {"parameters": [id_param(), {"name": "after", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}, "description": "A previous answer's next: only newer lines"}], "get": {"summary": "The instance's log the runtime keeps (aacon extension): stderr lines, MCP log messages (notifications/message) and the runtime's markers, each with time, level and source, secrets masked, oldest first", "responses": with(json!({"200": ok("Log", log_schema()), "404": err("Not found"), "422": err("after is not a number")}))}},
            format!("{one}/environment"): {"parameters": [id_param()], "get": {"summary": "Environment variable names (never values)", "responses": with(json!({"200": ok("Names", json!({"type": "object", "properties": {"instance_id": {"type": "string"}, "env_vars": {"type": "array", "items": {"type": "string"}}, "message": {"type": "string"}}})), "404": err("Not found")}))}},
            EVENTS_PATH: {"get": {"summary": "Event history (aacon extension)", "parameters": [
                {"name": "instance", "in": "query", "schema": {"type": "string", "format": "uuid"}},
                {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100}}],
                "responses": with(json!({"200": ok("Envelopes, oldest first", json!({"type": "array", "items": {"type": "object"}}))}))}}
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["detail"], "properties": {
                    "detail": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object", "properties": {"loc": {"type": "array"}, "msg": {"type": "string"}, "type": {"type": "string"}}}}]},
                    "issues": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}}}},
                "Issue": {"type": "object", "properties": {"severity": {"enum": ["error", "warning", "note"]}, "pointer": {"type": "string"}, "message": {"type": "string"}}},
                "Instance": {"type": "object", "required": ["id", "name", "json_spec", "status", "created_at", "updated_at"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"}, "description": {"type": ["string", "null"]},
                    "server_spec_id": {"type": ["string", "null"]}, "json_spec": {"type": "object"},
                    "status": {"enum": ["pending", "validating", "starting", "running", "unhealthy", "stopping", "stopped", "error"]},
                    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
                    "version": {"type": "integer"}, "desired_state": {"enum": ["running", "stopped"]}, "kind": {"enum": ["external", "process", "container"]},
                    "status_reason": {"type": ["string", "null"]}, "aggregate_version": {"type": "integer"}, "updated_by": {"type": ["string", "null"]},
                    "last_healthy_at": {"type": ["string", "null"], "format": "date-time"}, "tool_count": {"type": ["integer", "null"]}, "restarts": {"type": "integer"}}},
                "NewInstance": {"type": "object", "required": ["name", "json_spec"], "properties": {
                    "name": {"type": "string"}, "description": {"type": ["string", "null"]}, "server_spec_id": {"type": ["string", "null"]}, "json_spec": {"type": "object"}}},
                "Patch": {"type": "object", "properties": {
                    "name": {"type": "string"}, "description": {"type": ["string", "null"]}, "server_spec_id": {"type": ["string", "null"]}, "json_spec": {"type": "object"}}},
                "Check": {"type": "object", "required": ["valid", "message"], "properties": {
                    "valid": {"type": "boolean"}, "message": {"type": "string"}, "details": {"type": "object"}, "status_code": {"type": "integer"},
                    "kind": {"type": "string"}, "issues": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}}}},
                "Action": {"type": "object", "properties": {"status": {"const": "success"}, "message": {"type": "string"}, "instance": {"$ref": "#/components/schemas/Instance"}}}
            }
        }
    });
    if let (Some(paths), Value::Object(more)) =
        (doc["paths"].as_object_mut(), surface_paths(&one, &with))
    {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) =
        (doc["paths"].as_object_mut(), history_paths(&one, &with))
    {
        paths.extend(more);
    }
    // Which replica hosts an instance (its own value: the document above
    // is as deep as one json! can be).
    let hosting = json!({"type": "object", "properties": {"clustered": {"type": "boolean"}, "hosted_by": {"type": ["object", "null"], "properties": {"replica": {"type": "string"}, "address": {"type": "string"}}}}});
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.insert(
            format!("{one}/hosting"),
            json!({"parameters": [id_param()], "get": {"summary": "Which replica holds the instance's lease and its address, where instances are shared by lease (aacon extension)", "responses": with(json!({"200": ok("Hosting", hosting)}))}}),
        );
    }
    if ops {
        doc["components"]["headers"] = json!({"Replica": {
            "description": "The replica that answered (serve.replica_id, AACON_REPLICA_ID, else $HOSTNAME, else host name and pid); on every answer",
            "schema": {"type": "string"}}});
    }
    if ops && let Some(paths) = doc["paths"].as_object_mut() {
        if let Value::Object(more) = ops_paths(auth && !metrics_public) {
            paths.extend(more);
        }
        // Every answer names the replica.
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                for r in responses.values_mut() {
                    r["headers"] =
                        json!({ready::REPLICA_HEADER: {"$ref": "#/components/headers/Replica"}});
                }
            }
        }
    }
    if auth {
        doc["components"]["securitySchemes"] =
            json!({"bearer": {"type": "http", "scheme": "bearer"}});
        doc["security"] = json!([{"bearer": []}]);
    }
    doc
}

/// The paths of a server's identity, ping, resources and prompts (aacon
/// extensions), apart from [`document`]'s one `json!` (its recursion limit).
fn surface_paths(one: &str, with: &dyn Fn(Value) -> Value) -> Value {
    json!({
            format!("{one}/server"): {"parameters": [id_param()], "get": {"summary": "The server's initialize result: serverInfo (name, version), protocolVersion, capabilities, instructions (aacon extension)", "responses": with(json!({"200": ok("Initialize result", json!({"type": "object"})), "404": err("Not found"), "503": err("The server cannot be reached")}))}},
            format!("{one}/ping"): {"parameters": [id_param()], "post": {"summary": "Ping the server (aacon extension)", "responses": with(json!({"200": ok("Pong", json!({"type": "object", "properties": {"ok": {"type": "boolean"}, "latency_ms": {"type": "integer"}}})), "404": err("Not found"), "503": err("The server cannot be reached")}))}},
            format!("{one}/resources"): {"parameters": [id_param()], "get": {"summary": "resources/list, every page (aacon extension); updated maps a subscribed URI to its last update notice", "responses": with(json!({"200": ok("Resources", json!({"type": "object", "properties": {"resources": {"type": "array", "items": {"type": "object"}}, "updated": {"type": "object"}}})), "404": err("Not found"), "503": err("The server cannot be reached")}))}},
            format!("{one}/resources/templates"): {"parameters": [id_param()], "get": {"summary": "resources/templates/list, every page (aacon extension)", "responses": with(json!({"200": ok("Templates", json!({"type": "object", "properties": {"resourceTemplates": {"type": "array", "items": {"type": "object"}}}})), "404": err("Not found"), "503": err("The server cannot be reached")}))}},
            format!("{one}/resources/read"): {"parameters": [id_param()], "post": {"summary": "resources/read (aacon extension); text over 1 MiB is cut and a larger binary kept as its type and size (truncated, bytes)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string"}}}}}},
                "responses": with(json!({"200": ok("Contents", json!({"type": "object", "properties": {"contents": {"type": "array", "items": {"type": "object"}}}})), "404": err("Not found"), "503": err("The server cannot be reached or refused")}))}},
            format!("{one}/resources/subscribe"): {"parameters": [id_param()], "post": {"summary": "resources/subscribe (aacon extension); update notices show in the resources list's updated",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string"}}}}}},
                "responses": with(json!({"200": ok("Subscribed", json!({"type": "object", "properties": {"subscribed": {"type": "string"}}})), "404": err("Not found"), "503": err("The server cannot be reached or refused")}))}},
            format!("{one}/resources/updated"): {"parameters": [id_param()], "get": {"summary": "The resource update notices kept so far, URI to time (aacon extension; asks the server nothing)", "responses": with(json!({"200": ok("Notices", json!({"type": "object", "properties": {"updated": {"type": "object"}}})), "404": err("Not found")}))}},
            format!("{one}/resources/updated"): {"parameters": [id_param()], "get": {"summary": "The resource update notices kept so far, URI to time (aacon extension; asks the server nothing)", "responses": with(json!({"200": ok("Notices", json!({"type": "object", "properties": {"updated": {"type": "object"}}})), "404": err("Not found")}))}},
            format!("{one}/prompts"): {"parameters": [id_param()], "get": {"summary": "prompts/list, every page (aacon extension)", "responses": with(json!({"200": ok("Prompts", json!({"type": "object", "properties": {"prompts": {"type": "array", "items": {"type": "object"}}}})), "404": err("Not found"), "503": err("The server cannot be reached")}))}},
            format!("{one}/logging/level"): {"parameters": [id_param()], "post": {"summary": "logging/setLevel (aacon extension): the server sends log messages (notifications/message, in the instance's log) from this level up; only to a server that declares the logging capability",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["level"], "properties": {"level": {"type": "string", "enum": ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]}}}}}},
                "responses": with(json!({"200": ok("Level set", json!({"type": "object", "properties": {"level": {"type": "string"}}})), "404": err("Not found"), "422": err("Not a level"), "503": err("The server cannot be reached, or takes no log level")}))}},
            format!("{one}/prompts/get"): {"parameters": [id_param()], "post": {"summary": "prompts/get (aacon extension); arguments (strings) checked against the prompt's argument list first",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "arguments": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
                "responses": with(json!({"200": ok("Messages", json!({"type": "object", "properties": {"description": {"type": "string"}, "messages": {"type": "array", "items": {"type": "object"}}}})), "400": err("No such prompt, a required argument missing, or an unknown one"), "404": err("Not found"), "503": err("The server cannot be reached")}))}}
    })
}

/// The call history's paths (aacon extensions).
fn history_paths(one: &str, with: &dyn Fn(Value) -> Value) -> Value {
    let record = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "instance_id": {"type": "string", "format": "uuid"}, "instance_name": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "caller": {"type": "object", "description": "who asked: via console|cli (pid), api (token name, never the token; peer) or local", "properties": {"via": {"enum": ["console", "cli", "api", "local"]}}},
        "kind": {"enum": ["tool", "resource", "prompt"]}, "name": {"type": "string"},
        "arguments": {"type": "object", "description": "secrets redacted"}, "redacted": {"type": "boolean"},
        "duration_ms": {"type": "integer"},
        "outcome": {"type": "object", "properties": {"status": {"enum": ["ok", "tool_error", "failed"]}, "kind": {"type": "string"}, "message": {"type": "string"}}},
        "result_bytes": {"type": "integer"},
        "result": {"type": "string", "description": "the answer's JSON, its first 64 KiB (one call only)"}}});
    json!({
        format!("{one}/history"): {"parameters": [id_param(), {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100, "maximum": 10000}}],
            "get": {"summary": "The instance's recorded tool calls, resource reads and prompt gets, newest first (aacon extension; kept after a delete until retention prunes them)",
                "responses": with(json!({"200": ok("Calls", json!({"type": "object", "properties": {"instance_id": {"type": "string"}, "calls": {"type": "array", "items": record.clone()}}}))}))}},
        format!("{one}/history/{{call}}"): {"parameters": [id_param(), {"name": "call", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "get": {"summary": "One recorded call in full, with the first 64 KiB of its answer (aacon extension)",
                "responses": with(json!({"200": ok("Call", record), "404": err("No such call (retention may have pruned it)")}))}}
    })
}

/// The shape of `GET …/{id}/logs` (apart: `json!`'s recursion limit).
fn log_schema() -> Value {
    json!({"type": "object", "properties": {"instance_id": {"type": "string"}, "lines": {"type": "array", "items": {"type": "object", "required": ["seq", "at", "level", "source", "text"], "properties": {"seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "level": {"type": "string", "enum": ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]}, "source": {"type": "string", "enum": ["stderr", "mcp", "aacon"]}, "logger": {"type": "string"}, "text": {"type": "string"}}}}, "next": {"type": "integer", "description": "The cursor to ask with next (after)"}, "missed": {"type": "integer", "description": "Lines that fell out of the bounded log before they were read"}, "reset": {"type": "boolean", "description": "The cursor belonged to another runtime host's log: these are all the lines kept"}}})
}

/// `/ready` and `/metrics` (a TCP server's; not on the runtime socket).
fn ops_paths(metrics_need_token: bool) -> Value {
    let check = json!({"type": "object", "required": ["name", "ok", "ms"], "properties": {
        "name": {"type": "string", "description": "store, relay (with Redis), leases (once leases exist)"},
        "ok": {"type": "boolean"}, "ms": {"type": "integer"},
        "error": {"type": "string", "description": "One sentence; never a secret"}}});
    let report = json!({"type": "object", "required": ["status", "replica", "failing", "checks"], "properties": {
        "status": {"enum": ["ready", "not ready"]}, "replica": {"type": "string"},
        "failing": {"type": "array", "items": {"type": "string"}, "description": "The names of the checks that failed"},
        "checks": {"type": "array", "items": check}}});
    let mut metrics = json!({"get": {
        "summary": "Metrics in the OpenMetrics text format (Prometheus): requests by route template, latency, instances by status and owner, outbox lag, events relayed, leases. docs/deploy.md lists each one",
        "responses": {"200": {"description": "Metrics", "content": {super::metrics::CONTENT_TYPE: {"schema": {"type": "string"}}}},
                      "401": err("Missing or wrong bearer token (serve.metrics_public is off)")}}});
    if !metrics_need_token {
        metrics["get"]["security"] = json!([]);
    }
    json!({
        "/ready": {"get": {"summary": "Readiness: 200 when every check (the store within its deadline, the outbox relay not wedged, later the leases current) passed, else 503 naming the failing ones",
            "security": [],
            "responses": {"200": ok("Ready", report.clone()), "503": ok("Not ready: failing names the checks", report)}}},
        super::METRICS_PATH: metrics,
    })
}
