//! `imprimatur completions SHELL` and `imprimatur man`: what a shell and `man` get, generated
//! from the command line the binary parses. The subcommands are read from `--help`, so a
//! command added there and missing from a script or a page fails here.

use std::process::Command;

/// The release every page says it documents.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the binary outside any site; must succeed. Its stdout.
fn imprimatur(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "imprimatur {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The subcommands `imprimatur --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let help = imprimatur(&["--help"]);
    let listed: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(listed.len() > 20, "commands listed by --help: {listed:?}");
    for expected in ["build", "status", "completions", "man", "governance"] {
        assert!(
            listed.iter().any(|c| c == expected),
            "{expected} in {listed:?}"
        );
    }
    listed
}

/// `bash` with `script` sourced, then `commands`: its stdout.
fn bash_with(script: &str, commands: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imprimatur.bash");
    std::fs::write(&file, script).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source {}\n{commands}", file.display()))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_bash_script_parses_and_completes_every_subcommand_and_their_flags() {
    let script = imprimatur(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("imprimatur.bash");
    std::fs::write(&file, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    let registered = bash_with(&script, "complete -p imprimatur");
    assert!(
        registered.contains("_imprimatur"),
        "complete -p: {registered}"
    );

    // What the shell offers after `imprimatur ` (Tab), one word a line.
    let offered = bash_with(
        &script,
        "COMP_WORDS=(imprimatur ''); COMP_CWORD=1; COMP_LINE='imprimatur '; COMP_POINT=11\n\
         _imprimatur imprimatur '' imprimatur\nprintf '%s\\n' \"${COMPREPLY[@]}\"",
    );
    let offered: Vec<&str> = offered.lines().collect();
    for command in subcommands() {
        assert!(
            offered.contains(&command.as_str()),
            "{command} not offered: {offered:?}"
        );
    }
    // After `imprimatur status --`: its own flags, the new ones included.
    let flags = bash_with(
        &script,
        "COMP_WORDS=(imprimatur status --); COMP_CWORD=2; COMP_LINE='imprimatur status --'; COMP_POINT=20\n\
         _imprimatur imprimatur -- status\nprintf '%s\\n' \"${COMPREPLY[@]}\"",
    );
    for flag in ["--format", "--mine", "--site", "--now"] {
        assert!(
            flags.lines().any(|l| l == flag),
            "{flag} not offered after status: {flags}"
        );
    }
}

#[test]
fn zsh_fish_powershell_and_elvish_get_a_script_naming_the_subcommands() {
    let zsh = imprimatur(&["completions", "zsh"]);
    assert!(
        zsh.starts_with("#compdef imprimatur"),
        "{}",
        &zsh[..zsh.len().min(200)]
    );
    let fish = imprimatur(&["completions", "fish"]);
    let powershell = imprimatur(&["completions", "powershell"]);
    assert!(powershell.contains("Register-ArgumentCompleter"));
    let elvish = imprimatur(&["completions", "elvish"]);
    for command in subcommands() {
        assert!(
            zsh.contains(&format!("'{command}:")),
            "{command} not in the zsh script"
        );
        assert!(
            fish.contains(&format!("-a \"{command}\"")),
            "{command} not in the fish script"
        );
        assert!(
            powershell.contains(&format!("'{command}'")),
            "{command} not in powershell's"
        );
        assert!(
            elvish.contains(&format!("cand {command} ")),
            "{command} not in elvish's"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_shells() {
    let out = Command::new(env!("CARGO_BIN_EXE_imprimatur"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(err.contains(shell), "{shell} not named in: {err}");
    }
}

#[test]
fn man_prints_the_top_page_naming_every_subcommand() {
    let page = imprimatur(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains("\n.TH "),
        "{}",
        &page[..200]
    );
    assert!(
        page.contains(&format!(".TH imprimatur 1  \"imprimatur {VERSION}\"")),
        "{}",
        &page[..400]
    );
    for command in subcommands() {
        assert!(
            page.contains(&format!("imprimatur\\-{command}(1)")),
            "imprimatur-{command}(1) not in the top page"
        );
    }
}

#[test]
fn man_out_writes_one_page_per_subcommand_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("man/man1");
    let said = imprimatur(&["man", "--out", into.to_str().unwrap()]);
    let mut names: Vec<String> = std::fs::read_dir(&into)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = vec!["imprimatur.1".to_string()];
    expected.extend(subcommands().iter().map(|c| format!("imprimatur-{c}.1")));
    for name in &expected {
        assert!(names.contains(name), "{name} not written: {names:?}");
        assert!(said.contains(name.as_str()), "{name} not listed: {said}");
    }
    // The nested commands have pages of their own, and nothing else is left in the folder.
    assert!(
        names.contains(&"imprimatur-governance-status.1".to_string()),
        "{names:?}"
    );
    assert!(names.iter().all(|n| n.ends_with(".1")), "{names:?}");
    let build = std::fs::read_to_string(into.join("imprimatur-build.1")).unwrap();
    let title = format!(".TH imprimatur-build 1  \"imprimatur {VERSION}\" \"imprimatur manual\"");
    assert!(build.contains(&title), "{}", &build[..300]);
    assert!(
        build.contains("\\-\\-strict"),
        "build's page names its flags"
    );
}
