"""replay's exit codes (DESIGN, "Exit codes"): one table for the CLI and the library's results."""

from __future__ import annotations

EXIT_OK = 0
"""Everything passed (or nothing is outstanding in the chain)."""
EXIT_FAILED = 1
"""A target failed or is outstanding."""
EXIT_USAGE = 2
"""Bad input: a config, a summary, an option; one line names the file and the field."""
EXIT_EMPTY = 4
"""Nothing was selected to run."""
EXIT_INTERRUPTED = 130
"""SIGINT or SIGTERM reached replay (128 + SIGINT, as a shell reports Ctrl-C)."""
