//! The README's concept map must name every Linux function that a kernel doc
//! comment says it mirrors (`/// Linux: copy_process() in kernel/fork.c`).

use std::fs;
use std::io;
use std::path::Path;

/// The kernel's sources.
pub const KERNEL_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../kernel/src");
/// The README.
pub const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");

/// Every `name()` named on a `/// Linux:` line under `dir`, with its file.
///
/// # Errors
/// A source file cannot be read.
pub fn linux_functions(dir: &Path) -> io::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(linux_functions(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            for line in fs::read_to_string(&path)?.lines() {
                let Some((_, rest)) = line.split_once("/// Linux: ") else {
                    continue;
                };
                for name in function_names(rest) {
                    found.push((name, path.display().to_string()));
                }
            }
        }
    }
    Ok(found)
}

/// The `identifier()` tokens of a line, with the parentheses.
fn function_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (i, _) in text.match_indices("()") {
        let start = text[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        if start < i {
            names.push(format!("{}()", &text[start..i]));
        }
    }
    names
}

/// The names missing from the map section of `readme`.
pub fn missing_from_map(readme: &str, functions: &[(String, String)]) -> Vec<String> {
    let map = readme
        .split_once("<!-- concept-map -->")
        .and_then(|(_, rest)| rest.split_once("<!-- /concept-map -->"))
        .map_or("", |(map, _)| map);
    let mut missing: Vec<String> = functions
        .iter()
        .filter(|(name, _)| !map.contains(&format!("`{name}`")))
        .map(|(name, file)| format!("{name} (named in {file})"))
        .collect();
    missing.sort();
    missing.dedup();
    missing
}
