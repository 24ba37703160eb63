//! The `imprimatur` binary: parses the command line (SPEC §8) and maps the library's results
//! to exit codes. Everything it does is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use imprimatur::cli::{self, Format};
use imprimatur::trust::signer::KeySource;
use imprimatur::workflow::sign::{Action, SignRequest};

/// mimalloc instead of glibc's malloc: a build allocates and frees millions of small strings
/// from two threads; glibc spent ~14 % of a no-op rebuild's samples in malloc and free.
/// Without transparent huge pages (`no_thp`): with them the kernel zeroed 2 MB for each first
/// touch, a third of a no-op rebuild's samples.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "imprimatur",
    version,
    about = "Publish only approved versions of a docs-as-code help center"
)]
struct Cli {
    /// Pin the trust root: sha256 of a root file's bytes (approvals/root/N.yaml); later
    /// roots must chain from it. Default: IMPRIMATUR_TRUST_ROOT
    #[arg(long, global = true, value_name = "sha256:HEX")]
    trust_root: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum GovernanceCommand {
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
enum RootCommand {
    /// Write the next root file (approvals/root/N.yaml), unsigned
    New {
        #[command(flatten)]
        site: SiteArgs,
        /// How many of its admins must sign governance and the next root
        #[arg(long)]
        threshold: u64,
        /// An admin: ID=PUBLIC_KEY (base64, as `keygen` prints it); repeat for each
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
enum KeyringCommand {
    /// Revoke a key in approvals/keyring.yaml (admins then sign the change)
    Revoke {
        #[command(flatten)]
        site: SiteArgs,
        /// The key id
        key: String,
        /// Seal the records the key made that count now: no other record of it ever counts
        #[arg(long)]
        seal: bool,
        /// When the key stops counting (RFC 3339); default: now
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Args)]
struct SiteArgs {
    /// The site folder (holding imprimatur.yaml)
    #[arg(long, default_value = ".", global = true)]
    site: PathBuf,
}

#[derive(Args)]
struct NowArg {
    /// The time to judge (or, for signing commands, to sign) at, RFC 3339; default:
    /// SOURCE_DATE_EPOCH, else the clock, read once
    #[arg(long)]
    now: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
    Csv,
}

impl From<LogFormatArg> for cli::LogFormat {
    fn from(f: LogFormatArg) -> cli::LogFormat {
        match f {
            LogFormatArg::Text => cli::LogFormat::Text,
            LogFormatArg::Json => cli::LogFormat::Json,
            LogFormatArg::Csv => cli::LogFormat::Csv,
        }
    }
}

/// The key that signs: a file, or a key held by the running ssh-agent (docs/ssh-keys.md).
#[derive(Args)]
struct KeyArgs {
    /// Your secret key file: PKCS#8 PEM (`imprimatur keygen`) or OpenSSH (~/.ssh/id_ed25519),
    /// plain or encrypted (passphrase from IMPRIMATUR_KEY_PASSPHRASE, else asked)
    #[arg(long, required_unless_present = "agent", conflicts_with = "agent")]
    key: Option<PathBuf>,
    /// Sign with an ed25519 key held by the running ssh-agent (SSH_AUTH_SOCK)
    #[arg(long)]
    agent: bool,
    /// Which of the agent's keys: its fingerprint (SHA256:...), comment or keyring key id;
    /// default: the one ed25519 key of the agent that the keyring knows
    #[arg(long, requires = "agent", conflicts_with = "key")]
    agent_key: Option<String>,
}

impl KeyArgs {
    fn source(&self) -> KeySource {
        own_key(&self.key, self.agent, &self.agent_key).expect("clap requires --key or --agent")
    }
}

/// The key of `--key FILE` or `--agent [--agent-key K]`, if either was given: whose inbox or
/// pages, for commands that act as you without signing.
fn own_key(file: &Option<PathBuf>, agent: bool, agent_key: &Option<String>) -> Option<KeySource> {
    match (file, agent) {
        (Some(file), _) => Some(KeySource::File(file.clone())),
        (None, true) => Some(KeySource::Agent {
            select: agent_key.clone(),
        }),
        (None, false) => None,
    }
}

#[derive(Args)]
struct SignArgs {
    /// The page: its path (content/kb/install.md) or id (kb/install)
    page: String,
    #[command(flatten)]
    key: KeyArgs,
    /// Sign this version: the version in review when the page has changed since its submit,
    /// or an earlier approved version to re-publish (rollback)
    #[arg(long)]
    version: Option<String>,
    #[command(flatten)]
    now: NowArg,
}

#[derive(Subcommand)]
enum Command {
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
        format: FormatArg,
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
        format: FormatArg,
    },
    /// Show every page's status and who it waits on; writes reports/status.json
    Status {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
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
        /// Only these pages (paths or ids)
        pages: Vec<String>,
    },
    /// Check keyring, policies and every record without rendering; exit 3 on findings
    Verify {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
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
        format: FormatArg,
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
        format: FormatArg,
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
        format: FormatArg,
    },
    /// Print the audit trail: every record (of one page, or of the whole site), counted or
    /// not and why
    Log {
        #[command(flatten)]
        site: SiteArgs,
        #[command(flatten)]
        now: NowArg,
        #[arg(long, value_enum, default_value = "text")]
        format: LogFormatArg,
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
}

/// Signs `action` with the shared signing path; `force` signs a decision that repeats the
/// reviewer's counted one (approve and reject only).
fn sign(site: &SiteArgs, args: &SignArgs, action: Action, force: bool) -> imprimatur::Result<i32> {
    let now = cli::resolve_now(args.now.now.as_deref())?;
    let req = SignRequest {
        site_root: &site.site,
        action,
        page: &args.page,
        key: &args.key.source(),
        version: args.version.as_deref(),
        now,
        force,
    };
    cli::sign(&req, &mut std::io::stdout())
}

fn run(cli: Cli) -> imprimatur::Result<i32> {
    let out = &mut std::io::stdout();
    if let Some(pin) = &cli.trust_root {
        let pin = imprimatur::trust::root::Pin::parse(pin)
            .map_err(|m| imprimatur::Error::Usage(format!("--trust-root: {m}")))?;
        imprimatur::trust::root::set_pin(pin);
    }
    match &cli.command {
        Command::Governance(GovernanceCommand::Status { site }) => {
            cli::governance_status(&site.site, out)
        }
        Command::Governance(GovernanceCommand::Sign { site, key }) => {
            cli::governance_sign(&site.site, key, out)
        }
        Command::Root(RootCommand::New {
            site,
            threshold,
            admin,
        }) => cli::root_new(&site.site, *threshold, admin, out),
        Command::Audit { dir, .. } => cli::audit(dir, out),
        Command::Root(RootCommand::Sign { site, key }) => cli::root_sign(&site.site, key, out),
        Command::Keyring(KeyringCommand::Revoke {
            site,
            key,
            seal,
            at,
        }) => {
            let at = cli::resolve_now(at.as_deref())?;
            cli::keyring_revoke(&site.site, key, *seal, at, out)
        }
        Command::Build {
            site,
            now,
            audience,
            strict,
            format,
            drafts,
            output,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            let opts = cli::BuildOptions {
                audience: audience.clone(),
                drafts: if *drafts { output.clone() } else { None },
                strict: *strict,
                format: (*format).into(),
            };
            cli::build(&site.site, now, &opts, out)
        }
        Command::Serve {
            site,
            now,
            bind,
            port,
            open,
        } => cli::serve(
            &cli::ServeOptions {
                site_root: site.site.clone(),
                bind: *bind,
                port: *port,
                open: *open,
                now: now.now.clone(),
            },
            out,
        ),
        Command::Inbox {
            site,
            now,
            key,
            agent,
            agent_key,
            reviewer,
            format,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            let who = match (own_key(key, *agent, agent_key), reviewer) {
                (Some(source), _) => cli::Who::Key(source),
                (None, Some(r)) => cli::Who::Reviewer(r),
                (None, None) => unreachable!("clap requires --key, --agent or --reviewer"),
            };
            cli::inbox(&site.site, now, who, (*format).into(), out)
        }
        Command::Status {
            site,
            now,
            format,
            mine,
            key,
            agent,
            agent_key,
            pages,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            match (mine, own_key(key, *agent, agent_key)) {
                (true, Some(key)) => cli::status_mine(&site.site, now, (*format).into(), &key, out),
                _ => cli::status(&site.site, now, (*format).into(), pages, out),
            }
        }
        Command::Verify {
            site,
            now,
            format,
            since,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            cli::verify(&site.site, now, since.as_deref(), (*format).into(), out)
        }
        Command::Keygen { out: file, ssh, .. } => match ssh {
            true => cli::keygen_ssh(file, out),
            false => cli::keygen(file, out),
        },
        Command::Whoami { site, key, format } => {
            cli::whoami(&site.site, &key.source(), (*format).into(), out)
        }
        Command::Submit {
            site,
            page,
            key,
            version,
            now,
            comment,
            assign,
            changed,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            if *changed {
                return cli::submit_changed(&site.site, &key.source(), comment.clone(), now, out);
            }
            let req = SignRequest {
                site_root: &site.site,
                action: Action::Submit {
                    comment: comment.clone(),
                    assign: cli::parse_assign(assign)?,
                },
                page: page
                    .as_deref()
                    .expect("clap requires PAGE without --changed"),
                key: &key.source(),
                version: version.as_deref(),
                now,
                force: false,
            };
            cli::sign(&req, out)
        }
        Command::Assign {
            site,
            sign: args,
            step,
            reviewers,
        } => sign(
            site,
            args,
            Action::Assign {
                step: step.clone(),
                assignees: cli::parse_reviewer_list(reviewers)?,
            },
            false,
        ),
        Command::History {
            site,
            now,
            format,
            page,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            cli::history(&site.site, now, (*format).into(), page, out)
        }
        Command::Restore {
            site,
            now,
            page,
            version,
            force,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            cli::restore(&site.site, now, page, version, *force, out)
        }
        Command::Approve {
            site,
            sign: args,
            step,
            role,
            comment,
            publish,
            override_,
            force,
        } => sign(
            site,
            args,
            Action::Approve {
                step: step.clone(),
                role: role.clone(),
                comment: comment.clone(),
                publish: *publish,
                override_: *override_,
            },
            *force,
        ),
        Command::Reject {
            site,
            sign: args,
            step,
            role,
            comment,
            discard,
            force,
        } => sign(
            site,
            args,
            Action::Reject {
                step: step.clone(),
                role: role.clone(),
                comment: comment.clone(),
                discard: *discard,
            },
            *force,
        ),
        Command::Retract { site, sign: args } => sign(site, args, Action::Retract, false),
        Command::Publish { site, sign: args } => sign(site, args, Action::Publish, false),
        Command::Unpublish {
            site,
            sign: args,
            comment,
        } => sign(
            site,
            args,
            Action::Unpublish {
                comment: comment.clone(),
            },
            false,
        ),
        Command::Log {
            site,
            now,
            format,
            space,
            reviewer,
            since,
            until,
            kind,
            page,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            let filter = cli::LogFilter::parse(
                space.clone(),
                reviewer.clone(),
                since.as_deref(),
                until.as_deref(),
                kind.as_deref(),
            )?;
            cli::log(
                &site.site,
                now,
                (*format).into(),
                page.as_deref(),
                &filter,
                out,
            )
        }
        Command::Notify {
            site,
            now,
            dry_run,
            format,
        } => {
            let now = cli::resolve_now(now.now.as_deref())?;
            cli::notify(&site.site, now, *dry_run, (*format).into(), out)
        }
        Command::Init { dir, site, now } => {
            let dir = dir.as_ref().unwrap_or(&site.site);
            cli::init(dir, cli::resolve_now(now.now.as_deref())?, out)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("imprimatur: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
