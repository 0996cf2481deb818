//! API mode against the real AgentArea backend (`../shared/agentarea`): one
//! backend for the whole binary (`support::agentarea::AgentArea::shared`),
//! each test in its own workspace. Tests that read AgentArea's event
//! channels take the backend alone (`support::agentarea::TURN`).

#[path = "../support/mod.rs"]
mod support;

mod agentarea_api;
mod agentarea_events;
mod agentarea_forensics;
mod agentarea_record;
