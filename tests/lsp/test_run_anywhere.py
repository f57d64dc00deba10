"""Runs for every client: the code actions on func main, and saved run configurations, through the real server.

The plain client announces no code-lens capability and no rungo/output support (as Helix or Emacs eglot):
it finds `Run main package` among the code actions, executes its command, and hears the program through
window/logMessage and the result through window/showMessage.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Union

import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig

from conftest import RUNGO, write_tree
from lspkit import Recorder, Session, end_session, lsp_env, make_client, session_factory  # noqa: F401  (fixtures)

PROGRAMS = {
    "go.mod": "module example.com/anywhere\n\ngo 1.22\n",
    "hello/main.go": """
        package main

        import (
        	"fmt"
        	"os"
        )

        func main() {
        	wd, _ := os.Getwd()
        	fmt.Printf("args=%q greeting=%s wd=%s\\n", os.Args[1:], os.Getenv("GREETING"), wd)
        	os.Exit(5)
        }
        """,
    "hello/helper.go": "package main\n",
    "gen/gen.go": """
        //go:build ignore

        package main

        import "fmt"

        func main() {
        	fmt.Println("generated")
        }
        """,
    "gen/lib.go": "package gen\n",
    "data/.keep": "",
}

DEV = {"name": "dev", "package": "hello", "args": ["a", "b c"], "env": {"GREETING": "hi"}, "cwd": "../data"}


def read_code_actions(client: Any) -> None:
    """Makes the test client read a code action with a command as a CodeAction: lsprotocol's client hook
    takes any object with a "command" key for a bare Command (a real client looks at its type)."""
    conv = client.protocol._converter

    def hook(obj: Any, _: Any) -> lsp.Command | lsp.CodeAction:
        if isinstance(obj.get("command"), str):
            return conv.structure(obj, lsp.Command)   # type: ignore[no-any-return]
        return conv.structure(obj, lsp.CodeAction)   # type: ignore[no-any-return]

    conv.register_structure_hook(Union[lsp.Command, lsp.CodeAction], hook)


async def plain_session(root: Path, env: dict[str, str], init: dict[str, Any]) -> Session:
    """A client with no capabilities at all: no code lenses, no progress, no rungo/output."""
    rec = Recorder()
    config = ClientServerConfig(server_command=[*RUNGO, "lsp"], server_env=env,
                                client_factory=lambda: make_client(rec))
    client = await config.start()
    read_code_actions(client)
    await client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=init))
    return Session(client, rec, root, "plain")


@pytest_asyncio.fixture
async def plain(lsp_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Session]:
    root = write_tree(tmp_path / "ws", PROGRAMS)
    s = await plain_session(root, lsp_env, {"warmStart": False, "configurations": [DEV]})
    try:
        yield s
    finally:
        await end_session(s)


async def actions_at(s: Session, uri: str, line: int, only: list[str] | None = None) -> list[lsp.CodeAction]:
    found = await s.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0)),
        context=lsp.CodeActionContext(diagnostics=[], only=only)))
    return [a for a in found or [] if isinstance(a, lsp.CodeAction)]


def func_main_line(s: Session, rel: str) -> int:
    return (s.root / rel).read_text().splitlines().index("func main() {")


async def execute(s: Session, action: lsp.CodeAction) -> Any:
    assert action.command is not None
    return await s.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=action.command.command, arguments=action.command.arguments))


async def shown(s: Session, text: str) -> str:
    found = await s.rec.until(lambda: next((m.message for m in s.client.messages if text in m.message), None),
                              120, f"a showMessage with {text!r}")
    return str(found)


def logged(s: Session) -> str:
    return "".join(m.message for m in s.client.log_messages)


async def test_plain_client_runs_through_the_code_action(plain: Session) -> None:
    s = plain
    uri = s.open("hello/main.go")
    assert (await actions_at(s, uri, 0)) == [], "code actions only on the func main line"
    actions = await actions_at(s, uri, func_main_line(s, "hello/main.go"))
    assert [a.title for a in actions] == ["Run main package", "Run main package (dev)", "Watch main package"]
    assert all(a.command is not None and a.command.command == "rungo.run" for a in actions)
    assert await actions_at(s, uri, func_main_line(s, "hello/main.go"), only=["quickfix"]) == []

    await execute(s, actions[0])
    await shown(s, "exit 5")
    await s.rec.until(lambda: "args=[] greeting= wd=" in logged(s), 30, "the program's output as logMessage")
    assert f"wd={s.root / 'hello'}" in logged(s), logged(s)
    assert not s.rec.output and not s.rec.started, "no rungo/* notifications for a client that did not ask"


async def test_code_action_runs_a_saved_configuration(plain: Session) -> None:
    s = plain
    uri = s.open("hello/main.go")
    actions = await actions_at(s, uri, func_main_line(s, "hello/main.go"))
    await execute(s, actions[1])
    await shown(s, "exit 5")
    want = f'args=["a" "b c"] greeting=hi wd={s.root / "data"}'
    await s.rec.until(lambda: want in logged(s), 30, "the configuration's args, env and directory")


async def test_file_scoped_main_gets_run_this_file(plain: Session) -> None:
    s = plain
    uri = s.open("gen/gen.go")
    actions = await actions_at(s, uri, func_main_line(s, "gen/gen.go"))
    assert [a.title for a in actions] == ["Run this file", "Watch this file"]
    assert actions[0].command is not None and list(actions[0].command.arguments or []) == [{"uri": uri, "files": [uri]}]
    await execute(s, actions[0])
    await shown(s, "exit 0")
    await s.rec.until(lambda: "generated" in logged(s), 30, "the file's output")


async def test_unknown_configuration_is_refused(plain: Session) -> None:
    s = plain
    try:
        await s.command("rungo.run", {"uri": s.uri("hello/main.go"), "configuration": "nope"})
    except Exception as e:   # the JSON-RPC error, in words
        assert "no run configuration named 'nope'" in str(e), e
    else:
        raise AssertionError("an unknown configuration ran")


async def test_lens_offers_the_last_configuration(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS, {"warmStart": False, "configurations": [DEV],
                                                  "lastConfiguration": {"hello": "dev"}})
    read_code_actions(s.client)
    uri = s.open("hello/main.go")
    lenses = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    titles = [lens.command.title for lens in lenses or [] if lens.command]
    assert titles[:4] == ["▶ Run", "▶ Run (dev)", "Watch", "Run with arguments…"], titles
    dev = next(lens.command for lens in lenses or [] if lens.command and lens.command.title == "▶ Run (dev)")
    res = await s.client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command=dev.command, arguments=dev.arguments))
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "the run to exit")
    out = "".join(s.rec.output.get(run_id, []))
    assert 'args=["a" "b c"] greeting=hi' in out, out

    # The code actions are there for these clients too; without a last configuration, no extra lens.
    actions = await actions_at(s, uri, func_main_line(s, "hello/main.go"))
    assert [a.title for a in actions] == ["Run main package", "Run main package (dev)", "Watch main package"]
    s.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"rungo": {"configurations": [DEV]}}))
    await asyncio.sleep(0.2)
    lenses = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert "▶ Run (dev)" not in [lens.command.title for lens in lenses or [] if lens.command]
