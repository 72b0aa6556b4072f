//! The comparer: the simulator's log against a native one, under documented rules.
//!
//! 1. Lines are compared case by case, in order; the `what` fields must match (a
//!    missing or extra line is a disagreement).
//! 2. The return value is always compared; so are notes (data, counts, exit codes).
//! 3. The last error is compared only where the call failed (`FALSE`, `NULL`,
//!    `INVALID_HANDLE_VALUE`, `WAIT_FAILED`): Windows and Wine sometimes touch it on
//!    success.
//! 4. A difference listed in the manifest (`native/manifest.txt`) is a documented
//!    difference, not a disagreement: a known place where the native implementation the
//!    runner used (Wine) differs from Windows, which winsim follows, each with its source.
//!    An entry's `case` and `what` may hold `*`, matching any run of characters, so that
//!    one entry covers a rule wherever the generated cases (`random.rs`) exercise it.

use crate::log::{SEP, is_failure};
use std::collections::{BTreeMap, BTreeSet};

/// One manifest entry: on line `what` of `case`, winsim (following Windows) logs
/// `windows` in `field`, the native run under Wine logs `wine`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    /// The case.
    pub case: String,
    /// The line's `what` field.
    pub what: String,
    /// `ret` or `err`.
    pub field: String,
    /// What Windows does, and winsim logs.
    pub windows: String,
    /// What Wine does.
    pub wine: String,
    /// Where the difference is documented.
    pub source: String,
}

/// Parses the manifest: `case | what | field | windows | wine | source` per line,
/// `#` comments and blank lines ignored.
pub fn parse_manifest(text: &str) -> Result<Vec<Known>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(SEP).collect();
        if f.len() != 6 || !matches!(f[2], "ret" | "err") {
            return Err(format!("manifest line {}: want `case | what | ret|err | windows | wine | source`", i + 1));
        }
        out.push(Known {
            case: f[0].into(),
            what: f[1].into(),
            field: f[2].into(),
            windows: f[3].into(),
            wine: f[4].into(),
            source: f[5].into(),
        });
    }
    Ok(out)
}

/// What the comparer found on one line (or one missing line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A documented difference: the manifest entry's source.
    Documented {
        /// The simulator's line.
        line: String,
        /// The manifest entry's source.
        source: String,
    },
    /// A real disagreement.
    Disagreement {
        /// The simulator's line.
        sim: String,
        /// The native line.
        native: String,
        /// Which rule failed.
        why: String,
    },
}

/// The comparison's totals and findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Cases seen in either log.
    pub cases: usize,
    /// Cases whose every line agrees.
    pub cases_agreeing: usize,
    /// Lines compared.
    pub lines: usize,
    /// Lines that agree under the rules.
    pub agreements: usize,
    /// Documented differences and disagreements, in log order.
    pub findings: Vec<Finding>,
    /// The manifest entries (by position) that documented at least one line.
    pub entries_used: BTreeSet<usize>,
}

impl Comparison {
    /// Documented differences.
    pub fn documented(&self) -> usize {
        self.findings.iter().filter(|f| matches!(f, Finding::Documented { .. })).count()
    }
    /// Real disagreements.
    pub fn disagreements(&self) -> usize {
        self.findings.iter().filter(|f| matches!(f, Finding::Disagreement { .. })).count()
    }
    /// The printed summary and findings.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            match f {
                Finding::Documented { line, source } => {
                    s.push_str(&format!("documented: {line}\n    source: {source}\n"))
                }
                Finding::Disagreement { sim, native, why } => {
                    s.push_str(&format!("DISAGREEMENT ({why}):\n    sim:    {sim}\n    native: {native}\n"))
                }
            }
        }
        s.push_str(&format!(
            "cases: {} ({} agree in full); lines: {}; agreements: {}; documented differences: {}; disagreements: {}\n",
            self.cases,
            self.cases_agreeing,
            self.lines,
            self.agreements,
            self.documented(),
            self.disagreements()
        ));
        s
    }
}

fn fields(line: &str) -> Vec<&str> {
    line.splitn(4, SEP).collect()
}

fn by_case(lines: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        let case = fields(l)[0].split('/').next().unwrap_or("").to_string();
        m.entry(case).or_default().push(l.clone());
    }
    m
}

/// Compares two logs (lines in the [`crate::log`] format) under the rules above.
pub fn compare(sim: &[String], native: &[String], manifest: &[Known]) -> Comparison {
    let (s, n) = (by_case(sim), by_case(native));
    let mut cases: Vec<&String> = s.keys().chain(n.keys()).collect();
    cases.sort();
    cases.dedup();
    let mut c = Comparison { cases: cases.len(), ..Comparison::default() };
    let empty = Vec::new();
    for case in cases {
        let (sl, nl) = (s.get(case).unwrap_or(&empty), n.get(case).unwrap_or(&empty));
        let before = c.findings.iter().filter(|f| matches!(f, Finding::Disagreement { .. })).count();
        for i in 0..sl.len().max(nl.len()) {
            c.lines += 1;
            let (a, b) =
                (sl.get(i).map(String::as_str).unwrap_or("(none)"), nl.get(i).map(String::as_str).unwrap_or("(none)"));
            let (fa, fb) = (fields(a), fields(b));
            if fa.len() != 4 || fb.len() != 4 || fa[..2] != fb[..2] {
                c.findings.push(Finding::Disagreement {
                    sim: a.into(),
                    native: b.into(),
                    why: "different lines".into(),
                });
                continue;
            }
            let ret_differs = fa[2] != fb[2];
            let err_differs = !ret_differs && is_failure(fa[2]) && fa[3] != fb[3];
            if !ret_differs && !err_differs {
                c.agreements += 1;
                continue;
            }
            let (field, wv, nv) = if ret_differs { ("ret", fa[2], fb[2]) } else { ("err", fa[3], fb[3]) };
            let known = manifest.iter().enumerate().find(|(_, k)| {
                glob(&k.case, fa[0]) && glob(&k.what, fa[1]) && k.field == field && k.windows == wv && k.wine == nv
            });
            match known {
                Some((i, k)) => {
                    c.entries_used.insert(i);
                    c.findings.push(Finding::Documented { line: a.into(), source: k.source.clone() })
                }
                None => c.findings.push(Finding::Disagreement {
                    sim: a.into(),
                    native: b.into(),
                    why: format!("{field} differs"),
                }),
            }
        }
        let after = c.findings.iter().filter(|f| matches!(f, Finding::Disagreement { .. })).count();
        if after == before && sl.len() == nl.len() && sl.iter().zip(nl).all(|(a, b)| agree_line(a, b)) {
            c.cases_agreeing += 1;
        }
    }
    c
}

/// Whether `text` matches `pattern`, in which `*` matches any run of characters (none
/// included) and every other character itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else { return pattern == text };
    let Some(mut text) = text.strip_prefix(head) else { return false };
    // Each later piece is found at its first place after the last: the first match leaves
    // the most text for the pieces after it.
    let mut pieces: Vec<&str> = rest.split('*').collect();
    let last = pieces.pop().unwrap_or("");
    for piece in pieces {
        match text.find(piece) {
            Some(i) => text = &text[i + piece.len()..],
            None => return false,
        }
    }
    text.len() >= last.len() && text.ends_with(last)
}

/// True when two lines agree under rules 1-3 (no manifest).
fn agree_line(a: &str, b: &str) -> bool {
    let (fa, fb) = (fields(a), fields(b));
    fa.len() == 4 && fb.len() == 4 && fa[..3] == fb[..3] && (!is_failure(fa[2]) || fa[3] == fb[3])
}
