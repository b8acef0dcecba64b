//! The layers of `shared/src` hold: a module imports only from layers below its own.
//!
//! ARCHITECTURE.md states the rule; this test keeps it true. It reads every source file of the
//! library, finds each `crate::<module>` path outside comments (in `use` lines, grouped
//! `use crate::{…}` items and inline paths alike), and checks it against the layer table below.
//! Since every import points strictly down (or stays inside its own top-level module), there can
//! be no cycle between modules. It also keeps the tree readable: few entries at the top, no file
//! longer than a screenful of screens before its tests, binaries that only wire.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module of the library and its layer, bottom up. Modules of one layer do not
/// import each other: `sign`, `push` and `pull` are independent use cases, `auth` and
/// `attribution` independent concerns.
const LAYERS: [(&str, u8); 10] = [
    ("platform", 0),
    ("vod", 1),
    ("auth", 2),
    ("attribution", 2),
    ("ingest", 3),
    ("web", 4),
    ("sign", 5),
    ("push", 5),
    ("pull", 5),
    // lib.rs only declares the modules.
    ("lib", 6),
];

/// What Tencent's protocol layer may take from the platform: secrets as values and the outbound
/// HTTP client policy (no proxy from the environment; fixed once at start, read from nothing at
/// call time), nothing that reads the environment or talks to AWS.
const VOD_MAY_USE_FROM_PLATFORM: [&str; 2] = ["secret", "outbound"];

const MAX_TOP_LEVEL_ENTRIES: usize = 12;
const MAX_LINES_BEFORE_TESTS: usize = 600;
const MAX_BINARY_LINES: usize = 40;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("shared/src")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn library_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
}

/// The top-level module a file belongs to: `vod` for `vod/api.rs`, `attribution` for
/// `attribution.rs`.
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    Path::new(first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| panic!("module {module} is not in the layer table of this test"))
}

/// The source without comments: line comments (`//`, `///`, `//!`) are dropped whole-line, which
/// is how this code base writes them.
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(index, line)| (index + 1, line))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `crate::a::b` path in `code`, as the list of its segments (`["a", "b"]`), including
/// those inside grouped imports (`crate::{a::b, c}` gives `["a", "b"]` and `["c"]`).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at].chars().next_back().is_some_and(is_ident);
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue; // e.g. `mycrate::x`
        }
        if let Some(group) = rest.strip_prefix('{') {
            paths.extend(group_items(group));
        } else {
            paths.push(segments(rest));
        }
    }
    paths
}

/// The segments of a path at the start of `text`: `a::b::{c, d}` gives `["a", "b"]`.
fn segments(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        found.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    found
}

/// The paths of a group's items, up to its closing brace (nested groups keep their prefix).
fn group_items(group: &str) -> Vec<Vec<String>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(segments(group[start..index].trim()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(segments(group[start..index].trim()));
                start = index + 1;
            }
            _ => {}
        }
    }
    items.retain(|item| !item.is_empty());
    items
}

#[test]
fn every_import_points_down() {
    let mut violations = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for file in library_files() {
        let source = fs::read_to_string(&file).unwrap();
        let from = module_of(&file);
        seen_modules.insert(from.clone());
        let code: String = code_lines(&source)
            .map(|(_, line)| line)
            .collect::<Vec<_>>()
            .join("\n");
        for path in crate_paths(&code) {
            let Some(to) = path.first() else { continue };
            let name = file.strip_prefix(src()).unwrap().display();
            if *to == from {
                continue;
            }
            if layer(to) >= layer(&from) {
                violations.push(format!(
                    "{name}: crate::{} — {from} (layer {}) may not import {to} (layer {})",
                    path.join("::"),
                    layer(&from),
                    layer(to)
                ));
            }
            if from == "vod"
                && to == "platform"
                && !path
                    .get(1)
                    .is_some_and(|m| VOD_MAY_USE_FROM_PLATFORM.contains(&m.as_str()))
            {
                violations.push(format!(
                    "{name}: crate::{} — vod takes keys as values and reads no environment; \
                     it may use only platform::{{{}}}",
                    path.join("::"),
                    VOD_MAY_USE_FROM_PLATFORM.join(", ")
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers (see ARCHITECTURE.md):\n{}",
        violations.join("\n")
    );
    let table: BTreeSet<String> = LAYERS.iter().map(|(m, _)| (*m).to_owned()).collect();
    assert_eq!(
        seen_modules, table,
        "the layer table and the folders differ"
    );
}

#[test]
fn the_checker_sees_every_form_of_import() {
    let code = "use crate::vod::callback::{self, Callback};\n\
                use crate::{ingest::sink::{Sink, Stored}, web};\n\
                let x = crate::platform::config::Env::default();\n\
                use mycrate::nothing;";
    assert_eq!(
        crate_paths(code),
        [
            vec!["vod", "callback"],
            vec!["ingest", "sink"],
            vec!["web"],
            vec!["platform", "config", "Env", "default"],
        ]
    );
}

#[test]
fn the_top_level_stays_small() {
    let entries: Vec<String> = fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.len() <= MAX_TOP_LEVEL_ENTRIES,
        "{} entries at the top of shared/src (at most {MAX_TOP_LEVEL_ENTRIES}): {entries:?}",
        entries.len()
    );
}

#[test]
fn no_file_is_too_long_before_its_tests() {
    let too_long: Vec<String> = library_files()
        .into_iter()
        // A `tests.rs` is a test module moved beside its module: all of it is tests.
        .filter(|file| !file.ends_with("tests.rs"))
        .filter_map(|file| {
            let source = fs::read_to_string(&file).unwrap();
            let lines = source
                .lines()
                .position(|line| line.trim() == "#[cfg(test)]")
                .unwrap_or_else(|| source.lines().count());
            (lines > MAX_LINES_BEFORE_TESTS).then(|| {
                format!(
                    "{}: {lines} lines",
                    file.strip_prefix(src()).unwrap().display()
                )
            })
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "files over {MAX_LINES_BEFORE_TESTS} lines before #[cfg(test)] (split them; tests bigger \
         than their module go to a sibling file):\n{}",
        too_long.join("\n")
    );
}

#[test]
fn function_binaries_only_wire() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for function in ["sign", "events"] {
        let main = root.join("functions").join(function).join("main.rs");
        let lines = fs::read_to_string(&main).unwrap().lines().count();
        assert!(
            lines <= MAX_BINARY_LINES,
            "{}: {lines} lines; a function binary reads the environment and starts a use case, \
             the rest belongs in the library",
            main.display()
        );
    }
}
