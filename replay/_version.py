"""The version of replay (read by the build backend and by `replay --version`)."""

__version__ = "0.1.0"
