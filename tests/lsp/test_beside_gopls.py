"""Beside gopls (the client says gopls serves the same files, or the setting says so), rungo does not
repeat the type and syntax errors gopls shows: it publishes what only the compiler and the build see."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types as lsp

from lspkit import Session, lsp_env, session_factory  # noqa: F401  (fixtures)

MODULE = {
    "go.mod": "module example.com/beside\n\ngo 1.22\n",
    "main.go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
}
LATE = "\nfunc big(x [1 << 33]byte) byte { return x[0] }\n"


def messages(diags: list[lsp.Diagnostic]) -> list[str]:
    return [d.message for d in diags]


async def quiet_for(s: Session, uri: str, seconds: float) -> list[str]:
    """Every message published for uri within the next seconds."""
    start = len(s.rec.publishes)
    await asyncio.sleep(seconds)
    return [m for p in s.rec.publishes[start:] if p.uri == uri for m in messages(list(p.diagnostics))]


async def test_type_and_syntax_errors_are_left_to_gopls(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": "off", "goplsActive": True})
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: not d, "the first check")
    good = (s.root / "main.go").read_text()
    s.change(uri, good.replace('fmt.Println("hi")', 'var x int = "s"\n\tfmt.Println(x'))
    seen = await quiet_for(s, uri, 4.0)
    assert seen == [], seen
    s.change(uri, good + LATE)
    diags = await s.diagnostics(uri, lambda d: any("stack frame too large" in m for m in messages(d)),
                                "code generation's own error")
    assert len(diags) == 1, messages(diags)


async def test_a_saved_type_error_stays_with_gopls(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": "off", "diagnostics": {"besideGopls": "on"}})
    path = s.root / "main.go"
    path.write_text(path.read_text().replace('fmt.Println("hi")', 'var x int = "s"\n\tfmt.Println(x)'))
    uri = s.open("main.go")
    seen = await quiet_for(s, uri, 4.0)
    assert not any("cannot use" in m for m in seen), seen


async def test_off_shows_every_compiler_error_whatever_the_client_says(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"warmStart": "off", "goplsActive": True,
                                                "diagnostics": {"besideGopls": "off"}})
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: not d, "the first check")
    good = (s.root / "main.go").read_text()
    s.change(uri, good.replace('fmt.Println("hi")', 'var x int = "s"\n\tfmt.Println(x)'))
    await s.diagnostics(uri, lambda d: any("cannot use" in m for m in messages(d)), "the type error")


async def test_a_load_problem_still_shows(session_factory: Any) -> None:
    files = dict(MODULE)
    files["go.mod"] = "module example.com/beside\n\ngo 1.22\n\nrequire example.com/absent v1.0.0\n"
    files["main.go"] = 'package main\n\nimport "example.com/absent"\n\nfunc main() { absent.X() }\n'
    s: Session = await session_factory(files, {"warmStart": "off", "goplsActive": True})
    uri = s.open("main.go")
    diags = await s.diagnostics(uri, lambda d: bool(d), "the load error")
    assert any("absent" in m for m in messages(diags)), messages(diags)
