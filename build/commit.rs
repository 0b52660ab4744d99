//! The commit the binary is built from, for `--version`: `unknown` when the source is not a git
//! checkout (a crate from crates.io, a tarball) or git is not installed.

use std::path::Path;
use std::process::Command;

/// Sets `VVV_BUILD_COMMIT` for the crate, and asks to be run again when HEAD moves.
pub fn emit(root: &Path) {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    // Only a checkout whose top is this crate: a crate unpacked inside some other repository
    // must not take that repository's commit.
    let top = git(&["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from);
    let ours = top.is_some_and(|t| t.canonicalize().ok() == root.canonicalize().ok());
    let commit = ours
        .then(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .flatten();
    if ours {
        // HEAD names the branch; the branch's ref file moves with every commit.
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        for name in std::iter::once("HEAD".to_string()).chain(branch) {
            if let Some(p) = git(&["rev-parse", "--git-path", &name]) {
                println!("cargo:rerun-if-changed={}", root.join(p).display());
            }
        }
    }
    let commit = commit.unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=VVV_BUILD_COMMIT={commit}");
}
