"""The quarantine vocabulary a run needs: the state of a dated entry, and the run's policy.

`replay._inputs.quarantine` reads and judges the classification file and owns
everything else about it; these two live here, below it, so that the executor
(which applies the policy to every run) need not import the file's reader, its
TOML parser and its patterns: that import cost every run ~8 ms.
"""

from __future__ import annotations

import enum

import attrs

from replay._model.convert import register_enum
from replay._model.models import RetryPolicy


@register_enum
class EntryState(str, enum.Enum):
    """Where a quarantine or waiver entry stands on a given day (the one lifecycle of both)."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    INVALID = "invalid"


QUARANTINE_RETRY = RetryPolicy(retries=1, delay=5.0)
"""One retry after 5 seconds: upstream's policy for quarantined tests."""


@attrs.frozen
class QuarantinePolicy:
    """What a quarantined target gets in a run; the executor and the audit report both read it."""

    retry: RetryPolicy = QUARANTINE_RETRY
    blocks_run: bool = False
    """A quarantined target's failure does not fail the run."""
    failing_states: tuple[EntryState, ...] = (EntryState.EXPIRED, EntryState.INVALID)
    """Entries that fail the run instead: expired ones (upstream), and invalid ones, since an
    entry without an owner or an expiry is a quarantine nobody tracks."""


QUARANTINE_POLICY = QuarantinePolicy()
"""The policy `replay run` applies to quarantined targets."""
