//! The fold: what each typed event does to the connection it belongs to, one handler per phase
//! (or family of events), each setting typed facts and moving the connection on.

use crate::event::{
    AlgorithmList, ChannelRequestKind, Classified, Direction, Event, KeyInfo, Level, MessageStep,
    RoutineRun, RunLines, TypedCommand,
};
use crate::facts::Fact;
use crate::normalize::Line;

use super::lines::{keep_latest, LineRef};
use super::session::{Session, MAX_WARNINGS};
use super::vocab::{Expecting, Milestone, Phase, Program, UserQuestion};

use Event as E;
use Phase as P;

impl Session {
    /// Folds one classified line into this session; gives the line back (the session keeps
    /// copies of what it keeps), for the reader to reuse its buffers.
    pub(super) fn apply(&mut self, line: Line, said: &Classified) -> LineRef {
        let at = LineRef::from(line);
        let known = !said.event.is_other();
        // A command typed at a prompt is the user's line, not the client's output.
        let openssh =
            (known || said.level != Level::Plain) && !matches!(said.event, E::CommandTyped(_));
        self.count_lines(at.line, 1, said.level.verbosity(), u64::from(openssh));
        self.note_time(&at);
        // ssh logs nothing while it asks: any line of its own means the answer came (what a
        // paste adds after the log, a closing fence or the next prompt, does not).
        if openssh {
            self.answer_came(matches!(said.event, E::AskpassRequested));
        }
        if known {
            self.fold_event(said, &at);
        }
        let notable =
            (known && !matches!(said.event, E::SftpPacket { .. })) || said.level == Level::Plain;
        self.lines.push(&at, notable);
        at
    }

    /// [`apply`](Self::apply) of each line of a run of routine lines, in one step: they are
    /// counted and kept together, and the lines among them that tell the fold something (see
    /// [`RoutineRun::telling_lines`]) go through the same fold as any line.
    pub(super) fn apply_routine<'a>(&mut self, run: &RoutineRun, lines: &impl RunLines<'a>) {
        let count = run.count as u64;
        self.count_lines(run.last, count, run.verbosity, count);
        for (number, said) in run.telling_lines() {
            if let Some(text) = run.text_of(lines, number) {
                let mut at = LineRef::default();
                at.set_untimed(number, text);
                self.fold_event(&said, &at);
            }
        }
        self.lines.push_routine(run.count, lines);
        self.answer_came(false);
    }

    /// What a line the grammar typed does: the first of its kind is kept, it is the latest
    /// event, and its event moves the connection on.
    fn fold_event(&mut self, said: &Classified, at: &LineRef) {
        if let Some(kind) = said.kind {
            self.note_event_kind(kind, at);
        }
        keep_latest(&mut self.last_event, at);
        match &said.event {
            // Before 8.0 the server's pre-banner text is logged at debug1 under the same tag as
            // the final error (`debug1: ssh_exchange_identification: HTTP/1.1 400 …`).
            E::BannerExchangeFailed { detail } if said.level != Level::Plain => {
                self.banner_line(detail, at)
            }
            event => self.apply_event(event, at),
        }
    }

    /// What one event does to the connection, by the phase (or family) it belongs to.
    fn apply_event(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::ClientVersion { .. }
            | E::ReadingConfig { .. }
            | E::BadConfigOption { .. }
            | E::ConfigTerminating { .. }
            | E::BadConfigPermissions { .. }
            | E::StartedWith { .. }
            | E::CommandTyped(_)
            | E::ProxyJumpCommand { .. }
            | E::ProxyCommand { .. }
            | E::IdentityFile { .. }
            | E::PostQuantumWarning => self.on_config(event, at),
            E::BadStdioForward | E::ProxyProgramMissing => self.on_proxy_ended(at),
            E::ResolveFailed { .. }
            | E::Connecting { .. }
            | E::ConnectAttemptFailed { .. }
            | E::ConnectFailed { .. }
            | E::ConnectionEstablished => self.on_connect(event, at),
            E::LocalVersion { .. }
            | E::RemoteVersion { .. }
            | E::BannerLine { .. }
            | E::BannerTimeout
            | E::BannerExchangeFailed { .. } => self.on_banner(event, at),
            E::SshMessage { .. }
            | E::KexProposal { .. }
            | E::KexAlgorithms { .. }
            | E::KexChosen { .. }
            | E::KexNoMatch { .. }
            | E::KexCipher { .. }
            | E::KexExpecting { .. }
            | E::NoMatchingAlgorithm { .. } => self.on_kex(event, at),
            E::ServerHostKey { .. }
            | E::HostKeyKnown { .. }
            | E::HostKeyAdded { .. }
            | E::HostKeyChanged
            | E::HostKeyOffending { .. }
            | E::HostKeyStrictUnknown { .. }
            | E::HostKeyStrictChanged { .. }
            | E::HostKeyVerificationFailed
            | E::HostAuthenticityUnknown => self.on_hostkey(event, at),
            E::ChannelNew { .. }
            | E::ChannelOpenConfirmed { .. }
            | E::ChannelOpenFailed { .. }
            | E::StdioForwardFailed
            | E::ChannelRequest { .. }
            | E::EnteringSession
            | E::SendingEnvironment
            | E::SendingCommand { .. }
            | E::SendingSubsystem { .. }
            | E::ChannelFree { .. } => self.on_channel(event, at),
            E::ExitStatus { .. } | E::RemoteNologin | E::RemoteSftpOnly | E::GitHostGreeting => {
                self.on_session(event, at)
            }
            E::ScpExecuting { .. }
            | E::SftpConnecting { .. }
            | E::SftpRemoteVersion { .. }
            | E::SftpExtension { .. }
            | E::SftpMessageTooLong { .. }
            | E::SftpShellOutputHint
            | E::SftpReadPacketFailed { .. }
            | E::SftpConnectionClosed => self.on_sftp(event, at),
            E::SftpPrompt { .. }
            | E::SftpTransferStart { .. }
            | E::SftpPacket { .. }
            | E::ScpError { .. }
            | E::TransferDone => self.on_transfer(event, at),
            E::BytesPerSecond
            | E::Transferred { .. }
            | E::ConnectionClosed { .. }
            | E::ClosedByRemote { .. }
            | E::ServerNotResponding { .. }
            | E::ConnectionLost { .. }
            | E::BrokenPipe
            | E::SessionBrokenPipe
            | E::ReceivedDisconnect { .. }
            | E::DisconnectedFrom
            | E::KilledBySignal { .. } => self.on_disconnect(event, at),
            E::AuthenticatingAs { .. }
            | E::WillAttemptKey(..)
            | E::AuthMethods { .. }
            | E::NextAuthMethod { .. }
            | E::OfferingKey(..)
            | E::TryingPrivateKey { .. }
            | E::NoSuchIdentity { .. }
            | E::ServerAcceptsKey(..)
            | E::AuthRequestSent { .. }
            | E::Authenticated { .. } => self.on_auth(event, at),
            E::SigningWithKey
            | E::AskpassRequested
            | E::KbdIntPrompts { .. }
            | E::PasswordPrompt { .. } => self.on_user_question(event, at),
            E::PermissionDenied { .. }
            | E::PasswordRetry
            | E::NoMoreAuthMethods
            | E::NoMutualSignature
            | E::LoadKeyFailed { .. }
            | E::UnprotectedKey
            | E::KeyPermissionsTooOpen { .. }
            | E::TooManyAuthFailures
            | E::GssapiFailure
            | E::KerberosNoPrincipal { .. } => self.on_auth_trouble(event, at),
            // The server's own debug text, and lines no event knows, move nothing on. An agent
            // that cannot be reached or refuses to sign is typed for rules: the failure itself
            // is the "Permission denied" that follows. A corrupted packet is followed by the
            // line that ends the connection.
            // Windows' account line is followed by the "UNPROTECTED PRIVATE KEY FILE" or "Bad
            // owner or permissions" line that decides; it is typed for rules.
            E::RemoteDebug { .. }
            | E::WindowsBadPermissions { .. }
            | E::AgentUnreachable { .. }
            | E::SigningFailed { .. }
            | E::CorruptedPacket
            | E::Other => {}
        }
    }

    fn on_config(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::ClientVersion { software, library } => {
                self.touch(P::Config, at);
                self.client_version = Some(software.clone());
                let facts = self.facts_of(P::Config);
                facts.set(Fact::ClientVersion, software);
                if let Some(library) = library {
                    facts.set(Fact::CryptoLibrary, library);
                }
            }
            E::ReadingConfig { path } => {
                self.facts_of(P::Config)
                    .add_to_list(Fact::ConfigFiles, path);
                self.reach(Milestone::ConfigRead, at);
            }
            E::BadConfigOption { path, line, option } => {
                let what = format!("{option} ({path} line {line})");
                self.facts_of(P::Config).set(Fact::BadConfigOption, what);
                self.fail(Some(P::Config), at);
            }
            E::ConfigTerminating { .. } => self.fail(Some(P::Config), at),
            E::BadConfigPermissions { path } => {
                self.facts_of(P::Config).set(Fact::BadPermissionsFile, path);
                self.fail(Some(P::Config), at);
            }
            E::StartedWith { command, program } => {
                self.touch(P::Config, at);
                self.facts_of(P::Config).set(Fact::CommandLine, command);
                if let Some(program) = program {
                    self.note_program(*program);
                }
            }
            E::CommandTyped(typed) => self.typed_command(typed, at),
            E::ProxyJumpCommand { command } => {
                self.touch(P::Config, at);
                self.facts_of(P::Config).set(Fact::ProxyJump, command);
            }
            E::ProxyCommand {
                command,
                forwards_to,
            } => self.proxy_command(command, forwards_to.as_ref(), at),
            E::IdentityFile {
                path,
                key_type,
                certificate,
            } => {
                let found = if *key_type < 0 { "missing" } else { "present" };
                // A missing certificate is the rule, not news: ssh looks for one next to each key.
                if *key_type >= 0 || !certificate {
                    let item = format!("{path} ({found})");
                    self.facts_of(P::Auth)
                        .add_to_list(Fact::IdentityFiles, &item);
                }
            }
            E::PostQuantumWarning => {
                self.touch(P::Kex, at);
                let value = "no (the client warned)";
                self.facts_of(P::Kex).set(Fact::PostQuantum, value);
            }
            _ => {}
        }
    }

    /// A command typed at a prompt in a pasted shell session: what it says of the connection
    /// holds where the client's own lines say nothing (they are read after it, and win).
    fn typed_command(&mut self, typed: &TypedCommand, at: &LineRef) {
        self.touch(P::Config, at);
        self.facts_of(P::Config)
            .set(Fact::CommandLine, &typed.command);
        if let Some(program) = typed.program {
            self.note_program(program);
        }
        let said = [
            (P::Auth, Fact::User, &typed.user),
            (P::Resolve, Fact::Host, &typed.host),
            (P::Auth, Fact::IdentityFileGiven, &typed.identity),
            (P::Connect, Fact::ProxyCommand, &typed.proxy),
        ];
        for (phase, fact, value) in said {
            if let Some(value) = value.as_ref().filter(|_| !self.has_fact(fact)) {
                self.facts_of(phase).set(fact, value);
            }
        }
        let port = typed.port.as_deref().and_then(|p| p.parse::<u16>().ok());
        if let Some(port) = port.filter(|_| !self.has_fact(Fact::Port)) {
            self.facts_of(P::Connect).set(Fact::Port, port);
        }
    }

    /// The proxy's own program failed at once (its shell did not find it, or the ssh a ProxyJump
    /// runs refused its arguments): the connection went through a proxy, which has ended.
    /// Once the server answered, such a line is the remote shell's output, not the proxy's.
    fn on_proxy_ended(&mut self, at: &LineRef) {
        if self.frontier > P::Connect {
            return;
        }
        self.touch(P::Connect, at);
        self.has_proxy = true;
    }

    fn proxy_command(&mut self, command: &str, target: Option<&(String, u16)>, at: &LineRef) {
        self.touch(P::Connect, at);
        self.has_proxy = true;
        self.facts_of(P::Connect).set(Fact::ProxyCommand, command);
        // A ProxyJump names the target it forwards to.
        if let Some((host, port)) = target {
            if !self.has_fact(Fact::Host) {
                self.facts_of(P::Resolve).set(Fact::Host, host);
                self.facts_of(P::Connect).set(Fact::Port, *port);
            }
        }
    }

    fn on_connect(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::ResolveFailed { host, reason } => {
                let facts = self.facts_of(P::Resolve);
                facts.set(Fact::Host, host);
                facts.set(Fact::ResolveError, reason);
                self.fail(Some(P::Resolve), at);
            }
            E::Connecting {
                host,
                address,
                port,
            } => {
                let facts = self.facts_of(P::Resolve);
                facts.set(Fact::Host, host);
                facts.set(Fact::Address, address);
                self.facts_of(P::Connect).set(Fact::Port, *port);
                self.reach(Milestone::AddressResolved, at);
                self.touch(P::Connect, at);
            }
            E::ConnectAttemptFailed {
                address, reason, ..
            } => {
                self.touch(P::Connect, at);
                self.facts_of(P::Connect).set(Fact::ConnectError, reason);
                self.warn(at);
                if self.failed_attempts.len() < MAX_WARNINGS {
                    self.failed_attempts.push((address.clone(), at.clone()));
                }
            }
            E::ConnectFailed { host, port, reason } => {
                self.facts_of(P::Resolve).set(Fact::Host, host);
                let facts = self.facts_of(P::Connect);
                facts.set(Fact::Port, *port);
                facts.set(Fact::ConnectError, reason);
                self.fail(Some(P::Connect), at);
            }
            E::ConnectionEstablished => self.reach(Milestone::TcpConnected, at),
            _ => {}
        }
    }

    fn on_banner(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::LocalVersion { version } => {
                self.touch(P::Banner, at);
                self.facts_of(P::Banner).set(Fact::LocalVersion, version);
            }
            E::RemoteVersion { software, .. } => {
                self.facts_of(P::Banner).set(Fact::ServerSoftware, software);
                self.reach(Milestone::BannerReceived, at);
            }
            E::BannerLine { text } => self.banner_line(text, at),
            E::BannerTimeout | E::BannerExchangeFailed { .. } => self.fail(Some(P::Banner), at),
            _ => {}
        }
    }

    /// A line the server sent before its version string.
    fn banner_line(&mut self, text: &str, at: &LineRef) {
        self.touch(P::Banner, at);
        let facts = self.facts_of(P::Banner);
        facts.add_to_list(Fact::ServerPreBannerText, text);
        self.warn(at);
    }

    fn on_kex(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::SshMessage { step, sent, .. } => self.ssh_message(*step, *sent, at),
            E::KexProposal { server } => {
                self.touch(P::Kex, at);
                self.in_server_proposal = *server;
            }
            E::KexAlgorithms { list, names } => {
                self.touch(P::Kex, at);
                let fact = proposal_fact(*list, self.in_server_proposal);
                self.facts_of(P::Kex).set_list(fact, names.split(','));
            }
            E::KexChosen {
                host_key,
                algorithm,
            } => {
                let fact = match host_key {
                    true => Fact::HostKeyAlgorithm,
                    false => Fact::KexAlgorithm,
                };
                self.facts_of(P::Kex).set(fact, algorithm);
                self.reach(Milestone::AlgorithmsAgreed, at);
            }
            // Not an agreement: the "Unable to negotiate" line that fails the connection
            // follows, naming the server's offer.
            E::KexNoMatch { .. } => self.touch(P::Kex, at),
            E::KexCipher {
                client_to_server,
                cipher,
                mac,
                compression,
            } => {
                self.touch(P::Kex, at);
                let [c, m, z] = match client_to_server {
                    true => [
                        Fact::CipherClientToServer,
                        Fact::MacClientToServer,
                        Fact::CompressionClientToServer,
                    ],
                    false => [
                        Fact::CipherServerToClient,
                        Fact::MacServerToClient,
                        Fact::CompressionServerToClient,
                    ],
                };
                let facts = self.facts_of(P::Kex);
                facts.set(c, cipher);
                facts.set(m, mac);
                facts.set(z, compression);
            }
            E::KexExpecting { message } => {
                self.touch(P::Kex, at);
                self.expecting = Some((Expecting::ServerMessage(message.clone()), at.clone()));
            }
            E::NoMatchingAlgorithm {
                kind, algorithms, ..
            } => {
                let facts = self.facts_of(P::Kex);
                facts.set(Fact::NoMatching, kind);
                facts.set_list(Fact::ServerOffer, algorithms.iter().map(String::as_str));
                self.fail(Some(P::Kex), at);
            }
            _ => {}
        }
    }

    fn ssh_message(&mut self, step: MessageStep, sent: bool, at: &LineRef) {
        let milestone = match (step, sent) {
            (MessageStep::Kexinit, true) => Some(Milestone::KexinitSent),
            (MessageStep::Kexinit, false) => Some(Milestone::KexinitReceived),
            (MessageStep::NewKeys, false) => Some(Milestone::NewKeys),
            (MessageStep::ServiceAccept, false) => Some(Milestone::ServiceAccepted),
            (MessageStep::KexReply, false) => Some(Milestone::KexReplyReceived),
            _ => None,
        };
        match milestone {
            Some(m) => self.reach(m, at),
            None => self.touch(P::Kex, at),
        }
    }

    fn on_hostkey(&mut self, event: &Event, at: &LineRef) {
        let status =
            |s: &mut Session, text: &str| s.facts_of(P::Hostkey).set(Fact::HostKeyStatus, text);
        match event {
            E::ServerHostKey {
                key_type,
                fingerprint,
            } => {
                let key = format!("{key_type} {fingerprint}");
                self.facts_of(P::Hostkey).set(Fact::ServerHostKey, key);
                self.reach(Milestone::KexReplyReceived, at);
                self.touch(P::Hostkey, at);
                // Unless the key is known, ssh asks whether to trust it once it looked it up.
                self.ask_user(Some(UserQuestion::HostKey));
            }
            E::HostKeyKnown { .. } => {
                status(self, "known");
                self.reach(Milestone::HostKeyVerified, at);
            }
            E::HostKeyAdded { .. } => {
                status(self, "new, added to known_hosts");
                self.reach(Milestone::HostKeyVerified, at);
            }
            E::HostKeyChanged | E::HostKeyStrictChanged { .. } => {
                status(self, "changed");
                self.fail(Some(P::Hostkey), at);
            }
            E::HostKeyOffending { path, line, .. } => {
                self.touch(P::Hostkey, at);
                let entry = format!("{path}:{line}");
                self.facts_of(P::Hostkey).set(Fact::KnownHostsEntry, entry);
            }
            E::HostKeyStrictUnknown { .. } => {
                status(self, "unknown");
                self.fail(Some(P::Hostkey), at);
            }
            E::HostKeyVerificationFailed => self.fail(Some(P::Hostkey), at),
            E::HostAuthenticityUnknown => {
                self.touch(P::Hostkey, at);
                status(self, "unknown, asked the user");
                self.expecting = Some((Expecting::HostKeyAnswer, at.clone()));
                self.ask_user(Some(UserQuestion::HostKey));
            }
            _ => {}
        }
    }

    fn on_auth(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::AuthenticatingAs { host, port, user } => {
                self.facts_of(P::Resolve).set(Fact::Host, host);
                self.facts_of(P::Connect).set(Fact::Port, *port);
                self.facts_of(P::Auth).set(Fact::User, user);
            }
            E::WillAttemptKey(key) => {
                let key = describe_key(key);
                self.facts_of(P::Auth)
                    .add_to_list(Fact::KeysAvailable, &key);
            }
            E::AuthRequestSent { .. } => self.touch(P::Auth, at),
            E::AuthMethods { methods } => {
                self.touch(P::Auth, at);
                self.facts_of(P::Auth)
                    .set_list(Fact::ServerAllows, methods.split(','));
            }
            E::NextAuthMethod { method } => {
                self.touch(P::Auth, at);
                self.auth_method = Some(method.clone());
                self.facts_of(P::Auth)
                    .add_to_list(Fact::MethodsTried, method);
                if method == "password" {
                    self.ask_user(Some(UserQuestion::Password));
                }
            }
            E::OfferingKey(key) => {
                self.touch(P::Auth, at);
                let key = describe_key(key);
                self.facts_of(P::Auth).add_to_list(Fact::KeysOffered, &key);
            }
            E::TryingPrivateKey { path } => {
                self.touch(P::Auth, at);
                self.facts_of(P::Auth).add_to_list(Fact::KeysOffered, path);
                // A key without its .pub file is read now: an encrypted one asks its passphrase.
                self.ask_user(Some(UserQuestion::Passphrase));
            }
            E::NoSuchIdentity { path } => {
                // "Trying private key" named it, but there is no such file: nothing was sent.
                let facts = self.facts_of(P::Auth);
                facts.remove_from_list(Fact::KeysOffered, path);
                facts.add_to_list(Fact::KeysMissing, path);
            }
            E::ServerAcceptsKey(key) => {
                self.touch(P::Auth, at);
                self.facts_of(P::Auth)
                    .set(Fact::KeyAccepted, describe_key(key));
            }
            E::Authenticated { method } => {
                if let Some(method) = method {
                    self.facts_of(P::Auth).set(Fact::AuthMethod, method);
                }
                self.reach(Milestone::Authenticated, at);
            }
            _ => {}
        }
    }

    /// What ssh is about to ask on the terminal (it logs nothing while it waits for the answer).
    fn on_user_question(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::KbdIntPrompts { count } => {
                self.touch(P::Auth, at);
                if *count > 0 {
                    self.ask_user(Some(UserQuestion::KeyboardInteractive));
                }
            }
            E::AskpassRequested => {
                let question = self.asking_user.unwrap_or(UserQuestion::Prompt);
                self.ask_user(Some(question));
            }
            E::SigningWithKey => {
                self.touch(P::Auth, at);
                self.ask_user(Some(UserQuestion::Passphrase));
            }
            // Pasted without -v, the prompt itself shows that authentication was reached.
            E::PasswordPrompt { user } => {
                self.touch(P::Auth, at);
                self.advance(P::Auth);
                if !self.has_fact(Fact::User) {
                    self.facts_of(P::Auth).set(Fact::User, user);
                }
            }
            _ => {}
        }
    }

    /// Authentication going wrong: refusals, and keys ssh could not use.
    fn on_auth_trouble(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::PermissionDenied {
                methods: Some(methods),
                ..
            } => {
                self.facts_of(P::Auth)
                    .set_list(Fact::ServerAllows, methods.split(','));
                self.fail(Some(P::Auth), at);
            }
            E::PermissionDenied { methods: None, .. }
            | E::PasswordRetry
            | E::NoMoreAuthMethods
            | E::NoMutualSignature
            | E::UnprotectedKey
            | E::GssapiFailure
            | E::KerberosNoPrincipal { .. } => {
                self.touch(P::Auth, at);
                self.warn(at);
            }
            E::LoadKeyFailed { path, reason } => {
                self.touch(P::Auth, at);
                let facts = self.facts_of(P::Auth);
                facts.set(Fact::KeyFile, path);
                facts.set(Fact::KeyLoadError, format!("{path}: {reason}"));
                self.warn(at);
            }
            E::KeyPermissionsTooOpen { mode, path } => {
                self.touch(P::Auth, at);
                let facts = self.facts_of(P::Auth);
                facts.set(Fact::KeyFile, path);
                match mode {
                    Some(mode) => facts.set(Fact::KeyTooOpen, format!("{path} (mode {mode})")),
                    None => facts.set(Fact::KeyTooOpen, path),
                }
                self.warn(at);
            }
            E::TooManyAuthFailures => self.fail(Some(P::Auth), at),
            _ => {}
        }
    }

    fn on_channel(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::ChannelNew { kind, .. } => {
                self.touch(P::Channel, at);
                self.facts_of(P::Channel).add_to_list(Fact::Channels, kind);
            }
            E::ChannelOpenConfirmed { .. } | E::SendingEnvironment => self.confirm_channel(at),
            E::ChannelOpenFailed { reason, .. } => {
                self.facts_of(P::Channel)
                    .set(Fact::ChannelOpenFailed, reason);
                self.fail(Some(P::Channel), at);
            }
            E::StdioForwardFailed => self.fail(Some(P::Channel), at),
            E::ChannelRequest {
                kind,
                request,
                accepted,
                ..
            } => self.channel_request(kind, *request, *accepted, at),
            E::EnteringSession => self.touch(P::Channel, at),
            E::SendingCommand { command, by_scp } => {
                self.confirm_channel(at);
                self.touch(P::Session, at);
                self.facts_of(P::Session).set(Fact::Command, command);
                if *by_scp {
                    self.note_program(Program::Scp);
                }
            }
            E::SendingSubsystem { name, sftp } => {
                self.confirm_channel(at);
                self.touch(P::Sftp, at);
                self.facts_of(P::Sftp).set(Fact::Subsystem, name);
                if *sftp {
                    self.note_program(Program::Sftp);
                }
            }
            _ => {}
        }
    }

    /// The server's answer to a channel request: a subsystem belongs to the sftp phase, the
    /// rest to the session.
    fn channel_request(&mut self, kind: &str, request: ChannelRequestKind, ok: bool, at: &LineRef) {
        use ChannelRequestKind as R;
        let phase = match request {
            R::Subsystem => P::Sftp,
            R::Command | R::Other => P::Session,
        };
        match (ok, request) {
            (true, R::Subsystem) => self.reach(Milestone::SubsystemAccepted, at),
            (true, R::Command) => self.reach(Milestone::SessionStarted, at),
            (true, R::Other) => self.touch(phase, at),
            (false, R::Subsystem | R::Command) => {
                self.facts_of(phase).set(Fact::RequestFailed, kind);
                self.fail(Some(phase), at);
            }
            (false, R::Other) => {
                self.touch(phase, at);
                self.warn(at);
            }
        }
    }

    fn on_session(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::ExitStatus { code } => {
                self.facts_of(P::Session).set(Fact::ExitStatus, *code);
                let subsystem = self.has_fact(Fact::Subsystem);
                if subsystem && !self.reached(Milestone::SftpVersion) {
                    // The subsystem's program ended without ever speaking SFTP.
                    self.fail(Some(P::Sftp), at);
                } else if subsystem && *code != 0 {
                    self.fail(Some(P::Transfer), at);
                } else {
                    self.reach(Milestone::SessionEnded, at);
                    self.end(at);
                }
            }
            E::RemoteNologin | E::RemoteSftpOnly => self.fail(Some(P::Session), at),
            // Pasted without -v, the greeting alone shows that the key was accepted and the
            // session ran to its end (the host closes it at once).
            E::GitHostGreeting => {
                self.touch(P::Session, at);
                self.reach(Milestone::SessionEnded, at);
                self.end(at);
            }
            _ => {}
        }
    }

    fn on_sftp(&mut self, event: &Event, at: &LineRef) {
        match event {
            // sftp's own line, even without -v, names the program and the host.
            E::SftpConnecting { host } => {
                self.touch(P::Config, at);
                self.note_program(Program::Sftp);
                if !self.has_fact(Fact::Host) {
                    self.facts_of(P::Resolve).set(Fact::Host, host);
                }
            }
            E::ScpExecuting {
                host,
                user,
                command,
            } => {
                self.note_program(Program::Scp);
                self.touch(P::Config, at);
                self.facts_of(P::Resolve).set(Fact::Host, host);
                self.facts_of(P::Auth).set(Fact::User, user);
                self.facts_of(P::Config)
                    .set(Fact::ScpRemoteCommand, command);
            }
            E::SftpRemoteVersion { version } => {
                self.facts_of(P::Sftp).set(Fact::SftpVersion, *version);
                self.reach(Milestone::SftpVersion, at);
            }
            E::SftpExtension { .. } => self.touch(P::Sftp, at),
            E::SftpMessageTooLong { length } => {
                let facts = self.facts_of(P::Sftp);
                facts.set(Fact::MessageTooLong, *length);
                if let Some(text) = length_as_text(*length) {
                    facts.set(Fact::MessageTooLongAsText, text);
                }
                self.fail(Some(P::Sftp), at);
            }
            E::SftpShellOutputHint => {
                self.touch(P::Sftp, at);
                self.warn(at);
            }
            E::SftpReadPacketFailed { reason } => {
                self.facts_of(P::Sftp).set(Fact::ReadError, reason);
                self.fail(Some(P::Sftp), at);
            }
            // A remote command's own output ("Connection closed") is not sftp's message.
            E::SftpConnectionClosed
                if self.reached(Milestone::SessionStarted) && !self.has_fact(Fact::Subsystem) => {}
            E::SftpConnectionClosed => {
                if self.program.is_none() {
                    self.note_program(Program::Sftp);
                }
                self.fail(None, at);
            }
            _ => {}
        }
    }

    fn on_transfer(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::SftpPrompt { command } => {
                self.touch(P::Transfer, at);
                self.facts_of(P::Transfer)
                    .add_to_list(Fact::SftpCommands, command);
            }
            E::SftpTransferStart {
                direction,
                local,
                remote,
            } => {
                let what = match direction {
                    Direction::Upload => format!("{local} -> {remote}"),
                    Direction::Download => format!("{remote} -> {local}"),
                };
                self.facts_of(P::Transfer).add_to_list(Fact::Files, &what);
                if !self.reached(Milestone::TransferStarted) {
                    self.reach(Milestone::TransferStarted, at);
                }
                self.touch(P::Transfer, at);
            }
            E::SftpPacket { file_data, .. } => self.touch(request_phase(*file_data), at),
            E::ScpError { text } => {
                self.note_program(Program::Scp);
                self.facts_of(P::Transfer).set(Fact::ScpError, text);
                if self.ended_by_meter {
                    // The next file failed after one was done.
                    self.ended = None;
                }
                self.fail(Some(P::Transfer), at);
            }
            // Without -v, a file done is all the log shows of a transfer that worked (with -v,
            // the exit status and the closing lines say how it ended).
            E::TransferDone => {
                if !self.reached(Milestone::TransferStarted) {
                    self.reach(Milestone::TransferStarted, at);
                }
                if self.verbosity == 0 && self.failure.is_none() && self.ended.is_none() {
                    self.end(at);
                    self.ended_by_meter = true;
                }
            }
            _ => {}
        }
    }

    fn on_disconnect(&mut self, event: &Event, at: &LineRef) {
        match event {
            E::Transferred { sent, received } => {
                let facts = self.facts_of(P::Disconnect);
                facts.set(Fact::BytesSent, *sent);
                facts.set(Fact::BytesReceived, *received);
                self.touch(P::Disconnect, at);
            }
            E::BytesPerSecond => self.touch(P::Disconnect, at),
            E::SessionBrokenPipe => {
                // A paste of the error alone (no -v) still says the session's loop ran; no
                // milestone is claimed for a line that did not show it. (With -v the loop is
                // seen starting before the channel is confirmed: the log says where it was.)
                if self.frontier == P::Config && self.milestones.is_empty() {
                    self.advance(P::Session);
                }
                self.fail(None, at);
            }
            E::ConnectionClosed { .. } => self.end(at),
            E::ClosedByRemote { .. }
            | E::ServerNotResponding { .. }
            | E::ConnectionLost { .. }
            | E::BrokenPipe => self.fail(None, at),
            E::ReceivedDisconnect { code, reason } => {
                let what = format!("{code}: {reason}");
                self.facts_of(P::Disconnect)
                    .set(Fact::ServerDisconnect, what);
                self.fail(None, at);
            }
            E::KilledBySignal { .. } => {
                self.interrupted.get_or_insert_with(|| at.clone());
            }
            _ => {}
        }
    }
}

/// The fact a proposal's algorithm list goes to, on the server's side or the client's.
fn proposal_fact(list: AlgorithmList, server: bool) -> Fact {
    use AlgorithmList as A;
    let [client, server_side] = match list {
        A::Kex => [Fact::ClientKexAlgorithms, Fact::ServerKexAlgorithms],
        A::HostKey => [Fact::ClientHostKeyAlgorithms, Fact::ServerHostKeyAlgorithms],
        A::CiphersCtos => [Fact::ClientCiphersCtos, Fact::ServerCiphersCtos],
        A::CiphersStoc => [Fact::ClientCiphersStoc, Fact::ServerCiphersStoc],
        A::MacsCtos => [Fact::ClientMacsCtos, Fact::ServerMacsCtos],
        A::MacsStoc => [Fact::ClientMacsStoc, Fact::ServerMacsStoc],
        A::CompressionCtos => [Fact::ClientCompressionCtos, Fact::ServerCompressionCtos],
        A::CompressionStoc => [Fact::ClientCompressionStoc, Fact::ServerCompressionStoc],
    };
    match server {
        true => server_side,
        false => client,
    }
}

/// The phase an sftp request belongs to: moving a file's bytes, or the sftp session around it.
pub(super) fn request_phase(file_data: bool) -> Phase {
    match file_data {
        true => P::Transfer,
        false => P::Sftp,
    }
}

fn describe_key(key: &KeyInfo) -> String {
    match (&key.key_type, &key.fingerprint) {
        (Some(t), Some(fp)) => format!("{} ({t} {fp})", key.path),
        _ => key.path.clone(),
    }
}

/// sftp reads the first 4 bytes of whatever the remote shell printed as a packet length; shown as
/// text, they say what the shell printed (1416128883 is "This").
fn length_as_text(length: u64) -> Option<String> {
    let bytes = u32::try_from(length).ok()?.to_be_bytes();
    bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then(|| String::from_utf8_lossy(&bytes).into_owned())
}
