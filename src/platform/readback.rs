//! Read back what a mutation applied: the platform's answer is compared with
//! what was asked, field by field, so aacon never reports a change that did
//! not happen (AgentArea answers 200 with the stored instance even when it
//! ignored `server_spec_id` or a `null`).

use super::{BackendProfile, Platform, PlatformError, Result};
use crate::domain::{Instance, InstancePatch, NewInstance, Precondition};
use uuid::Uuid;

/// The fields of `patch` that `got` does not carry as asked.
pub fn update_not_applied(patch: &InstancePatch, got: &Instance) -> Vec<&'static str> {
    // What the patch would still change on the answer is what was not applied.
    patch.changed_fields(got)
}

/// The fields of `new` that the created instance `got` does not carry.
pub fn create_not_applied(new: &NewInstance, got: &Instance) -> Vec<&'static str> {
    update_not_applied(
        &InstancePatch {
            name: Some(new.name.clone()),
            description: Some(new.description.clone()),
            server_spec_id: Some(new.server_spec_id.clone()),
            json_spec: Some(new.json_spec.clone()),
        },
        got,
    )
}

/// Why `field` was left as it was, as far as the profile knows.
fn reason(field: &str, asked_null: bool, profile: &BackendProfile) -> String {
    let who = profile.platform_name();
    match field {
        "server_spec_id" if !profile.server_spec_id_mutable => {
            format!("server_spec_id ({who} never changes it after creation)")
        }
        "description" if asked_null && !profile.null_clears => format!(
            "description ({who} treats null as \"leave as is\"; set it to \"\" to empty it)"
        ),
        f if asked_null && !profile.null_clears => {
            format!("{f} ({who} treats null as \"leave as is\")")
        }
        f => format!("{f} ({who} kept its value)"),
    }
}

fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// One sentence naming each field not applied and what was.
pub fn sentence(
    name: &str,
    created: bool,
    not_applied: &[&str],
    applied: &[&str],
    asked_null: impl Fn(&str) -> bool,
    profile: &BackendProfile,
) -> String {
    let who = profile.platform_name();
    let reasons: Vec<String> = not_applied
        .iter()
        .map(|f| reason(f, asked_null(f), profile))
        .collect();
    let done: Vec<String> = applied
        .iter()
        .filter(|f| !not_applied.contains(f))
        .map(|f| f.to_string())
        .collect();
    let what = if created {
        format!("created instance '{}'", super::api::wire::one_line(name))
    } else {
        format!("updated instance '{}'", super::api::wire::one_line(name))
    };
    let rest = if done.is_empty() {
        "; nothing else changed".to_string()
    } else {
        format!("; {} applied", join(&done))
    };
    format!("{who} {what} but did not apply {}{rest}", join(&reasons))
}

/// Update, then compare the answer with the patch: `NotApplied` names
/// each field the platform left as it was.
pub async fn update(
    p: &dyn Platform,
    id: Uuid,
    patch: InstancePatch,
    expect: Option<Precondition>,
    before: Option<&Instance>,
) -> Result<Instance> {
    let got = p.update(id, patch.clone(), expect).await?;
    let missing = update_not_applied(&patch, &got);
    if missing.is_empty() {
        return Ok(got);
    }
    let profile = p.profile().await;
    let asked: Vec<&str> = match before {
        Some(b) => patch.changed_fields(b),
        None => missing.clone(),
    };
    let asked_null = |f: &str| match f {
        "description" => patch.description == Some(None),
        "server_spec_id" => patch.server_spec_id == Some(None),
        _ => false,
    };
    Err(PlatformError::NotApplied(sentence(
        &got.name, false, &missing, &asked, asked_null, &profile,
    )))
}

/// Create, then compare the answer with what was asked.
pub async fn create(p: &dyn Platform, new: NewInstance) -> Result<Instance> {
    let got = p.create(new.clone()).await?;
    let missing = create_not_applied(&new, &got);
    if missing.is_empty() {
        return Ok(got);
    }
    let profile = p.profile().await;
    Err(PlatformError::NotApplied(sentence(
        &got.name,
        true,
        &missing,
        &[],
        |_| false,
        &profile,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inst() -> Instance {
        let mut i =
            crate::platform::api::wire::test_instance("web", json!({"image": "x", "port": 80}));
        i.description = Some("d".into());
        i.server_spec_id = Some("s1".into());
        i
    }

    #[test]
    fn ignored_fields_are_named_with_the_reason() {
        let got = inst();
        let patch = InstancePatch {
            name: None,
            description: Some(None),
            server_spec_id: Some(Some("s2".into())),
            json_spec: Some(json!({"image": "x", "port": 80})),
        };
        let missing = update_not_applied(&patch, &got);
        assert_eq!(missing, vec!["description", "server_spec_id"]);
        let s = sentence(
            "web",
            false,
            &missing,
            &["description", "server_spec_id", "json_spec"],
            |f| f == "description",
            &BackendProfile::agentarea(),
        );
        assert_eq!(
            s,
            "AgentArea updated instance 'web' but did not apply description (AgentArea treats null as \"leave as is\"; set it to \"\" to empty it) and server_spec_id (AgentArea never changes it after creation); json_spec applied"
        );
        assert!(update_not_applied(&InstancePatch::default(), &got).is_empty());
    }
}
