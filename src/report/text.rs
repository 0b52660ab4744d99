//! Fitting text into the report's width: prose wrapped at spaces, shell commands continued with
//! `\` where a break cannot change their meaning, log lines clipped.

use textwrap::Options;

/// `text` wrapped to `width` columns, the first line after `first`, the others after `rest`.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    // Never at a hyphen: algorithm names, rule ids and options would be cut in two.
    let options = Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|line| line.into_owned())
        .collect()
}

/// Display columns of `text`.
pub fn columns(text: &str) -> usize {
    textwrap::core::display_width(text)
}

/// A shell command as lines of at most `width` columns after `prefix` (continuation lines after
/// as many spaces, two more): a long line is broken only at a space outside quotes, and ends with
/// ` \` so that it still pastes as one command. A word longer than the width stays whole.
pub fn wrap_command(command: &str, width: usize, prefix: &str) -> Vec<String> {
    let indent = " ".repeat(columns(prefix));
    let mut lines = Vec::new();
    // The lines after a here-document starts are its text, not commands: a `\` would end up
    // in the text.
    let mut here_document = false;
    for (i, line) in command.lines().enumerate() {
        let first = if i == 0 {
            prefix.to_string()
        } else {
            indent.clone()
        };
        if here_document {
            lines.push(first + line);
            continue;
        }
        here_document = line.contains("<<");
        let continued = format!("{indent}  ");
        let mut current = first;
        let mut empty = true;
        for word in shell_words(line) {
            let room = if empty {
                width
            } else {
                width.saturating_sub(2)
            };
            if !empty && columns(&current) + 1 + columns(word) > room {
                current.push_str(" \\");
                lines.push(std::mem::replace(&mut current, continued.clone()));
                empty = true;
            }
            if !empty {
                current.push(' ');
            }
            current.push_str(word);
            empty = false;
        }
        lines.push(current);
    }
    lines
}

/// The pieces of a shell command line between the spaces a line may be broken at: those outside
/// quotes, outside a placeholder in words (`<user name>`) and not escaped. A run of spaces is one
/// break.
fn shell_words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let (mut quote, mut escaped, mut start) = (None, false, None);
    for (i, c) in line.char_indices() {
        // `<` starts a placeholder when a letter follows (not `<<`, `< file` or `<(…)`).
        let placeholder = || line[i + 1..].starts_with(|n: char| n.is_ascii_alphabetic());
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some('\''), '\'') | (Some('"'), '"') | (Some('<'), '>') => quote = None,
            (Some('\'' | '<'), _) => {}
            (_, '\\') => escaped = true,
            (None, '\'' | '"') => quote = Some(c),
            (None, '<') if placeholder() => quote = Some(c),
            (None, ' ') => {
                if let Some(s) = start.take() {
                    words.push(&line[s..i]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        words.push(&line[s..]);
    }
    words
}

/// A line cut to `max` columns for display, marked with `…` if cut.
pub fn clip(text: &str, max: usize) -> String {
    if columns(text) <= max {
        return text.to_string();
    }
    let mut cut = String::with_capacity(max * 2);
    let mut used = 0;
    for c in text.chars() {
        let w = textwrap::core::display_width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > max {
            break;
        }
        used += w;
        cut.push(c);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_break_outside_quotes_only() {
        let command =
            "sudo journalctl -u ssh --since '-10 min' | grep -E 'Failed publickey|refused'";
        let lines = wrap_command(command, 40, "  $ ");
        assert!(lines.iter().all(|l| columns(l) <= 40), "{lines:#?}");
        assert_eq!(
            lines
                .join("\n")
                .replace(" \\\n", " ")
                .split_whitespace()
                .collect::<Vec<_>>(),
            format!("$ {command}")
                .split_whitespace()
                .collect::<Vec<_>>()
        );
        assert!(lines
            .iter()
            .any(|l| l.contains("'Failed publickey|refused'")));
        assert_eq!(wrap_command("a\nb", 80, "$ "), ["$ a", "  b"]);
        let placeholder = wrap_command("ssh -p 22 <user name>@host", 20, "$ ");
        assert_eq!(placeholder, ["$ ssh -p 22 \\", "    <user name>@host"]);
        let here = wrap_command("cat <<'X'\naaaa bbbb cccc\nX", 10, "$ ");
        assert_eq!(here, ["$ cat \\", "    <<'X'", "  aaaa bbbb cccc", "  X"]);
    }

    #[test]
    fn clipping_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
