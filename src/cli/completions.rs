//! `imprimatur completions SHELL` and `imprimatur man [--out DIR]`: the shell completion
//! script and the manual pages, both generated from the clap definition that parses the
//! command line (`args::LowArgs`), so neither can name a flag the binary does not take.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::args::LowArgs;
use super::EXIT_OK;
use crate::error::{Error, Result};

/// The command line as clap knows it, named as the binary is installed.
fn command() -> clap::Command {
    LowArgs::command().disable_help_subcommand(true)
}

/// `imprimatur completions SHELL`: the completion script for `shell`, on `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "imprimatur", &mut script);
    super::print(out, &String::from_utf8_lossy(&script))?;
    Ok(EXIT_OK)
}

/// `imprimatur man`: the top page (`imprimatur.1`) on `out`; with `dir`, every page —
/// `imprimatur.1` and one per subcommand (`imprimatur-build.1`,
/// `imprimatur-governance-status.1`, …), each written atomically — and their names on `out`.
pub fn man(dir: Option<&Path>, out: &mut dyn Write) -> Result<i32> {
    let mut cmd = command();
    cmd.build();
    let Some(dir) = dir else {
        let page = render(&cmd).map_err(|e| Error::io("<stdout>", e))?;
        super::print(out, &String::from_utf8_lossy(&page))?;
        return Ok(EXIT_OK);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    write_pages(&cmd, dir, &mut written)?;
    let mut text = format!(
        "wrote {} manual page(s) to {}:\n",
        written.len(),
        dir.display()
    );
    for name in &written {
        text.push_str(&format!("  {name}\n"));
    }
    super::print(out, &text)?;
    Ok(EXIT_OK)
}

/// The page of `cmd` (already built: subcommands carry their display names,
/// `imprimatur-build`), then those of its subcommands, depth first, into `dir`.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<String>) -> Result<()> {
    let name = format!("{}.1", cmd.get_display_name().unwrap_or(cmd.get_name()));
    let path = dir.join(&name);
    let page = render(cmd).map_err(|e| Error::io(&path, e))?;
    crate::fs::write_file(&path, &page)?;
    written.push(name);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

fn render(cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    // Every page says which release it documents (a subcommand's own version is empty).
    clap_mangen::Man::new(cmd.clone())
        .source(concat!("imprimatur ", env!("CARGO_PKG_VERSION")))
        .manual("imprimatur manual")
        .render(&mut page)?;
    Ok(page)
}
