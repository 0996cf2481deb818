use super::PlatformError::ReadOnly as Refused;
use super::{
    ActionOutcome, BackendInfo, EventQuery, Platform, PlatformEvent, Result, ToolCallResult,
    ToolInfo,
};
use crate::domain::spec::Report;
use crate::domain::{Envelope, Instance, InstancePatch, NewInstance, Precondition};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Wraps a platform and refuses every mutation.
pub struct ReadOnly(pub Arc<dyn Platform>);

#[async_trait]
impl Platform for ReadOnly {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            read_only: true,
            ..self.0.info()
        }
    }
    async fn profile(&self) -> super::BackendProfile {
        self.0.profile().await
    }
    async fn list(&self) -> Result<Vec<Instance>> {
        self.0.list().await
    }
    async fn list_stamp(&self) -> Result<Option<i64>> {
        self.0.list_stamp().await
    }
    async fn get(&self, key: &str) -> Result<Instance> {
        self.0.get(key).await
    }
    async fn create(&self, _new: NewInstance) -> Result<Instance> {
        Err(Refused("creating an instance"))
    }
    async fn update(
        &self,
        _id: Uuid,
        _p: InstancePatch,
        _e: Option<Precondition>,
    ) -> Result<Instance> {
        Err(Refused("editing an instance"))
    }
    async fn delete(&self, _id: Uuid) -> Result<()> {
        Err(Refused("deleting an instance"))
    }
    async fn start(&self, _id: Uuid) -> Result<ActionOutcome> {
        Err(Refused("starting an instance"))
    }
    async fn stop(&self, _id: Uuid) -> Result<ActionOutcome> {
        Err(Refused("stopping an instance"))
    }
    async fn restart(&self, _id: Uuid) -> Result<ActionOutcome> {
        Err(Refused("restarting an instance"))
    }
    async fn runtime_host(&self) -> Option<super::RuntimeHost> {
        self.0.runtime_host().await
    }
    async fn validate(&self, spec: &serde_json::Value) -> Result<Report> {
        self.0.validate(spec).await
    }
    async fn events(&self, query: EventQuery) -> Result<Vec<Envelope>> {
        self.0.events(query).await
    }
    async fn state_at(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::domain::replay::Moment> {
        self.0.state_at(at).await
    }
    async fn events_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        self.0.events_between(from, to, instance).await
    }
    fn subscribe(&self) -> broadcast::Receiver<PlatformEvent> {
        self.0.subscribe()
    }
    async fn tools(&self, id: Uuid) -> Result<Vec<ToolInfo>> {
        self.0.tools(id).await
    }
    async fn mcp(&self, id: Uuid, op: super::McpOp) -> Result<serde_json::Value> {
        // Reading resources and prompts changes nothing on the server.
        self.0.mcp(id, op).await
    }
    async fn call_tool_watched(
        &self,
        _id: Uuid,
        _tool: &str,
        _args: serde_json::Value,
        _ctl: super::CallControl,
    ) -> Result<ToolCallResult> {
        // A tool call can change the world (write files, send mail, ...).
        Err(Refused("calling a tool"))
    }
    async fn read_stream(&self) -> Result<String> {
        self.0.read_stream().await
    }
    async fn logs(&self, id: Uuid, after: Option<u64>) -> Result<super::LogPage> {
        self.0.logs(id, after).await
    }
    async fn history(&self, id: Uuid, limit: usize) -> Result<Vec<super::history::CallRecord>> {
        self.0.history(id, limit).await
    }
    async fn history_call(&self, id: Uuid, call: i64) -> Result<super::history::CallRecord> {
        self.0.history_call(id, call).await
    }
    async fn probes(&self) -> Result<Vec<crate::domain::Probe>> {
        self.0.probes().await
    }
}
