//! A three-way merge of two json_spec edits made from one base: when the
//! two sides changed different keys, both changes are kept; when they
//! touched the same key differently, there is no merge.

use serde_json::{Map, Value};

/// Merge `mine` and `theirs`, both edited from `base`. `None` when they
/// overlap (the same key changed on both sides to different values).
pub fn merge_json(base: &Value, mine: &Value, theirs: &Value) -> Option<Value> {
    merge_opt(Some(base), Some(mine), Some(theirs)).map(|v| v.unwrap_or(Value::Null))
}

/// `None`: they overlap. `Some(None)`: the key is gone on the merged side.
fn merge_opt(
    base: Option<&Value>,
    mine: Option<&Value>,
    theirs: Option<&Value>,
) -> Option<Option<Value>> {
    if mine == base {
        return Some(theirs.cloned());
    }
    if theirs == base || mine == theirs {
        return Some(mine.cloned());
    }
    // Both changed it, differently: only objects can still merge key by key.
    let (Some(Value::Object(b)), Some(Value::Object(m)), Some(Value::Object(t))) =
        (base, mine, theirs)
    else {
        return None;
    };
    let mut out = Map::new();
    // Keys in my order, then keys only theirs added (in their order).
    let keys = m
        .keys()
        .chain(t.keys().filter(|k| !m.contains_key(*k)))
        .chain(
            b.keys()
                .filter(|k| !m.contains_key(*k) && !t.contains_key(*k)),
        );
    for k in keys {
        if let Some(v) = merge_opt(b.get(k), m.get(k), t.get(k))? {
            out.insert(k.clone(), v);
        }
    }
    Some(Some(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn different_keys_merge_and_the_same_key_does_not() {
        let base = json!({"command": ["npx", "a"], "env_vars": {"A": "1"}, "cwd": "/srv"});
        let mine =
            json!({"command": ["npx", "a", "--verbose"], "env_vars": {"A": "1"}, "cwd": "/srv"});
        let theirs =
            json!({"command": ["npx", "a"], "env_vars": {"A": "1", "B": "2"}, "cwd": "/srv"});
        assert_eq!(
            merge_json(&base, &mine, &theirs),
            Some(
                json!({"command": ["npx", "a", "--verbose"], "env_vars": {"A": "1", "B": "2"}, "cwd": "/srv"})
            )
        );
        // Both changed command: no merge.
        let theirs2 = json!({"command": ["npx", "b"], "env_vars": {"A": "1"}, "cwd": "/srv"});
        assert_eq!(merge_json(&base, &mine, &theirs2), None);
        // The same change on both sides is no overlap.
        assert_eq!(merge_json(&base, &mine, &mine), Some(mine.clone()));
    }

    #[test]
    fn removals_and_additions_inside_objects() {
        let base = json!({"env_vars": {"A": "1", "B": "2"}});
        let mine = json!({"env_vars": {"B": "2"}});
        let theirs = json!({"env_vars": {"A": "1", "B": "2", "C": "3"}});
        assert_eq!(
            merge_json(&base, &mine, &theirs),
            Some(json!({"env_vars": {"B": "2", "C": "3"}}))
        );
        // I removed a key they changed: overlap.
        let theirs2 = json!({"env_vars": {"A": "9", "B": "2"}});
        assert_eq!(merge_json(&base, &mine, &theirs2), None);
        // Unchanged mine: theirs wins whole.
        assert_eq!(merge_json(&base, &base, &theirs), Some(theirs.clone()));
    }
}
