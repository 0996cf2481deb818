//! Contexts for the console: the list `:ctx` shows and the connector that
//! builds a context's platform when the operator switches to it.

use super::Global;
use crate::platform::Platform;
use crate::platform::api::{ApiOptions, ApiPlatform};
use crate::tui::app::ContextError;
use std::sync::Arc;

/// Give the console the config's contexts and a way to connect to them.
pub(super) fn add_contexts(global: &Global, opts: &mut crate::tui::ConsoleOptions) {
    let env = |k: &str| std::env::var(k).ok();
    if let Ok(Some(file)) = crate::config::load_from(global.config.as_deref(), &env) {
        opts.contexts = file.context_summaries();
    }
    opts.context = global.context.clone();
    let global = global.clone();
    opts.connector = Some(crate::tui::run::Connector(Arc::new(move |name: String| {
        let mut g = global.clone();
        Box::pin(async move { connect(&mut g, name).await })
    })));
}

/// The config file's contexts, for shell completion of `--context`.
pub(super) fn context_names() -> Vec<clap_complete::CompletionCandidate> {
    let env = |k: &str| std::env::var(k).ok();
    match crate::config::load_from(None, &env) {
        Ok(Some(file)) => file
            .context_summaries()
            .into_iter()
            .map(|c| clap_complete::CompletionCandidate::new(c.name).help(Some(c.target.into())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Build context `name`'s platform and check that it answers (a switch to
/// a platform that does not answer keeps the current one).
async fn connect(g: &mut Global, name: String) -> Result<Arc<dyn Platform>, ContextError> {
    // The context says which platform: flags given at start for another
    // one do not apply.
    g.context = Some(name.clone());
    g.api = None;
    g.workspace = None;
    g.redis = None;
    // Another context: resolve its settings afresh.
    g.settings = None;
    let settings = super::serve_cmd::resolve_settings(g)?;
    let mut api = ApiOptions::from_settings(&settings)?.ok_or(ContextError::NoApiUrl(name))?;
    // The console records what it observes of this remote too.
    if let Ok(dir) = crate::paths::data_dir(g.data_dir.as_deref()) {
        api.recording = Some(crate::platform::api::RecordOptions::new(
            &dir,
            &api,
            settings.record,
            settings.record_max_days,
            settings.record_max_mb,
        )?);
    }
    let p = ApiPlatform::new(api)?;
    p.list().await?;
    Ok(Arc::new(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[tokio::test]
    async fn a_context_that_cannot_be_reached_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, "[contexts.lab]\nworkspace = \"w\"\n").unwrap();
        let cli = super::super::Cli::parse_from(["aacon", "--config", cfg.to_str().unwrap()]);
        let mut g = cli.global;
        let e = connect(&mut g, "lab".into()).await.err().unwrap();
        assert!(matches!(e, ContextError::NoApiUrl(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "context 'lab' names no api_url; add one to [contexts.lab]"
        );
        let e = connect(&mut g, "nowhere".into()).await.err().unwrap();
        assert!(matches!(e, ContextError::Config(_)), "{e}");
        assert!(
            e.to_string().contains("there is no context 'nowhere'"),
            "{e}"
        );
    }
}
