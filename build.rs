//! Build script: embeds every `rules/<id>/rule.yaml` into the binary as the default rule set, and
//! derives from `grammar/openssh.pest` the literals a line must contain to be any known event.
//! The embedded rule texts go through the same loader as the user's rules at run time; the
//! literals let the classifier skip the full parse of lines no event can match, so the grammar
//! stays the only place that says what a line means.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use pest_meta::ast::Expr;

fn main() {
    // Read at run time, not compile time: a build script shared by two checkouts (one target
    // directory) must embed the rules of the checkout being built.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).to_path_buf();
    std::fs::write(
        out.join("builtin_rules.rs"),
        builtin_rules(&root.join("rules")),
    )
    .expect("write builtin_rules.rs");
    let grammar = root.join("grammar/openssh.pest");
    println!("cargo:rerun-if-changed={}", grammar.display());
    let text = std::fs::read_to_string(&grammar).expect("read grammar/openssh.pest");
    std::fs::write(out.join("event_literals.rs"), event_literals(&text))
        .expect("write event_literals.rs");
}

fn builtin_rules(rules: &Path) -> String {
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
    code
}

/// For every alternative of the grammar's `event` rule, what a line must contain for it to
/// match: clauses that must all hold, each a set of literals one of which the line contains.
fn event_literals(grammar: &str) -> String {
    let pairs = pest_meta::parser::parse(pest_meta::parser::Rule::grammar_rules, grammar)
        .unwrap_or_else(|e| panic!("grammar/openssh.pest does not parse:\n{e}"));
    let rules = pest_meta::parser::consume_rules(pairs)
        .unwrap_or_else(|e| panic!("grammar/openssh.pest is invalid: {e:?}"));
    let by_name: HashMap<&str, &Expr> = rules.iter().map(|r| (r.name.as_str(), &r.expr)).collect();
    let event = by_name
        .get("event")
        .expect("the grammar has an `event` rule");
    let mut alternatives = Vec::new();
    flatten_choice(event, &by_name, &mut alternatives);
    let requirements: Vec<Vec<BTreeSet<String>>> = alternatives
        .iter()
        .map(|alt| required(alt, &by_name, 0))
        .collect();
    let mut code = String::from(
        "/// Literals from the grammar's events, and per event alternative the clauses a line must\n\
         /// satisfy (each: it contains one of these literals). `None` when some event needs no\n\
         /// literal at all (then every line gets the full parse).\n",
    );
    if requirements.iter().any(Vec::is_empty) {
        code.push_str("static EVENT_LITERALS: Option<EventLiterals> = None;\n");
        return code;
    }
    let literals: Vec<String> = requirements
        .iter()
        .flatten()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index = |l: &String| {
        literals
            .iter()
            .position(|x| x == l)
            .expect("collected above")
    };
    code.push_str("static EVENT_LITERALS: Option<EventLiterals> = Some((\n    &[\n");
    for literal in &literals {
        let _ = writeln!(code, "        {literal:?},");
    }
    code.push_str("    ],\n    &[\n");
    for clauses in &requirements {
        let clauses: Vec<String> = clauses
            .iter()
            .map(|c| {
                format!(
                    "&[{}]",
                    c.iter()
                        .map(|l| index(l).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        let _ = writeln!(code, "        &[{}],", clauses.join(", "));
    }
    code.push_str("    ],\n));\n");
    code
}

/// The alternatives of a choice, looking through rules that are themselves choices.
fn flatten_choice<'a>(expr: &'a Expr, rules: &HashMap<&str, &'a Expr>, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::Choice(a, b) => {
            flatten_choice(a, rules, out);
            flatten_choice(b, rules, out);
        }
        Expr::Ident(name) if matches!(rules.get(name.as_str()), Some(Expr::Choice(..))) => {
            flatten_choice(rules[name.as_str()], rules, out)
        }
        other => out.push(other),
    }
}

/// Clauses every match of `expr` satisfies: each clause is a set of literals, one of which the
/// matched text contains. Empty when nothing is required.
fn required(expr: &Expr, rules: &HashMap<&str, &Expr>, depth: usize) -> Vec<BTreeSet<String>> {
    if depth > 64 {
        return Vec::new();
    }
    let inner = |e: &Expr| required(e, rules, depth + 1);
    match expr {
        Expr::Str(s) if !s.is_empty() => vec![BTreeSet::from([s.clone()])],
        Expr::Ident(name) => rules
            .get(name.as_str())
            .map(|e| inner(e))
            .unwrap_or_default(),
        Expr::Seq(a, b) => {
            let mut clauses = inner(a);
            clauses.extend(inner(b));
            clauses
        }
        Expr::Choice(a, b) => {
            // (A1 and A2 …) or (B1 and B2 …) implies (Ai or Bj) for every pair.
            let (x, y) = (inner(a), inner(b));
            if x.len() * y.len() > 16 {
                return match (
                    x.iter().max_by_key(|c| shortest(c)),
                    y.iter().max_by_key(|c| shortest(c)),
                ) {
                    (Some(p), Some(q)) => vec![p.union(q).cloned().collect()],
                    _ => Vec::new(),
                };
            }
            x.iter()
                .flat_map(|p| y.iter().map(move |q| p.union(q).cloned().collect()))
                .collect()
        }
        Expr::PosPred(e) | Expr::RepOnce(e) | Expr::Push(e) => inner(e),
        Expr::RepExact(e, n) | Expr::RepMin(e, n) | Expr::RepMinMax(e, n, _) if *n > 0 => inner(e),
        _ => Vec::new(),
    }
}

/// The length of the shortest literal of a clause: the longer, the fewer lines it lets through.
fn shortest(clause: &BTreeSet<String>) -> usize {
    clause.iter().map(String::len).min().unwrap_or(0)
}
