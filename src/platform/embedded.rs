//! The in-process platform: store, event log tail, runtime host lock.
