"""A flaky demo suite: its first attempt in a run fails, a retry passes.

replay tells every job which attempt it is in REPLAY_ATTEMPT, so the demo is
flaky the same way on every run (with `--retries 1`).
"""

import os
import sys

if os.environ.get("REPLAY_ATTEMPT", "1") == "1":
    print("test_cache_warm ... FAILED: connection reset by peer (ECONNRESET)")
    sys.exit(1)
print("test_cache_warm ... ok")
