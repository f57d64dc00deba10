"""Scripts that are known not to pass, each with the reason.

EXPECTED_FAILURES: scripts that run and fail; a script listed here that starts passing fails the
test until it is taken off. SKIPPED: scripts not run at all, with the reason.
"""

from __future__ import annotations

EXIT_STATUS_LINE = ("expects the `exit status N` line go run prints after a failing program; rungo instead "
                    "exits with the program's own status and prints nothing (README: exit status)")

EXPECTED_FAILURES: dict[str, str] = {
    "build_trimpath_goroot.txt": EXIT_STATUS_LINE,
}

SKIPPED: dict[str, str] = {
}
