//! The checked invocation — ripgrep's `HiArgs`: the parsed command line (`LowArgs`) with the
//! trust-root pin parsed and `--now` resolved once, and `run`, which does what it says and
//! returns the process's exit code. `main.rs` only parses, checks and runs.

use std::process::ExitCode;

use super::args::{
    own_key, Command, GovernanceCommand, KeyringCommand, LowArgs, RootCommand, SignArgs, SiteArgs,
};
use crate::error::{Error, Result};
use crate::time::Instant;
use crate::trust::root::{self, Pin};
use crate::workflow::sign::{Action, SignRequest};

/// A command line, checked: what `run` needs and nothing left to parse but the command's own
/// operands.
pub struct Invocation {
    pin: Option<Pin>,
    /// The `--now` of a command that judges or signs at a time (`Command::now`), else `None`.
    now: Option<Instant>,
    command: Command,
}

impl Invocation {
    /// Checks the flags every command shares: `--trust-root`, then `--now` (usage errors,
    /// exit 2).
    pub fn new(low: LowArgs) -> Result<Invocation> {
        let pin = match &low.trust_root {
            Some(pin) => {
                Some(Pin::parse(pin).map_err(|m| Error::Usage(format!("--trust-root: {m}")))?)
            }
            None => None,
        };
        let now = match low.command.now() {
            Some(flag) => Some(super::resolve_now(flag.now.as_deref())?),
            None => None,
        };
        Ok(Invocation {
            pin,
            now,
            command: low.command,
        })
    }

    fn now(&self) -> Instant {
        self.now
            .expect("Invocation::new resolves --now for every command that has one")
    }
}

/// Runs the invocation: its exit code (0, 3 for findings, 4 for a failed delivery), or the
/// error whose `Error::code` the process exits with.
pub fn run(mut inv: Invocation) -> Result<ExitCode> {
    if let Some(pin) = inv.pin.take() {
        root::set_pin(pin);
    }
    let code = act(&inv)?;
    Ok(ExitCode::from(
        u8::try_from(code).expect("commands exit with 0, 3 or 4"),
    ))
}

/// Signs `action` with the shared signing path; `force` signs a decision that repeats the
/// reviewer's counted one (approve and reject only).
fn sign(
    site: &SiteArgs,
    args: &SignArgs,
    now: Instant,
    action: Action,
    force: bool,
) -> Result<i32> {
    let req = SignRequest {
        site_root: &site.site,
        action,
        page: &args.page,
        key: &args.key.source(),
        version: args.version.as_deref(),
        now,
        force,
    };
    super::sign(&req, &mut std::io::stdout())
}

fn act(inv: &Invocation) -> Result<i32> {
    let out = &mut std::io::stdout();
    match &inv.command {
        Command::Governance(GovernanceCommand::Status { site }) => {
            super::governance_status(&site.site, out)
        }
        Command::Governance(GovernanceCommand::Sign { site, key }) => {
            super::governance_sign(&site.site, key, out)
        }
        Command::Root(RootCommand::New {
            site,
            threshold,
            admin,
        }) => super::root_new(&site.site, *threshold, admin, out),
        Command::Audit { dir, .. } => super::audit(dir, out),
        Command::Root(RootCommand::Sign { site, key }) => super::root_sign(&site.site, key, out),
        Command::Keyring(KeyringCommand::Revoke {
            site,
            key,
            seal,
            at,
        }) => {
            let at = super::resolve_now(at.as_deref())?;
            super::keyring_revoke(&site.site, key, *seal, at, out)
        }
        Command::Build {
            site,
            audience,
            strict,
            format,
            drafts,
            output,
            ..
        } => {
            let now = inv.now();
            let opts = super::BuildOptions {
                audience: audience.clone(),
                drafts: if *drafts { output.clone() } else { None },
                strict: *strict,
                format: *format,
            };
            super::build(&site.site, now, &opts, out)
        }
        Command::Serve {
            site,
            now,
            bind,
            port,
            open,
            key,
            agent,
            agent_key,
        } => super::serve(
            &super::ServeOptions {
                site_root: site.site.clone(),
                bind: *bind,
                port: *port,
                open: *open,
                now: now.now.clone(),
                key: own_key(key, *agent, agent_key),
            },
            out,
        ),
        Command::Inbox {
            site,
            key,
            agent,
            agent_key,
            reviewer,
            format,
            ..
        } => {
            let now = inv.now();
            let who = match (own_key(key, *agent, agent_key), reviewer) {
                (Some(source), _) => super::Who::Key(source),
                (None, Some(r)) => super::Who::Reviewer(r),
                (None, None) => unreachable!("clap requires --key, --agent or --reviewer"),
            };
            super::inbox(&site.site, now, who, *format, out)
        }
        Command::Status {
            site,
            format,
            mine,
            key,
            agent,
            agent_key,
            pages,
            ..
        } => {
            let now = inv.now();
            match (mine, own_key(key, *agent, agent_key)) {
                (true, Some(key)) => super::status_mine(&site.site, now, *format, &key, out),
                _ => super::status(&site.site, now, *format, pages, out),
            }
        }
        Command::Verify {
            site,
            format,
            since,
            ..
        } => {
            let now = inv.now();
            super::verify(&site.site, now, since.as_deref(), *format, out)
        }
        Command::Keygen { out: file, ssh, .. } => match ssh {
            true => super::keygen_ssh(file, out),
            false => super::keygen(file, out),
        },
        Command::Whoami { site, key, format } => {
            super::whoami(&site.site, &key.source(), *format, out)
        }
        Command::Submit {
            site,
            page,
            key,
            version,
            comment,
            assign,
            changed,
            ..
        } => {
            let now = inv.now();
            if *changed {
                return super::submit_changed(&site.site, &key.source(), comment.clone(), now, out);
            }
            let req = SignRequest {
                site_root: &site.site,
                action: Action::Submit {
                    comment: comment.clone(),
                    assign: super::parse_assign(assign)?,
                },
                page: page
                    .as_deref()
                    .expect("clap requires PAGE without --changed"),
                key: &key.source(),
                version: version.as_deref(),
                now,
                force: false,
            };
            super::sign(&req, out)
        }
        Command::Assign {
            site,
            sign: args,
            step,
            reviewers,
        } => sign(
            site,
            args,
            inv.now(),
            Action::Assign {
                step: step.clone(),
                assignees: super::parse_reviewer_list(reviewers)?,
            },
            false,
        ),
        Command::History {
            site, format, page, ..
        } => {
            let now = inv.now();
            super::history(&site.site, now, *format, page, out)
        }
        Command::Restore {
            site,
            page,
            version,
            force,
            ..
        } => {
            let now = inv.now();
            super::restore(&site.site, now, page, version, *force, out)
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
            inv.now(),
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
            inv.now(),
            Action::Reject {
                step: step.clone(),
                role: role.clone(),
                comment: comment.clone(),
                discard: *discard,
            },
            *force,
        ),
        Command::Retract { site, sign: args } => {
            sign(site, args, inv.now(), Action::Retract, false)
        }
        Command::Publish { site, sign: args } => {
            sign(site, args, inv.now(), Action::Publish, false)
        }
        Command::Unpublish {
            site,
            sign: args,
            comment,
        } => sign(
            site,
            args,
            inv.now(),
            Action::Unpublish {
                comment: comment.clone(),
            },
            false,
        ),
        Command::Log {
            site,
            format,
            space,
            reviewer,
            since,
            until,
            kind,
            page,
            ..
        } => {
            let now = inv.now();
            let filter = super::LogFilter::parse(
                space.clone(),
                reviewer.clone(),
                since.as_deref(),
                until.as_deref(),
                kind.as_deref(),
            )?;
            super::log(&site.site, now, *format, page.as_deref(), &filter, out)
        }
        Command::Notify {
            site,
            dry_run,
            format,
            ..
        } => {
            let now = inv.now();
            super::notify(&site.site, now, *dry_run, *format, out)
        }
        Command::Init { dir, site, .. } => {
            let dir = dir.as_ref().unwrap_or(&site.site);
            super::init(dir, inv.now(), out)
        }
    }
}
