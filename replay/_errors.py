"""The one error base of replay and its few subclasses.

The CLI turns any `ReplayError` into one line on stderr and exit 2; everything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ReplayError(Exception):
    """Bad usage or bad input: the message names the thing and the fix."""


class ConfigError(ReplayError):
    """A config file is missing, malformed or holds an unknown key."""


class InputError(ReplayError):
    """An artifact given to replay (summary, verdict, classification) is unusable."""


class ArtifactError(ReplayError):
    """An artifact could not be written (full disk, a directory in the way)."""
