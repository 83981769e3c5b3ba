"""certpipe's own errors: one root, a few leaves carrying the input they are about."""

from __future__ import annotations


class CertpipeError(Exception):
    """Root of every error certpipe raises on purpose; its text is one sentence for a human."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class UsageError(CertpipeError):
    """A bad option or argument: exit code 2."""


class InputError(CertpipeError):
    """Input that cannot be parsed (turned into an unreadable-input finding by the pipeline)."""


class PasswordError(InputError):
    """No candidate password opened the input."""


class LimitError(InputError):
    """The input exceeds a safety limit (size, iteration count)."""


class ConfigError(UsageError):
    """A bad [tool.certpipe] / .certpipe.toml configuration."""
