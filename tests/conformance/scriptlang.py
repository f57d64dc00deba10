"""An interpreter for the go command's script test language (cmd/go/testdata/script/*.txt).

A script is a txtar archive: its comment section is the script, its files are written into the work
dir before the script starts. Each script line is `[cond]... [!|?] command args... [&]`, with
$VAR expansion outside single quotes and `#` comments. The semantics follow the go command's own
engine (cmd/internal/script): a failing command stops the script unless `!` (must fail) or `?`
(may fail) says otherwise; `stdout`, `stderr`, `grep` take regular expressions in multi-line mode
against the last command's output; `cmp` compares files or buffers; `skip` and `stop` end the
script early.

Which program serves the script's `go` command is the caller's choice (`GoCommand`): the
conformance test routes `go run` to rungo and everything else to the real go.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

ARG_SEP = " \t\r\n#"


class ScriptError(Exception):
    """A command failed when it had to succeed (or the reverse); ends the script as failed."""


class SkipScript(Exception):
    def __init__(self, msg: str = "") -> None:
        super().__init__(msg)
        self.msg = msg


class StopScript(Exception):
    pass


class UsageError(Exception):
    def __init__(self, msg: str = "usage error") -> None:
        super().__init__(msg)


# --- txtar -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Archive:
    comment: str
    files: tuple[tuple[str, bytes], ...]


def _fix_nl(data: bytes) -> bytes:
    if data and not data.endswith(b"\n"):
        return data + b"\n"
    return data


def _marker(line: bytes) -> str | None:
    s = line.rstrip(b"\r\n")
    if s.startswith(b"-- ") and s.endswith(b" --") and len(s) >= 6:
        name = s[3:-3].strip()
        if name:
            return name.decode()
    return None


def parse_txtar(data: bytes) -> Archive:
    lines = data.splitlines(keepends=True)
    comment: list[bytes] = []
    files: list[tuple[str, bytes]] = []
    name: str | None = None
    body: list[bytes] = []
    for line in lines:
        m = _marker(line)
        if m is not None:
            if name is not None:
                files.append((name, _fix_nl(b"".join(body))))
            name, body = m, []
        elif name is None:
            comment.append(line)
        else:
            body.append(line)
    if name is not None:
        files.append((name, _fix_nl(b"".join(body))))
    return Archive(_fix_nl(b"".join(comment)).decode(errors="surrogateescape"), tuple(files))


# --- parsing ---------------------------------------------------------------------------------

@dataclass
class Command:
    line: int
    text: str
    want: str = ""                                # "", "!" or "?"
    conds: list[tuple[bool, str]] = field(default_factory=list)
    name: str = ""
    raw_args: list[list[tuple[str, bool]]] = field(default_factory=list)   # fragments (text, quoted)
    background: bool = False


def parse_line(line: str, lineno: int) -> Command | None:
    cmd = Command(lineno, line)
    raw: list[tuple[str, bool]] = []
    start = -1
    quoted = False

    def flush() -> None:
        nonlocal raw
        if not raw:
            return
        frags, raw = raw, []
        if cmd.name == "" and len(frags) == 1 and not frags[0][1]:
            arg = frags[0][0]
            if arg in ("!", "?"):
                if cmd.want:
                    raise ScriptError("duplicated '!' or '?' token")
                cmd.want = arg
                return
            if arg.startswith("[") and arg.endswith("]"):
                tag = arg[1:-1].strip()
                want = True
                if tag.startswith("!"):
                    want, tag = False, tag[1:].strip()
                if not tag:
                    raise ScriptError("empty condition")
                cmd.conds.append((want, tag))
                return
            cmd.name = arg
            return
        cmd.raw_args.append(frags)

    i = 0
    while True:
        if not quoted and (i >= len(line) or line[i] in ARG_SEP):
            if start >= 0:
                raw.append((line[start:i], False))
                start = -1
            flush()
            if i >= len(line) or line[i] == "#":
                break
            i += 1
            continue
        if i >= len(line):
            raise ScriptError("unterminated quoted argument")
        if line[i] == "'":
            if not quoted:
                if start >= 0:
                    raw.append((line[start:i], False))
                start, quoted = i + 1, True
                i += 1
                continue
            if i + 1 < len(line) and line[i + 1] == "'":
                raw.append((line[start:i], True))
                start = i + 1
                i += 2
                continue
            raw.append((line[start:i], True))
            start, quoted = i + 1, False
            i += 1
            continue
        if start < 0:
            start = i
        i += 1
    if cmd.name == "":
        if cmd.want or cmd.conds or cmd.raw_args:
            raise ScriptError("missing command")
        return None
    if cmd.raw_args and cmd.raw_args[-1] == [("&", False)]:
        cmd.background = True
        cmd.raw_args.pop()
    return cmd


_SPECIAL = set("*#$@!?-0123456789")


def expand(s: str, lookup: Callable[[str], str]) -> str:
    """os.Expand: $NAME, ${NAME}, and the shell's one-character special names."""
    out: list[str] = []
    i = 0
    j = 0
    while j < len(s):
        if s[j] == "$" and j + 1 < len(s):
            out.append(s[i:j])
            rest = s[j + 1:]
            name, w = "", 0
            if rest[0] == "{":
                if len(rest) > 2 and rest[1] in _SPECIAL and rest[2] == "}":
                    name, w = rest[1], 3
                else:
                    close = rest.find("}", 1)
                    if close == 1:
                        name, w = "", 2
                    elif close < 0:
                        name, w = "", 1
                    else:
                        name, w = rest[1:close], close + 1
            elif rest[0] in _SPECIAL:
                name, w = rest[0], 1
            else:
                k = 0
                while k < len(rest) and (rest[k].isascii() and (rest[k].isalnum() or rest[k] == "_")):
                    k += 1
                name, w = rest[:k], k
            if name == "" and w > 0:
                pass
            elif name == "":
                out.append("$")
            else:
                out.append(lookup(name))
            j += w
            i = j + 1
        j += 1
    out.append(s[i:])
    return "".join(out)


_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7F", "blank": "\\t ", "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~", "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}


def go_regexp(pattern: str) -> re.Pattern[str]:
    """Compiles an RE2 (Go regexp) pattern with Python's re: the few syntax differences translated."""
    p = re.sub(r"\\Q(.*?)(\\E|$)", lambda m: re.escape(m.group(1)), pattern)
    p = re.sub(r"\[:(\^?)([a-z]+):\]", lambda m: ("^" if m.group(1) else "") + _POSIX_CLASSES.get(m.group(2), m.group(0)), p)
    p = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", p)
    return re.compile(p, re.MULTILINE)


# --- state and engine -----------------------------------------------------------------------

@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    cmd: Command
    name: str
    args: list[str]
    timeout: float
    result: tuple[str, str, int | None] | None = None

    def wait(self, grace: float) -> tuple[str, str, int | None]:
        if self.result is not None:
            return self.result
        try:
            out, err = self.popen.communicate(timeout=self.timeout)
            code: int | None = self.popen.returncode
        except subprocess.TimeoutExpired:
            self.interrupt(grace)
            out, err = self.popen.communicate()
            code = None
        self.result = (out.decode(errors="replace"), err.decode(errors="replace"), code)
        return self.result

    def interrupt(self, grace: float) -> None:
        if self.popen.poll() is not None:
            return
        try:
            self.popen.send_signal(signal.SIGINT)
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
        except ProcessLookupError:
            pass


def _status_error(name: str, code: int | None) -> str | None:
    if code is None:
        return f"{name}: timed out"
    if code == 0:
        return None
    if code < 0:
        return f"{name}: signal: {signal.Signals(-code).name}"
    return f"{name}: exit status {code}"


GoCommand = Callable[["State", list[str]], tuple[list[str], dict[str, str]]]
"""Maps the script's `go ARGS` to (argv, extra environment for that process)."""


@dataclass
class State:
    workdir: Path
    env: dict[str, str]
    pwd: Path
    go: GoCommand
    conditions: "Conditions"
    timeout: float = 600.0
    grace: float = 2.0
    stdout: str = ""
    stderr: str = ""
    log: list[str] = field(default_factory=list)
    background: list[Proc] = field(default_factory=list)

    def path(self, p: str) -> Path:
        q = Path(p)
        return Path(os.path.normpath(q if q.is_absolute() else self.pwd / q))

    def lookup(self, key: str) -> str:
        if key == ":":
            return os.pathsep
        if key == "/":
            return os.sep
        return self.env.get(key, "")

    def setenv(self, key: str, value: str) -> None:
        self.env[key] = value

    def chdir(self, d: str) -> None:
        p = self.path(d)
        if not p.is_dir():
            raise ScriptError(f"Chdir {p}: no such directory")
        self.pwd = p
        self.env["PWD"] = str(p)

    def look_path(self, name: str) -> str:
        for d in self.env.get("PATH", "").split(os.pathsep):
            if not d:
                continue
            cand = Path(d) / name
            try:
                st = cand.stat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                return str(cand)
        raise ScriptError(f'exec: "{name}": executable file not found in $PATH')

    def start(self, cmd: Command, argv: Sequence[str], extra_env: Mapping[str, str] | None = None,
              name: str | None = None) -> Proc:
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        try:
            p = subprocess.Popen(list(argv), cwd=self.pwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise ScriptError(f"{argv[0]}: {e.strerror}") from None
        return Proc(p, cmd, name or os.path.basename(argv[0]), list(argv[1:]), self.timeout)


def remove_all(p: Path) -> None:
    if not os.path.lexists(p):
        return
    if p.is_dir() and not p.is_symlink():
        for root, dirs, _ in os.walk(p):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o777)
                except OSError:
                    pass
        os.chmod(p, 0o777)
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink()


Result = tuple[str, str, str | None] | None   # (stdout, stderr, error) for commands that produce output


class Commands:
    """The script commands: the default set of cmd/internal/script plus go, cc, stale and skip."""

    regexp_commands = ("stdout", "stderr", "grep")
    async_commands = ("exec", "go", "sleep")

    def __init__(self) -> None:
        self.table: dict[str, Callable[[State, Command, list[str]], Result | Proc]] = {
            "cat": self.cat, "cd": self.cd, "chmod": self.chmod, "cmp": self.cmp, "cmpenv": self.cmpenv,
            "cp": self.cp, "echo": self.echo, "env": self.env, "exec": self.exec, "exists": self.exists,
            "grep": self.grep, "help": self.help, "mkdir": self.mkdir, "mv": self.mv, "rm": self.rm,
            "replace": self.replace, "sleep": self.sleep, "stderr": self.stderr_, "stdout": self.stdout_,
            "stop": self.stop, "symlink": self.symlink, "wait": self.wait, "skip": self.skip, "go": self.go,
            "cc": self.cc, "stale": self.stale,
        }

    # files
    def cat(self, s: State, c: Command, args: list[str]) -> Result:
        if not args:
            raise UsageError()
        out = []
        for a in args:
            try:
                out.append(s.path(a).read_bytes().decode(errors="replace"))
            except OSError as e:
                return "".join(out), "", f"open {s.path(a)}: {e.strerror}"
        return "".join(out), "", None

    def cd(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) != 1:
            raise UsageError()
        s.chdir(args[0])

    def chmod(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) < 2:
            raise UsageError()
        try:
            perm = int(args[0], 0) if not re.fullmatch(r"0[0-7]+", args[0]) else int(args[0], 8)
        except ValueError:
            raise ScriptError(f"invalid mode: {args[0]}") from None
        for a in args[1:]:
            os.chmod(s.path(a), perm)

    def _compare(self, s: State, args: list[str], env: bool) -> None:
        quiet = bool(args) and args[0] == "-q"
        if quiet:
            args = args[1:]
        if len(args) != 2:
            raise UsageError()
        n1, n2 = args
        if n1 == "stdout":
            t1 = s.stdout
        elif n1 == "stderr":
            t1 = s.stderr
        else:
            t1 = s.path(n1).read_bytes().decode(errors="replace")
        t2 = s.path(n2).read_bytes().decode(errors="replace")
        if env:
            t1, t2 = expand(t1, s.lookup), expand(t2, s.lookup)
        if t1 != t2:
            import difflib
            diff = "".join(difflib.unified_diff(t1.splitlines(True), t2.splitlines(True), n1, n2))
            s.log.append(diff)
            first = next((ln for ln in diff.splitlines()[2:] if ln[:1] in "+-"), "")
            raise ScriptError(f"{n1} and {n2} differ (first difference: {first!r})")

    def cmp(self, s: State, c: Command, args: list[str]) -> None:
        self._compare(s, args, False)

    def cmpenv(self, s: State, c: Command, args: list[str]) -> None:
        self._compare(s, args, True)

    def cp(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) < 2:
            raise UsageError()
        dst = s.path(args[-1])
        dst_dir = dst.is_dir()
        if len(args) > 2 and not dst_dir:
            raise ScriptError(f"cp {dst}: destination is not a directory")
        for a in args[:-1]:
            if a in ("stdout", "stderr"):
                data, mode, base = (s.stdout if a == "stdout" else s.stderr).encode(), 0o666, a
            else:
                src = s.path(a)
                data, mode, base = src.read_bytes(), src.stat().st_mode & 0o777, src.name
            targ = dst / base if dst_dir else dst
            if targ.exists():
                os.chmod(targ, 0o666)
            targ.write_bytes(data)
            os.chmod(targ, mode)

    def echo(self, s: State, c: Command, args: list[str]) -> Result:
        return " ".join(args) + "\n", "", None

    def env(self, s: State, c: Command, args: list[str]) -> Result:
        if not args:
            return "".join(f"{k}={v}\n" for k, v in s.env.items()), "", None
        out = []
        for a in args:
            if "=" not in a:
                out.append(f"{a}={s.env.get(a, '')}\n")
                continue
            k, _, v = a.partition("=")
            s.setenv(k, v)
        return ("".join(out), "", None) if out else None

    def exists(self, s: State, c: Command, args: list[str]) -> None:
        readonly = execable = False
        while args and args[0] in ("-readonly", "-exec"):
            readonly |= args[0] == "-readonly"
            execable |= args[0] == "-exec"
            args = args[1:]
        if not args:
            raise UsageError()
        for a in args:
            p = s.path(a)
            try:
                st = p.stat()
            except OSError:
                raise ScriptError(f"stat {p}: no such file or directory") from None
            if readonly and st.st_mode & 0o222:
                raise ScriptError(f"{p} exists but is writable")
            if execable and not st.st_mode & 0o111:
                raise ScriptError(f"{p} exists but is not executable")

    def _match(self, s: State, args: list[str], text: str, name: str) -> None:
        n = 0
        if args and args[0].startswith("-count="):
            try:
                n = int(args[0][len("-count="):])
            except ValueError:
                raise ScriptError(f"bad -count=: {args[0]}") from None
            if n < 1:
                raise ScriptError("bad -count=: must be at least 1")
            args = args[1:]
        if args and args[0] == "-q":
            args = args[1:]
        want = 2 if name == "grep" else 1
        if len(args) != want:
            raise UsageError()
        try:
            rx = go_regexp(args[0])
        except re.error as e:
            raise ScriptError(f"bad regexp {args[0]!r}: {e}") from None
        if name == "grep":
            name = args[1]
            text = s.path(args[1]).read_bytes().decode(errors="replace")
        if n > 0:
            count = len(rx.findall(text))
            if count != n:
                raise ScriptError(f"found {count} matches for `(?m){args[0]}` in {name}")
            return
        if not rx.search(text):
            first = text.splitlines()[0] if text else "(empty)"
            raise ScriptError(f"no match for `(?m){args[0]}` in {name} (its first line: {first!r})")

    def grep(self, s: State, c: Command, args: list[str]) -> None:
        self._match(s, args, "", "grep")

    def stdout_(self, s: State, c: Command, args: list[str]) -> None:
        self._match(s, args, s.stdout, "stdout")

    def stderr_(self, s: State, c: Command, args: list[str]) -> None:
        self._match(s, args, s.stderr, "stderr")

    def help(self, s: State, c: Command, args: list[str]) -> Result:
        return "", "", None

    def mkdir(self, s: State, c: Command, args: list[str]) -> None:
        if not args:
            raise UsageError()
        for a in args:
            s.path(a).mkdir(parents=True, exist_ok=True)

    def mv(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) != 2:
            raise UsageError()
        os.rename(s.path(args[0]), s.path(args[1]))

    def rm(self, s: State, c: Command, args: list[str]) -> None:
        if not args:
            raise UsageError()
        for a in args:
            remove_all(s.path(a))

    def replace(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) % 2 != 1:
            raise UsageError()
        import ast
        pairs = [ast.literal_eval('"' + a.replace('"', '\\"') + '"') for a in args[:-1]]
        p = s.path(args[-1])
        text = p.read_bytes().decode()
        olds = pairs[0::2]
        news = pairs[1::2]
        out, i = [], 0
        while i < len(text):
            for o, n in zip(olds, news):
                if o and text.startswith(o, i):
                    out.append(n)
                    i += len(o)
                    break
            else:
                out.append(text[i])
                i += 1
        p.write_text("".join(out))

    def sleep(self, s: State, c: Command, args: list[str]) -> Result:
        if len(args) != 1:
            raise UsageError()
        m = re.fullmatch(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", args[0])
        if not m:
            raise ScriptError(f"bad duration {args[0]}")
        unit = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        time.sleep(float(m.group(1)) * unit)
        return "", "", None

    def stop(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) > 1:
            raise UsageError()
        raise StopScript(args[0] if args else "")

    def skip(self, s: State, c: Command, args: list[str]) -> None:
        raise SkipScript(" ".join(args))

    def symlink(self, s: State, c: Command, args: list[str]) -> None:
        if len(args) != 3 or args[1] != "->":
            raise UsageError()
        os.symlink(args[2], s.path(args[0]))

    def wait(self, s: State, c: Command, args: list[str]) -> None:
        if args:
            raise UsageError()
        outs, errs, failures = [], [], []
        for bg in s.background:
            out, err, code = bg.wait(s.grace)
            outs.append(out)
            errs.append(err)
            problem = check_status(bg.cmd, _status_error(bg.name, code))
            if problem:
                failures.append(problem)
        s.background = []
        s.stdout, s.stderr = "".join(outs), "".join(errs)
        if failures:
            raise ScriptError("; ".join(failures))

    # processes
    def exec(self, s: State, c: Command, args: list[str]) -> Proc:
        if not args:
            raise UsageError()
        name = args[0]
        path = name if os.sep in name else s.look_path(name)
        return s.start(c, [path, *args[1:]], name=os.path.basename(name))

    def go(self, s: State, c: Command, args: list[str]) -> Proc:
        argv, extra = s.go(s, args)
        return s.start(c, argv, extra, name="go")

    def cc(self, s: State, c: Command, args: list[str]) -> Proc:
        cc = s.env.get("CC") or s.conditions.go_env.get("CC") or "gcc"
        base = [*cc.split(), "-I", ".", "-fPIC", "-m64", "-pthread", "-fmessage-length=0", "-gno-record-gcc-switches"]
        return s.start(c, [s.look_path(base[0]) if os.sep not in base[0] else base[0], *base[1:], *args])

    def stale(self, s: State, c: Command, args: list[str]) -> None:
        if not args:
            raise UsageError()
        tmpl = ("{{if .Error}}{{.ImportPath}}: {{.Error.Err}}"
                "{{else}}{{if not .Stale}}{{.ImportPath}} ({{.Target}}) is not stale{{end}}{{end}}")
        argv, extra = s.go(s, ["list", "-e", "-f=" + tmpl, *args])
        out, err, code = s.start(c, argv, extra, name="go").wait(s.grace)
        problem = _status_error("go", code)
        if problem:
            raise ScriptError(problem + (": " + err.strip() if err.strip() else ""))
        if out.strip():
            raise ScriptError(out.strip())


def check_status(cmd: Command, err: str | None) -> str | None:
    """None when the command's outcome is what its prefix asked for, else what went wrong."""
    if err is None:
        return f"unexpected command success" if cmd.want == "!" else None
    if cmd.want == "":
        return err
    if cmd.want == "!" and err.endswith("timed out"):
        return err
    return None


# --- conditions ------------------------------------------------------------------------------

KNOWN_OS = {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
            "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"}


class Conditions:
    """The conditions of cmd/go's script engine, evaluated for this machine and toolchain."""

    def __init__(self, go_env: Mapping[str, str], short: bool = False, tool_tags: Sequence[str] = ()) -> None:
        self.go_env = dict(go_env)
        self.short = short
        self.tool_tags = set(tool_tags)
        self._exec_cache: dict[str, bool] = {}

    def _has_exec(self, name: str) -> bool:
        if name not in self._exec_cache:
            self._exec_cache[name] = shutil.which(name) is not None
        return self._exec_cache[name]

    def _git_version_at_least(self, want: tuple[int, ...]) -> bool:
        if not self._has_exec("git"):
            return False
        out = subprocess.run(["git", "version"], capture_output=True, text=True).stdout
        m = re.search(r"git version\s+(\d+)\.(\d+)", out)
        return bool(m) and (int(m.group(1)), int(m.group(2))) >= want

    def evaluate(self, s: State, tag: str) -> bool:
        goos, goarch = self.go_env.get("GOOS", ""), self.go_env.get("GOARCH", "")
        cgo = self.go_env.get("CGO_ENABLED") == "1"
        native = goos == "linux" and goarch in ("amd64", "arm64")
        prefix, colon, suffix = tag.partition(":")
        if colon:
            if prefix == "GOOS":
                return suffix == goos
            if prefix == "GOARCH":
                return suffix == goarch
            if prefix == "compiler":
                return suffix == "gc"
            if prefix == "exec":
                return self._has_exec(suffix)
            if prefix == "net":
                return False
            if prefix == "cc":
                cc = s.env.get("CC") or self.go_env.get("CC", "")
                return cc == suffix
            if prefix == "GODEBUG":
                return suffix in s.env.get("GODEBUG", "").split(",")
            if prefix == "GOEXPERIMENT":
                exps = s.env.get("GOEXPERIMENT", "").split(",")
                if "no" + suffix in exps:
                    return False
                return suffix in exps or f"goexperiment.{suffix}" in self.tool_tags
            if prefix == "buildmode":
                return suffix in ("archive", "c-archive", "c-shared", "default", "exe", "pie", "plugin", "shared") \
                    and goos == "linux"
            raise ScriptError(f"unknown condition prefix {prefix!r}")
        table: dict[str, Callable[[], bool]] = {
            "short": lambda: self.short,
            "verbose": lambda: False,
            "root": lambda: os.geteuid() == 0,
            "cgo": lambda: cgo,
            "cross": lambda: False,
            "race": lambda: cgo and native,
            "msan": lambda: cgo and native,
            "asan": lambda: cgo and native,
            "fuzz": lambda: native,
            "fuzz-instrumented": lambda: native,
            "link": lambda: True,
            "symlink": lambda: True,
            "case-sensitive": lambda: True,
            "cgolinkext": lambda: False,
            "mustlinkext": lambda: False,
            "pielinkext": lambda: False,
            "go-builder": lambda: False,
            "trimpath": lambda: False,
            "abscc": lambda: os.path.isabs(self.go_env.get("CC", "")) and os.path.exists(self.go_env.get("CC", "")),
            "git": lambda: self._has_exec("git"),
            "git-sha256": lambda: self._git_version_at_least((2, 29)),
            "bzr": lambda: False,
        }
        if tag in table:
            return table[tag]()
        if tag in KNOWN_OS:
            return tag == goos
        raise ScriptError(f"unknown condition {tag!r}")


# --- running a script ------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: str              # "passed", "failed" or "skipped"
    detail: str              # the failing line and what went wrong, or why it was skipped
    log: str


def run_script(s: State, script: str, name: str, commands: Commands | None = None) -> Outcome:
    commands = commands or Commands()
    lineno = 0
    try:
        try:
            for lineno, line in enumerate(script.splitlines(), 1):
                if line.startswith("#"):
                    s.log.append(line + "\n")
                    continue
                cmd = parse_line(line, lineno)
                if cmd is None:
                    continue
                s.log.append(f"> {line}\n")
                if not all(s.conditions.evaluate(s, tag) == want for want, tag in cmd.conds):
                    s.log.append("[condition not met]\n")
                    continue
                _run_command(s, cmd, commands)
        finally:
            problems = _close(s)
    except SkipScript as e:
        cond = next((f"[{'!' if not w else ''}{t}]" for w, t in cmd.conds), "") if cmd else ""
        why = f"line {lineno}: {cond + ' ' if cond else ''}skip{': ' + e.msg if e.msg else ''}"
        return Outcome("skipped", why, "".join(s.log))
    except StopScript:
        return Outcome("passed", "", "".join(s.log))
    except ScriptError as e:
        return Outcome("failed", f"{name}:{lineno}: {line.strip()}: {e}", "".join(s.log))
    if problems:
        return Outcome("failed", f"{name}: background command: {problems}", "".join(s.log))
    return Outcome("passed", "", "".join(s.log))


def _close(s: State) -> str:
    for bg in s.background:
        bg.interrupt(s.grace)
    problems = []
    for bg in s.background:
        out, err, code = bg.wait(s.grace)
        if code is not None and code < 0 and -code in (signal.SIGINT, signal.SIGKILL):
            continue
        p = check_status(bg.cmd, _status_error(bg.name, code))
        if p:
            problems.append(p)
    s.background = []
    return "; ".join(problems)


def _run_command(s: State, cmd: Command, commands: Commands) -> None:
    impl = commands.table.get(cmd.name)
    if impl is None:
        raise ScriptError(f"{cmd.name}: unknown command")
    regexp_idx = -1
    if cmd.name in Commands.regexp_commands:
        for i, frags in enumerate(cmd.raw_args):
            raw = "".join(t for t, _ in frags)
            if raw == "--":
                regexp_idx = i + 1
                break
            if not raw.startswith("-"):
                regexp_idx = i
                break
    args = []
    for i, frags in enumerate(cmd.raw_args):
        parts = []
        for text, quoted in frags:
            if quoted:
                parts.append(text)
            elif i == regexp_idx:
                parts.append(expand(text, lambda k: re.escape(s.lookup(k))))
            else:
                parts.append(expand(text, s.lookup))
        args.append("".join(parts))
    if cmd.background and cmd.name not in Commands.async_commands:
        raise ScriptError(f"{cmd.name}: command cannot be run in background")
    err: str | None = None
    try:
        res = impl(s, cmd, args)
    except (ScriptError, UsageError) as e:
        res, err = None, f"{cmd.name}: {e}"
    except OSError as e:
        res, err = None, f"{cmd.name}: {e.strerror}: {e.filename}"
    if isinstance(res, Proc):
        if cmd.background:
            s.background.append(res)
            s.stdout = s.stderr = ""
            return
        out, errtext, code = res.wait(s.grace)
        s.stdout, s.stderr = out, errtext
        if out:
            s.log.append("[stdout]\n" + out)
        if errtext:
            s.log.append("[stderr]\n" + errtext)
        err = _status_error(res.name, code)
    elif res is not None:
        out, errtext, err2 = res
        s.stdout, s.stderr = out, errtext
        err = err or err2
    problem = check_status(cmd, err)
    if problem:
        raise ScriptError(problem)
