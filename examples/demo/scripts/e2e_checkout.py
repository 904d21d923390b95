"""A failing demo suite: an assertion that does not hold."""

import sys

print("test_cart_total ... ok")
print("test_discount ... FAILED")
print("AssertionError: expected total 90, got 100", file=sys.stderr)
print("1 passed, 1 failed")
sys.exit(1)
