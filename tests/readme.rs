//! README.md stays true: its example output is what the tool prints for the bundled example, and
//! its test command is what CI runs.

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn the_example_output_is_the_real_output() {
    let readme = readme();
    let after = readme
        .split("## What it prints")
        .nth(1)
        .expect("a 'What it prints' section");
    let block = after
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a text block");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .arg("rules/auth-key-rejected/fixtures/ssh-vvv.log")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let actual = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        block,
        actual.trim_end_matches('\n'),
        "README's example output is stale: paste the new output"
    );
}

#[test]
fn the_test_command_is_what_ci_runs() {
    let readme = readme();
    assert!(
        readme.contains("\nbash .ci/run\n"),
        "README gives `bash .ci/run` as the test command"
    );
    assert!(readme.contains("cargo run --release -- rules/auth-key-rejected/fixtures/ssh-vvv.log"));
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == "cargo test --locked"),
        ".ci/run runs the README's `cargo test --locked`"
    );
}
