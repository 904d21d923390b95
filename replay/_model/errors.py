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


class InvalidValue(ReplayError, ValueError):
    """A model was built with a value it cannot hold (`Suite(command="echo hi")`).

    Raised by the models' validators, so a library caller learns at construction,
    not in the middle of a run. It is a `ValueError` too, as a bad argument is in
    Python; `field` and `problem` let a reader of a file put its own path in front
    (`summary.json: $.targets[0].env: ...`).
    """

    def __init__(self, model: str, field: str, problem: str) -> None:
        self.model = model
        self.field = field
        self.problem = problem
        super().__init__(f"{model}.{field}: {problem}")


def replay_error_in(exc: BaseException) -> ReplayError | None:
    """The `ReplayError` an exception group carries when it carries nothing else.

    A task group wraps what its tasks raise; a caller of replay should see the
    `ReplayError` itself, never the group. A group that also holds a bug (or an
    interrupt) is left as it is.
    """
    if isinstance(exc, ReplayError):
        return exc
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup (a backport's on 3.10)
    if not isinstance(inner, tuple) or not inner:
        return None
    found = [replay_error_in(e) for e in inner]
    return None if any(f is None for f in found) else found[0]
