"""The pure core: models in, models out (chain, planning, shards, merge, diff, digests)."""
