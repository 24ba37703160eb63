//! The command line as clap reads it (SPEC §8): flags, help text and defaults, nothing
//! checked yet — ripgrep's `LowArgs`. `Invocation::new` turns it into a checked invocation
//! once; `run` acts on that. Kept apart from `main.rs` so the binary stays a few lines and
//! the flags live in the library beside the commands they feed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{Format, LogFormat};
use crate::trust::signer::KeySource;

#[derive(Parser)]
#[command(
    name = "imprimatur",
    version,
    about = "Publish only approved versions of a docs-as-code help center"
)]
pub struct LowArgs {
    /// Pin the trust root: sha256 of a root file's bytes (approvals/root/N.yaml); later
    /// roots must chain from it. Default: IMPRIMATUR_TRUST_ROOT
    #[arg(long, global = true, value_name = "sha256:HEX")]
    pub(crate) trust_root: Option<String>,
    /// No progress on standard error: neither the bars drawn on a terminal nor the line per
    /// phase (read, verify, render) printed elsewhere
    #[arg(long, short = 'q', global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum GovernanceCommand {
    /// What changed in the governed files since the signed state, and who must sign
    /// (exit 3 when builds would refuse them)
    Status {
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Sign the governed files as they are now, as an admin of the trusted root
    Sign {
        #[command(flatten)]
        site: SiteArgs,
        /// Your secret key file (from `imprimatur keygen`)
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum RootCommand {
    /// Write the next root file (approvals/root/N.yaml), unsigned
    New {
        #[command(flatten)]
        site: SiteArgs,
        /// How many of its admins must sign governance and the next root
        #[arg(long)]
        threshold: u64,
        /// An admin: ID=PUBLIC_KEY (base64, as `keygen` prints it) or ID=FILE (a key file, as
        /// `keyring add --public-key-file` reads it); repeat for each
        #[arg(long, required = true)]
        admin: Vec<String>,
    },
    /// Sign the newest root file, as its admin or the previous root's
    Sign {
        #[command(flatten)]
        site: SiteArgs,
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum KeyringCommand {
    /// Add a reviewer, or another key of a reviewer, to approvals/keyring.yaml from a key file
    Add {
        #[command(flatten)]
        site: SiteArgs,
        /// The reviewer id ([a-z0-9._-]+); an id already in the keyring gets the key added
        id: String,
        /// The reviewer's name (required for a new reviewer)
        #[arg(long)]
        name: Option<String>,
        /// Where notifications reach them
        #[arg(long)]
        email: Option<String>,
        /// Their groups, comma-separated (writers,engineering)
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Their key: the secret key file from `imprimatur keygen` (its public half is read),
        /// an OpenSSH public key (~/.ssh/id_ed25519.pub), a PEM public key, or a file holding
        /// the base64 public key keygen printed
        #[arg(long, value_name = "FILE")]
        public_key_file: PathBuf,
        /// The key's id in the keyring; default: ID-YEAR (raj-2026), the year of --now
        #[arg(long)]
        key_id: Option<String>,
        #[command(flatten)]
        now: NowArg,
    },
    /// Revoke a key in approvals/keyring.yaml (admins then sign the change)
    Revoke {
        #[command(flatten)]
        site: SiteArgs,
        /// The key id
        key: String,
        /// Seal the records the key made that count now: no other record of it ever counts
        #[arg(long)]
        seal: bool,
        /// When the key stops counting (RFC 3339): its records signed at or after it are void;
        /// default: now (--now, else SOURCE_DATE_EPOCH, else the clock)
        #[arg(long)]
        at: Option<String>,
        /// Revoke even when records of the key that count today were signed at or after
        /// --at: they stop counting (without it, they are named and nothing is written)
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        now: NowArg,
    },
}

#[derive(Args)]
pub(crate) struct SiteArgs {
    /// The site folder (holding imprimatur.yaml); default: the nearest folder holding one,
    /// from here upward, as git finds its repository
    #[arg(long = "site", value_name = "DIR", global = true)]
    pub(crate) given: Option<PathBuf>,
    /// `--site`, or the folder found from here: set by `Invocation::new`
    #[arg(skip)]
    pub(crate) site: PathBuf,
}

#[derive(Args)]
pub(crate) struct NowArg {
    /// The time to judge (or, for signing commands, to sign) at, RFC 3339; default:
    /// SOURCE_DATE_EPOCH, else the clock, read once
    #[arg(long)]
    pub(crate) now: Option<String>,
}

/// The key that signs: a file, or a key held by the running ssh-agent (docs/ssh-keys.md).
#[derive(Args)]
pub(crate) struct KeyArgs {
    /// Your secret key file: PKCS#8 PEM (`imprimatur keygen`) or OpenSSH (~/.ssh/id_ed25519),
    /// plain or encrypted (passphrase from IMPRIMATUR_KEY_PASSPHRASE, else asked)
    #[arg(long, required_unless_present = "agent", conflicts_with = "agent")]
    pub(crate) key: Option<PathBuf>,
    /// Sign with an ed25519 key held by the running ssh-agent (SSH_AUTH_SOCK)
    #[arg(long)]
    pub(crate) agent: bool,
    /// Which of the agent's keys: its fingerprint (SHA256:...), comment or keyring key id;
    /// default: the one ed25519 key of the agent that the keyring knows
    #[arg(long, requires = "agent", conflicts_with = "key")]
    pub(crate) agent_key: Option<String>,
}

impl KeyArgs {
    pub(crate) fn source(&self) -> KeySource {
        own_key(&self.key, self.agent, &self.agent_key).expect("clap requires --key or --agent")
    }
}

/// The key of `--key FILE` or `--agent [--agent-key K]`, if either was given: whose inbox or
/// pages, for commands that act as you without signing.
pub(crate) fn own_key(
    file: &Option<PathBuf>,
    agent: bool,
    agent_key: &Option<String>,
) -> Option<KeySource> {
    match (file, agent) {
        (Some(file), _) => Some(KeySource::File(file.clone())),
        (None, true) => Some(KeySource::Agent {
            select: agent_key.clone(),
        }),
        (None, false) => None,
    }
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// The page: its path (content/kb/install.md) or id (kb/install)
    pub(crate) page: String,
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    /// Sign this version: the version in review when the page has changed since its submit,
    /// or an earlier approved version to re-publish (rollback)
    #[arg(long)]
    pub(crate) version: Option<String>,
    #[command(flatten)]
    pub(crate) now: NowArg,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// The governed files (keyring, policies, imprimatur.yaml, themes) and their admin signatures
    #[command(subcommand)]
    Governance(GovernanceCommand),
    /// The trust root chain: who the admins are (approvals/root/N.yaml)
    #[command(subcommand)]
    Root(RootCommand),
    /// Admin changes to approvals/keyring.yaml
    #[command(subcommand)]
    Keyring(KeyringCommand),
    /// Verify a published site offline against its proofs (exit 3 naming what was tampered)
    Audit {
        /// The published folder (output/)
        dir: PathBuf,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Verify every record, render the approved versions into output/, write reports/
    Build {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        /// Publish for this audience instead of imprimatur.yaml's `audiences`
        #[arg(long)]
        audience: Option<String>,
        /// Exit 3 when there are findings (after writing output and reports)
        #[arg(long, conflicts_with = "drafts")]
        strict: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Build the drafts view (every page at its current version, marked not approved,
        /// noindex, no sitemap) for a deploy preview; needs --output, never output/
        #[arg(long, requires = "output", conflicts_with = "audience")]
        drafts: bool,
        /// Where --drafts writes its preview (a folder outside the site's output/)
        #[arg(long, requires = "drafts")]
        output: Option<PathBuf>,
    },
    /// Serve the site locally: the published view at /, drafts at /_drafts/, review pages at
    /// /_review/; reloads open tabs after a save. Never writes output/
    Serve {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        /// Address to listen on; anything but loopback shows drafts to the network
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Port (0: any free port; the address is printed)
        #[arg(long, default_value_t = 1111)]
        port: u16,
        /// Open the site in a browser
        #[arg(long)]
        open: bool,
        /// Decide in the review pages: your secret key file (its passphrase is asked once, now)
        #[arg(long, conflicts_with = "agent")]
        key: Option<PathBuf>,
        /// Decide in the review pages with your ed25519 key held by the ssh-agent
        #[arg(long)]
        agent: bool,
        /// Which of the agent's keys: its fingerprint (SHA256:...), comment or keyring key id
        #[arg(long, requires = "agent", conflicts_with = "key")]
        agent_key: Option<String>,
        /// The team review server of imprimatur.yaml's review: section: reviewers sign in and
        /// decide with their passkeys; the server holds no key
        #[arg(long, conflicts_with_all = ["key", "agent"])]
        team: bool,
    },
    /// What waits on a reviewer, oldest first, with step, age, submitter and review URL
    #[command(group(clap::ArgGroup::new("whose").required(true).args(["key", "agent", "reviewer"])))]
    Inbox {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        /// Your secret key file: the inbox of the reviewer it belongs to
        #[arg(long)]
        key: Option<PathBuf>,
        /// Your ed25519 key held by the running ssh-agent (SSH_AUTH_SOCK): the inbox of the
        /// reviewer it belongs to
        #[arg(long)]
        agent: bool,
        /// Which of the agent's keys: its fingerprint (SHA256:...), comment or keyring key id
        #[arg(long, requires = "agent", conflicts_with_all = ["key", "reviewer"])]
        agent_key: Option<String>,
        /// A reviewer id from the keyring
        #[arg(long)]
        reviewer: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show every page's status and who it waits on; writes reports/status.json
    Status {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Only your pages: those the reviewer of --key (or --agent) submitted, or names as
        /// `author`
        #[arg(long, requires = "own_key", conflicts_with = "pages")]
        mine: bool,
        /// Your secret key file (with --mine)
        #[arg(long, requires = "mine", group = "own_key", conflicts_with = "agent")]
        key: Option<PathBuf>,
        /// Your ed25519 key held by the running ssh-agent (with --mine)
        #[arg(long, requires = "mine", group = "own_key")]
        agent: bool,
        /// Which of the agent's keys: its fingerprint (SHA256:...), comment or keyring key id
        #[arg(long, requires = "agent", conflicts_with = "key")]
        agent_key: Option<String>,
        /// Only these pages (paths or ids), in every format
        pages: Vec<String>,
        /// As the build for this audience sees the site (`build --audience NAME`): pages whose
        /// `audience` leaves it out are not published for it
        #[arg(long, value_name = "NAME", conflicts_with = "mine")]
        audience: Option<String>,
    },
    /// Check keyring, policies and every record without rendering; exit 3 on findings
    Verify {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also report every file under approvals/records/ or approvals/store/ deleted or
        /// changed since this git revision (from where this checkout forked from it): for
        /// pull requests, e.g. --since origin/main
        #[arg(long, value_name = "REV")]
        since: Option<String>,
    },
    /// Write a new secret key (PKCS#8 PEM, mode 0600); prints the public key last
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// Write an OpenSSH key pair instead (FILE and FILE.pub), usable by ssh-add too
        #[arg(long)]
        ssh: bool,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Show which reviewer and keyring key a key file (or the ssh-agent's key) speaks for
    Whoami {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Submit the page's current version for review (or, with --changed, every page of
    /// yours that is not in review or approved)
    Submit {
        #[command(flatten)]
        site: SiteArgs,
        /// The page: its path (content/kb/install.md) or id (kb/install)
        #[arg(required_unless_present = "changed", conflicts_with = "changed")]
        page: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
        /// The version to submit: must be the page's current bytes
        #[arg(long, conflicts_with = "changed")]
        version: Option<String>,
        #[command(flatten)]
        now: NowArg,
        /// A note for the reviewers
        #[arg(long)]
        comment: Option<String>,
        /// Who must review a step: STEP=ID,ID (repeatable); only they and managers may act
        /// in it, and all of them must approve
        #[arg(long, value_name = "STEP=IDS", conflicts_with = "changed")]
        assign: Vec<String>,
        /// Submit every page whose current version was never submitted, in the spaces where
        /// this key may submit; list what was submitted and what was skipped
        #[arg(long)]
        changed: bool,
    },
    /// Re-assign a step of the version in review to other reviewers (managers)
    Assign {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        sign: SignArgs,
        /// The step to assign
        #[arg(long)]
        step: String,
        /// Who must review it: reviewer ids, comma-separated (raj,eli)
        reviewers: String,
    },
    /// Every version of a page the records and the store know: its state, who approved it,
    /// when it was live
    History {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// The page: its path or id
        page: String,
    },
    /// Write an earlier version's bytes back into content/ as the current draft
    Restore {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        /// The page: its path or id
        page: String,
        /// The version to restore (see `imprimatur history`)
        #[arg(long)]
        version: String,
        /// Overwrite the page even when its current bytes are in no record and not in the store
        #[arg(long)]
        force: bool,
    },
    /// Approve the version in review in a step
    Approve {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        sign: SignArgs,
        /// The policy step you approve in
        #[arg(long)]
        step: String,
        /// Your role, shown in the approval history
        #[arg(long)]
        role: Option<String>,
        /// Shown in the approval history
        #[arg(long)]
        comment: Option<String>,
        /// Approve and publish in one action (publishers and managers)
        #[arg(long)]
        publish: bool,
        /// Approve all remaining steps (managers only)
        #[arg(long = "override")]
        override_: bool,
        /// Sign even when you already approved this version in this step (a new comment or
        /// role); without it, a repeated approval is refused: it would change nothing
        #[arg(long)]
        force: bool,
    },
    /// Reject the version in review in a step
    Reject {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        sign: SignArgs,
        /// The policy step you reject in
        #[arg(long)]
        step: String,
        /// Your role, shown in the approval history
        #[arg(long)]
        role: Option<String>,
        /// Why (required where the policy says reject_comment_required)
        #[arg(long)]
        comment: Option<String>,
        /// Reject and discard: a resubmission starts over
        #[arg(long)]
        discard: bool,
        /// Sign even when you already rejected this version in this step (a new comment or
        /// role); without it, a repeated rejection is refused: it would change nothing
        #[arg(long)]
        force: bool,
    },
    /// Withdraw the version in review (its submitter or a manager)
    Retract {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Publish an approved version, or re-publish an earlier one (rollback; publishers and managers)
    Publish {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Take a page offline until a version is published again (publishers and managers)
    Unpublish {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        sign: SignArgs,
        /// Why (shown in the log)
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deliver the notifications that are due (e-mail, Slack-compatible chat, signed webhook),
    /// each once: delivered ids are kept in the ledger (imprimatur.yaml `notifications:`).
    ///
    /// Exit codes: 0 everything due was delivered (or nothing was due); 4 a delivery failed or
    /// a channel's secret is missing from the environment: the rest went out, and what failed
    /// is tried again by the next run; 1 an error (bad config, unreadable ledger, another run
    /// still holding the ledger's lock): nothing was sent.
    #[command(verbatim_doc_comment)]
    Notify {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        /// Print what would be sent, to whom, through which channel; send nothing, write no ledger
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print the audit trail: every record (of one page, or of the whole site), counted or
    /// not and why
    Log {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: LogFormat,
        /// Only records of this space
        #[arg(long)]
        space: Option<String>,
        /// Only records signed by this reviewer
        #[arg(long)]
        reviewer: Option<String>,
        /// Only records signed at or after this time (RFC 3339)
        #[arg(long)]
        since: Option<String>,
        /// Only records signed at or before this time (RFC 3339)
        #[arg(long)]
        until: Option<String>,
        /// Only records of this kind (submit, approve, reject, retract, publish, unpublish, assign)
        #[arg(long)]
        kind: Option<String>,
        /// The page: its path or id (default: every record of the site)
        page: Option<String>,
    },
    /// Create a working example site in DIR
    Init {
        /// Where to create it (default: --site)
        dir: Option<PathBuf>,
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
    },
    /// Print the shell completion script for SHELL (README, "Shell completions and man
    /// pages" says where each shell looks for it)
    Completions {
        /// The shell: bash, zsh, fish, powershell or elvish
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or with --out DIR write one page per subcommand there
    /// (imprimatur.1, imprimatur-build.1, ...)
    Man {
        /// The folder to write every page into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

impl Command {
    /// The `--site` of every command that works on a site: `Invocation::new` sets its
    /// folder. `keygen` and `init` are not such commands: they work on no existing site.
    pub(crate) fn site_mut(&mut self) -> Option<&mut SiteArgs> {
        match self {
            Command::Governance(GovernanceCommand::Status { site })
            | Command::Governance(GovernanceCommand::Sign { site, .. })
            | Command::Root(RootCommand::New { site, .. })
            | Command::Root(RootCommand::Sign { site, .. })
            | Command::Keyring(KeyringCommand::Revoke { site, .. })
            | Command::Keyring(KeyringCommand::Add { site, .. })
            | Command::Audit { site, .. }
            | Command::Build { site, .. }
            | Command::Serve { site, .. }
            | Command::Inbox { site, .. }
            | Command::Status { site, .. }
            | Command::Verify { site, .. }
            | Command::Whoami { site, .. }
            | Command::Submit { site, .. }
            | Command::Assign { site, .. }
            | Command::History { site, .. }
            | Command::Restore { site, .. }
            | Command::Approve { site, .. }
            | Command::Reject { site, .. }
            | Command::Retract { site, .. }
            | Command::Publish { site, .. }
            | Command::Unpublish { site, .. }
            | Command::Notify { site, .. }
            | Command::Log { site, .. } => Some(site),
            Command::Keygen { .. } | Command::Init { .. } => None,
            Command::Completions { .. } | Command::Man { .. } => None,
        }
    }

    /// The `--now` of the commands that judge or sign at a time, resolved once by
    /// `Invocation::new`. `serve` is not one: it judges each request at the clock unless
    /// pinned, so it takes its flag as given.
    pub(crate) fn now(&self) -> Option<&NowArg> {
        match self {
            Command::Build { now, .. }
            | Command::Inbox { now, .. }
            | Command::Status { now, .. }
            | Command::Verify { now, .. }
            | Command::Submit { now, .. }
            | Command::History { now, .. }
            | Command::Restore { now, .. }
            | Command::Notify { now, .. }
            | Command::Log { now, .. }
            | Command::Init { now, .. } => Some(now),
            Command::Assign { sign, .. }
            | Command::Approve { sign, .. }
            | Command::Reject { sign, .. }
            | Command::Retract { sign, .. }
            | Command::Publish { sign, .. }
            | Command::Unpublish { sign, .. } => Some(&sign.now),
            Command::Keyring(KeyringCommand::Revoke { now, .. })
            | Command::Keyring(KeyringCommand::Add { now, .. }) => Some(now),
            Command::Governance(_)
            | Command::Root(_)
            | Command::Audit { .. }
            | Command::Serve { .. }
            | Command::Keygen { .. }
            | Command::Whoami { .. } => None,
            Command::Completions { .. } | Command::Man { .. } => None,
        }
    }
}
