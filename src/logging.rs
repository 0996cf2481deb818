//! Logs go to a file in the data dir (`logs/aacon.log.YYYY-MM-DD`), never
//! onto the terminal the console draws on.

use crate::paths::DataDir;
use std::path::PathBuf;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Why file logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot create the log dir {}: {error}", path.display())]
    CreateDir { path: PathBuf, error: String },
    #[error("cannot open a log file in {}: {error}", path.display())]
    Open { path: PathBuf, error: String },
    #[error("cannot start logging: {0}")]
    Start(String),
}

/// Lines queued for the log file's writer thread before new ones are
/// dropped. The library's default (128,000) allocates and touches 4 MB up
/// front, a tenth of what a console at 10k instances holds; the writer
/// drains the queue as fast as the file takes lines.
const LOG_QUEUE_LINES: usize = 8_192;

/// Start file logging; keep the guard alive for the life of the process.
/// `filter` is a `RUST_LOG`-style directive (e.g. `info,aacon=debug`).
pub fn init(dir: &DataDir, filter: &str) -> Result<WorkerGuard, LogError> {
    let logs = dir.logs();
    std::fs::create_dir_all(&logs).map_err(|e| LogError::CreateDir {
        path: logs.clone(),
        error: e.to_string(),
    })?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("aacon.log")
        .max_log_files(7)
        .build(&logs)
        .map_err(|e| LogError::Open {
            path: logs.clone(),
            error: e.to_string(),
        })?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(appender);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // rmcp's service logs whole messages at debug level, and an answer to
    // a server's elicitation may hold a secret: never below info there.
    let filter = match "rmcp::service=info".parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| LogError::Start(e.to_string()))?;
    Ok(guard)
}
