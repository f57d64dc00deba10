"""The language server's wire objects: settings (an invalid part keeps its default) and command arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rungo.lsp.arguments import (DEFAULT_SIZE, InputArguments, InvalidArguments, ResizeArguments, RunArguments,
                                 StopArguments, structure)
from rungo.lsp.settings import (DiagnosticsSettings, RunConfiguration, Settings, parse_settings, settings_message,
                                 to_wire)

# -- settings -----------------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    for raw in (None, {}, {"rungo": {}}, {"settings": {}}, {"unknownKey": 1, "rungoOutput": True}):
        assert parse_settings(raw) == (Settings(), [])
    s = Settings()
    assert (s.go_path, s.build_flags, s.env, s.args, s.warm_start) == ("", [], {}, {}, "ran")
    assert s.diagnostics == DiagnosticsSettings(enabled=True, delay_ms=100, explain_excluded=False)


def test_settings_every_field_from_camel_case() -> None:
    raw = {"goPath": "/opt/go/bin/go", "buildFlags": ["-tags", "x"], "watchFlags": ["-watch-grace=5s"],
           "env": {"CGO_ENABLED": "0"},
           "args": {"./cmd/tool": ["-v", "in.txt"]}, "warmStart": "all",
           "diagnostics": {"enabled": False, "delayMs": 0, "explainExcluded": True, "besideGopls": "on"},
           "configurations": [{"name": "dev", "package": "cmd/tool", "args": ["a b"], "env": {"X": "1"},
                               "cwd": "..", "buildFlags": ["-race"]}],
           "lastConfiguration": {"cmd/tool": "dev"}, "remoteCache": "grpcs://cache.example:443/main",
           "remoteCacheMode": "read"}
    for wrapped in (raw, {"rungo": raw}, {"settings": raw}):
        s, problems = parse_settings(wrapped)
        assert problems == []
        assert s == Settings(go_path="/opt/go/bin/go", build_flags=["-tags", "x"], watch_flags=["-watch-grace=5s"],
                             env={"CGO_ENABLED": "0"},
                             args={"./cmd/tool": ["-v", "in.txt"]}, warm_start="all",
                             diagnostics=DiagnosticsSettings(enabled=False, delay_ms=0, explain_excluded=True,
                                                             beside_gopls="on"),
                             configurations=[RunConfiguration(name="dev", package="cmd/tool", args=["a b"],
                                                              env={"X": "1"}, cwd="..", build_flags=["-race"])],
                             last_configuration={"cmd/tool": "dev"}, remote_cache="grpcs://cache.example:443/main",
                             remote_cache_mode="read")
        assert to_wire(s) == raw
        assert s.run_env() == {"CGO_ENABLED": "0", "RUNGO_REMOTE_CACHE": "grpcs://cache.example:443/main",
                               "RUNGO_REMOTE_CACHE_MODE": "read"}


@pytest.mark.parametrize("raw, problem", [
    ({"remoteCache": "http://cache:80"}, "is not a remote cache address"),
    ({"remoteCache": "grpc://cache"}, "has no port"),
    ({"remoteCache": "grpc://cache:99999"}, "invalid port"),
    ({"remoteCache": 8980}, "must be a string"),
    ({"remoteCacheMode": "write"}, 'must be "read" or "readwrite"'),
])
def test_settings_remote_cache_invalid_keeps_the_default(raw: dict[str, object], problem: str) -> None:
    s, problems = parse_settings(raw)
    assert (s.remote_cache, s.remote_cache_mode) == ("", "")
    assert len(problems) == 1 and problem in problems[0], problems
    assert s.run_env() == {}


@pytest.mark.parametrize("value, mode", [
    ("off", "off"), ("ran", "ran"), ("all", "all"),
    (True, "ran"), (False, "off"),          # the setting's first form, a bool, still works
])
def test_settings_warm_start_modes(value: object, mode: str) -> None:
    s, problems = parse_settings({"warmStart": value})
    assert problems == [] and s.warm_start == mode
    assert to_wire(s)["warmStart"] == mode


def test_settings_warm_start_invalid_message() -> None:
    s, problems = parse_settings({"warmStart": "always"})
    assert s.warm_start == "ran"
    assert problems == ["invalid value 'always' for warmStart (must be \"off\", \"ran\" or \"all\" (or true, "
                        "false)): using the default 'ran'"]


def test_settings_snake_case_keys_are_understood() -> None:
    s, problems = parse_settings({"go_path": "/go", "diagnostics": {"delay_ms": 7}})
    assert problems == [] and s.go_path == "/go" and s.diagnostics.delay_ms == 7


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().go_path = "/x"  # type: ignore[misc]


@pytest.mark.parametrize("field, value, where", [
    ("goPath", 5, "goPath"),                                   # not a string
    ("buildFlags", "-tags x", "buildFlags"),                   # a string where a list goes (never split)
    ("buildFlags", ["-v", 3], "buildFlags"),                   # a list with a non-string
    ("env", {"A": 1}, "env"),                                  # a value is no string (never coerced)
    ("env", ["A=1"], "env"),                                   # not an object
    ("args", {"./cmd": "-v"}, "args"),                         # a package's arguments not a list
    ("warmStart", "yes", "warmStart"),                         # no bool coercion
    ("warmStart", 1, "warmStart"),
    ("warmStart", "true", "warmStart"),                        # a string is a mode, not a bool
    ("warmStart", "All", "warmStart"),                         # modes are spelled exactly
    ("warmStart", None, "warmStart"),
    ("diagnostics", {"delayMs": "soon"}, "diagnostics.delayMs"),
    ("diagnostics", {"delayMs": -1}, "diagnostics.delayMs"),   # out of range
    ("diagnostics", {"besideGopls": True}, "diagnostics.besideGopls"),   # a mode, not a bool
    ("diagnostics", {"besideGopls": "yes"}, "diagnostics.besideGopls"),
    ("diagnostics", {"delayMs": 60_001}, "diagnostics.delayMs"),
    ("diagnostics", {"delayMs": True}, "diagnostics.delayMs"),  # a bool is not a number
    ("diagnostics", {"enabled": "no"}, "diagnostics.enabled"),
    ("diagnostics", 5, "diagnostics"),                         # not an object
])
def test_settings_invalid_value_keeps_its_default(field: str, value: Any, where: str) -> None:
    s, problems = parse_settings({"goPath": "/go", field: value} if field != "goPath" else {field: value})
    assert len(problems) == 1, problems
    assert where in problems[0] and "default" in problems[0]
    assert s.go_path == ("" if field == "goPath" else "/go")   # the valid parts stay
    assert to_wire(s)[field] == to_wire(Settings())[field]


def test_settings_several_invalid_values_one_message() -> None:
    s, problems = parse_settings({"diagnostics": {"enabled": "yes", "delayMs": 250, "explainExcluded": 1},
                                  "env": {"A": 1}, "buildFlags": ["-race"]})
    assert len(problems) == 3
    assert s.diagnostics == DiagnosticsSettings(delay_ms=250) and s.build_flags == ["-race"] and s.env == {}
    message = settings_message(problems)
    assert message.startswith("rungo settings: ")
    assert all(where in message for where in ("diagnostics.enabled", "diagnostics.explainExcluded", "env"))


@pytest.mark.parametrize("raw", ["garbage", 5, [1, 2], True])
def test_settings_not_an_object(raw: Any) -> None:
    s, problems = parse_settings(raw)
    assert s == Settings() and len(problems) == 1 and "expected an object" in problems[0]


# -- command arguments --------------------------------------------------------------------------------


def run_args(*args: Any) -> RunArguments:
    return structure("rungo.run", args, RunArguments)


def refused(kind: type[Any], *args: Any) -> str:
    with pytest.raises(InvalidArguments) as e:
        structure("rungo.cmd", args, kind)
    return str(e.value)


def test_run_arguments_defaults() -> None:
    a = run_args({"uri": "file:///w/cmd/main.go"})
    assert a.target == Path("/w/cmd/main.go")
    assert (a.files, a.args, a.build_flags, a.env, a.use_buffers, a.size) == (None, None, (), {}, True, DEFAULT_SIZE)
    assert run_args("file:///w/a%20b/main.go").target == Path("/w/a b/main.go")   # a bare URI string


def test_run_arguments_every_field() -> None:
    a = run_args({"dir": "/w/cmd", "files": ["file:///w/cmd/a.go", "/w/cmd/b.go"], "args": ["x", "-race"],
                  "buildFlags": ["-tags", "t"], "env": {"A": "1", "N": 2}, "useBuffers": False,
                  "cols": 120, "rows": 40})
    assert a.target == Path("/w/cmd")
    assert a.files == (Path("/w/cmd/a.go"), Path("/w/cmd/b.go"))
    assert a.args == ("x", "-race") and a.build_flags == ("-tags", "t")
    assert a.env == {"A": "1", "N": "2"} and a.use_buffers is False and a.size == (120, 40)


def test_run_target_is_uri_then_dir_then_package() -> None:
    assert run_args({"package": "/w/p"}).target == Path("/w/p")
    assert run_args({"dir": "/w/d", "package": "/w/p"}).target == Path("/w/d")
    assert run_args({"uri": "file:///w/u.go", "dir": "/w/d"}).target == Path("/w/u.go")


@pytest.mark.parametrize("size", [{"cols": "wide", "rows": 30}, {"cols": 0, "rows": 30}, {"cols": 100},
                                  {"cols": True, "rows": 30}, {"cols": -3, "rows": -3}])
def test_run_bad_terminal_size_is_the_default(size: dict[str, Any]) -> None:
    assert run_args({"uri": "/w/main.go", **size}).size == DEFAULT_SIZE


def test_run_null_lists_are_empty() -> None:
    a = run_args({"uri": "/w/main.go", "args": None, "buildFlags": None, "env": None})
    assert a.args == () and a.build_flags == () and a.env == {}   # args given as null: none, not the defaults


@pytest.mark.parametrize("args, words", [
    ((), "needs {uri} or {dir}"),
    ((5,), "needs {uri} or {dir}"),
    (({"nothing": 1},), "needs {uri} or {dir}"),
    (({"uri": 42},), "uri: must be a string"),
    (({"uri": "untitled:Untitled-1"},), "not a file on disk"),
    (({"uri": "vscode-notebook-cell:/nb.ipynb#cell1"},), "not a file on disk"),
    (({"dir": "relative/dir"},), "neither a file URI nor an absolute path"),
    (({"uri": "/w/main.go", "args": "x"},), "args: must be a list of strings"),
    (({"uri": "/w/main.go", "args": ["a", 1]},), "args: must be a list of strings"),
    (({"uri": "/w/main.go", "buildFlags": "-race"},), "buildFlags: must be a list of strings"),
    (({"uri": "/w/main.go", "env": "A=1"},), "env: must be an object"),
    (({"uri": "/w/main.go", "useBuffers": "yes"},), "useBuffers: must be true or false"),
    (({"uri": "/w/main.go", "files": []},), "files: is empty"),
    (({"uri": "/w/main.go", "files": None},), "files: is empty"),
    (({"uri": "/w/main.go", "files": "a.go"},), "files: must be a list of strings"),
    (({"uri": "/w/main.go", "files": ["/w/a.go", "/v/b.go"]},),
     "named files must all be in one directory; have /v and /w"),
    (({"uri": "/w/main.go", "files": ["/w/notes.txt"]},), "files: must be .go files"),
    (({"uri": "/w/main.go", "files": ["untitled:1"]},), "not a file on disk"),
])
def test_run_invalid_arguments(args: tuple[Any, ...], words: str) -> None:
    message = refused(RunArguments, *args)
    assert message.startswith("rungo.cmd: ") and words in message, message


def test_run_invalid_arguments_are_all_named() -> None:
    message = refused(RunArguments, {"uri": 1, "args": "x", "useBuffers": 0})
    assert all(name in message for name in ("uri:", "args:", "useBuffers:")), message


def test_stop_input_resize() -> None:
    assert structure("rungo.stop", (), StopArguments) == StopArguments(run_id=None)
    assert structure("rungo.stop", ({"runId": "run-2"},), StopArguments).run_id == "run-2"
    assert structure("rungo.stop", ({"runId": 7},), StopArguments).run_id is None     # every run
    assert structure("rungo.input", ({"runId": "run-1", "data": "hi\r"},), InputArguments) == InputArguments(
        data="hi\r", run_id="run-1")
    assert structure("rungo.resize", ({"cols": 90, "rows": 20},), ResizeArguments) == ResizeArguments(90, 20)
    assert "data: must be a string" in refused(InputArguments, {"runId": "run-1", "data": 5})
    assert "data: is required" in refused(InputArguments, {})
    assert "cols: must be a positive whole number" in refused(ResizeArguments, {"cols": 0, "rows": 20})
    assert "rows: is required" in refused(ResizeArguments, {"cols": 10})


def test_run_configurations_resolve_per_target_and_bad_ones_are_left_out() -> None:
    from pathlib import Path

    from rungo.lsp.settings import configurations_for, last_configuration

    s, problems = parse_settings({"configurations": [
        {"name": "dev", "package": "cmd/tool", "cwd": "../data"},
        {"name": "gen", "package": "gen/gen.go"},
        {"name": 7, "package": "x"},
        {"name": "abs", "package": "/elsewhere/pkg"},
    ], "lastConfiguration": {"cmd/tool": "dev", "gen/gen.go": "missing"}})
    assert problems == ["configurations[2] left out (name: must be a string)"]
    roots = [Path("/ws")]
    [dev] = configurations_for(s, roots, Path("/ws/cmd/tool"))
    assert dev.configuration.name == "dev" and dev.cwd == Path("/ws/cmd/data")
    assert [r.configuration.name for r in configurations_for(s, roots, Path("/ws/gen/gen.go"))] == ["gen"]
    assert [r.configuration.name for r in configurations_for(s, roots, Path("/elsewhere/pkg"))] == ["abs"]
    assert configurations_for(s, roots, Path("/ws/other")) == []
    last = last_configuration(s, roots, Path("/ws/cmd/tool"))
    assert last is not None and last.configuration.name == "dev"
    assert last_configuration(s, roots, Path("/ws/gen/gen.go")) is None    # names no configuration


def test_resolve_run_merges_settings_configuration_and_request(tmp_path: Path) -> None:
    from pygls.exceptions import JsonRpcInvalidParams

    from rungo.lsp.commands import resolve_run

    pkg = tmp_path / "cmd" / "app"
    (pkg / "data").mkdir(parents=True)
    s, problems = parse_settings({
        "buildFlags": ["-tags", "dev"], "env": {"A": "settings", "B": "settings"},
        "args": {"cmd/app": ["--from-settings"]},
        "configurations": [{"name": "serve", "package": "cmd/app", "args": ["serve"], "env": {"B": "config"},
                            "cwd": "data", "buildFlags": ["-race"]}]})
    assert not problems
    roots = [tmp_path]
    plain = resolve_run(s, roots, run_args({"dir": str(pkg)}), pkg, [])
    assert plain.args == ("--from-settings",) and plain.flags == ("-tags", "dev")
    assert plain.env == {"A": "settings", "B": "settings"} and plain.cwd is None and plain.configuration is None

    saved = resolve_run(s, roots, run_args({"dir": str(pkg), "configuration": "serve", "buildFlags": ["-v"],
                                            "env": {"A": "request"}}), pkg, [])
    assert saved.args == ("serve",) and saved.flags == ("-tags", "dev", "-race", "-v")
    assert saved.env == {"A": "request", "B": "config"} and saved.cwd == pkg / "data"
    assert saved.configuration == "serve"

    own = resolve_run(s, roots, run_args({"dir": str(pkg), "configuration": "serve", "args": []}), pkg, [])
    assert own.args == ()       # the request's own arguments replace the configuration's

    with pytest.raises(JsonRpcInvalidParams, match="no run configuration named 'other'"):
        resolve_run(s, roots, run_args({"dir": str(pkg), "configuration": "other"}), pkg, [])
    with pytest.raises(JsonRpcInvalidParams, match="does not exist"):
        resolve_run(s, roots, run_args({"dir": str(pkg), "cwd": str(tmp_path / "nowhere")}), pkg, [])
