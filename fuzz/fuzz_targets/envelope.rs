//! Event envelope decoders: our own JSON envelope and both AgentArea shapes
//! (FastStream JSON and the binary header framing).
#![no_main]
use aacon::bus::{agentarea, pubsub};
use aacon::domain::event::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = serde_json::from_slice::<Envelope>(data) {
        let _ = env.kind();
        let _ = env.instance_id();
        let _ = env.status();
        let _ = env.to_json();
    }
    let _ = agentarea::decode(data);
    let _ = agentarea::binary_headers(data);
    let _ = agentarea::raw_text(data, 200);
    let _ = pubsub::to_event(data, "fuzz");
});
