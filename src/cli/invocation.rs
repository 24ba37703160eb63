//! The checked invocation — ripgrep's `HiArgs`: the parsed command line (`LowArgs`) with the
//! trust-root pin parsed and `--now` resolved once, and `run`, which does what it says and
//! returns the process's exit code. `main.rs` only parses, checks and runs.

use std::path::{Path, PathBuf};
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
    /// `--quiet`: no progress on standard error.
    quiet: bool,
}

impl Invocation {
    /// Checks the flags every command shares: `--trust-root`, then `--now` (usage errors,
    /// exit 2).
    pub fn new(mut low: LowArgs) -> Result<Invocation> {
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
        if let Some(site) = low.command.site_mut() {
            site.site = match &site.given {
                Some(dir) => dir.clone(),
                None => find_site()?,
            };
        }
        Ok(Invocation {
            pin,
            now,
            command: low.command,
            quiet: low.quiet,
        })
    }

    fn now(&self) -> Instant {
        self.now
            .expect("Invocation::new resolves --now for every command that has one")
    }
}

/// The site the working folder is in: the nearest folder, from it upward, that holds
/// `imprimatur.yaml` (as git finds its repository), spelled relative to it (`.`, `..`,
/// `../..`) so messages name paths as they did with `--site`. Outside any site: a usage
/// error that says so and names `--site` and `imprimatur init`.
fn find_site() -> Result<PathBuf> {
    let here = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    match site_above(&here)? {
        Some(0) => Ok(PathBuf::from(".")),
        Some(up) => Ok((0..up).map(|_| "..").collect()),
        None => Err(Error::Usage(format!(
            "no {CONFIG} in {} or any folder above it: this is not inside a site. Run the command in a site's folder, pass --site DIR, or create a site with `imprimatur init DIR`",
            here.display()
        ))),
    }
}

/// The site config's file name, which marks a site's folder.
const CONFIG: &str = "imprimatur.yaml";

/// How many folders up from `start` the nearest one holding `imprimatur.yaml` is, if any. A
/// folder that can't be looked into stops the search with its error rather than skipping to
/// a site further up (fail closed: never a site the user did not mean).
fn site_above(start: &Path) -> Result<Option<usize>> {
    for (up, dir) in start.ancestors().enumerate() {
        let config = dir.join(CONFIG);
        if config.try_exists().map_err(|e| Error::io(&config, e))? {
            return Ok(Some(up));
        }
    }
    Ok(None)
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
            force,
            ..
        }) => {
            let now = inv.now();
            let at = match at {
                Some(text) => crate::time::resolve_now(Some(text))
                    .map_err(|m| Error::Usage(m.replacen("--now", "--at", 1)))?,
                None => now,
            };
            super::keyring_revoke(&site.site, key, *seal, at, now, *force, out)
        }
        Command::Keyring(KeyringCommand::Add {
            site,
            id,
            name,
            email,
            groups,
            public_key_file,
            key_id,
            ..
        }) => super::keyring_add(
            &site.site,
            &super::KeyringAdd {
                id,
                name: name.as_deref(),
                email: email.as_deref(),
                groups,
                public_key_file,
                key_id: key_id.as_deref(),
            },
            inv.now(),
            out,
        ),
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
                quiet: inv.quiet,
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
            team,
        } => super::serve(
            &super::ServeOptions {
                site_root: site.site.clone(),
                bind: *bind,
                port: *port,
                open: *open,
                now: now.now.clone(),
                key: own_key(key, *agent, agent_key),
                team: *team,
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
            audience,
            ..
        } => {
            let now = inv.now();
            match (mine, own_key(key, *agent, agent_key)) {
                (true, Some(key)) => {
                    super::status_mine(&site.site, now, *format, &key, inv.quiet, out)
                }
                _ => super::status(
                    &site.site,
                    now,
                    &super::StatusOptions {
                        format: *format,
                        pages,
                        audience: audience.as_deref(),
                        quiet: inv.quiet,
                    },
                    out,
                ),
            }
        }
        Command::Verify {
            site,
            format,
            since,
            ..
        } => {
            let now = inv.now();
            super::verify(&site.site, now, since.as_deref(), *format, inv.quiet, out)
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
        Command::Completions { shell } => super::completions(*shell, out),
        Command::Man { out: dir } => super::man(dir.as_deref(), out),
        Command::Init { dir, site, .. } => {
            let here = PathBuf::from(".");
            let dir = dir.as_ref().or(site.given.as_ref()).unwrap_or(&here);
            super::init(dir, inv.now(), out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_the_nearest_folder_above_holding_imprimatur_yaml() {
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("site/content/guides/deep");
        std::fs::create_dir_all(&inner).unwrap();
        assert_eq!(site_above(&inner).unwrap(), None);
        std::fs::write(root.path().join("site").join(CONFIG), "").unwrap();
        assert_eq!(site_above(&inner).unwrap(), Some(3));
        assert_eq!(site_above(&root.path().join("site")).unwrap(), Some(0));
        // A nearer site wins over one further up.
        std::fs::write(root.path().join("site/content").join(CONFIG), "").unwrap();
        assert_eq!(site_above(&inner).unwrap(), Some(2));
    }
}
