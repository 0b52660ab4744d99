//! The facts a reader acts on, in words: which keys were offered and accepted, what the server
//! allows, what it offered when no algorithm matched. Facts are read only through [`fact`] and
//! [`fact_list`], so a change in how facts are stored touches these two functions alone.

use crate::facts::FactValue;
use crate::timeline::{Outcome, Phase};
use crate::verdict::SessionVerdict;

/// One fact as the report shows it: a label in words and one or more values.
pub struct Shown {
    pub label: String,
    pub values: Vec<String>,
}

/// A fact's value as text (a list joined as OpenSSH or a person writes it).
pub fn fact(v: &SessionVerdict, name: &str) -> Option<String> {
    let fact = crate::facts::definition(name)?.fact;
    v.facts
        .text(fact)
        .map(|text| text.into_owned())
        .filter(|s| !s.is_empty())
}

/// A fact that holds a list, item by item (a text fact is one item).
pub fn fact_list(v: &SessionVerdict, name: &str) -> Vec<String> {
    let Some(typed) = crate::facts::definition(name).map(|d| d.fact) else {
        return Vec::new();
    };
    match v.facts.get(typed) {
        Some(FactValue::List(items)) => items.clone(),
        Some(_) => fact(v, name).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Every fact, labelled in words (`--verbose`).
pub fn all(v: &SessionVerdict) -> Vec<Shown> {
    v.facts
        .iter()
        .filter_map(|(fact, _)| {
            let name = fact.name();
            let items = fact_list(v, name);
            // Keys and files (`path (TYPE fingerprint)`) one a line; names of algorithms,
            // methods or files in one wrapped line.
            let values = if items.iter().any(|item| item.contains(' ')) {
                items
            } else {
                vec![items.join(", ")]
            };
            (!values.first().is_none_or(String::is_empty)).then(|| Shown {
                label: label(name),
                values,
            })
        })
        .collect()
}

/// The facts that bear on where this connection failed.
pub fn relevant(v: &SessionVerdict) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut add = |name: &str, label: &str| {
        if let Some(value) = fact(v, name) {
            shown.push(one(label, &value));
        }
    };
    add("command_line", "You ran");
    if v.outcome == Outcome::Success {
        add("key_accepted", "Key accepted");
        return shown;
    }
    let failed = v.failed_phase.unwrap_or(Phase::Disconnect);
    if failed >= Phase::Banner {
        add("server_software", "Server software");
    }
    match failed {
        Phase::Config => {
            add("bad_config_option", "Unknown option");
            add("bad_permissions_file", "File with bad permissions");
        }
        Phase::Resolve => add("resolve_error", "Resolver's answer"),
        Phase::Connect | Phase::Banner => {
            add("proxy_command", "Proxy command");
            add("connect_error", "Connection error");
            add(
                "server_pre_banner_text",
                "What the server sent instead of SSH",
            );
        }
        Phase::Kex => shown.extend(kex(v)),
        Phase::Hostkey => {
            add("server_host_key", "Host key the server presented");
            add("known_hosts_entry", "Key on file for this host");
        }
        Phase::Auth => shown.extend(auth(v)),
        Phase::Channel | Phase::Session | Phase::Sftp | Phase::Transfer => {
            add("channel_open_failed", "Channel refused");
            add("subsystem", "Subsystem");
            add("exit_status", "Remote exit status");
            add("message_too_long_as_text", "Text the shell printed");
        }
        _ => {}
    }
    shown
}

fn one(label: &str, value: &str) -> Shown {
    Shown {
        label: label.to_string(),
        values: vec![value.to_string()],
    }
}

/// What each side offered when no algorithm matched, and what was agreed before that.
fn kex(v: &SessionVerdict) -> Vec<Shown> {
    let mut shown = Vec::new();
    let Some(kind) = fact(v, "no_matching") else {
        return shown;
    };
    let client_list = match kind.as_str() {
        "cipher" => "client_ciphers_ctos",
        "MAC" => "client_macs_ctos",
        "host key type" => "client_host_key_algorithms",
        _ => "client_kex_algorithms",
    };
    shown.push(one("No common", &kind));
    let mut list = |name: &str, label: &str| {
        let values = fact_list(v, name);
        if !values.is_empty() {
            shown.push(one(label, &values.join(", ")));
        }
    };
    list("server_offer", "The server offers");
    list(client_list, "Your ssh offers");
    for (name, label) in [
        ("kex_algorithm", "Key exchange agreed"),
        ("host_key_algorithm", "Host key type agreed"),
    ] {
        if let Some(value) = fact(v, name) {
            shown.push(one(label, &value));
        }
    }
    shown
}

/// Who logged in how, with which keys, and what the server would take.
fn auth(v: &SessionVerdict) -> Vec<Shown> {
    let mut shown = Vec::new();
    for (name, label) in [
        ("user", "User"),
        ("server_allows", "The server allows"),
        ("methods_tried", "Methods tried"),
        ("key_too_open", "Key file others can read"),
        ("key_load_error", "Key that could not be loaded"),
    ] {
        if let Some(value) = fact(v, name) {
            shown.push(one(label, &value.replace(',', ", ")));
        }
    }
    let accepted = fact(v, "key_accepted");
    let offered = fact_list(v, "keys_offered");
    if !offered.is_empty() {
        let label = if accepted.is_some() {
            "Keys offered"
        } else {
            "Keys offered (the server accepted none)"
        };
        let values = offered
            .iter()
            .map(|key| match &accepted {
                Some(a) if a == key => format!("{key}: accepted"),
                _ => key.clone(),
            })
            .collect();
        shown.push(Shown {
            label: label.to_string(),
            values,
        });
    } else if fact(v, "keys_missing").is_some() {
        shown.push(one("Keys offered", "none"));
    }
    let missing = fact_list(v, "keys_missing");
    if !missing.is_empty() {
        shown.push(one("Key files not found", &missing.join(", ")));
    }
    shown
}

/// A fact's name in words.
pub fn label(name: &str) -> String {
    let words = match name {
        "command_line" => "Command line",
        "server_allows" => "Methods the server allows",
        "keys_offered" => "Keys offered",
        "keys_missing" => "Key files not found",
        "keys_available" => "Key files looked for",
        "identity_files" => "Identity files",
        "key_accepted" => "Key accepted",
        "server_offer" => "What the server offers",
        "no_matching" => "No common",
        "client_version" => "Client version",
        "server_software" => "Server software",
        "local_version" => "Client banner",
        "server_host_key" => "Server host key",
        "host_key_status" => "Host key status",
        "known_hosts_entry" => "Key on file for this host",
        "exit_status" => "Remote exit status",
        _ => "",
    };
    if !words.is_empty() {
        return words.to_string();
    }
    let spaced = name
        .replace("_ctos", " (client to server)")
        .replace("_stoc", " (server to client)")
        .replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
