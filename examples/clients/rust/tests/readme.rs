//! The README shows tested code: every `rust` snippet of README.md is the
//! region of `examples/quickstart.rs` it names (`<!-- quickstart.rs: name
//! -->` above it, `// ANCHOR: name` around it), copied verbatim, and every
//! region is shown. `test.sh` runs the quickstart itself.

use std::path::Path;

const MARKER: &str = "<!-- quickstart.rs: ";

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `(name, code)` snippets of the README, in order.
fn snippets(readme: &str) -> Vec<(&str, String)> {
    let mut found = Vec::new();
    let mut rest = readme;
    while let Some(at) = rest.find(MARKER) {
        let after = &rest[at + MARKER.len()..];
        let (name, after) = after
            .split_once(" -->\n```rust\n")
            .expect("a marker, then the block");
        let (code, after) = after.split_once("\n```\n").expect("the block ends");
        found.push((name, code.to_owned()));
        rest = after;
    }
    found
}

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name`, without
/// their common indentation.
fn region(source: &str, name: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let is = |line: &str, tag: &str| line.trim() == format!("// {tag}: {name}");
    let start = lines
        .iter()
        .position(|l| is(l, "ANCHOR"))
        .expect("the anchor");
    let end = lines
        .iter()
        .position(|l| is(l, "ANCHOR_END"))
        .expect("its end");
    let body = &lines[start + 1..end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = body.iter().map(|l| l.get(indent..).unwrap_or("")).collect();
    dedented.join("\n")
}

#[test]
fn the_readme_shows_the_quickstart_regions_verbatim() {
    let readme = read("README.md");
    let quickstart = read("examples/quickstart.rs");
    let snippets = snippets(&readme);
    let anchors = quickstart.matches("// ANCHOR: ").count();
    assert_eq!(snippets.len(), anchors, "one snippet per region");
    assert_eq!(
        readme.matches("```rust").count(),
        anchors,
        "no untested rust block"
    );
    for (name, code) in snippets {
        assert_eq!(code, region(&quickstart, name), "README snippet {name}");
    }
}
