//! The house's stairs run one way (README, "Map"): a file in `src/` may name `crate::X` only
//! for an `X` on its own floor or below. A lower floor that needs a service from a higher one
//! defines a trait for it instead. This test reads the sources, so a new upward import fails
//! here with the file and the line, before anyone has to find it in review.

use std::path::Path;

/// The floors, bottom to top, by the first component of a module path under `src/`.
const FLOORS: &[(&str, u8)] = &[
    ("error", 0),
    ("escape", 0),
    ("fs", 0),
    ("progress", 0),
    ("time", 0),
    ("timings", 0),
    ("yaml", 0),
    ("trust", 1),
    ("cache", 2),
    ("site", 3),
    ("workflow", 4),
    ("publish", 5),
    ("report", 6),
    ("notify", 7),
    ("serve", 7),
    ("cli", 8),
    // The fuzz targets' entry points and the binary stand on everything.
    ("fuzzing", 9),
    ("main", 9),
    ("lib", 9),
];

fn floor(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|&(_, f)| f)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::X` in `text`, with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((n + 1, name));
            rest = after;
        }
    }
    found
}

#[test]
fn no_file_in_src_imports_from_a_floor_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let own = first.trim_end_matches(".rs");
        let own_floor = floor(own).unwrap_or_else(|| {
            panic!(
                "src/{} is in no floor: add `{own}` to FLOORS",
                rel.display()
            )
        });
        let text = std::fs::read_to_string(path).unwrap();
        for (line, target) in crate_paths(&text) {
            if let Some(f) = floor(&target) {
                if f > own_floor {
                    upward.push(format!("src/{}:{line}: crate::{target}", rel.display()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a higher floor:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    // The test above must be able to fail: the reader finds a `crate::` path anywhere on a line.
    let found = crate_paths("use crate::site::Site; let x = crate::publish::render::X;");
    assert_eq!(
        found,
        vec![(1, "site".to_string()), (1, "publish".to_string())]
    );
    assert!(floor("publish") > floor("trust"));
}

#[test]
fn no_source_file_is_over_900_lines() {
    // Tests beside the code (`tests.rs`) aside: a room has one job.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .filter_map(|p| {
            let lines = std::fs::read_to_string(p).unwrap().lines().count();
            (lines > 900).then(|| format!("{} ({lines} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split by job: {}", long.join(", "));
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap();
    assert!(
        main.lines().count() <= 200,
        "main.rs parses and runs; no more"
    );
}
