"""Building a FileSummary from the bytes of one Go file.

Go's own rules decide what counts: the package clause must come first (after comments); imports are those
of the header, the import declarations before any other declaration (go/build reads no further); //go:debug
lines count before the package clause; //go:embed lines count only in files that import "embed".
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Iterator

from rungo.quoting import unquote
from rungo.syntax.literals import embed_patterns, go_debug_setting, is_valid_import_path
from rungo.syntax.model import EmbedDirective, FileSummary, GoDebugDirective, ImportSpec, Position, SyntaxProblem
from rungo.syntax.parsing import parse
from rungo.syntax.positions import children, node_position, node_text, offset_position
from rungo.syntax.problems import (
    IDENT_TYPES,
    LITERAL_TYPES,
    NON_DECLARATION,
    encoding_problems,
    leaves,
    tree_problems,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

MAX_PROBLEMS = 50
_BASE_BUDGET = 1.0            # seconds for any parse, plus
_BUDGET_PER_BYTE = 0.5e-6     # half a second per megabyte (valid Go parses at about 5 MB/s)
_PREFIX_SIZES = (1 << 16, 1 << 12)
_PREFIX_BUDGET = 0.5
_SEPARATORS = frozenset({";", "\n"})
_IMPORTS_FIRST = "syntax error: imports must appear before other declarations"
_TOP_LEVEL_LIMIT = 1_000_000   # top-level nodes looked at (a legitimate 5 MB file has a few hundred thousand)
_ERROR_SCAN_LIMIT = 10_000     # children of a top-level ERROR node searched for func main
_STATEMENTS = frozenset({
    "assignment_statement", "block", "break_statement", "continue_statement", "dec_statement",
    "defer_statement", "expression_statement", "expression_switch_statement", "fallthrough_statement",
    "for_statement", "go_statement", "goto_statement", "if_statement", "inc_statement", "labeled_statement",
    "receive_statement", "return_statement", "select_statement", "send_statement", "short_var_declaration",
    "type_switch_statement",
})


# Summaries by content: a second summarize of the same bytes (the same files, check after check)
# costs one hash, and a summary computed elsewhere (another process) can be remembered here.
_MEMO_ENTRIES = 4096
_MEMO_BYTES = 64 << 20       # the sources behind the remembered summaries, at most (large ones count)
_memo: OrderedDict[bytes, tuple[int, FileSummary]] = OrderedDict()
_memo_lock = threading.Lock()
_memo_size = 0


def _digest(source: bytes) -> bytes:
    return hashlib.sha256(source).digest()


def remember(source: bytes, summary: FileSummary) -> None:
    """Records the summary of a source, for the next summarize of the same bytes."""
    global _memo_size
    key = _digest(source)
    with _memo_lock:
        old = _memo.pop(key, None)
        if old is not None:
            _memo_size -= old[0]
        _memo[key] = (len(source), summary)
        _memo_size += len(source)
        while len(_memo) > _MEMO_ENTRIES or (_memo_size > _MEMO_BYTES and len(_memo) > 1):
            _, (n, _s) = _memo.popitem(last=False)
            _memo_size -= n


def summarize(source: bytes) -> FileSummary:
    """The summary of a Go source file. Never raises: whatever is wrong with the input becomes a SyntaxProblem."""
    data = bytes(source)
    key = _digest(data)
    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            return hit[1]
    try:
        s = _summarize(data)
        remember(data, s)
        return s
    except Exception as e:  # a last resort: no input may make summarize raise
        problem = SyntaxProblem(Position(1, 1), f"internal error: cannot summarize file: {type(e).__name__}: {e}")
        return FileSummary("", None, (), False, (), (), None, (problem,))


def _summarize(source: bytes) -> FileSummary:
    encoding = encoding_problems(source)
    problems: list[SyntaxProblem] = []
    text = source
    tree = parse(source, _BASE_BUDGET + len(source) * _BUDGET_PER_BYTE)
    truncated: int | None = None
    if tree is None:
        text, tree = _parse_prefix(source)
        truncated = len(text)
    if tree is None:
        problems.append(SyntaxProblem(Position(1, 1), "syntax error: file too complex to parse"))
        return FileSummary("", None, (), False, (), (), None, _arrange(None, encoding, problems))
    root = tree.root_node

    header = _read_header(root, text)
    found = tree_problems(root, text, MAX_PROBLEMS)
    if truncated is not None:
        # Errors near the cut are artefacts of the cut; say where analysis stopped if nothing came before.
        cut_line = offset_position(source, truncated).line
        found = [p for p in found if p.position.line < cut_line]
        if not found:
            found.append(SyntaxProblem(offset_position(source, truncated),
                                       "syntax error: file too complex to parse past this point"))
    problems.extend(found)
    problems.extend(header.problems)
    imports = tuple(header.imports)
    body = _scan_top_level(root, text, header.end, any(spec.path == "embed" for spec in imports))
    problems.extend(body.problems)
    go_debug = _go_debug(header.directives, text, problems)
    return FileSummary(
        package=header.package,
        package_position=header.package_position,
        imports=imports,
        imports_c=any(spec.path == "C" for spec in imports),
        embeds=tuple(body.embeds),
        go_debug=go_debug,
        main_func=body.main,
        syntax_errors=_arrange(header.missing, encoding, problems),
    )


def _parse_prefix(source: bytes) -> tuple[bytes, Tree | None]:
    """A parse of the first lines of a file whose full parse ran out of time."""
    for size in _PREFIX_SIZES:
        if size >= len(source):
            continue
        cut = source.rfind(b"\n", 0, size) + 1 or size
        prefix = source[:cut]
        tree = parse(prefix, _PREFIX_BUDGET)
        if tree is not None:
            return prefix, tree
    return source, None


def _arrange(missing: SyntaxProblem | None, encoding: list[SyntaxProblem],
             problems: list[SyntaxProblem]) -> tuple[SyntaxProblem, ...]:
    """At most MAX_PROBLEMS problems: a missing package clause first (it is what `go run` reports), then the
    rest in source order, one per position (an encoding error explains any syntax error at its position)."""
    out: list[SyntaxProblem] = [] if missing is None else [missing]
    seen: set[Position] = set()
    for problem in sorted(encoding + problems, key=lambda p: (p.position.line, p.position.column)):
        if problem.position in seen:
            continue
        seen.add(problem.position)
        if missing is None or problem.position != missing.position or problem in encoding:
            out.append(problem)
        if len(out) >= MAX_PROBLEMS:
            break
    return tuple(out)


# -- the header: package clause and imports ---------------------------------------------------------------


class _Header:
    """What the header walk found (a plain class: a dataclass here would cost a millisecond of import time)."""

    __slots__ = ("package", "package_position", "imports", "directives", "problems", "missing", "end")

    def __init__(self) -> None:
        self.package = ""
        self.package_position: Position | None = None
        self.imports: list[ImportSpec] = []
        self.directives: list[Node] = []           # comments before the package clause
        self.problems: list[SyntaxProblem] = []
        self.missing: SyntaxProblem | None = None  # the package clause is not first
        self.end = 0                               # byte offset where the header ends


def _top_level(root: Node) -> Iterator[Node]:
    """The root's children, with the children of top-level ERROR nodes spliced in."""
    for child in children(root):
        if child.type == "ERROR" and child.child_count:
            yield from children(child)
        else:
            yield child


def _read_header(root: Node, source: bytes) -> _Header:
    header = _Header()
    nodes = _top_level(root)
    node = next(nodes, None)
    while node is not None and (node.type == "comment" or node.type in _SEPARATORS):
        if node.type == "comment":
            header.directives.append(node)
        node = next(nodes, None)

    if node is None or node.type not in ("package_clause", "package"):
        header.missing = _expected_package(node, source)
        header.directives.clear()
        header.end = len(source) if node is None else node.start_byte
        return header
    if node.type == "package_clause":
        name = next((c for c in node.children if c.type in ("package_identifier", "identifier")), None)
        node = next(nodes, None)
    else:  # a `package` keyword that error recovery split from its name
        node = next(nodes, None)
        name = node if node is not None and node.type in ("package_identifier", "identifier") else None
        if name is not None:
            node = next(nodes, None)
    if name is not None and not name.is_missing and name.start_byte < name.end_byte:
        header.package = node_text(name, source)
        header.package_position = node_position(name)

    loose = False  # inside an import declaration that error recovery took apart
    while node is not None:
        kind = node.type
        if kind == "import_declaration":
            loose = False
            for spec in _import_specs(node):
                _add_import(header, spec, source)
        elif kind == "import_spec_list":
            for spec in _import_specs(node):
                _add_import(header, spec, source)
        elif kind == "import":
            loose = True
        elif loose and kind == "import_spec":
            _add_import(header, node, source)
        elif loose and kind in ("(", ")"):
            loose = kind == "("
        elif kind != "comment" and kind not in _SEPARATORS:
            break
        node = next(nodes, None)
    header.end = len(source) if node is None else node.start_byte
    return header


def _import_specs(node: Node) -> Iterator[Node]:
    for child in node.children:
        if child.type == "import_spec":
            yield child
        elif child.type in ("import_spec_list", "ERROR"):
            yield from _import_specs(child)


def _add_import(header: _Header, spec: Node, source: bytes) -> None:
    path_node = spec.child_by_field_name("path")
    if path_node is None or path_node.is_missing or path_node.has_error:
        return
    literal = node_text(path_node, source)
    path = unquote(literal)
    position = node_position(path_node)
    if path is None:
        return
    if not is_valid_import_path(path):
        header.problems.append(SyntaxProblem(position, "invalid import path: " + literal))
        return
    name_node = spec.child_by_field_name("name")
    name = None
    spec_position = position
    if name_node is not None and not name_node.is_missing and name_node.start_byte < name_node.end_byte:
        name = node_text(name_node, source)
        spec_position = node_position(name_node)
    header.imports.append(ImportSpec(path, name, position, spec_position))


def _expected_package(node: Node | None, source: bytes) -> SyntaxProblem:
    """go/parser's complaint about a file that does not start with a package clause (what `go run` prints)."""
    token = None
    if node is not None:
        token = next((leaf for leaf in leaves(node, 16)
                      if leaf.type != "comment" and leaf.start_byte < leaf.end_byte), None)
    if token is None:
        # go/parser puts EOF after a final newline at the end of the last line.
        if source.endswith(b"\n"):
            last = offset_position(source, len(source) - 1)
            return SyntaxProblem(Position(last.line, last.column + 1), "expected 'package', found 'EOF'")
        return SyntaxProblem(offset_position(source, len(source)), "expected 'package', found 'EOF'")
    text = node_text(token, source)
    if token.type in IDENT_TYPES or token.type in LITERAL_TYPES:
        found = text.split("\n", 1)[0]
    elif token.type == "ERROR" or not text.isprintable():
        found = "'ILLEGAL'"
    else:
        found = f"'{text}'"
    return SyntaxProblem(node_position(token), "expected 'package', found " + found)


# -- directives and func main ----------------------------------------------------------------------------


def _comment_text(node: Node, source: bytes) -> str:
    """A comment's text as Go's scanner gives it: a line comment loses its trailing carriage return."""
    text = node_text(node, source)
    return text[:-1] if text.startswith("//") and text.endswith("\r") else text


def _go_debug(comments: list[Node], source: bytes, problems: list[SyntaxProblem]) -> tuple[GoDebugDirective, ...]:
    out: list[GoDebugDirective] = []
    for comment in comments:
        text = _comment_text(comment, source)
        if not text.startswith("//go:"):
            continue
        try:
            setting = go_debug_setting(text)
        except ValueError as e:
            problems.append(SyntaxProblem(node_position(comment), f"invalid //go:debug: {e}"))
            continue
        if setting is not None:
            out.append(GoDebugDirective(setting[0], setting[1], node_position(comment)))
    return tuple(out)


class _Body:
    """What the pass over the top-level nodes found."""

    __slots__ = ("main", "embeds", "problems")

    def __init__(self) -> None:
        self.main: Position | None = None
        self.embeds: list[EmbedDirective] = []
        self.problems: list[SyntaxProblem] = []


def _scan_top_level(root: Node, source: bytes, header_end: int, want_embeds: bool) -> _Body:
    """One pass over the top-level nodes: func main, //go:embed lines, and what Go rejects at top level.

    tree-sitter-go accepts statements anywhere and import declarations after other declarations; the
    compiler does not. //go:embed lines are looked for where Go allows them: before package-level vars.
    Func main is also looked for inside top-level ERROR nodes (error recovery may sweep it in).
    """
    body = _Body()
    for count, node in enumerate(children(root)):
        if count >= _TOP_LEVEL_LIMIT:
            break
        kind = node.type
        if kind == "comment":
            if want_embeds:
                _add_embed(body, node, source)
        elif kind == "function_declaration":
            if body.main is None:
                body.main = _main_name(node, source)
        elif kind == "var_declaration":
            if want_embeds:
                for child in node.children:
                    for grandchild in (child.children if child.type == "var_spec_list" else (child,)):
                        if grandchild.type == "comment":
                            _add_embed(body, grandchild, source)
        elif kind == "ERROR" and body.main is None:
            for inner, _ in zip(children(node), range(_ERROR_SCAN_LIMIT)):
                if inner.type == "function_declaration":
                    body.main = _main_name(inner, source)
                    if body.main is not None:
                        break
        elif node.start_byte >= header_end and node.is_named and len(body.problems) < MAX_PROBLEMS:
            if kind == "import_declaration":
                body.problems.append(SyntaxProblem(node_position(node), _IMPORTS_FIRST))
            elif kind in _STATEMENTS:
                body.problems.append(SyntaxProblem(node_position(node), NON_DECLARATION))
    return body


def _add_embed(body: _Body, comment: Node, source: bytes) -> None:
    if not source.startswith(b"//go:embed", comment.start_byte):
        return
    patterns = embed_patterns(_comment_text(comment, source))
    if patterns:
        body.embeds.append(EmbedDirective(patterns, node_position(comment)))


def _main_name(decl: Node, source: bytes) -> Position | None:
    """The position of decl's name if decl is `func main` without type parameters."""
    name = decl.child_by_field_name("name")
    if name is None or source[name.start_byte:name.end_byte] != b"main":
        return None
    if decl.child_by_field_name("type_parameters") is not None:
        return None
    return node_position(name)
