#!/usr/bin/env python3
"""Dependency-direction check: no module cycles inside a crate.

Reads every `.rs` file under `runtime/src` and `macros/src` (two crates, two
graphs), maps each file to its module path (`hub/mod.rs` -> `hub`,
`connection/task.rs` -> `connection::task`, `lib.rs` -> the crate root) and
collects an edge from the file's module to every module it names:

- `use` trees (`use crate::a::b;`, `use crate::{a::x, b::{c, d}};`,
  `use super::x;`, `use child::X;`), over as many lines as they take;
- paths in code (`crate::a::Item`, `super::x::f`, `self::x::Y`).

Comments, doc comments, string and character literals are blanked first, so
a path mentioned in prose does not count. A path's target is the longest
prefix of it that is a module file (`crate::connection::Setup` ->
`connection`), unless the next segment is a name that module imports: a
re-export is looked through to the module that defines the name
(`crate::Conn` and `crate::connection::Conn` -> `connection::handle`), so a
cycle cannot hide behind a `mod.rs`. The crate root is no node of the graph
(it declares modules and re-exports them).

A module may declare and re-export its children: a `pub use` (any `pub(..)`)
of a module's own descendant is no edge. Every other edge counts, a child's
`use super::Setup` included (an edge to the parent module, where `Setup` is
defined).

Cycles are the strongly connected components of the graph (Tarjan). For each
one the check prints its modules and, for each edge inside it, the file:line
of the first path that makes it. Exit status 1 if any crate has a cycle.

    python3 .ci/check-deps.py            # both crates
    python3 .ci/check-deps.py --graph    # and every edge
    python3 .ci/check-deps.py --concepts # and top-level modules, submodules folded in
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CRATES = (("runtime", "runtime/src"), ("macros", "macros/src"))
ROOT_FILES = ("lib.rs", "main.rs")

# ---------------------------------------------------------------- stripping

CHAR_LITERAL = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]{1,6}\}|.)|[^\\'\n])'")
RAW_STRING_START = re.compile(r"(?<![\w])[bc]?r(#*)\"")


def blank(text: str) -> str:
    """Spaces for every character but newlines, so line numbers survive."""
    return re.sub(r"[^\n]", " ", text)


def strip_code(src: str) -> str:
    """Source with comments and string/char literals blanked (same length)."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        end = literal_or_comment_end(src, i)
        if end is None:
            out.append(src[i])
            i += 1
        else:
            out.append(blank(src[i:end]))
            i = end
    return "".join(out)


def literal_or_comment_end(src: str, i: int) -> int | None:
    """End of the comment or literal starting at `i`, or None if none does."""
    if src.startswith("//", i):
        newline = src.find("\n", i)
        return len(src) if newline < 0 else newline
    if src.startswith("/*", i):
        return block_comment_end(src, i)
    raw = RAW_STRING_START.match(src, i)
    if raw:
        close = src.find('"' + raw.group(1), raw.end())
        return len(src) if close < 0 else close + 1 + len(raw.group(1))
    if src[i] == '"':
        return string_end(src, i + 1)
    if src[i] == "'":
        char = CHAR_LITERAL.match(src, i)
        return char.end() if char else None  # else a lifetime or a label
    return None


def block_comment_end(src: str, i: int) -> int:
    depth = 0
    while i < len(src):
        if src.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif src.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(src)


def string_end(src: str, i: int) -> int:
    while i < len(src):
        if src[i] == "\\":
            i += 2
        elif src[i] == '"':
            return i + 1
        else:
            i += 1
    return len(src)


# ------------------------------------------------------------- the use tree

USE_TOKEN = re.compile(r"::|[{},*;]|(?:r#)?\w+|\S")


@dataclass
class UsePath:
    segments: list[str]
    alias: str | None
    offset: int  # of the path's last token in the tree's text


def parse_use_tree(body: str) -> list[UsePath]:
    """`crate::{a::x, b::{c as d, self}}` -> every path the tree names."""
    tokens = [(m.group(0).removeprefix("r#"), m.start()) for m in USE_TOKEN.finditer(body)]
    paths: list[UsePath] = []
    parse_subtree(tokens, 0, [], paths)
    return paths


def parse_subtree(tokens: list[tuple[str, int]], i: int, prefix: list[str], out: list[UsePath]) -> int:
    def at(j: int) -> str | None:
        return tokens[j][0] if j < len(tokens) else None

    segments = list(prefix)
    if at(i) == "::":  # `::name`: an extern crate
        segments.append("::")
        i += 1
    while i < len(tokens):
        token, offset = tokens[i]
        if token == "{":  # `prefix::{tree, tree, ...}`
            i += 1
            while at(i) not in ("}", None):
                i = parse_subtree(tokens, i, segments, out)
                if at(i) == ",":
                    i += 1
            return i + 1
        if token == "*":  # `prefix::*`
            out.append(UsePath(segments + ["*"], None, offset))
            return i + 1
        if not re.fullmatch(r"\w+", token):
            break
        segments.append(token)
        i += 1
        if at(i) == "::":
            i += 1
            continue
        alias = None
        if at(i) == "as" and at(i + 1) is not None:  # `path as alias`
            alias, i = at(i + 1), i + 2
        out.append(UsePath(segments, alias, offset))
        return i
    return i


# ------------------------------------------------------------------- a file

USE_ITEM = re.compile(r"(?<![\w#])(?P<vis>pub\s*(?:\([^)]*\))?\s*)?\buse\b(?P<body>[^;]*);")
INLINE_PATH = re.compile(r"(?<![\w:.#])\$?(?:crate|self|super)(?:\s*::\s*(?:r#)?\w+)+")
INLINE_MOD = re.compile(r"(?<![\w#])mod\s+(?:r#)?(\w+)\s*\{")


@dataclass
class Reference:
    """One path in a file: where it is, what it names, whether it re-exports."""

    line: int
    segments: list[str]
    context: list[str]  # the module the path is written in (with inline modules)
    reexport: bool
    alias: str | None = None
    top_level: bool = False  # a `use` item of the file's module, not of a block or inline module


def module_path(src_dir: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(src_dir).with_suffix("").parts)
    if parts[-1] == "mod" or (len(parts) == 1 and file.name in ROOT_FILES):
        parts.pop()
    return tuple(parts)


def inline_modules(code: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of every `mod name { ... }` in stripped code."""
    found = []
    for m in INLINE_MOD.finditer(code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        found.append((m.start(), i, m.group(1)))
    return found


def context_at(module: tuple[str, ...], mods: list[tuple[int, int, str]], pos: int) -> list[str]:
    return list(module) + [name for start, end, name in mods if start <= pos < end]


def references(src_dir: Path, file: Path) -> list[Reference]:
    code = strip_code(file.read_text(encoding="utf-8"))
    module = module_path(src_dir, file)
    mods = inline_modules(code)

    def line_of(pos: int) -> int:
        return code.count("\n", 0, pos) + 1

    found: list[Reference] = []
    for m in USE_ITEM.finditer(code):
        context = context_at(module, mods, m.start())
        top_level = code.count("{", 0, m.start()) == code.count("}", 0, m.start())
        for path in parse_use_tree(m.group("body")):
            line = line_of(m.start("body") + path.offset)
            found.append(Reference(line, path.segments, context, bool(m.group("vis")), path.alias, top_level))
    code_only = USE_ITEM.sub(lambda m: blank(m.group(0)), code)
    for m in INLINE_PATH.finditer(code_only):
        segments = re.sub(r"\s|r#|\$", "", m.group(0)).split("::")
        found.append(Reference(line_of(m.start()), segments, context_at(module, mods, m.start()), False))
    return found


# ----------------------------------------------------------- a crate's graph


@dataclass
class Edge:
    source: str
    target: str
    file: str
    line: int
    count: int = 1


@dataclass
class Graph:
    modules: list[str]
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)

    def add(self, edge: Edge) -> None:
        key = (edge.source, edge.target)
        known = self.edges.get(key)
        if known is None:
            self.edges[key] = edge
        else:
            known.count += edge.count
            if (edge.file, edge.line) < (known.file, known.line):
                known.file, known.line = edge.file, edge.line


def name(module: tuple[str, ...] | list[str]) -> str:
    return "::".join(module)


def absolute(segments: list[str], context: list[str], modules: set[str]) -> list[str] | None:
    """The path from the crate root, or None when it leaves the crate."""
    head, rest = segments[0], segments[1:]
    if head == "crate":
        base: list[str] = []
    elif head == "self":
        base = list(context)
    elif head == "super":
        base = context[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif name(context + [head]) in modules:  # `child::x` names a submodule
        base, rest = list(context), segments
    else:
        return None  # an extern crate, a local item or `::x`
    if rest and rest[-1] in ("self", "*"):  # `a::{self}`, `a::*`
        rest = rest[:-1]
    return base + rest


def imports_of(refs: list[Reference], modules: set[str]) -> dict[str, list[str]]:
    """Names a module's `use` items bring in: `use a::B as C;` -> {"C": ["a", "B"]}."""
    names = {}
    for ref in refs:
        if not ref.top_level or ref.segments[-1] in ("*", "self"):
            continue
        path = absolute(ref.segments, ref.context, modules)
        if path:
            names[ref.alias or path[-1]] = path
    return names


def target_module(path: list[str], modules: set[str], imports: dict[str, dict[str, list[str]]]) -> str:
    """The module that defines what `path` names ("" for the crate root).

    The longest prefix of `path` that is a module, unless the next segment is
    a name that module imports (`crate::Conn`, `crate::connection::Conn`):
    then the imported path, resolved the same way.
    """
    for _ in range(8):  # a re-export may name another re-export
        end = next((e for e in range(len(path), 0, -1) if name(path[:e]) in modules), 0)
        module = name(path[:end])
        imported = imports.get(module, {}).get(path[end]) if end < len(path) else None
        if imported is None or imported == path[: end + 1]:
            return module
        path = imported + path[end + 1 :]
    return module


def build_graph(repo: Path, src_dir: Path) -> Graph:
    files = sorted(src_dir.rglob("*.rs"))
    module_of = {f: module_path(src_dir, f) for f in files}
    modules = {name(m) for m in module_of.values() if m}
    refs = {f: references(src_dir, f) for f in files}
    imports = {name(m): imports_of(refs[f], modules) for f, m in module_of.items()}
    graph = Graph(sorted(modules))
    for f, module in module_of.items():
        if not module:
            continue  # the crate root is no node
        source = name(module)
        for ref in refs[f]:
            path = absolute(ref.segments, ref.context, modules)
            target = target_module(path, modules, imports) if path else ""
            if not target or target == source:
                continue
            if ref.reexport and target.startswith(source + "::"):
                continue  # a module re-exporting its own children
            graph.add(Edge(source, target, f.relative_to(repo).as_posix(), ref.line))
    return graph


def concepts(graph: Graph) -> Graph:
    """The same graph with every module folded into its top-level module."""
    folded = Graph(sorted({m.split("::")[0] for m in graph.modules}))
    for (source, target), edge in sorted(graph.edges.items()):
        outer, inner = source.split("::")[0], target.split("::")[0]
        if outer != inner:
            folded.add(Edge(outer, inner, edge.file, edge.line, edge.count))
    return folded


# --------------------------------------------------------------- the cycles


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm; components of more than one module, sorted."""
    successors: dict[str, list[str]] = {m: [] for m in graph.modules}
    for source, target in graph.edges:
        successors[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for nxt in sorted(successors[module]):
            if nxt not in index:
                visit(nxt)
                low[module] = min(low[module], low[nxt])
            elif nxt in on_stack:
                low[module] = min(low[module], index[nxt])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in graph.modules:
        if module not in index:
            visit(module)
    return sorted(components)


def describe(edge: Edge) -> str:
    more = f" (and {edge.count - 1} more)" if edge.count > 1 else ""
    return f"  {edge.source} -> {edge.target}: {edge.file}:{edge.line}{more}"


def report(label: str, graph: Graph, show_graph: bool) -> int:
    if show_graph:
        print(f"{label}: edges")
        for key in sorted(graph.edges):
            print(describe(graph.edges[key]))
    cycles = strongly_connected(graph)
    for number, cycle in enumerate(cycles, 1):
        print(f"{label}: cycle {number}: {', '.join(cycle)}")
        members = set(cycle)
        for (source, target), edge in sorted(graph.edges.items()):
            if source in members and target in members:
                print(describe(edge))
        pairs = [f"{a} <-> {b}" for a, b in sorted(graph.edges) if a < b and (b, a) in graph.edges and a in members]
        if pairs:
            print(f"  mutual: {', '.join(pairs)}")
    print(f"{label}: {len(cycles)} cycles among {len(graph.modules)} modules")
    return len(cycles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Find module dependency cycles in the workspace's crates.")
    parser.add_argument("--graph", action="store_true", help="print every edge too")
    parser.add_argument(
        "--concepts", action="store_true", help="also check top-level modules, each with its submodules folded in"
    )
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent, help="workspace root")
    args = parser.parse_args(argv)
    cycles = 0
    for crate, src in CRATES:
        src_dir = args.root / src
        if not src_dir.is_dir():
            continue
        graph = build_graph(args.root, src_dir)
        cycles += report(crate, graph, args.graph)
        if args.concepts:
            cycles += report(f"{crate} (top-level modules)", concepts(graph), args.graph)
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
