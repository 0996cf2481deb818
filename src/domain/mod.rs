//! Pure types and rules: no I/O here.

pub mod catalog;
pub mod elicit;
pub mod event;
pub mod instance;
pub mod probe;
pub mod projection;
pub mod replay;
pub mod replica;
pub mod since;
pub mod spec;
pub mod status;
pub mod status_event;
pub mod text;

pub use event::{Attribution, Envelope, EventType};
pub use instance::{Instance, InstanceDocument, InstancePatch, NewInstance, Precondition};
pub use probe::Probe;
pub use spec::ProviderKind;
pub use status::{DesiredState, Status};
