//! The words every part of vvvexplain shares about a connection: its phases, the milestones that
//! prove progress, the client program, how it ended, and what it was waiting for.

use serde::Serialize;

/// The phases of an OpenSSH connection, in the order a connection goes through them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Config,
    Resolve,
    Connect,
    Banner,
    Kex,
    Hostkey,
    Auth,
    Channel,
    Session,
    Sftp,
    Transfer,
    Disconnect,
}

impl Phase {
    pub const ALL: [Phase; 12] = [
        Phase::Config,
        Phase::Resolve,
        Phase::Connect,
        Phase::Banner,
        Phase::Kex,
        Phase::Hostkey,
        Phase::Auth,
        Phase::Channel,
        Phase::Session,
        Phase::Sftp,
        Phase::Transfer,
        Phase::Disconnect,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Phase::Config => "config",
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Banner => "banner",
            Phase::Kex => "kex",
            Phase::Hostkey => "hostkey",
            Phase::Auth => "auth",
            Phase::Channel => "channel",
            Phase::Session => "session",
            Phase::Sftp => "sftp",
            Phase::Transfer => "transfer",
            Phase::Disconnect => "disconnect",
        }
    }

    /// What happens in the phase, in a user's words.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Config => "reading the client configuration",
            Phase::Resolve => "resolving the host name",
            Phase::Connect => "opening the TCP connection",
            Phase::Banner => "exchanging SSH version banners",
            Phase::Kex => "negotiating algorithms and session keys",
            Phase::Hostkey => "verifying the server's host key",
            Phase::Auth => "authenticating the user",
            Phase::Channel => "opening a channel on the authenticated connection",
            Phase::Session => "running the remote shell or command",
            Phase::Sftp => "starting the SFTP subsystem",
            Phase::Transfer => "transferring files",
            Phase::Disconnect => "closing the connection",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The points of progress that prove a step succeeded; the last one reached is "the last
/// successful message" the guides tell people to look for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Milestone {
    ConfigRead,
    AddressResolved,
    TcpConnected,
    BannerReceived,
    KexinitSent,
    KexinitReceived,
    AlgorithmsAgreed,
    KexReplyReceived,
    HostKeyVerified,
    NewKeys,
    ServiceAccepted,
    Authenticated,
    ChannelOpenConfirmed,
    SessionStarted,
    SubsystemAccepted,
    SftpVersion,
    TransferStarted,
    SessionEnded,
}

impl Milestone {
    pub fn id(self) -> &'static str {
        match self {
            Milestone::ConfigRead => "config-read",
            Milestone::AddressResolved => "address-resolved",
            Milestone::TcpConnected => "tcp-connected",
            Milestone::BannerReceived => "banner-received",
            Milestone::KexinitSent => "kexinit-sent",
            Milestone::KexinitReceived => "kexinit-received",
            Milestone::AlgorithmsAgreed => "algorithms-agreed",
            Milestone::KexReplyReceived => "kex-reply-received",
            Milestone::HostKeyVerified => "host-key-verified",
            Milestone::NewKeys => "new-keys",
            Milestone::ServiceAccepted => "service-accepted",
            Milestone::Authenticated => "authenticated",
            Milestone::ChannelOpenConfirmed => "channel-open-confirmed",
            Milestone::SessionStarted => "session-started",
            Milestone::SubsystemAccepted => "subsystem-accepted",
            Milestone::SftpVersion => "sftp-version",
            Milestone::TransferStarted => "transfer-started",
            Milestone::SessionEnded => "session-ended",
        }
    }

    /// The milestone as the user knows it from the log.
    pub fn describe(self) -> &'static str {
        match self {
            Milestone::ConfigRead => "configuration read",
            Milestone::AddressResolved => "host name resolved",
            Milestone::TcpConnected => "TCP connection established",
            Milestone::BannerReceived => "server banner received",
            Milestone::KexinitSent => "KEXINIT sent",
            Milestone::KexinitReceived => "server KEXINIT received",
            Milestone::AlgorithmsAgreed => "algorithms agreed",
            Milestone::KexReplyReceived => "server's key exchange reply received",
            Milestone::HostKeyVerified => "host key verified",
            Milestone::NewKeys => "NEWKEYS: encryption on",
            Milestone::ServiceAccepted => "SERVICE_ACCEPT: ready to authenticate",
            Milestone::Authenticated => "authenticated",
            Milestone::ChannelOpenConfirmed => "CHANNEL_OPEN_CONFIRMATION received",
            Milestone::SessionStarted => "shell or command accepted",
            Milestone::SubsystemAccepted => "subsystem request accepted",
            Milestone::SftpVersion => "FXP_VERSION: SFTP server answered",
            Milestone::TransferStarted => "file transfer started",
            Milestone::SessionEnded => "session ended with an exit status",
        }
    }

    pub fn phase(self) -> Phase {
        match self {
            Milestone::ConfigRead => Phase::Config,
            Milestone::AddressResolved => Phase::Resolve,
            Milestone::TcpConnected => Phase::Connect,
            Milestone::BannerReceived => Phase::Banner,
            Milestone::KexinitSent
            | Milestone::KexinitReceived
            | Milestone::AlgorithmsAgreed
            | Milestone::KexReplyReceived
            | Milestone::NewKeys => Phase::Kex,
            Milestone::HostKeyVerified => Phase::Hostkey,
            Milestone::ServiceAccepted | Milestone::Authenticated => Phase::Auth,
            Milestone::ChannelOpenConfirmed => Phase::Channel,
            Milestone::SessionStarted => Phase::Session,
            Milestone::SubsystemAccepted | Milestone::SftpVersion => Phase::Sftp,
            Milestone::TransferStarted => Phase::Transfer,
            Milestone::SessionEnded => Phase::Disconnect,
        }
    }

    /// The phase a connection is in once this milestone is passed.
    pub(super) fn next_phase(self) -> Phase {
        match self {
            Milestone::ConfigRead => Phase::Config,
            Milestone::AddressResolved => Phase::Connect,
            Milestone::TcpConnected => Phase::Banner,
            Milestone::BannerReceived => Phase::Kex,
            Milestone::HostKeyVerified | Milestone::NewKeys => Phase::Auth,
            Milestone::Authenticated => Phase::Channel,
            Milestone::ChannelOpenConfirmed | Milestone::SessionStarted => Phase::Session,
            Milestone::SubsystemAccepted => Phase::Sftp,
            Milestone::SftpVersion | Milestone::TransferStarted => Phase::Transfer,
            Milestone::SessionEnded => Phase::Disconnect,
            other => other.phase(),
        }
    }
}

/// The client program that printed the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Program {
    Ssh,
    Sftp,
    Scp,
}

impl Program {
    pub fn id(self) -> &'static str {
        match self {
            Program::Ssh => "ssh",
            Program::Sftp => "sftp",
            Program::Scp => "scp",
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Incomplete,
}

/// What the client waits for when it says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expecting {
    /// A message from the server: `expecting SSH2_MSG_KEX_ECDH_REPLY`.
    ServerMessage(String),
    /// The user's answer to "The authenticity of host … can't be established".
    HostKeyAnswer,
}

/// A question ssh asks on the terminal. It logs nothing until the user answers, so the time until
/// its next line is the user's, not the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserQuestion {
    /// "Are you sure you want to continue connecting (yes/no/[fingerprint])?"
    HostKey,
    Password,
    KeyboardInteractive,
    /// The passphrase of an encrypted private key.
    Passphrase,
    /// A question of ssh's that its log does not name.
    Prompt,
}

impl UserQuestion {
    pub fn id(self) -> &'static str {
        match self {
            UserQuestion::HostKey => "host-key",
            UserQuestion::Password => "password",
            UserQuestion::KeyboardInteractive => "keyboard-interactive",
            UserQuestion::Passphrase => "passphrase",
            UserQuestion::Prompt => "prompt",
        }
    }

    /// What the user is asked to do, after "waiting for you to".
    pub fn describe(self) -> &'static str {
        match self {
            UserQuestion::HostKey => "answer the host key question (yes/no)",
            UserQuestion::Password => "type the password",
            UserQuestion::KeyboardInteractive => "answer the server's prompt (password or code)",
            UserQuestion::Passphrase => "type the key's passphrase",
            UserQuestion::Prompt => "answer ssh's prompt",
        }
    }

    pub fn phase(self) -> Phase {
        match self {
            UserQuestion::HostKey => Phase::Hostkey,
            _ => Phase::Auth,
        }
    }
}

/// Whether this connection was made by the user or by ssh itself to reach a jump host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Direct,
    JumpHost,
}
