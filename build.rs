//! Build script: embeds every `rules/<id>/rule.yaml` into the binary as the default rule set.
//! The embedded texts go through the same loader as the user's rules at run time.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut ids: Vec<String> = std::fs::read_dir(&rules)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.path().join("rule.yaml").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let mut code =
        String::from("/// `(id, rule.yaml text)` of every built-in rule, in id order.\n");
    code.push_str("static BUILTIN_RULES: &[(&str, &str)] = &[\n");
    for id in &ids {
        let path = rules.join(id).join("rule.yaml");
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            code,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_rules.rs");
    std::fs::write(out, code).expect("write builtin_rules.rs");
}
