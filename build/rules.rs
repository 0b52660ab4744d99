//! The built-in rule set: every `rules/<id>/rule.yaml`, embedded with a JSON copy of itself.
//!
//! The texts go through the same loader as the user's rules at run time; the JSON copy only
//! spares that loader the YAML parser, which costs ten times more than the rest of start-up.

use std::fmt::Write as _;
use std::path::Path;

/// Rust code for `BUILTIN_RULES`: `(id, rule.yaml text, the same document as JSON)`.
pub fn builtin_rules(rules: &Path) -> String {
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut ids: Vec<String> = std::fs::read_dir(rules)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.path().join("rule.yaml").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let mut code = String::from(
        "/// `(id, rule.yaml text, the same document as JSON)` of every built-in rule, in id order.\n",
    );
    code.push_str("static BUILTIN_RULES: &[(&str, &str, Option<&str>)] = &[\n");
    for id in &ids {
        let path = rules.join(id).join("rule.yaml");
        println!("cargo:rerun-if-changed={}", path.display());
        let json = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| yaml_as_json(&t));
        let _ = writeln!(
            code,
            "    ({id:?}, include_str!({:?}), {json:?}),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    code
}

/// A rule file as JSON, when it converts one to one. A file that does not (bad YAML, tags, keys
/// that are not strings) gets no copy: the loader then reads its YAML and reports its errors with
/// their places, exactly as for a user's rule.
fn yaml_as_json(yaml: &str) -> Option<String> {
    fn plain(value: &serde_yaml::Value) -> bool {
        match value {
            serde_yaml::Value::Tagged(_) => false,
            serde_yaml::Value::Sequence(items) => items.iter().all(plain),
            serde_yaml::Value::Mapping(map) => map
                .iter()
                .all(|(k, v)| matches!(k, serde_yaml::Value::String(_)) && plain(v)),
            _ => true,
        }
    }
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).ok()?;
    plain(&value).then(|| serde_json::to_string(&value).ok())?
}
