"""A GOPROXY=file:// tree built from the go command's own test modules ($GOROOT/src/cmd/go/testdata/mod).

Each testdata/mod/<escaped path with _ for />_<version>.txt is a txtar archive holding the module's
.mod and .info files and its content; the tree lays them out as the proxy protocol wants:
<escaped path>/@v/{list,<v>.info,<v>.mod,<v>.zip} and <escaped path>/@latest.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from scriptlang import parse_txtar

_PSEUDO = re.compile(r"^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
_SEMVER = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(-([0-9A-Za-z.-]+))?(\+[0-9A-Za-z.-]+)?$")


def _unescape_version(v: str) -> str:
    return re.sub(r"!([a-z])", lambda m: m.group(1).upper(), v)


def _semver_key(v: str) -> tuple[object, ...]:
    m = _SEMVER.match(v)
    if not m:
        return (-1,)
    pre = m.group(5)
    pre_key: tuple[object, ...] = (1,) if pre is None else (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")])
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre_key)


def _version_fits_path(path: str, version: str) -> bool:
    """module.Check's major-version rule: /vN paths take vN versions, others v0, v1 or +incompatible."""
    m = _SEMVER.match(version)
    if not m:
        return False
    major = int(m.group(1))
    suffix = re.search(r"/v([0-9]+)$", path) or re.search(r"^gopkg\.in/.*\.v([0-9]+)(-unstable)?$", path)
    if suffix:
        want = int(suffix.group(1))
        return major == want or (path.startswith("gopkg.in/") and want <= 1 and major <= 1)
    return major <= 1 or version.endswith("+incompatible")


def build_proxy(goroot: Path, dest: Path) -> Path:
    """Writes the tree under dest (once; reused when already complete) and returns it."""
    done = dest / ".complete"
    if done.exists():
        return dest
    src = goroot / "src" / "cmd" / "go" / "testdata" / "mod"
    versions: dict[str, list[str]] = {}
    for f in sorted(src.glob("*.txt")):
        name = f.name[:-4]
        i = name.rfind("_v")
        if i < 0:
            continue
        enc_path = name[:i].replace("_", "/")
        enc_vers = name[i + 1:]
        vers = _unescape_version(enc_vers)
        archive = parse_txtar(f.read_bytes())
        d = dest / enc_path / "@v"
        d.mkdir(parents=True, exist_ok=True)
        path = re.sub(r"!([a-z])", lambda m: m.group(1).upper(), enc_path)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for fname, data in archive.files:
                if fname in (".info", ".mod", ".zip"):
                    continue
                zname = fname[1:] if fname.startswith("/") else f"{path}@{vers}/{fname}"
                z.writestr(zname, data)
        for fname, data in archive.files:
            if fname == ".info":
                (d / f"{enc_vers}.info").write_bytes(data)
            elif fname == ".mod":
                (d / f"{enc_vers}.mod").write_bytes(data)
        (d / f"{enc_vers}.zip").write_bytes(buf.getvalue())
        versions.setdefault(enc_path, []).append(vers)
    for enc_path, vs in versions.items():
        mod_path = re.sub(r"!([a-z])", lambda m: m.group(1).upper(), enc_path)
        listed = [v for v in vs if not _PSEUDO.match(v) and _version_fits_path(mod_path, v)]
        (dest / enc_path / "@v" / "list").write_text("".join(v + "\n" for v in listed))
        releases = [v for v in vs if not _PSEUDO.match(v) and _SEMVER.match(v) and not _SEMVER.match(v).group(4)]  # type: ignore[union-attr]
        pre = [v for v in vs if not _PSEUDO.match(v) and _SEMVER.match(v) and _SEMVER.match(v).group(4)]  # type: ignore[union-attr]
        pseudo = [v for v in vs if _PSEUDO.match(v)]
        pick = releases or pre or pseudo
        if pick:
            latest = max(pick, key=_semver_key)
            enc_latest = re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), latest)
            info = dest / enc_path / "@v" / f"{enc_latest}.info"
            if info.exists():
                (dest / enc_path / "@latest").write_bytes(info.read_bytes())
            else:
                (dest / enc_path / "@latest").write_text(json.dumps({"Version": latest}))
    done.write_text("")
    return dest


class ProxyServer:
    """Serves a proxy tree over HTTP on 127.0.0.1 under /mod/, answering misses as the go command's
    test proxy does (404, "404 page not found")."""

    def __init__(self, tree: Path) -> None:
        import http.server
        import threading

        root = tree

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                from urllib.parse import unquote
                path = unquote(self.path.split("?", 1)[0])
                f = None
                if path.startswith("/mod/"):
                    cand = (root / path[len("/mod/"):]).resolve()
                    if cand.is_file() and root.resolve() in cand.parents:
                        f = cand
                if f is None:
                    body = b"404 page not found\n"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                else:
                    body = f.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mod"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
