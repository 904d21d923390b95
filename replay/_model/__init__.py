"""The vocabulary: errors, models, the one converter, the clock and status rules (no I/O)."""
