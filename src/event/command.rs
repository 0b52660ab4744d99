//! A command typed at a shell prompt in a pasted terminal session, read into what it says about
//! the connection: who to, which port, through which proxy.

use crate::timeline::Program;

/// What a typed command line says about the connection it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedCommand {
    /// The line as typed, from the program on.
    pub command: String,
    /// sftp or scp, when the command runs one of them (by name or by path).
    pub program: Option<Program>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub identity: Option<String>,
    /// `-o ProxyCommand=…`, `-J`/`ProxyJump` given as the jump host.
    pub proxy: Option<String>,
}

/// Options of ssh, scp and sftp that take a value: the word after them is not the destination.
const WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";

impl TypedCommand {
    /// Reads `command` (`ssh -vvv -p 2222 alice@host`, `git clone git@github.com:a/b.git`).
    pub fn read(command: &str) -> TypedCommand {
        let words = shell_words(command);
        let program = words.iter().position(|w| !w.contains('='));
        let program_name = program.map_or("", |at| words[at].as_str());
        let mut typed = TypedCommand {
            command: command.to_string(),
            program: match program_name.rsplit(['/', '\\']).next() {
                Some("sftp") => Some(Program::Sftp),
                Some("scp") => Some(Program::Scp),
                _ => None,
            },
            ..TypedCommand::default()
        };
        let mut args = words.iter().skip(program.map_or(words.len(), |at| at + 1));
        while let Some(word) = args.next() {
            let Some(option) = word.strip_prefix('-').filter(|o| !o.is_empty()) else {
                // ssh's and sftp's first word is the destination; other programs' is the one
                // naming a remote path.
                let first_is_it = matches!(program_name, "ssh" | "sftp");
                if typed.host.is_none() && (first_is_it || word.contains(':')) {
                    typed.destination(word, program_name == "ssh");
                }
                continue;
            };
            // Flags run together (`-vvvT`) up to one that takes a value, attached or next.
            let Some(at) = option.find(|c| WITH_VALUE.contains(c)) else {
                continue;
            };
            let value = match &option[at + 1..] {
                "" => args.next().cloned().unwrap_or_default(),
                attached => attached.to_string(),
            };
            typed.option(&option[at..=at], &value, program_name);
        }
        typed
    }

    fn option(&mut self, flag: &str, value: &str, program: &str) {
        let port_flag = if program == "ssh" { "p" } else { "P" };
        match flag {
            f if f == port_flag => self.port = Some(value.to_string()),
            "l" if program == "ssh" => self.user = Some(value.to_string()),
            "i" => self.identity = Some(value.to_string()),
            "J" => self.proxy = Some(value.to_string()),
            "o" => {
                let (key, value) = value.split_once(['=', ' ']).unwrap_or((value, ""));
                match key.to_ascii_lowercase().as_str() {
                    "proxycommand" | "proxyjump" => self.proxy = Some(value.to_string()),
                    "port" => self.port = Some(value.to_string()),
                    "user" => self.user = Some(value.to_string()),
                    "identityfile" => self.identity = Some(value.to_string()),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// `[user@]host`, `[user@]host:path` (scp, sftp, git, rsync), `ssh://[user@]host[:port]`.
    fn destination(&mut self, word: &str, ssh: bool) {
        let (word, uri) = match word.strip_prefix("ssh://") {
            Some(rest) => (rest.split('/').next().unwrap_or(rest), true),
            None => (word, false),
        };
        // scp's and sftp's `[user@]host:path`: the path may hold an `@` of its own.
        let (target, after) = match word.split_once(':') {
            Some((target, after)) if uri || !ssh => (target, Some(after)),
            _ => (word, None),
        };
        let (user, host) = match target.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, target),
        };
        if host.is_empty() {
            return;
        }
        self.user = self.user.take().or(user.map(str::to_string));
        self.host = Some(host.to_string());
        if let Some(port) = after.filter(|a| uri && !a.is_empty()) {
            self.port = self.port.take().or(Some(port.to_string()));
        }
    }
}

/// The words of a command line as a POSIX shell splits them: quotes keep spaces in a word.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, ' ' | '\t') => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_command_says_who_to_and_how() {
        let t = TypedCommand::read("ssh -vvv -p 2222 -i ~/.ssh/id_ed25519 alice@host uptime");
        assert_eq!(t.user.as_deref(), Some("alice"));
        assert_eq!(t.host.as_deref(), Some("host"));
        assert_eq!(t.port.as_deref(), Some("2222"));
        assert_eq!(t.identity.as_deref(), Some("~/.ssh/id_ed25519"));
        let t =
            TypedCommand::read("ssh -o ProxyCommand='nc --proxy localhost:9050 %h %p' pi@x.onion");
        assert_eq!(t.proxy.as_deref(), Some("nc --proxy localhost:9050 %h %p"));
        assert_eq!(t.host.as_deref(), Some("x.onion"));
        let t = TypedCommand::read("scp -P 22222 ./README.md me@10.0.0.1:/tmp/");
        assert_eq!(
            (t.user.as_deref(), t.host.as_deref()),
            (Some("me"), Some("10.0.0.1"))
        );
        assert_eq!(t.port.as_deref(), Some("22222"));
        let t = TypedCommand::read("GIT_SSH_COMMAND=\"ssh -vvv\" git clone git@github.com:a/b.git");
        assert_eq!(
            (t.user.as_deref(), t.host.as_deref()),
            (Some("git"), Some("github.com"))
        );
        let t = TypedCommand::read("ssh -vvvT -lroot ssh://h.example:2200");
        assert_eq!(t.user.as_deref(), Some("root"));
        assert_eq!(
            (t.host.as_deref(), t.port.as_deref()),
            (Some("h.example"), Some("2200"))
        );
        assert_eq!(TypedCommand::read("ssh -V").host, None);
    }
}
