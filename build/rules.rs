//! The built-in rule set: every `rules/<id>/rule.yaml`, embedded with a copy of itself as a
//! static tree (`src/rules/tree.rs`'s `Node`).
//!
//! The texts go through the same loader as the user's rules at run time; the tree only spares
//! that loader the parsing: YAML costs ten times more than the rest of start-up, and even JSON
//! cost as much as reading a short transcript.

use std::fmt::Write as _;
use std::path::Path;

/// Rust code for `BUILTIN_RULES`: `(id, path shown in errors, rule.yaml text, the same document
/// as a tree)`.
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
        "/// `(id, path shown in errors, rule.yaml text, the same document as a tree)` of every \
         built-in rule, in id order.\n",
    );
    code.push_str("static BUILTIN_RULES: &[(&str, &str, &str, Option<&Node>)] = &[\n");
    for id in &ids {
        let path = rules.join(id).join("rule.yaml");
        println!("cargo:rerun-if-changed={}", path.display());
        let tree = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| yaml_as_tree(&t))
            .map_or("None".to_string(), |tree| format!("Some(&{tree})"));
        let shown = format!("<built-in>/rules/{id}/rule.yaml");
        let _ = writeln!(
            code,
            "    ({id:?}, {shown:?}, include_str!({:?}), {tree}),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    code
}

/// A rule file as the Rust expression of its `Node` tree, when it converts one to one. A file
/// that does not (bad YAML, tags, keys that are not strings, numbers out of range) gets no tree:
/// the loader then reads its YAML and reports its errors with their places, exactly as for a
/// user's rule.
fn yaml_as_tree(yaml: &str) -> Option<String> {
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).ok()?;
    node(&value)
}

fn node(value: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value;
    Some(match value {
        Value::Null => "Node::Null".to_string(),
        Value::Bool(b) => format!("Node::Bool({b})"),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => format!("Node::Int({i})"),
            (None, Some(f)) if f.is_finite() && n.is_f64() => format!("Node::Float({f:?})"),
            _ => return None,
        },
        Value::String(s) => format!("Node::Str({s:?})"),
        Value::Sequence(items) => {
            let items: Option<Vec<String>> = items.iter().map(node).collect();
            format!("Node::Seq(&[{}])", items?.join(", "))
        }
        Value::Mapping(map) => {
            let entries: Option<Vec<String>> = map
                .iter()
                .map(|(k, v)| Some(format!("({:?}, {})", k.as_str()?, node(v)?)))
                .collect();
            format!("Node::Map(&[{}])", entries?.join(", "))
        }
        Value::Tagged(_) => return None,
    })
}
