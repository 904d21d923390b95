"""Shared test configuration: the hypothesis profiles.

`default` is for developers: quick, randomised, and remembering failures in the local example
database. `ci` (chosen when `CI=true`) tries more examples and derandomises them, so a red CI
run fails the same way on the next push and on a laptop (`CI=true pytest ...`) instead of
turning red on an unrelated change; exploration of new inputs happens in developers' runs.
"""

from __future__ import annotations

import os

from hypothesis import settings

# No deadline in either profile: these tests assert what code does, never how fast (STYLE.md,
# habit 9), and they share a 2-core machine with subprocess-heavy tests, so a per-example
# deadline only measures the load on the machine.
settings.register_profile("default", max_examples=100, deadline=None)
# 300 examples: the count most properties had hard-coded before the profiles; tests that need
# another count say so beside their `@settings`.
settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "default")
