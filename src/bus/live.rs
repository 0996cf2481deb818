//! One call for a console or `events --follow`: the stream watcher, plus
//! AgentArea's pub/sub listener when configured, feeding one sink.

use super::pubsub::{PubSubHandle, PubSubListener};
use super::{EventSink, RedisConfig, Start, WatchHandle, Watcher};

/// Running live sources; dropping this stops them.
pub struct Live {
    pub watcher: WatchHandle,
    pub pubsub: Option<PubSubHandle>,
}

impl Live {
    /// Watch `cfg.stream_key` from `start` (usually
    /// `Start::Backfill(cfg.backfill)`), and AgentArea's channels if
    /// `cfg.agentarea_pubsub`.
    pub fn start<S: EventSink + Clone>(cfg: &RedisConfig, start: Start, sink: S) -> Live {
        let pubsub = cfg
            .agentarea_pubsub
            .then(|| PubSubListener::spawn(cfg.clone(), sink.clone()));
        Live {
            watcher: Watcher::spawn(cfg.clone(), start, sink),
            pubsub,
        }
    }
}
