//! Logs go to a file in the data dir (`logs/aacon.log.YYYY-MM-DD`), never
//! onto the terminal the console draws on.

use crate::paths::DataDir;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Start file logging; keep the guard alive for the life of the process.
/// `filter` is a `RUST_LOG`-style directive (e.g. `info,aacon=debug`).
pub fn init(dir: &DataDir, filter: &str) -> Result<WorkerGuard, String> {
    let logs = dir.logs();
    std::fs::create_dir_all(&logs)
        .map_err(|e| format!("cannot create the log dir {}: {e}", logs.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("aacon.log")
        .max_log_files(7)
        .build(&logs)
        .map_err(|e| format!("cannot open a log file in {}: {e}", logs.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    Ok(guard)
}
