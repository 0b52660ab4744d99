//! Build script: embeds the built-in rules and turns `grammar/openssh.pest` and
//! `grammar/sshd.pest` into their line parsers with the tables their fast paths need.
//!
//! Everything here is derived from the two sources of truth, `rules/` and the grammar; nothing
//! about OpenSSH's messages is written in this script.

mod commit;
mod grammar;
mod prefix;
mod rules;

use std::path::Path;

fn main() {
    // Read at run time, not compile time: a build script shared by two checkouts (one target
    // directory) must embed the files of the checkout being built.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).to_path_buf();
    let write = |name: &str, code: String| {
        std::fs::write(out.join(name), code).unwrap_or_else(|e| panic!("write {name}: {e}"))
    };
    commit::emit(root);
    write(
        "builtin_rules.rs",
        rules::builtin_rules(&root.join("rules")),
    );

    let path = root.join("grammar/openssh.pest");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("read grammar/openssh.pest");
    let grammar = grammar::Grammar::read(&text);
    write("grammar_parser.rs", grammar.parser());
    write("grammar_tables.rs", grammar.tables());
    write("grammar_events.rs", grammar.events());

    // sshd's own messages (`--server-log`): a plain parser, and the literals that let a line
    // that is no event skip it.
    let path = root.join("grammar/sshd.pest");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("read grammar/sshd.pest");
    let grammar = grammar::Grammar::read(&text);
    write("sshd_parser.rs", grammar.plain_parser("SshdGrammar"));
    write("sshd_events.rs", grammar.events() + &grammar.event_groups());
    write("sshd_tables.rs", grammar.anchor_literals());
}
