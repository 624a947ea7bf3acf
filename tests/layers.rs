//! The layer rule for `src/`: imports point down only.
//!
//! `core` <- `store` <- `service` <- `http` / `workers` <- `cli` and the top-level files
//! `lib.rs`, `main.rs`, `app.rs` (layer "app"). A file may reach (`crate::…`, `super::…`,
//! `self::…`) only its own layer and those below it, as `ALLOWED` says. Besides: `core` does
//! no file or network I/O and uses no framework, `http` holds no SQL or transactions, and no
//! imports go round in a cycle, between folders or between modules (files). `src/bin/` is
//! skipped; `#[cfg(test)]` code counts; comments and string literals do not.
//!
//! Run with `cargo test --test layers`: a failure lists every problem as `file:line: …`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

const ALL: [&str; 7] = ["core", "store", "service", "http", "workers", "cli", "app"];

/// Each layer and the layers it may import.
const ALLOWED: [(&str, &[&str]); 7] = [
    ("core", &["core"]),
    ("store", &["core", "store"]),
    ("service", &["core", "store", "service"]),
    ("http", &["core", "store", "service", "http"]),
    ("workers", &["core", "store", "service", "workers"]),
    ("cli", &ALL),
    ("app", &ALL),
];

/// What `core` must not use (file or network I/O, frameworks), and the transaction helpers
/// `http` must not call.
const CORE_FORBIDDEN: &str = "actix_web actix_rt diesel awc tokio std::fs std::net";
const TX: [&str; 2] = ["write_tx", "read_tx"];

/// A file's module as path segments: `src/store/ledger.rs` is `crate::store::ledger`,
/// `src/store/mod.rs` is `crate::store`, `src/lib.rs` is `crate`.
fn module_of(path: &str) -> Vec<String> {
    let rel = path.strip_prefix("src/").unwrap_or(path);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    let full = format!("crate/{rel}");
    let full = if rel == "lib" { "crate" } else { &full };
    full.split('/').map(String::from).collect()
}

/// The layer a module belongs to; `None` for a file outside the layer folders.
fn layer_of(module: &[String]) -> Option<&'static str> {
    match module.get(1).map(String::as_str) {
        None | Some("main") => Some("app"),
        Some(first) => ALL.iter().copied().find(|layer| *layer == first),
    }
}

/// The rule a path into another crate (`std::fs::read`, `diesel::…`) breaks, if any.
fn external_rule(layer: Option<&str>, written: &str) -> Option<String> {
    let under = |f: &str| format!("{written}::").starts_with(&format!("{f}::"));
    match layer? {
        "core" => CORE_FORBIDDEN
            .split(' ')
            .find(|f| under(f))
            .map(|f| format!("core must not use {f}")),
        "http" if under("diesel") => Some("http must not contain SQL: no diesel".to_string()),
        _ => None,
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_word(text: &str) -> bool {
    text.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

struct Tok {
    text: String,
    line: usize,
}

/// The words, `::` and punctuation of a file with their line numbers, dropping comments
/// (nested `/* */` too) and string, raw string and char literals (but not lifetimes).
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let (mut toks, mut line, mut i) = (Vec::new(), 1, 0);
    while i < c.len() {
        let mut token = |text: String, end: usize| {
            toks.push(Tok { text, line });
            end
        };
        let end = match (c[i], at(i + 1)) {
            ('/', '/') => (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()),
            ('/', '*') => {
                let (mut depth, mut k) = (0, i);
                while k < c.len() {
                    match (c[k], at(k + 1)) {
                        ('/', '*') => (depth, k) = (depth + 1, k + 2),
                        ('*', '/') => (depth, k) = (depth - 1, k + 2),
                        _ => k += 1,
                    }
                    if depth == 0 {
                        break;
                    }
                }
                k
            }
            ('"', _) | ('\'', '\\') => {
                let mut k = i + 1;
                while k < c.len() && c[k] != c[i] {
                    k += if c[k] == '\\' { 2 } else { 1 };
                }
                (k + 1).min(c.len())
            }
            ('\'', _) if at(i + 2) == '\'' => i + 3,
            (ch, _) if is_ident(ch) => {
                let word: String = c[i..].iter().take_while(|&&ch| is_ident(ch)).collect();
                let after = i + word.chars().count();
                let raw = matches!(word.as_str(), "r" | "br" | "cr");
                match raw.then(|| raw_string_end(&c, after)).flatten() {
                    Some(end) => end,
                    None => token(word, after),
                }
            }
            (':', ':') => token("::".to_string(), i + 2),
            (ch, _) if ch.is_whitespace() => i + 1,
            (ch, _) => token(ch.to_string(), i + 1),
        };
        line += c[i..end].iter().filter(|&&ch| ch == '\n').count();
        i = end;
    }
    toks
}

/// The end of a raw string whose `#`s or opening `"` start at `c[j]`.
fn raw_string_end(c: &[char], j: usize) -> Option<usize> {
    let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
    if c.get(j + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = format!("\"{}", "#".repeat(hashes)).chars().collect();
    let found = (j + hashes + 1..c.len()).find(|&k| c[k..].starts_with(&close));
    Some(found.map_or(c.len(), |k| k + close.len()))
}

fn text_at(toks: &[Tok], k: usize) -> &str {
    toks.get(k).map_or("", |t| t.text.as_str())
}

/// The full paths a `use` tree starting at `toks[*i]` names (`a::{b, c::{self, d}}` is
/// `a::b`, `a::c`, `a::c::d`), each with its line; leaves `*i` on the closing `;`.
fn use_tree(toks: &[Tok], i: &mut usize) -> Vec<(Vec<String>, usize)> {
    let (mut out, mut path, mut groups, mut leaf) = (Vec::new(), Vec::new(), Vec::new(), None);
    while let Some(tok) = toks.get(*i) {
        match tok.text.as_str() {
            "{" => groups.push(path.len()),
            end @ ("," | "}" | ";") => {
                if let Some(line) = leaf.take() {
                    out.push((path.clone(), line));
                }
                path.truncate(groups.last().copied().unwrap_or(0));
                match end {
                    ";" => break,
                    "}" => _ = groups.pop(),
                    _ => {}
                }
            }
            "as" => *i += 1, // skip the alias
            "self" if groups.last() == Some(&path.len()) => leaf = Some(tok.line),
            "*" => leaf = Some(tok.line),
            word if is_word(word) => {
                path.push(word.to_string());
                leaf = Some(tok.line);
            }
            _ => {}
        }
        *i += 1;
    }
    out
}

/// The absolute module path a `crate::`, `super::` or `self::` path names from `here`.
fn absolute(segs: &[String], here: &[String]) -> Option<Vec<String>> {
    let (mut base, mut rest) = (here.to_vec(), &segs[1..]);
    match segs.first()?.as_str() {
        "crate" => base.truncate(1),
        "self" => {}
        "super" => {
            let ups = segs.iter().take_while(|s| *s == "super").count();
            base.truncate(base.len().saturating_sub(ups).max(1));
            rest = &segs[ups..];
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// A path in a file: its line, its segments as written and, for a `crate`, `super` or
/// `self` path, the absolute module path it names.
type Ref = (usize, Vec<String>, Option<Vec<String>>);

/// Every path in a file: the leaves of `use` trees and the `a::b` paths in code. Inline
/// `mod name { … }` blocks are tracked, so `super::` inside `mod tests` means the file.
fn refs(toks: &[Tok], module: &[String]) -> Vec<Ref> {
    let (mut out, mut found, mut here) = (Vec::new(), Vec::new(), module.to_vec());
    let (mut i, mut depth, mut opened, mut pending) = (0, 0, Vec::new(), None);
    while i < toks.len() {
        match text_at(toks, i) {
            "{" => {
                depth += 1;
                if let Some(name) = pending.take() {
                    here.push(name);
                    opened.push(depth);
                }
            }
            "}" => {
                if opened.last() == Some(&depth) {
                    here.pop();
                    opened.pop();
                }
                depth = usize::saturating_sub(depth, 1);
            }
            "mod" if text_at(toks, i + 2) == "{" => pending = Some(text_at(toks, i + 1).into()),
            "use" if text_at(toks, i + 1) != "<" => {
                i += 1;
                found = use_tree(toks, &mut i);
            }
            word if is_word(word) => {
                let mut segs = vec![word.to_string()];
                while text_at(toks, i + 1) == "::" && is_word(text_at(toks, i + 2)) {
                    segs.push(text_at(toks, i + 2).to_string());
                    i += 2;
                }
                if segs.len() > 1 {
                    found.push((segs, toks[i].line));
                }
            }
            _ => {}
        }
        for (segs, line) in found.drain(..) {
            let abs = absolute(&segs, &here);
            out.push((line, segs, abs));
        }
        i += 1;
    }
    out
}

/// from -> to -> one `file:line` where the edge comes from.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Checks `(path, contents)` pairs (paths like `src/store/ledger.rs`); returns the broken
/// rules as `file:line: …` and the import cycles.
fn check(files: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut bad: Vec<(&str, usize, String)> = Vec::new();
    let (mut module_graph, mut folder_graph) = (Graph::new(), Graph::new());
    for (path, src) in files.iter().filter(|(p, _)| !p.starts_with("src/bin/")) {
        let (module, toks) = (module_of(path), tokens(src));
        let layer = layer_of(&module);
        if layer.is_none() {
            let problem = format!("outside the layer folders ({})", ALL.join(", "));
            bad.push((path, 1, problem));
        }
        let txs = toks.iter().filter(|t| TX.contains(&t.text.as_str()));
        for t in txs.filter(|_| layer == Some("http")) {
            let problem = format!("uses {} (http must not open transactions)", t.text);
            bad.push((path, t.line, problem));
        }
        // Invariant 10: a connection comes only through `store::db::checkout`
        // (which `run` uses), refused on an async worker; never straight from r2d2.
        if path != "src/store/db.rs" {
            for w in toks.windows(4) {
                let checkout = w[0].text.ends_with("pool")
                    && w[1].text == "."
                    && matches!(w[2].text.as_str(), "get" | "get_timeout")
                    && w[3].text == "(";
                if checkout {
                    let problem = format!(
                        "{}.{}() takes a connection past store::db::checkout",
                        w[0].text, w[2].text
                    );
                    bad.push((path, w[2].line, problem));
                }
            }
        }
        for (line, segs, abs) in refs(&toks, &module) {
            let (written, at) = (segs.join("::"), format!("{path}:{line}"));
            let Some(abs) = abs else {
                if let Some(rule) = external_rule(layer, &written) {
                    bad.push((path, line, format!("uses {written} ({rule})")));
                }
                continue;
            };
            // The deepest module that is a file, else the crate root.
            let target = (1..=abs.len())
                .rev()
                .map(|k| abs[..k].to_vec())
                .find(|m| m.len() == 1 || modules.contains(m))
                .unwrap_or_default();
            if target != module {
                let edges = module_graph.entry(module.join("::")).or_default();
                edges.entry(target.join("::")).or_insert_with(|| at.clone());
            }
            let (Some(from), Some(to)) = (layer, layer_of(&target)) else {
                continue;
            };
            if from != to {
                let edges = folder_graph.entry(from.to_string()).or_default();
                edges.entry(to.to_string()).or_insert(at);
            }
            if !ALLOWED.iter().any(|(l, ok)| *l == from && ok.contains(&to)) {
                let shown = match segs[0].as_str() {
                    "crate" => written,
                    _ => format!("{written} (= {})", abs.join("::")),
                };
                let problem = format!("imports {shown} ({from} must not import {to})");
                bad.push((path, line, problem));
            }
        }
    }
    bad.sort();
    bad.dedup();
    let violations = bad.iter().map(|(p, l, what)| format!("{p}:{l}: {what}"));
    let mut cycles = find_cycles("module", &module_graph);
    cycles.extend(find_cycles("folder", &folder_graph));
    (violations.collect(), cycles)
}

/// Depth first from each node in turn: every edge back into the current path closes a cycle.
fn find_cycles(kind: &str, graph: &Graph) -> Vec<String> {
    let mut seen = (BTreeSet::new(), Vec::new());
    for start in graph.keys() {
        visit(graph, start, &mut Vec::new(), &mut seen);
    }
    let show = |cycle: &Vec<&str>| {
        let mut text = format!("{kind} cycle: {}", cycle.join(" -> "));
        for pair in cycle.windows(2) {
            let at = &graph[pair[0]][pair[1]];
            text += &format!("\n    {} -> {} at {at}", pair[0], pair[1]);
        }
        text
    };
    seen.1.iter().map(show).collect()
}

/// Nodes done, and the cycles found.
type Seen<'g> = (BTreeSet<&'g str>, Vec<Vec<&'g str>>);

fn visit<'g>(graph: &'g Graph, node: &'g str, path: &mut Vec<&'g str>, seen: &mut Seen<'g>) {
    if let Some(pos) = path.iter().position(|n| *n == node) {
        let cycle = path[pos..].iter().copied().chain([node]).collect();
        seen.1.push(cycle);
    } else if seen.0.insert(node) {
        path.push(node);
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            visit(graph, next, path, seen);
        }
        path.pop();
    }
}

/// Every `.rs` file under `src/` except `src/bin/`, as `(path from root, contents)`.
fn load_tree(root: &Path) -> Vec<(String, String)> {
    let core = root.join("src/core");
    let shown = core.display();
    assert!(core.is_dir(), "layer layout missing: no {shown} folder");
    let (mut files, mut dirs) = (Vec::new(), vec![root.join("src")]);
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("read a folder entry").path();
            let rel = path.strip_prefix(root).expect("a path under the root");
            let rel = rel.to_string_lossy().replace('\\', "/");
            if path.is_dir() && rel != "src/bin" {
                dirs.push(path);
            } else if path.is_file() && rel.ends_with(".rs") {
                files.push((rel, fs::read_to_string(&path).expect("read a source file")));
            }
        }
    }
    files.sort();
    files
}

fn real_tree() -> (Vec<String>, Vec<String>) {
    check(&load_tree(Path::new(env!("CARGO_MANIFEST_DIR"))))
}

#[test]
fn imports_point_down_only() {
    let (found, _) = real_tree();
    let (n, list) = (found.len(), found.join("\n"));
    assert!(found.is_empty(), "{n} layer violation(s):\n{list}");
}

#[test]
fn no_import_cycles() {
    let (_, found) = real_tree();
    let (n, list) = (found.len(), found.join("\n"));
    assert!(found.is_empty(), "{n} import cycle(s):\n{list}");
}

mod checker {
    use super::*;

    /// Checks in-memory files: each `--- path` line starts one, the lines below are its text.
    fn run(spec: &str) -> (Vec<String>, Vec<String>) {
        let mut files: Vec<(String, String)> = Vec::new();
        for line in spec.lines() {
            match (line.trim_start().strip_prefix("--- "), files.last_mut()) {
                (Some(path), _) => files.push((path.to_string(), String::new())),
                (None, Some((_, text))) => *text += &format!("{line}\n"),
                (None, None) => {}
            }
        }
        check(&files)
    }

    #[test]
    fn upward_import_is_caught_with_file_and_line() {
        let (violations, cycles) = run("
            --- src/core/x.rs
            --- src/service/notify.rs
            --- src/store/disputes.rs
            use crate::core::x;

            use crate::service::notify;
        ");
        let want = "src/store/disputes.rs:3: imports crate::service::notify \
                    (store must not import service)";
        assert_eq!((violations, cycles), (vec![want.to_string()], vec![]));
    }

    #[test]
    fn grouped_multi_line_import_is_parsed() {
        let (violations, _) = run("
            --- src/core/mod.rs
            --- src/http/mod.rs
            --- src/http/routes.rs
            --- src/workers/run.rs
            pub(crate) use crate::{
                core::{self, money::Money},
                http::{routes::{self, Route}, Client as C},
            };
        ");
        let rule = "(workers must not import http)";
        let want = [
            format!("src/workers/run.rs:3: imports crate::http::Client {rule}"),
            format!("src/workers/run.rs:3: imports crate::http::routes {rule}"),
            format!("src/workers/run.rs:3: imports crate::http::routes::Route {rule}"),
        ];
        assert_eq!(violations, want);
    }

    #[test]
    fn comments_and_strings_are_ignored() {
        let (violations, _) = run(r##"
            --- src/http/mod.rs
            --- src/core/a.rs
            // use crate::http::x;
            /* crate::http::y /* nested */ crate::store::z
            */ const A: &str = "crate::http::a \" std::fs";
            const B: &str = r#"crate::diesel "quoted" std::fs"#;
            const C: char = '"'; fn f<'a>(_: &'a str) -> char { '\'' }
            /// doc crate::http
            fn g() { let _ = std::fs::read("x"); }
        "##);
        let want = "src/core/a.rs:7: uses std::fs::read (core must not use std::fs)";
        assert_eq!(violations, [want]);
    }

    #[test]
    fn super_resolves_from_mod_rs_and_from_plain_file() {
        let (violations, cycles) = run("
            --- src/http/mod.rs
            --- src/service/mod.rs
            --- src/store/mod.rs
            use super::service::Api;
            use self::ledger::Entry;
            --- src/store/fees.rs
            use super::Pool;
            use super::super::http::X;
            --- src/store/ledger.rs
            pub struct Entry;
            #[cfg(test)]
            mod tests {
                use super::*;
                use super::super::Pool;
            }
        ");
        let want = [
            "src/store/fees.rs:2: imports super::super::http::X (= crate::http::X) \
             (store must not import http)",
            "src/store/mod.rs:1: imports super::service::Api (= crate::service::Api) \
             (store must not import service)",
        ];
        assert_eq!(violations, want);
        // `super::*` in `mod tests` is the file itself; `super::super` there is `store`.
        let cycle = "module cycle: crate::store -> crate::store::ledger -> crate::store\n    \
                     crate::store -> crate::store::ledger at src/store/mod.rs:2\n    \
                     crate::store::ledger -> crate::store at src/store/ledger.rs:5";
        assert_eq!(cycles, [cycle]);
    }

    #[test]
    fn module_and_folder_cycles_are_reported() {
        let (violations, cycles) = run("
            --- src/http/h.rs
            // the handler
            use crate::service::a;
            --- src/service/a.rs
            use crate::http::h::Handler;
            --- src/store/a.rs
            use super::b::B;
            --- src/store/b.rs
            fn f() {
                crate::store::a::run();
            }
        ");
        let want = [
            "module cycle: crate::http::h -> crate::service::a -> crate::http::h\n    \
             crate::http::h -> crate::service::a at src/http/h.rs:2\n    \
             crate::service::a -> crate::http::h at src/service/a.rs:1",
            "module cycle: crate::store::a -> crate::store::b -> crate::store::a\n    \
             crate::store::a -> crate::store::b at src/store/a.rs:1\n    \
             crate::store::b -> crate::store::a at src/store/b.rs:2",
            "folder cycle: http -> service -> http\n    \
             http -> service at src/http/h.rs:2\n    \
             service -> http at src/service/a.rs:1",
        ];
        assert_eq!(cycles, want);
        assert_eq!(violations.len(), 1, "{violations:?}");
    }

    #[test]
    fn core_io_http_sql_and_stray_files_are_caught() {
        let (violations, _) = run("
            --- src/core/clock.rs
            use std::{fs, net::TcpStream};
            #[actix_web::main]
            --- src/db.rs
            --- src/http/h.rs
            use diesel::prelude::*;
            fn h() { db.write_tx(|c| 0) }
            --- src/service/s.rs
            fn s(pool: &Pool) { let c = pool.get(); let d = self.pool.get_timeout(w); }
        ");
        let want = [
            "src/core/clock.rs:1: uses std::fs (core must not use std::fs)",
            "src/core/clock.rs:1: uses std::net::TcpStream (core must not use std::net)",
            "src/core/clock.rs:2: uses actix_web::main (core must not use actix_web)",
            "src/db.rs:1: outside the layer folders (core, store, service, http, workers, cli, app)",
            "src/http/h.rs:1: uses diesel::prelude (http must not contain SQL: no diesel)",
            "src/http/h.rs:2: uses write_tx (http must not open transactions)",
            "src/service/s.rs:1: pool.get() takes a connection past store::db::checkout",
            "src/service/s.rs:1: pool.get_timeout() takes a connection past store::db::checkout",
        ];
        assert_eq!(violations, want);
    }

    #[test]
    fn clean_input_reports_nothing() {
        let (violations, cycles) = run(r#"
            --- src/lib.rs
            pub mod core;
            pub mod http;
            pub use crate::http::serve;
            --- src/main.rs
            fn main() { escalation_ledger::http::serve(); }
            --- src/bin/tool.rs
            use crate::http::serve;
            use diesel::x;
            --- src/core/mod.rs
            pub mod money;
            --- src/core/money.rs
            pub struct Money;
            mod tests { use super::*; }
            --- src/store/mod.rs
            use crate::core::money::Money;
            use std::fs;
            --- src/http/mod.rs
            use crate::{core::money, store};
            const T: &str = "write_tx";
        "#);
        assert_eq!((violations, cycles), (vec![], vec![]));
    }
}
