"""Fixtures for the remote cache tests: a real BuildGrid server (see buildgrid.py).

`buildgrid`: a server of its own for each test, storing under the test's tmp_path, instance name ''
(parametrize it indirectly to name the instance: @pytest.mark.parametrize("buildgrid", ["main"],
indirect=True)). `make_buildgrid(instance_name=...)`: more servers in one test. Both skip when
tools/setup_test_tools.py has not installed BuildGrid, and stop their servers at the end of the test;
a failing test's report carries the logs of the servers it used.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Generator, Iterator

import pytest

from buildgrid import NOT_INSTALLED, ROOT, BuildGrid, installed

_SERVERS = pytest.StashKey[list[BuildGrid]]()
_THIS = sys.modules[__name__]


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """Gives the module name `conftest` back to tests/conftest.py once this file is loaded.

    conftest.py files outside packages are all imported as the module `conftest`, and pytest drops
    the previous one from sys.modules to load the next; the test modules' `from conftest import ...`
    (here and in every directory collected after this one) mean tests/conftest.py."""
    if plugin is not _THIS or sys.modules.get("conftest") is not _THIS:
        return
    top = (ROOT / "tests" / "conftest.py").resolve()
    for other in manager.get_plugins():
        file = getattr(other, "__file__", None)
        if file and Path(file).resolve() == top:
            sys.modules["conftest"] = other
            return


def _track(request: pytest.FixtureRequest, server: BuildGrid) -> None:
    request.node.stash.setdefault(_SERVERS, []).append(server)


@pytest.fixture
def make_buildgrid(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., BuildGrid]]:
    """make_buildgrid(instance_name='') starts another BuildGrid (storage in tmp_path/buildgrid-N),
    stopped after the test."""
    if not installed():
        pytest.skip(NOT_INSTALLED)
    servers: list[BuildGrid] = []

    def make(instance_name: str = "") -> BuildGrid:
        server = BuildGrid(tmp_path / f"buildgrid-{len(servers) + 1}", instance_name=instance_name)
        servers.append(server)
        _track(request, server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def buildgrid(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BuildGrid]:
    """A running BuildGrid for this test, its storage in tmp_path/buildgrid."""
    if not installed():
        pytest.skip(NOT_INSTALLED)
    server = BuildGrid(tmp_path / "buildgrid", instance_name=getattr(request, "param", ""))
    _track(request, server)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for server in item.stash.get(_SERVERS, []):
            log = server.log.splitlines()
            report.sections.append((f"BuildGrid {server.url} log (last 200 lines of {server.log_path})",
                                    "\n".join(log[-200:])))
    return report
