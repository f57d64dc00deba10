"""Reading the remote cache's settings; the GOCACHEPROG command line rungo gives the go command."""

from __future__ import annotations

from pathlib import Path

import pytest

from rungo.cache import counters
from rungo.cache.remote.settings import SettingsError, from_env, parse
from rungo.config import _quote, cacheprog_env, make_config


def test_addresses_and_their_parts() -> None:
    s = parse("grpc://127.0.0.1:8980")
    assert (s.target, s.tls, s.instance, s.mode, s.writes) == ("127.0.0.1:8980", False, "", "readwrite", True)
    s = parse("grpcs://cache.example.com/team/main", mode="read")
    assert (s.target, s.tls, s.instance, s.writes) == ("cache.example.com:443", True, "team/main", False)
    assert parse("grpc://[::1]:9092").target == "[::1]:9092"
    assert parse("grpc://h:1/a", instance="b").instance == "b"
    assert parse("grpc://h:1").url == "grpc://h:1" and parse("grpcs://h:2/i").url == "grpcs://h:2/i"


@pytest.mark.parametrize("kw, message", [
    ({"url": "h:1"}, "is not a remote cache address"),
    ({"url": "https://h:1"}, "is not a remote cache address"),
    ({"url": "grpc://h"}, "has no port"),
    ({"url": "grpc://h:0"}, "invalid port"),
    ({"url": "grpc://h:1", "mode": "write"}, "unknown mode"),
    ({"url": "grpc://h:1", "token": "a", "token_file": "/f"}, "both set"),
    ({"url": "grpc://h:1", "token": "a\nb"}, "line break"),
    ({"url": "grpc://h:1", "ca_file": "/ca.pem"}, "does not use TLS"),
])
def test_malformed_settings_name_the_setting(kw: dict[str, str], message: str) -> None:
    url = kw.pop("url")
    with pytest.raises(SettingsError) as e:
        parse(url, **kw)  # type: ignore[arg-type]
    assert message in str(e.value) and str(e.value).startswith("RUNGO_REMOTE_CACHE")


def test_the_token_is_never_shown(tmp_path: Path) -> None:
    s = from_env({"RUNGO_REMOTE_CACHE": "grpc://h:1", "RUNGO_REMOTE_CACHE_TOKEN": "hunter2"})
    assert s is not None and "hunter2" not in repr(s) and s.bearer() == "hunter2"
    (tmp_path / "tok").write_text("from-file\n")
    s = from_env({"RUNGO_REMOTE_CACHE": "grpc://h:1", "RUNGO_REMOTE_CACHE_TOKEN_FILE": str(tmp_path / "tok")})
    assert s is not None and s.bearer() == "from-file"
    s = from_env({"RUNGO_REMOTE_CACHE": "grpc://h:1", "RUNGO_REMOTE_CACHE_TOKEN_FILE": str(tmp_path / "none")})
    assert s is not None
    with pytest.raises(SettingsError, match="RUNGO_REMOTE_CACHE_TOKEN_FILE: reading .*none: No such file"):
        s.bearer()


def test_settings_pass_to_children_unchanged() -> None:
    s = parse("grpcs://h:7/inst", mode="read", token="t")
    assert from_env(s.to_env()) == s
    assert from_env({}) is None and from_env({"RUNGO_REMOTE_CACHE": "  "}) is None


def test_gocacheprog_only_with_a_remote_and_never_over_the_users(tmp_path: Path) -> None:
    plain = make_config({"PATH": "/bin"}, tmp_path)
    assert "GOCACHEPROG" not in plain.child_env()
    remote = make_config({"PATH": "/bin", "RUNGO_REMOTE_CACHE": "grpc://h:1", "RUNGO_CACHE": str(tmp_path / "c")},
                         tmp_path)
    env = remote.child_env()
    assert env["GOCACHEPROG"].endswith(" -m rungo cacheprog") and env["RUNGO_CACHE"] == str(tmp_path / "c")
    assert env["RUNGO_REMOTE_CACHE"] == "grpc://h:1" and env["RUNGO_CACHEPROG_QUIET"] == "1"
    own = make_config({"RUNGO_REMOTE_CACHE": "grpc://h:1", "GOCACHEPROG": "mine"}, tmp_path)
    assert own.child_env()["GOCACHEPROG"] == "mine"
    assert cacheprog_env(tmp_path, remote.remote, "/x")["PYTHONPATH"].endswith(":/x")  # type: ignore[arg-type]


@pytest.mark.parametrize("word, quoted", [
    ("/usr/bin/python3", "/usr/bin/python3"),
    ("/opt/my python/bin/python3", "'/opt/my python/bin/python3'"),
    ("/opt/it's/python", '"/opt/it\'s/python"'),
])
def test_gocacheprog_words_are_quoted_as_go_splits_them(word: str, quoted: str) -> None:
    assert _quote(word) == quoted


def test_counts_add_up_across_processes_and_skip_garbage(tmp_path: Path) -> None:
    root = str(tmp_path)
    counters.add(root, {"local_hits": 2, "remote_hits": 0, "unknown": 5})
    counters.add(root, {"local_hits": 1, "bytes_up": 10})
    with open(tmp_path / counters.FILE, "a") as f:
        f.write("not json\n[1]\n{\"local_hits\": -4}\n")
    t = counters.totals(root)
    assert (t["local_hits"], t["bytes_up"], t["remote_hits"]) == (3, 10, 0)
    counters.fold(root)
    assert (tmp_path / counters.FILE).read_text().count("\n") == 1 and counters.totals(root) == t
