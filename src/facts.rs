//! The facts a timeline learns about a connection: one definition of each (its name, its kind and
//! what it means), and their typed values. The timeline sets them, rules match them, the verdict
//! and the reports print them; nothing else names a fact by a string of its own.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// What kind of value a fact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    Text,
    Number,
    /// Items in the order they were learned; as text (for rule patterns and `{placeholders}`)
    /// they are joined by `separator`, as OpenSSH or the user would write the list.
    List {
        separator: &'static str,
    },
}

/// One fact: its name in rules, placeholders and JSON, its kind, and what it means.
#[derive(Debug)]
pub struct FactDef {
    pub fact: Fact,
    pub name: &'static str,
    pub kind: FactKind,
    pub meaning: &'static str,
}

const TEXT: FactKind = FactKind::Text;
const NUMBER: FactKind = FactKind::Number;
/// A list a person reads (`a, b`).
const LIST: FactKind = FactKind::List { separator: ", " };
/// A list of algorithms or methods, written as OpenSSH options take it (`a,b`).
const NAMES: FactKind = FactKind::List { separator: "," };

/// Declares [`Fact`] and [`ALL`] from one table, so the two cannot disagree.
macro_rules! facts {
    ($($variant:ident $name:literal $kind:ident $meaning:literal,)*) => {
        /// A fact the timeline records (see [`ALL`] for what each means).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Fact { $($variant,)* }

        /// Every fact, ordered by name (the order of [`Fact`]).
        pub static ALL: &[FactDef] = &[
            $(FactDef { fact: Fact::$variant, name: $name, kind: $kind, meaning: $meaning },)*
        ];
    };
}

facts! {
    Address "address" TEXT "the IP address ssh connected to",
    AuthMethod "auth_method" TEXT "the method that authenticated the user",
    BadConfigOption "bad_config_option" TEXT "a configuration keyword ssh does not know, with its file and line",
    BadPermissionsFile "bad_permissions_file" TEXT "a configuration file ssh refused for its owner or mode",
    BytesReceived "bytes_received" NUMBER "bytes received over the connection",
    BytesSent "bytes_sent" NUMBER "bytes sent over the connection",
    ChannelOpenFailed "channel_open_failed" TEXT "why the server refused to open a channel",
    Channels "channels" LIST "the kinds of channel ssh opened",
    CipherClientToServer "cipher_client_to_server" TEXT "the cipher agreed for client-to-server data",
    CipherServerToClient "cipher_server_to_client" TEXT "the cipher agreed for server-to-client data",
    ClientCiphersCtos "client_ciphers_ctos" NAMES "the client's client-to-server ciphers",
    ClientCiphersStoc "client_ciphers_stoc" NAMES "the client's server-to-client ciphers",
    ClientCompressionCtos "client_compression_ctos" NAMES "the client's client-to-server compression methods",
    ClientCompressionStoc "client_compression_stoc" NAMES "the client's server-to-client compression methods",
    ClientHostKeyAlgorithms "client_host_key_algorithms" NAMES "the host key algorithms the client accepts",
    ClientKexAlgorithms "client_kex_algorithms" NAMES "the key exchange methods the client offers",
    ClientMacsCtos "client_macs_ctos" NAMES "the client's client-to-server MACs",
    ClientMacsStoc "client_macs_stoc" NAMES "the client's server-to-client MACs",
    ClientVersion "client_version" TEXT "the client's OpenSSH version",
    Command "command" TEXT "the remote command ssh sent",
    CommandLine "command_line" TEXT "the command line ssh was started with",
    CompressionClientToServer "compression_client_to_server" TEXT "the compression agreed for client-to-server data",
    CompressionServerToClient "compression_server_to_client" TEXT "the compression agreed for server-to-client data",
    ConfigFiles "config_files" LIST "the configuration files ssh read",
    ConnectError "connect_error" TEXT "why the TCP connection failed",
    CryptoLibrary "crypto_library" TEXT "the crypto library the client was built with",
    ExitStatus "exit_status" NUMBER "the exit status of the remote command or shell",
    Files "files" LIST "the files transferred (source -> destination)",
    Host "host" TEXT "the host name ssh connected to",
    HostKeyAlgorithm "host_key_algorithm" TEXT "the host key algorithm agreed",
    HostKeyStatus "host_key_status" TEXT "what known_hosts said of the server's host key",
    IdentityFileGiven "identity_file_given" TEXT "the key file given with -i on the command line typed",
    IdentityFiles "identity_files" LIST "the identity files ssh looked for, present or missing",
    KexAlgorithm "kex_algorithm" TEXT "the key exchange method agreed",
    KeyAccepted "key_accepted" TEXT "the key the server accepted",
    KeyFile "key_file" TEXT "a private key file ssh could not use",
    KeyLoadError "key_load_error" TEXT "why ssh could not load a private key",
    KeyTooOpen "key_too_open" TEXT "a private key file others can read, with its mode",
    KeysAvailable "keys_available" LIST "the keys ssh will try",
    KeysMissing "keys_missing" LIST "identity files ssh was told to use that do not exist",
    KeysOffered "keys_offered" LIST "the keys ssh offered the server",
    KnownHostsEntry "known_hosts_entry" TEXT "the known_hosts file and line of the conflicting key",
    LocalVersion "local_version" TEXT "the client's version string",
    MacClientToServer "mac_client_to_server" TEXT "the MAC agreed for client-to-server data",
    MacServerToClient "mac_server_to_client" TEXT "the MAC agreed for server-to-client data",
    MessageTooLong "message_too_long" NUMBER "the packet length sftp refused",
    MessageTooLongAsText "message_too_long_as_text" TEXT "that length read as text: what the remote shell printed",
    MethodsTried "methods_tried" LIST "the authentication methods ssh tried",
    NoMatching "no_matching" TEXT "what client and server found no common algorithm for",
    Port "port" NUMBER "the TCP port ssh connected to",
    PostQuantum "post_quantum" TEXT "whether the key exchange resists quantum computers",
    ProxyCommand "proxy_command" TEXT "the proxy command ssh ran",
    ProxyJump "proxy_jump" TEXT "the proxy command ssh made from ProxyJump",
    ReadError "read_error" TEXT "why sftp could not read a packet",
    RequestFailed "request_failed" TEXT "the channel request the server refused",
    ResolveError "resolve_error" TEXT "why the host name did not resolve",
    ScpError "scp_error" TEXT "the error scp printed",
    ScpRemoteCommand "scp_remote_command" TEXT "the command scp ran on the server",
    ServerAllows "server_allows" NAMES "the authentication methods the server allows",
    ServerCiphersCtos "server_ciphers_ctos" NAMES "the server's client-to-server ciphers",
    ServerCiphersStoc "server_ciphers_stoc" NAMES "the server's server-to-client ciphers",
    ServerCompressionCtos "server_compression_ctos" NAMES "the server's client-to-server compression methods",
    ServerCompressionStoc "server_compression_stoc" NAMES "the server's server-to-client compression methods",
    ServerDisconnect "server_disconnect" TEXT "the server's disconnect code and reason",
    ServerHostKey "server_host_key" TEXT "the server's host key type and fingerprint",
    ServerHostKeyAlgorithms "server_host_key_algorithms" NAMES "the host key algorithms the server offers",
    ServerKexAlgorithms "server_kex_algorithms" NAMES "the key exchange methods the server offers",
    ServerMacsCtos "server_macs_ctos" NAMES "the server's client-to-server MACs",
    ServerMacsStoc "server_macs_stoc" NAMES "the server's server-to-client MACs",
    ServerOffer "server_offer" NAMES "what the server offered where nothing matched",
    ServerPreBannerText "server_pre_banner_text" LIST "text the server sent before its version",
    ServerSoftware "server_software" TEXT "the server's software version",
    SftpCommands "sftp_commands" LIST "the commands typed at the sftp prompt",
    SftpVersion "sftp_version" NUMBER "the SFTP protocol version the server speaks",
    Subsystem "subsystem" TEXT "the subsystem ssh requested",
    User "user" TEXT "the user ssh authenticated as",
    WaitingForUser "waiting_for_user" TEXT "the question ssh was asking on the terminal when the log stops",
}

impl Fact {
    pub fn definition(self) -> &'static FactDef {
        &ALL[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.definition().name
    }
}

/// The definition of the fact called `name`, if there is one.
pub fn definition(name: &str) -> Option<&'static FactDef> {
    ALL.iter().find(|d| d.name == name)
}

impl Serialize for Fact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The value of one fact. JSON shows it as a string, a number or an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FactValue {
    Text(String),
    Number(i64),
    List(Vec<String>),
}

impl From<String> for FactValue {
    fn from(text: String) -> Self {
        FactValue::Text(text)
    }
}

impl From<&str> for FactValue {
    fn from(text: &str) -> Self {
        FactValue::Text(text.to_owned())
    }
}

impl From<&String> for FactValue {
    fn from(text: &String) -> Self {
        FactValue::Text(text.clone())
    }
}

macro_rules! number_values {
    ($($t:ty),*) => {$(
        impl From<$t> for FactValue {
            fn from(n: $t) -> Self {
                FactValue::Number(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
number_values!(u16, u32, u64, i32);

/// Longest list kept: past it, the list ends with [`MORE`].
const MAX_LIST_ITEMS: usize = 20;
/// The last item of a list that had more items than are kept.
pub const MORE: &str = "…";

/// Facts by name; a later value of a fact replaces the earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts(BTreeMap<Fact, FactValue>);

impl Facts {
    pub fn get(&self, fact: Fact) -> Option<&FactValue> {
        self.0.get(&fact)
    }

    /// The fact as text: what rule patterns match and `{placeholders}` show.
    pub fn text(&self, fact: Fact) -> Option<Cow<'_, str>> {
        Some(match self.0.get(&fact)? {
            FactValue::Text(text) => Cow::Borrowed(text.as_str()),
            FactValue::Number(n) => Cow::Owned(n.to_string()),
            FactValue::List(items) => Cow::Owned(items.join(separator(fact))),
        })
    }

    pub fn contains(&self, fact: Fact) -> bool {
        self.0.contains_key(&fact)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Fact, &FactValue)> {
        self.0.iter().map(|(f, v)| (*f, v))
    }

    /// Every string in every value, for redaction to rewrite.
    pub fn strings_mut(&mut self) -> impl Iterator<Item = &mut String> {
        self.0.values_mut().flat_map(|value| match value {
            FactValue::Text(text) => std::slice::from_mut(text).iter_mut(),
            FactValue::List(items) => items.iter_mut(),
            FactValue::Number(_) => [].iter_mut(),
        })
    }

    /// Sets a text or number fact (a list is set with [`set_list`](Self::set_list)).
    pub fn set(&mut self, fact: Fact, value: impl Into<FactValue>) {
        let value = value.into();
        debug_assert!(
            matches!(
                (fact.definition().kind, &value),
                (FactKind::Text, FactValue::Text(_)) | (FactKind::Number, FactValue::Number(_))
            ),
            "{fact:?} set to {value:?}"
        );
        self.0.insert(fact, value);
    }

    /// Sets a list fact from text written with its separator (`a,b,c`).
    pub fn set_list<'a>(&mut self, fact: Fact, items: impl IntoIterator<Item = &'a str>) {
        debug_assert!(matches!(fact.definition().kind, FactKind::List { .. }));
        let items = items.into_iter().map(str::to_owned).collect();
        self.0.insert(fact, FactValue::List(items));
    }

    /// Adds `item` to a list fact, once, up to a bound.
    pub fn add_to_list(&mut self, fact: Fact, item: &str) {
        debug_assert!(matches!(fact.definition().kind, FactKind::List { .. }));
        let value = self
            .0
            .entry(fact)
            .or_insert_with(|| FactValue::List(Vec::new()));
        let FactValue::List(items) = value else {
            return;
        };
        if items.iter().any(|i| i == item) {
            return;
        }
        if items.len() >= MAX_LIST_ITEMS {
            if items.last().is_none_or(|last| last != MORE) {
                items.push(MORE.to_string());
            }
            return;
        }
        items.push(item.to_string());
    }

    /// Takes `item` out of a list fact (the fact goes when the list is empty).
    pub fn remove(&mut self, fact: Fact) {
        self.0.remove(&fact);
    }

    pub fn remove_from_list(&mut self, fact: Fact, item: &str) {
        if let Some(FactValue::List(items)) = self.0.get_mut(&fact) {
            items.retain(|i| i != item);
            if items.is_empty() {
                self.0.remove(&fact);
            }
        }
    }

    /// Adds every fact of `other`, replacing those this one has.
    pub fn extend(&mut self, other: &Facts) {
        self.0.extend(other.0.iter().map(|(f, v)| (*f, v.clone())));
    }
}

fn separator(fact: Fact) -> &'static str {
    match fact.definition().kind {
        FactKind::List { separator } => separator,
        FactKind::Text | FactKind::Number => ", ",
    }
}

impl Serialize for Facts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (fact, value) in &self.0 {
            map.serialize_entry(fact.name(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_is_defined_once_in_name_order() {
        for (i, def) in ALL.iter().enumerate() {
            assert_eq!(def.fact as usize, i, "{}", def.name);
            assert_eq!(definition(def.name).map(|d| d.fact), Some(def.fact));
            assert!(!def.meaning.is_empty());
        }
        assert!(ALL.windows(2).all(|w| w[0].name < w[1].name));
        assert!(definition("server_typo").is_none());
    }

    #[test]
    fn lists_are_bounded_and_read_as_text_with_their_separator() {
        let mut facts = Facts::default();
        for i in 0..MAX_LIST_ITEMS + 5 {
            facts.add_to_list(Fact::KeysOffered, &format!("k{i}"));
        }
        facts.add_to_list(Fact::KeysOffered, "k0");
        let Some(FactValue::List(items)) = facts.get(Fact::KeysOffered) else {
            panic!("a list");
        };
        assert_eq!(items.len(), MAX_LIST_ITEMS + 1);
        assert_eq!(items.last().map(String::as_str), Some(MORE));
        facts.set_list(Fact::ServerOffer, "a,b".split(','));
        assert_eq!(facts.text(Fact::ServerOffer).as_deref(), Some("a,b"));
        facts.set(Fact::Port, 22u16);
        assert_eq!(facts.text(Fact::Port).as_deref(), Some("22"));
        let json = serde_json::to_string(&facts).expect("json");
        assert!(json.contains(r#""port":22"#), "{json}");
        assert!(json.contains(r#""server_offer":["a","b"]"#), "{json}");
    }
}
