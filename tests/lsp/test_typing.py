"""While typing, a check stops after type checking, and it is still the compiler's truth: what a
keystroke changes beyond the function bodies (imports, another package's buffer, the disk) is seen,
the stop never shows, and the full compile follows a pause with what only code generation sees."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types as lsp

from lspkit import Session, lsp_env, session_factory  # noqa: F401  (fixtures)

MODULE = {
    "go.mod": "module example.com/typing\n\ngo 1.22\n",
    "lib/lib.go": "package lib\n\n// Name is the library's name.\nfunc Name() string { return \"lib\" }\n",
    "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/typing/lib"\n)\n\n'
               'func main() {\n\tfmt.Println(lib.Name())\n}\n',
}


def messages(diags: list[lsp.Diagnostic]) -> list[str]:
    return [d.message for d in diags]


def has(part: str) -> Any:
    return lambda diags: any(part in m for m in messages(diags))


def clean(diags: list[lsp.Diagnostic]) -> bool:
    return not diags


async def test_type_errors_come_and_go_while_typing(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": False})
    uri = s.open("main.go")
    await s.diagnostics(uri, clean, "the first check")
    good = (s.root / "main.go").read_text()
    for _ in range(3):
        s.change(uri, good.replace("func main() {\n", 'func main() {\n\tvar _ int = "x"\n'))
        diags = await s.diagnostics(uri, has("cannot use"), "the type error")
        assert diags[0].range.start.line == 9
        assert not any("rungoStop" in m for m in messages(diags))
        s.change(uri, good)
        await s.diagnostics(uri, clean, "the error cleared")


async def test_an_import_typed_in_is_resolved(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": False})
    uri = s.open("main.go")
    await s.diagnostics(uri, clean, "the first check")
    good = (s.root / "main.go").read_text()
    s.change(uri, good.replace('"fmt"\n', '"fmt"\n\t"strings"\n').replace(
        "fmt.Println(lib.Name())", "fmt.Println(strings.ToUpper(lib.Name()), 1+\"a\")"))
    diags = await s.diagnostics(uri, has("mismatched types"), "the type error beside the new import")
    assert not any("strings" in m for m in messages(diags)), messages(diags)
    s.change(uri, good.replace('"fmt"\n', '"fmt"\n\t"strings"\n'))
    await s.diagnostics(uri, has('"strings" imported and not used'), "the unused import")


async def test_another_packages_buffer_is_seen(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": False})
    main = s.open("main.go")
    lib = s.open("lib/lib.go")
    await s.diagnostics(main, clean, "the first check of main")
    await s.diagnostics(lib, clean, "the first check of lib")
    good = (s.root / "main.go").read_text()
    s.change(main, good.replace("func main() {\n", "func main() {\n\tx := 1\n\t_ = x\n"))
    await s.diagnostics(main, clean, "main still clean")
    s.change(lib, (s.root / "lib/lib.go").read_text().replace("func Name()", "func Title()"))
    await s.diagnostics(lib, clean, "lib renamed, unsaved")
    s.change(main, good.replace("func main() {\n", "func main() {\n\tx := 2\n\t_ = x\n"))
    await s.diagnostics(main, has("undefined: lib.Name"), "main sees lib's buffer")


async def test_a_dependency_changed_on_disk_is_seen(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": False})
    main = s.open("main.go")
    await s.diagnostics(main, clean, "the first check")
    good = (s.root / "main.go").read_text().replace("fmt.Println(lib.Name())", "var n string = lib.Name()\n\tfmt.Println(n)")
    s.change(main, good)
    await s.diagnostics(main, clean, "clean with a string")
    s.change(main, good.replace("func main() {\n", "func main() {\n\tx := 1\n\t_ = x\n"))
    await s.diagnostics(main, clean, "still clean")
    lib = s.root / "lib" / "lib.go"
    lib.write_text(lib.read_text().replace("func Name() string", "func Name() int").replace('"lib"', "1"))
    s.change(main, good.replace("func main() {\n", "func main() {\n\tx := 3\n\t_ = x\n"))
    await s.diagnostics(main, has("cannot use lib.Name()"), "the changed signature's type error")


LATE = "func big(x [1 << 33]byte) byte { return x[0] }\n"


async def test_what_only_code_generation_sees_follows_a_pause(session_factory: Any) -> None:
    """A stack frame too large is no type error: the keystroke's check does not see it, the full
    compile after the pause does, and a save shows it at once."""
    s: Session = await session_factory(MODULE, {"warmStart": False})
    uri = s.open("main.go")
    await s.diagnostics(uri, clean, "the first check")
    good = (s.root / "main.go").read_text()
    s.change(uri, good + "\n" + LATE)
    diags = await s.diagnostics(uri, has("stack frame too large"), "the full compile's error", timeout=60)
    assert diags[0].range.start.line == good.count("\n") + 1
    s.change(uri, good)
    await s.diagnostics(uri, clean, "fixed")


async def test_code_generations_error_stays_while_typing_elsewhere(session_factory: Any) -> None:
    """A keystroke's check cannot see it, so its clean answer does not clear it: it stays, moved with
    the edits, until the next full compile says otherwise."""
    files = dict(MODULE)
    files["main.go"] = MODULE["main.go"] + "\n" + LATE
    s: Session = await session_factory(files, {"warmStart": False})
    uri = s.open("main.go")
    await s.diagnostics(uri, has("stack frame too large"), "the full compile's error")
    start = len(s.rec.publishes)
    text = (s.root / "main.go").read_text()
    for i in range(1, 4):
        text = text.replace("func main() {\n", f"func main() {{\n\tx{i} := {i}\n\t_ = x{i}\n")
        s.change(uri, text)
        await asyncio.sleep(0.5)
    diags = await s.diagnostics(uri, has("stack frame too large"), "the error after the edits")
    assert diags[0].range.start.line == text.count("\n") - 1
    after = [p for p in s.rec.publishes[start:] if p.uri == uri]
    assert after and all(any("stack frame too large" in d.message for d in p.diagnostics) for p in after), \
        [[d.message for d in p.diagnostics] for p in after]
    s.change(uri, text.replace(LATE, ""))
    await s.diagnostics(uri, clean, "fixed")


async def test_keystrokes_are_type_checked_in_memory(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {})      # no program ran: the warm start has nothing to do
    uri = s.open("main.go")
    await s.diagnostics(uri, clean, "the first check")
    good = (s.root / "main.go").read_text()

    def in_memory() -> bool:
        return any("type checking in memory" in m.message for m in s.client.log_messages)

    # The type checker is built in the background after the first check; until it runs, the
    # compiler answers each keystroke.
    n = 0
    deadline = asyncio.get_running_loop().time() + 300
    while not in_memory():
        assert asyncio.get_running_loop().time() < deadline, "the type checker never started"
        n += 1
        s.change(uri, good.replace("func main() {\n", f"func main() {{\n\tx{n} := {n}\n\t_ = x{n}\n"))
        await s.diagnostics(uri, clean, "a keystroke's check")
        await asyncio.sleep(0.5)
    for _ in range(3):
        s.change(uri, good.replace("func main() {\n", 'func main() {\n\tvar _ int = "x"\n'))
        diags = await s.diagnostics(uri, has('cannot use "x" (untyped string constant) as int value'), "the type error")
        assert diags[0].range.start.line == 9
        s.change(uri, good)
        await s.diagnostics(uri, clean, "the error cleared")


async def test_no_type_checker_is_built_with_the_warm_start_off(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": "off"})
    uri = s.open("main.go")
    await s.diagnostics(uri, clean, "the first check")
    good = (s.root / "main.go").read_text()
    for n in range(3):
        s.change(uri, good.replace("func main() {\n", f"func main() {{\n\tx{n} := {n}\n\t_ = x{n}\n"))
        await s.diagnostics(uri, clean, "a keystroke's check")
    s.change(uri, good.replace("func main() {\n", 'func main() {\n\tvar _ int = "x"\n'))
    await s.diagnostics(uri, has("cannot use"), "the type error, from the compiler")
    assert not any("type checking in memory" in m.message for m in s.client.log_messages)
