//! A mistyped subcommand (`vvvexplain rulse list`) is told apart from a missing file.

use std::path::Path;

/// The subcommand a missing "file" was probably meant to be: `rulse` → `rules`. A name with a
/// `/` or a `.` is a path, never a mistyped subcommand.
pub fn subcommand_like(path: &Path) -> Option<&'static str> {
    let given = path.to_str()?;
    if given.contains(['/', '.', '\\']) {
        return None;
    }
    let names = ["rules", "ssh", "sftp", "scp", "completions", "man", "help"];
    names
        .into_iter()
        .map(|name| (edit_distance(given, name), name))
        .filter(|&(distance, name)| distance <= name.len() / 3 + 1 && distance < given.len())
        .min()
        .map(|(_, name)| name)
}

/// Levenshtein distance, counted in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_subcommands_paths_are_not() {
        assert_eq!(subcommand_like(Path::new("rulse")), Some("rules"));
        assert_eq!(subcommand_like(Path::new("shh")), Some("ssh"));
        assert_eq!(subcommand_like(Path::new("debug.log")), None);
        assert_eq!(subcommand_like(Path::new("logs/rules")), None);
        assert_eq!(subcommand_like(Path::new("transcript")), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
