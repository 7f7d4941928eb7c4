"""The error tree and the exit codes the CLI maps it to.

    CloudwallError                 anything cloudwall reports as one line plus a hint
    ├── ConfigError                bad flags, config, credentials setup         exit 2
    ├── PolicyError                a malformed policy pack or suppressions file exit 2
    │                              (carries ``location``: ``file:line``)
    ├── StoreError                 unreadable, corrupt or locked store; unknown exit 2
    │                              snapshot or baseline; bad snapshot file
    └── ProviderError              a provider could not start at all            exit 2
                                   (carries ``provider`` and ``scope``); a scope
                                   that fails during a scan is a CollectionError
                                   in the snapshot instead, and exits 3

Exit codes (stable, documented in the README):
    0  complete, and no gate tripped
    1  a gate tripped: a finding at or above --fail-on, a drift item at or above
       --fail-on-drift (scanner.gates; precedence 2 > 1 > 3 > 0)
    2  usage, config or input error
    3  one or more scopes could not be collected (the report is still written)
    70 an unexpected internal error (a bug: rerun with --debug and report it)

Library code raises these; only ``scanner/cli`` prints and exits.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_BUG = 70


class CloudwallError(Exception):
    """Base class. ``hint`` says what to do about it, in one line."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(CloudwallError):
    """Bad flags, configuration or credential setup."""


class PolicyError(CloudwallError):
    """A malformed policy pack, suppressions file or policy test case."""

    def __init__(self, message: str, hint: str = "", location: str | None = None) -> None:
        super().__init__(f"{location}: {message}" if location else message, hint)
        self.location = location


class StoreError(CloudwallError):
    """The snapshot store or a snapshot file cannot be used as asked."""


class ProviderError(CloudwallError):
    """A provider cannot run at all (missing credentials, bad endpoint)."""

    def __init__(
        self, message: str, hint: str = "", provider: str = "", scope: str | None = None
    ) -> None:
        super().__init__(message, hint)
        self.provider = provider
        self.scope = scope


def describe_bad_value(exc: BaseException) -> str:
    """What was wrong with a value read from a file or the cloud, in words rather than a Python
    exception's name (``KeyError: 'x'`` is not a message for a user)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "a field is missing"
    if isinstance(exc, (AttributeError, TypeError)):
        return "a field has the wrong type (a list, mapping, number or text where another " \
               "was expected)"
    text = " ".join(str(exc).split())
    return text[:200] if text else "a value is not valid"
