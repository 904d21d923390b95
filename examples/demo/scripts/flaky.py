"""A flaky demo suite: fails on every other run (a counter file keeps the state)."""

import pathlib
import sys
import tempfile

counter = pathlib.Path(tempfile.gettempdir()) / "replay-demo-flaky-counter"
runs = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(runs + 1))
if runs % 2 == 0:
    print("test_cache_warm ... FAILED: connection reset by peer (ECONNRESET)")
    sys.exit(1)
print("test_cache_warm ... ok")
