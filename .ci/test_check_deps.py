"""Tests of check-deps.py on small synthetic crates.

    python3 .ci/test_check_deps.py
    python3 -m unittest discover -s .ci -p 'test_*.py'
"""

import contextlib
import importlib.util
import io
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("check_deps", Path(__file__).with_name("check-deps.py"))
check_deps = importlib.util.module_from_spec(_SPEC)
sys.modules["check_deps"] = check_deps  # dataclasses look their module up there
_SPEC.loader.exec_module(check_deps)


class CrateTest(unittest.TestCase):
    """Each test writes a tiny `runtime/src` tree into a temporary workspace."""

    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.root = Path(self._dir.name)
        self.src = self.root / "runtime" / "src"

    def tearDown(self):
        self._dir.cleanup()

    def crate(self, files):
        for path, text in {"lib.rs": "", **files}.items():
            file = self.src / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return check_deps.build_graph(self.root, self.src)

    def run_main(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = check_deps.main(["--root", str(self.root), *args])
        return status, out.getvalue()

    def assertEdges(self, graph, expected):
        self.assertEqual(sorted(graph.edges), sorted(expected))


class Edges(CrateTest):
    def test_grouped_multiline_use_makes_a_cycle(self):
        graph = self.crate(
            {
                "a.rs": """
                use std::fmt;
                use crate::{
                    b::{X, Y},
                    c,
                };
                pub struct Z;
                """,
                "b.rs": "use crate::a::Z;\npub struct X;\npub struct Y;\n",
                "c.rs": "",
            }
        )
        self.assertEdges(graph, [("a", "b"), ("a", "c"), ("b", "a")])
        self.assertEqual(check_deps.strongly_connected(graph), [["a", "b"]])
        self.assertEqual((graph.edges["a", "b"].file, graph.edges["a", "b"].line), ("runtime/src/a.rs", 3))

    def test_inline_crate_path_counts(self):
        graph = self.crate(
            {
                "a.rs": "pub struct Z;\nfn f() -> crate::b::T {\n    crate::b::T\n}\n",
                "b.rs": "use crate::a::Z;\npub struct T;\n",
            }
        )
        self.assertEdges(graph, [("a", "b"), ("b", "a")])
        edge = graph.edges["a", "b"]
        self.assertEqual((edge.line, edge.count), (2, 2))

    def test_comments_strings_and_chars_do_not_count(self):
        graph = self.crate(
            {
                "a.rs": r'''
                //! Module docs naming crate::b::T.
                /// Item docs naming [`T`](crate::b::T).
                // use crate::b::T;
                /* a block comment: crate::b::T /* nested: crate::b */ still comment crate::b */
                fn f<'a>(x: &'a str) -> (char, char, &'static str, &'static str) {
                    ('"', '\'', "crate::b::T \" crate::b", r#"crate::b "quoted" crate::b"#)
                }
                pub struct Z;
                ''',
                "b.rs": "use crate::a::Z;\npub struct T;\n",
            }
        )
        self.assertEdges(graph, [("b", "a")])
        self.assertEqual(check_deps.strongly_connected(graph), [])

    def test_code_after_a_char_literal_and_lifetimes_still_counts(self):
        graph = self.crate(
            {
                "a.rs": "fn f<'a>(x: &'a str) -> char { '\"' }\nfn g() { crate::b::h() }\n",
                "b.rs": "pub fn h() {}\n",
            }
        )
        self.assertEqual(graph.edges["a", "b"].line, 2)

    def test_longest_module_prefix_is_the_target(self):
        graph = self.crate(
            {
                "connection/mod.rs": "mod task;\npub struct Setup;\n",
                "connection/task.rs": "pub fn x() {}\n",
                "a.rs": "use crate::connection::Setup;\nfn f() { crate::connection::task::x() }\n",
            }
        )
        self.assertEdges(graph, [("a", "connection"), ("a", "connection::task")])

    def test_super_and_self_resolve_from_the_files_module(self):
        graph = self.crate(
            {
                "conn/mod.rs": "mod task;\nmod writer;\npub struct Setup;\n",
                "conn/task.rs": "use super::{\n    writer::write,\n    Setup,\n};\npub struct T;\n",
                "conn/writer.rs": "pub fn write(_: super::task::T) {}\nfn g() { self::write }\n",
            }
        )
        self.assertEdges(
            graph, [("conn::task", "conn"), ("conn::task", "conn::writer"), ("conn::writer", "conn::task")]
        )
        self.assertEqual(check_deps.strongly_connected(graph), [["conn::task", "conn::writer"]])

    def test_inline_test_module_super_is_the_file_itself(self):
        graph = self.crate(
            {
                "a.rs": """
                pub fn f() {}
                #[cfg(test)]
                mod tests {
                    use super::*;
                    use super::super::b;
                }
                """,
                "b.rs": "",
            }
        )
        self.assertEdges(graph, [("a", "b")])


class ReExports(CrateTest):
    def test_a_parent_re_exporting_its_children_is_no_edge(self):
        graph = self.crate(
            {
                "p/mod.rs": """
                mod c;
                mod d;
                pub use c::X;
                pub(crate) use self::d::{Y as Why};
                pub struct Z;
                """,
                "p/c.rs": "use super::Z;\npub struct X;\n",
                "p/d.rs": "use super::Z;\npub struct Y;\n",
            }
        )
        self.assertEdges(graph, [("p::c", "p"), ("p::d", "p")])
        status, out = self.run_main()
        self.assertEqual(status, 0)
        self.assertEqual(out, "runtime: 0 cycles among 3 modules\n")

    def test_a_parent_using_a_child_in_its_own_code_is_an_edge(self):
        graph = self.crate(
            {
                "p/mod.rs": "mod c;\nuse self::c::X;\npub struct Z(X);\n",
                "p/c.rs": "use super::Z;\npub struct X;\n",
            }
        )
        self.assertEqual(check_deps.strongly_connected(graph), [["p", "p::c"]])

    def test_re_exports_are_looked_through_to_the_defining_module(self):
        graph = self.crate(
            {
                "lib.rs": "mod hub;\npub mod connection;\npub use connection::Conn as Connection;\n",
                "connection/mod.rs": "mod handle;\npub use handle::Conn;\n",
                "connection/handle.rs": "use crate::hub::Hub;\npub struct Conn;\n",
                "hub.rs": "use crate::connection::Conn;\nfn f(_: crate::Connection) {}\npub struct Hub;\n",
            }
        )
        self.assertEdges(graph, [("connection::handle", "hub"), ("hub", "connection::handle")])
        self.assertEqual(graph.edges["hub", "connection::handle"].count, 2)


    def test_only_module_level_imports_are_looked_through(self):
        graph = self.crate(
            {
                "m.rs": """
                pub struct Name;
                fn f() {
                    use crate::other::Name;
                }
                #[cfg(test)]
                mod tests {
                    use super::*;
                }
                """,
                "other.rs": "pub struct Name;\n",
                "user.rs": "use crate::m::Name;\n",
            }
        )
        self.assertIn(("user", "m"), graph.edges)
        self.assertNotIn(("user", "other"), graph.edges)


class Output(CrateTest):
    def test_a_cycle_is_printed_with_file_and_line_and_fails(self):
        self.crate({"a.rs": "use crate::b::X;\npub struct Y;\n", "b.rs": "// b\nuse crate::a::Y;\npub struct X;\n"})
        status, out = self.run_main()
        self.assertEqual(status, 1)
        self.assertEqual(
            out.splitlines(),
            [
                "runtime: cycle 1: a, b",
                "  a -> b: runtime/src/a.rs:1",
                "  b -> a: runtime/src/b.rs:2",
                "  mutual: a <-> b",
                "runtime: 1 cycles among 2 modules",
            ],
        )

    def test_graph_prints_every_edge(self):
        self.crate({"a.rs": "use crate::b::X;\n", "b.rs": "pub struct X;\n"})
        status, out = self.run_main("--graph")
        self.assertEqual(status, 0)
        self.assertIn("  a -> b: runtime/src/a.rs:1", out.splitlines())

    def test_concepts_fold_submodules_into_their_top_level_module(self):
        self.crate(
            {
                "message.rs": "use crate::connection::CloseCode;\npub struct Message;\n",
                "connection/mod.rs": "mod close;\nmod handle;\npub use close::CloseCode;\n",
                "connection/close.rs": "pub struct CloseCode;\n",
                "connection/handle.rs": "use crate::message::Message;\n",
            }
        )
        status, out = self.run_main()
        self.assertEqual(status, 0)  # message -> connection::close -> nothing
        status, out = self.run_main("--concepts")
        self.assertEqual(status, 1)
        self.assertIn("runtime (top-level modules): cycle 1: connection, message", out)


class UseTree(unittest.TestCase):
    def test_paths_of_a_use_tree(self):
        cases = [
            ("crate::a::B", [(["crate", "a", "B"], None)]),
            ("crate::a::B as C", [(["crate", "a", "B"], "C")]),
            ("super::*", [(["super", "*"], None)]),
            ("::std::fmt", [(["::", "std", "fmt"], None)]),
            (
                "crate::{a::x, b::{c as d, self}, r#type::E}",
                [
                    (["crate", "a", "x"], None),
                    (["crate", "b", "c"], "d"),
                    (["crate", "b", "self"], None),
                    (["crate", "type", "E"], None),
                ],
            ),
        ]
        for body, expected in cases:
            with self.subTest(body=body):
                paths = [(p.segments, p.alias) for p in check_deps.parse_use_tree(body)]
                self.assertEqual(paths, expected)


if __name__ == "__main__":
    unittest.main()
