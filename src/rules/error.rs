//! Problems in rule files, each placed at the key or value it is about, from the YAML's own
//! positions (a value written twice in a file is found where the error is, not where it is first).

use std::fmt;
use std::path::{Path, PathBuf};

use marked_yaml::{Node, Span};

use super::RuleSource;

/// One step of the way from the top of a rule file to a key or value.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// What an error points at: the value at the end of the way, or the key it is written under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Value,
    Key,
}

/// One problem in one rule file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RuleError {
    pub(super) fn at_file(path: &Path, message: String) -> Self {
        RuleError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message,
        }
    }

    /// An error about what is at `way` in the source's YAML, placed where it is written (or, if
    /// it is not there, where the nearest key on the way to it is).
    pub(super) fn at(source: &RuleSource, way: &[Seg], target: Target, message: String) -> Self {
        let root = marked_yaml::parse_yaml(0, &source.text).ok();
        let (line, column) = (0..=way.len())
            .rev()
            .find_map(|n| {
                let target = if n == way.len() { target } else { Target::Key };
                locate(root.as_ref()?, &way[..n], target)
            })
            .unwrap_or((1, 1));
        RuleError {
            path: source.path.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column of what is at `way` under `root`.
fn locate(root: &Node, way: &[Seg], target: Target) -> Option<(usize, usize)> {
    let (last, parents) = way.split_last()?;
    let mut node = root;
    for &seg in parents {
        node = child(node, seg)?;
    }
    match (*last, target) {
        (Seg::Key(name), Target::Key) => {
            let (key, _) = node.as_mapping()?.iter().find(|(k, _)| &***k == name)?;
            start(key.span())
        }
        (seg, _) => start(child(node, seg)?.span()),
    }
}

fn child<'n>(node: &'n Node, seg: Seg<'_>) -> Option<&'n Node> {
    match seg {
        Seg::Key(key) => node.as_mapping()?.get_node(key),
        Seg::Index(i) => node.as_sequence()?.get_node(i),
    }
}

fn start(span: &Span) -> Option<(usize, usize)> {
    span.start().map(|m| (m.line(), m.column()))
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Every problem found in a rule set: a rule set loads whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
