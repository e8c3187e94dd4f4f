//! No cycles between the modules of `larder/src`.
//!
//! Reads every `.rs` file under `larder/src`, collects the crate paths each one refers to
//! (`use crate::…`, `use super::…`, `crate::a::b` anywhere in code, grouped `use` trees), and
//! resolves them to modules, following `use`/`pub use` re-exports (`crate::Ttl` is module
//! `expiry` because lib.rs says `pub use expiry::{.., Ttl}`). Then, for every module, it builds
//! the graph of its children (`a -> b` when any file inside `a` refers to anything inside `b`)
//! and reports every cycle, with one `file:line` per edge. A child using its parent's own items
//! is not an edge between siblings.
//!
//! Test code does not count: files named `tests.rs` / `tests_*.rs`, and any item under
//! `#[cfg(test)]` or `#[cfg(all(test, …))]` (found by matching braces, wherever it sits).
//! Comments, string and char literals are skipped by a small lexer. Modules are files
//! (`foo.rs`, `foo/mod.rs`); inline `mod x { … }` blocks only scope their `self`/`super`.
//!
//! std only, no parser: the rules are the ones above, not rustc's name resolution.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// A module path from the crate root: `[]` is the root, `["store", "disk"]` is `store::disk`.
type ModPath = Vec<String>;

/// One cycle between siblings: the parent, the children in order (the first is repeated at the
/// end when printed), and for each edge one `file:line` creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cycle {
    parent: ModPath,
    nodes: Vec<String>,
    examples: Vec<String>,
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parent = if self.parent.is_empty() {
            "crate".to_string()
        } else {
            self.parent.join("::")
        };
        let mut names = self.nodes.clone();
        names.push(self.nodes[0].clone());
        write!(f, "in {parent}: {} (", names.join(" -> "))?;
        for (i, example) in self.examples.iter().enumerate() {
            let (from, to) = (&names[i], &names[i + 1]);
            let sep = if i == 0 { "" } else { "; " };
            write!(f, "{sep}{from} -> {to} at {example}")?;
        }
        write!(f, ")")
    }
}

// ---------------------------------------------------------------------------------------------
// Lexing: identifiers, `::` and single punctuation, with line numbers; no comments, literals.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Skips a `"…"` string whose opening quote is at `i`; returns the index after it.
fn skip_string(cs: &[char], mut i: usize, line: &mut usize) -> usize {
    i += 1;
    while i < cs.len() {
        match cs[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            c => {
                if c == '\n' {
                    *line += 1;
                }
                i += 1;
            }
        }
    }
    i
}

/// Skips a raw string whose `#`s or opening quote start at `i`; returns the index after it.
fn skip_raw_string(cs: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut hashes = 0;
    while cs.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < cs.len() {
        if cs[i] == '"' && (1..=hashes).all(|k| cs.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        if cs[i] == '\n' {
            *line += 1;
        }
        i += 1;
    }
    i
}

/// Skips a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime (`'a`, `'static`) at `i`.
fn skip_quote(cs: &[char], i: usize) -> usize {
    if cs.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < cs.len() && cs[j] != '\'' && cs[j] != '\n' {
            j += 1;
        }
        j + 1
    } else if cs.get(i + 2) == Some(&'\'') {
        i + 3
    } else {
        let mut j = i + 1;
        while j < cs.len() && is_ident_char(cs[j]) {
            j += 1;
        }
        j
    }
}

fn lex(src: &str) -> Vec<Token> {
    let cs: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < cs.len() {
        let c = cs[i];
        let next = cs.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < cs.len() {
                if cs[i] == '/' && cs.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if cs[i] == '*' && cs.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if cs[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&cs, i, &mut line);
        } else if c == '\'' {
            i = skip_quote(&cs, i);
        } else if c.is_ascii_digit() {
            while i < cs.len() && is_ident_char(cs[i]) {
                i += 1;
            }
        } else if is_ident_char(c) {
            let start = i;
            while i < cs.len() && is_ident_char(cs[i]) {
                i += 1;
            }
            let word: String = cs[start..i].iter().collect();
            let at = cs.get(i).copied();
            let raw_quote = at == Some('"')
                || (at == Some('#') && cs[i..].iter().find(|&&c| c != '#') == Some(&'"'));
            match word.as_str() {
                "r" | "br" | "cr" if raw_quote => i = skip_raw_string(&cs, i, &mut line),
                "b" | "c" if at == Some('"') => i = skip_string(&cs, i, &mut line),
                "b" if at == Some('\'') => i = skip_quote(&cs, i),
                "r" if at == Some('#') && cs.get(i + 1).is_some_and(|&c| is_ident_char(c)) => {
                    let start = i + 1;
                    i = start;
                    while i < cs.len() && is_ident_char(cs[i]) {
                        i += 1;
                    }
                    let word = cs[start..i].iter().collect();
                    out.push(Token {
                        tok: Tok::Ident(word),
                        line,
                    });
                }
                _ => out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                }),
            }
        } else if c == ':' && next == Some(':') {
            out.push(Token {
                tok: Tok::Sep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Test code: items under `#[cfg(test)]` / `#[cfg(all(test, …))]`.

fn is_punct(tokens: &[Token], i: usize, c: char) -> bool {
    tokens.get(i).is_some_and(|t| t.tok == Tok::Punct(c))
}

fn is_ident(tokens: &[Token], i: usize, word: &str) -> bool {
    tokens
        .get(i)
        .is_some_and(|t| matches!(&t.tok, Tok::Ident(w) if w == word))
}

/// The index just past the bracket that closes the one at `open`.
fn matching(tokens: &[Token], open: usize) -> usize {
    let (o, c) = match tokens[open].tok {
        Tok::Punct('[') => ('[', ']'),
        Tok::Punct('(') => ('(', ')'),
        _ => ('{', '}'),
    };
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.tok == Tok::Punct(o) {
            depth += 1;
        } else if t.tok == Tok::Punct(c) {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
    }
    tokens.len()
}

/// Whether the attribute body `tokens` (between `#[` and `]`) is `cfg(test)` or
/// `cfg(all(.., test, ..))`.
fn is_test_cfg(tokens: &[Token]) -> bool {
    if !is_ident(tokens, 0, "cfg") || !is_punct(tokens, 1, '(') {
        return false;
    }
    if is_ident(tokens, 2, "test") && is_punct(tokens, 3, ')') {
        return true;
    }
    if !is_ident(tokens, 2, "all") || !is_punct(tokens, 3, '(') {
        return false;
    }
    let end = matching(tokens, 3);
    let mut depth = 0;
    for i in 3..end {
        match tokens[i].tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Ident(ref w) if w == "test" && depth == 1 => {
                let before = is_punct(tokens, i - 1, '(') || is_punct(tokens, i - 1, ',');
                let after = is_punct(tokens, i + 1, ')') || is_punct(tokens, i + 1, ',');
                if before && after {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The tokens without test-only items. A file-wide `#![cfg(test)]` leaves nothing.
fn strip_test_items(tokens: Vec<Token>) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let inner = is_punct(&tokens, i + 1, '!');
        let open = if inner { i + 2 } else { i + 1 };
        if !(is_punct(&tokens, i, '#') && is_punct(&tokens, open, '[')) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let close = matching(&tokens, open);
        if !is_test_cfg(&tokens[open + 1..close.saturating_sub(1).max(open + 1)]) {
            out.extend_from_slice(&tokens[i..close]);
            i = close;
            continue;
        }
        if inner {
            return Vec::new();
        }
        // Skip the item: further attributes, then up to a `;` or a `{ … }` at depth 0.
        let mut j = close;
        let mut depth = 0usize;
        while j < tokens.len() {
            match tokens[j].tok {
                Tok::Punct('#') if depth == 0 && is_punct(&tokens, j + 1, '[') => {
                    j = matching(&tokens, j + 1);
                    continue;
                }
                Tok::Punct('(' | '[') => depth += 1,
                Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
                Tok::Punct(';') if depth == 0 => {
                    j += 1;
                    break;
                }
                Tok::Punct('{') if depth == 0 => {
                    j = matching(&tokens, j);
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        i = j;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// References: the crate paths a file names.

/// A path as written, with the module it was written in (an inline `mod` extends the file's).
#[derive(Debug, Clone)]
struct RawRef {
    scope: ModPath,
    segs: Vec<String>,
    line: usize,
    /// A `use` leaf: the name it binds (`None` for a glob or `as _`).
    binds: Option<String>,
    is_use: bool,
}

/// Parses one use tree at `*i`, appending its leaves (full paths) to `out`.
fn parse_use_tree(
    tokens: &[Token],
    i: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>, usize)>,
) {
    let mut segs = prefix;
    let mut line: usize;
    if tokens.get(*i).is_some_and(|t| t.tok == Tok::Sep) {
        segs.push("::".into()); // `use ::name`: an external crate
        *i += 1;
    }
    loop {
        let Some(t) = tokens.get(*i) else { return };
        match &t.tok {
            Tok::Ident(w) => {
                segs.push(w.clone());
                line = t.line;
                *i += 1;
                if tokens.get(*i).is_some_and(|t| t.tok == Tok::Sep) {
                    *i += 1;
                    continue;
                }
                break;
            }
            Tok::Punct('{') => {
                *i += 1;
                while *i < tokens.len() && !is_punct(tokens, *i, '}') {
                    let before = *i;
                    parse_use_tree(tokens, i, segs.clone(), out);
                    if is_punct(tokens, *i, ',') {
                        *i += 1;
                    } else if *i == before {
                        *i += 1; // malformed: make progress
                    }
                }
                *i += 1;
                return;
            }
            Tok::Punct('*') => {
                *i += 1;
                out.push((segs, None, t.line));
                return;
            }
            _ => return,
        }
    }
    let mut binds = segs.last().cloned();
    if is_ident(tokens, *i, "as") {
        binds = match tokens.get(*i + 1).map(|t| &t.tok) {
            Some(Tok::Ident(alias)) if alias != "_" => Some(alias.clone()),
            _ => None,
        };
        *i += 2;
    }
    if segs.len() > 1 && segs.last().is_some_and(|s| s == "self") {
        segs.pop();
        if binds.as_deref() == Some("self") {
            binds = segs.last().cloned();
        }
    }
    out.push((segs, binds, line));
}

/// Every crate path in a file's (test-stripped) tokens.
fn references(tokens: &[Token], module: &ModPath) -> Vec<RawRef> {
    let mut refs = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let scope = |inline: &[(String, usize)]| {
        let mut s = module.clone();
        s.extend(inline.iter().map(|(name, _)| name.clone()));
        s
    };
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].tok {
            Tok::Ident(w) if w == "mod" && is_punct(tokens, i + 2, '{') => {
                if let Some(Tok::Ident(name)) = tokens.get(i + 1).map(|t| &t.tok) {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(w) if w == "use" => {
                let mut leaves = Vec::new();
                i += 1;
                parse_use_tree(tokens, &mut i, Vec::new(), &mut leaves);
                for (segs, binds, line) in leaves {
                    refs.push(RawRef {
                        scope: scope(&inline),
                        segs,
                        line,
                        binds,
                        is_use: true,
                    });
                }
                continue;
            }
            Tok::Ident(w)
                if matches!(w.as_str(), "crate" | "super" | "self")
                    && tokens.get(i + 1).is_some_and(|t| t.tok == Tok::Sep)
                    && (i == 0 || tokens[i - 1].tok != Tok::Sep) =>
            {
                let mut segs = vec![w.clone()];
                let mut j = i;
                while tokens.get(j + 1).is_some_and(|t| t.tok == Tok::Sep) {
                    match tokens.get(j + 2).map(|t| &t.tok) {
                        Some(Tok::Ident(s)) => {
                            segs.push(s.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                refs.push(RawRef {
                    scope: scope(&inline),
                    segs,
                    line: tokens[i].line,
                    binds: None,
                    is_use: false,
                });
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    refs
}

// ---------------------------------------------------------------------------------------------
// The module tree, name resolution and the sibling graphs.

/// A source file: its path for messages (`src/engine/shard.rs`) and its text.
struct Source<'a> {
    display: String,
    module: ModPath,
    text: &'a str,
}

/// The module of a file, from its path relative to `src` (`engine/shard.rs`); `None` for test
/// files and non-Rust files.
fn module_of(relative: &str) -> Option<ModPath> {
    let mut parts: Vec<String> = relative.split('/').map(str::to_string).collect();
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    if stem == "tests" || stem.starts_with("tests_") {
        return None;
    }
    match stem {
        "lib" | "main" if parts.is_empty() => {}
        "mod" => {}
        _ => parts.push(stem.to_string()),
    }
    Some(parts)
}

/// What a `use` name stands for: an absolute path, or something outside the crate.
type UseMap = HashMap<ModPath, HashMap<String, Option<Vec<String>>>>;

struct Crate {
    modules: BTreeSet<ModPath>,
    uses: UseMap,
}

impl Crate {
    /// The absolute path a written path stands for; `None` if it leaves the crate.
    fn absolute(&self, r: &RawRef) -> Option<Vec<String>> {
        let head = r.segs.first()?;
        match head.as_str() {
            "crate" => Some(r.segs[1..].to_vec()),
            "super" | "self" => {
                let mut base = r.scope.clone();
                let mut rest = &r.segs[..];
                if rest[0] == "self" {
                    rest = &rest[1..];
                }
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            _ if r.is_use => {
                // 2018 paths: `use child::X` in a module with a `child` submodule.
                let mut child = r.scope.clone();
                child.push(head.clone());
                self.modules.contains(&child).then(|| {
                    let mut p = r.scope.clone();
                    p.extend(r.segs.iter().cloned());
                    p
                })
            }
            _ => None,
        }
    }

    /// The module an absolute path lands in, following `use` re-exports.
    fn resolve(&self, path: &[String]) -> ModPath {
        self.resolve_depth(path, 0)
    }

    fn resolve_depth(&self, path: &[String], depth: usize) -> ModPath {
        let mut module: ModPath = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(seg.clone());
            if self.modules.contains(&child) {
                module = child;
                continue;
            }
            if depth < 16 {
                let target = self.uses.get(&module).and_then(|names| names.get(seg));
                if let Some(Some(target)) = target {
                    let mut next = target.clone();
                    next.extend(path[i + 1..].iter().cloned());
                    return self.resolve_depth(&next, depth + 1);
                }
            }
            return module; // an item of `module` (or one it imports from outside the crate)
        }
        module
    }
}

/// An edge between two children of `parent`, with where it comes from.
type Edges = BTreeMap<ModPath, BTreeMap<(String, String), Vec<(String, usize)>>>;

/// Every cycle between sibling modules of the crate made of `sources`.
fn find_cycles(sources: &[Source<'_>]) -> Vec<Cycle> {
    let modules: BTreeSet<ModPath> = sources.iter().map(|s| s.module.clone()).collect();
    let mut krate = Crate {
        modules,
        uses: HashMap::new(),
    };
    let refs: Vec<(&Source<'_>, Vec<RawRef>)> = sources
        .iter()
        .map(|s| (s, references(&strip_test_items(lex(s.text)), &s.module)))
        .collect();
    // The names each module's own `use`s bind (inline modules keep theirs).
    for (source, file_refs) in &refs {
        for r in file_refs {
            if let (true, Some(name)) = (r.is_use && r.scope == source.module, &r.binds) {
                let target = krate.absolute(r);
                krate
                    .uses
                    .entry(source.module.clone())
                    .or_default()
                    .insert(name.clone(), target);
            }
        }
    }
    let mut edges: Edges = BTreeMap::new();
    for (source, file_refs) in &refs {
        for r in file_refs {
            let Some(path) = krate.absolute(r) else {
                continue;
            };
            let target = krate.resolve(&path);
            let from = &source.module;
            let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if from.len() > common && target.len() > common {
                edges
                    .entry(from[..common].to_vec())
                    .or_default()
                    .entry((from[common].clone(), target[common].clone()))
                    .or_default()
                    .push((source.display.clone(), r.line));
            }
        }
    }
    let mut cycles = Vec::new();
    for (parent, level) in &edges {
        let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (from, to) in level.keys() {
            next.entry(from).or_default().insert(to);
        }
        for component in strongly_connected(&next) {
            for nodes in elementary_cycles(&component, &next) {
                let examples = (0..nodes.len())
                    .map(|i| {
                        let key = (
                            nodes[i].to_string(),
                            nodes[(i + 1) % nodes.len()].to_string(),
                        );
                        let mut sites = level[&key].clone();
                        sites.sort();
                        sites.dedup(); // `use a::{X, Y}` on one line is one site
                        let (file, line) = &sites[0];
                        let more = if sites.len() > 1 {
                            format!(" (+{} more)", sites.len() - 1)
                        } else {
                            String::new()
                        };
                        format!("{file}:{line}{more}")
                    })
                    .collect();
                cycles.push(Cycle {
                    parent: parent.clone(),
                    nodes: nodes.iter().map(|s| s.to_string()).collect(),
                    examples,
                });
            }
        }
    }
    cycles
}

/// Tarjan's strongly connected components with more than one node.
fn strongly_connected<'a>(next: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, next: &BTreeMap<&'a str, BTreeSet<&'a str>>, st: &mut State<'a>) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on_stack.insert(v);
        for &w in next.get(v).into_iter().flatten() {
            if !st.index.contains_key(w) {
                visit(w, next, st);
                let low = st.low[v].min(st.low[w]);
                st.low.insert(v, low);
            } else if st.on_stack.contains(w) {
                let low = st.low[v].min(st.index[w]);
                st.low.insert(v, low);
            }
        }
        if st.low[v] == st.index[v] {
            let mut component = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                st.out.push(component);
            }
        }
    }
    let mut st = State {
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in next.keys() {
        if !st.index.contains_key(v) {
            visit(v, next, &mut st);
        }
    }
    st.out.sort();
    st.out
}

/// The elementary cycles inside one component, each starting at its smallest node (at most
/// 100, which is plenty for a handful of sibling modules).
fn elementary_cycles<'a>(
    component: &[&'a str],
    next: &BTreeMap<&'a str, BTreeSet<&'a str>>,
) -> Vec<Vec<&'a str>> {
    fn walk<'a>(
        path: &mut Vec<&'a str>,
        allowed: &BTreeSet<&'a str>,
        next: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        out: &mut Vec<Vec<&'a str>>,
    ) {
        let (start, last) = (path[0], path[path.len() - 1]);
        for &w in next.get(last).into_iter().flatten() {
            if out.len() >= 100 {
                return;
            }
            if w == start {
                out.push(path.clone());
            } else if w > start && allowed.contains(w) && !path.contains(&w) {
                path.push(w);
                walk(path, allowed, next, out);
                path.pop();
            }
        }
    }
    let allowed: BTreeSet<&str> = component.iter().copied().collect();
    let mut out = Vec::new();
    for &start in component {
        walk(&mut vec![start], &allowed, next, &mut out);
    }
    out
}

/// Reads every `.rs` file under `dir`, with its path relative to `dir`.
fn read_tree(dir: &Path, relative: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let rel = if relative.is_empty() {
            name.to_string()
        } else {
            format!("{relative}/{name}")
        };
        if path.is_dir() {
            read_tree(&path, &rel, out);
        } else if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            out.push((rel, text));
        }
    }
}

/// The sources of an in-memory or on-disk tree: `(path relative to src, text)`.
fn sources(files: &[(String, String)]) -> Vec<Source<'_>> {
    files
        .iter()
        .filter_map(|(rel, text)| {
            Some(Source {
                display: format!("src/{rel}"),
                module: module_of(rel)?,
                text,
            })
        })
        .collect()
}

#[test]
fn larder_src_has_no_module_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&src, "", &mut files);
    assert!(
        files.iter().any(|(rel, _)| rel == "lib.rs"),
        "no lib.rs under {}",
        src.display()
    );
    let cycles = find_cycles(&sources(&files));
    let lines: Vec<String> = cycles.iter().map(|c| format!("  {c}")).collect();
    assert!(
        cycles.is_empty(),
        "{} module cycle(s) in larder/src (a -> b: a file inside a refers to b; one example \
         per edge):\n{}\n",
        cycles.len(),
        lines.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The checker itself, on small in-memory trees.

fn tree(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(rel, text)| (rel.to_string(), text.to_string()))
        .collect()
}

fn cycles_of(files: &[(&str, &str)]) -> Vec<String> {
    find_cycles(&sources(&tree(files)))
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn checker_reports_a_cycle_with_its_sites() {
    let cycles = cycles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "b.rs",
            "pub struct B;\nfn f() -> usize {\n    crate::a::size_of_a()\n}\n",
        ),
    ]);
    assert_eq!(
        cycles,
        ["in crate: a -> b -> a (a -> b at src/a.rs:1; b -> a at src/b.rs:3)"]
    );
}

#[test]
fn checker_accepts_a_tree_without_cycles() {
    let cycles = cycles_of(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("a.rs", "use crate::{b::B, c::{C, D}};\n"),
        (
            "b.rs",
            "use crate::c::C;\n// use crate::a::A;\nconst S: &str = \"crate::a::A\";\n",
        ),
        ("c/mod.rs", "mod x;\nmod y;\npub(crate) use x::C;\n"),
        // a child using its parent's items is not a sibling edge
        ("c/x.rs", "use super::D;\npub struct C;\n"),
        ("c/y.rs", "use super::x::C;\nuse crate::c::D;\n"),
    ]);
    assert!(cycles.is_empty(), "{cycles:?}");
}

#[test]
fn checker_ignores_test_code() {
    let cycles = cycles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\n"),
        (
            "b.rs",
            "pub struct B;\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n\
             #[cfg(all(test, larder_shuttle))]\nfn check() { crate::a::f() }\npub fn g() {}\n",
        ),
        ("b/tests.rs", "use crate::a::A;\n"),
        ("b/tests_shuttle.rs", "use crate::a::A;\n"),
    ]);
    assert!(cycles.is_empty(), "{cycles:?}");
    // ... but code after a test block still counts.
    let cycles = cycles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\n"),
        (
            "b.rs",
            "#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\nfn f() { crate::a::f() }\n",
        ),
    ]);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
}

#[test]
fn checker_resolves_root_reexports() {
    let files = tree(&[
        (
            "lib.rs",
            "mod expiry;\nmod engine;\npub use expiry::{Clock, Ttl};\n",
        ),
        ("expiry.rs", "pub struct Ttl;\nuse crate::engine::Thing;\n"),
        ("engine/mod.rs", "mod slab;\npub(crate) use slab::Thing;\n"),
        (
            "engine/slab.rs",
            "use crate::{\n    Ttl,\n};\npub struct Thing;\n",
        ),
    ]);
    let srcs = sources(&files);
    let cycles: Vec<String> = find_cycles(&srcs).iter().map(ToString::to_string).collect();
    assert_eq!(
        cycles,
        [
            "in crate: engine -> expiry -> engine (engine -> expiry at src/engine/slab.rs:2; \
          expiry -> engine at src/expiry.rs:2)"
        ]
    );
    let krate = Crate {
        modules: srcs.iter().map(|s| s.module.clone()).collect(),
        uses: HashMap::from([
            (
                vec![],
                HashMap::from([("Ttl".to_string(), Some(vec!["expiry".into(), "Ttl".into()]))]),
            ),
            (
                vec!["engine".to_string()],
                HashMap::from([(
                    "Thing".to_string(),
                    Some(vec!["engine".into(), "slab".into(), "Thing".into()]),
                )]),
            ),
        ]),
    };
    assert_eq!(krate.resolve(&["Ttl".into()]), ["expiry"]);
    assert_eq!(
        krate.resolve(&["engine".into(), "Thing".into()]),
        ["engine", "slab"]
    );
}

#[test]
fn checker_reports_cycles_between_nested_siblings() {
    let cycles = cycles_of(&[
        ("lib.rs", "mod store;\n"),
        ("store/mod.rs", "mod disk;\n"),
        ("store/disk/mod.rs", "mod db;\nmod evict;\nmod writer;\n"),
        ("store/disk/db.rs", "use super::evict::Evict;\n"),
        (
            "store/disk/evict.rs",
            "fn f() { super::writer::go(r\"x\", 'a', b'\"') }\n",
        ),
        (
            "store/disk/writer.rs",
            "/* a comment: super::evict */ use super::{db::Db};\n",
        ),
    ]);
    assert_eq!(
        cycles,
        [
            "in store::disk: db -> evict -> writer -> db (db -> evict at src/store/disk/db.rs:1; \
          evict -> writer at src/store/disk/evict.rs:1; writer -> db at \
          src/store/disk/writer.rs:1)"
        ]
    );
}
