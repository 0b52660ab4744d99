//! Helpers shared by the integration tests: finding the recorded transcripts.

use std::path::{Path, PathBuf};

/// The folders that hold client transcripts: real recordings under rules/, synthetic ones under
/// tests/fixtures/synthetic/.
pub fn transcript_dirs() -> [PathBuf; 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("rules"), root.join("tests/fixtures/synthetic")]
}

/// Client transcripts under `dir`, sorted (not the sshd logs recorded beside them).
pub fn transcripts(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".log") && !name.ends_with(".sshd.log") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every client transcript the project has.
pub fn all_transcripts() -> Vec<PathBuf> {
    transcript_dirs()
        .iter()
        .flat_map(|d| transcripts(d))
        .collect()
}
