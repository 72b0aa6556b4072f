//! The teaching guide (docs/guide/) embeds what winsim prints and draws: each
//! `<!-- winsim: ARGS -->` marker is followed by a fenced block holding the output of
//! `winsim ARGS`. This test regenerates every block and fails when a page drifts;
//! `WINSIM_UPDATE_DOCS=1` rewrites the pages instead.

use std::path::Path;
use std::process::Command;

const MARK: &str = "<!-- winsim: ";

fn winsim(args: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_winsim")).args(args.split_whitespace()).output().expect("winsim runs");
    assert!(matches!(out.status.code(), Some(0 | 1)), "winsim {args}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The page with every block after a marker replaced by winsim's output; the markers.
fn regenerate(page: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut markers = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        let Some(args) = line.strip_prefix(MARK).and_then(|r| r.strip_suffix(" -->")) else { continue };
        markers.push(args.to_string());
        let fence = lines.next().expect("a fenced block follows the marker");
        assert!(fence.starts_with("```"), "after {line}: {fence}");
        out.push_str(fence);
        out.push('\n');
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
        }
        out.push_str(&winsim(args));
        out.push_str("```\n");
    }
    (out, markers)
}

#[test]
fn the_guide_shows_what_winsim_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/guide");
    let update = std::env::var_os("WINSIM_UPDATE_DOCS").is_some();
    let mut pages: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    let mut diagrams = 0;
    for path in pages.iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let page = std::fs::read_to_string(path).unwrap();
        let (fresh, markers) = regenerate(&page);
        diagrams += markers.len();
        if update {
            std::fs::write(path, &fresh).unwrap();
        } else {
            assert!(
                fresh == page,
                "{} drifted from what winsim prints; run WINSIM_UPDATE_DOCS=1 cargo test -p winsim-cli --test guide and read the diff",
                path.display()
            );
        }
    }
    assert!(diagrams >= 10, "the guide embeds {diagrams} outputs");
}
