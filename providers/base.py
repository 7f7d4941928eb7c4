"""The small protocol every adapter implements, and the settings the CLI hands it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import ClassVar, Protocol

from providers.paging import DEFAULT_MAX_ITEMS, DEFAULT_MAX_PAGES, PageLimits
from scanner.errors import ConfigError
from scanner.model import Attribution, CollectedItem, CollectionError, DriftItem, Scope


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """What the user asked for, for every provider; each adapter reads its own fields.

    Endpoint overrides exist for private endpoints and local test servers; AWS has none here on
    purpose: boto3's own ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` resolution is left
    alone.
    """

    # AWS
    profile: str | None = None
    regions: tuple[str, ...] = ()  # empty: every region enabled for the account
    role_arn: str | None = None
    org_role: str | None = None
    accounts: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()  # with org_role: the accounts below these OUs (or the root)
    # Azure
    subscriptions: tuple[str, ...] = ()  # empty: every subscription the credential can see
    management_groups: tuple[str, ...] = ()  # every subscription below these, as well
    azure_cloud: str = "public"  # public | usgov | china
    azure_endpoint: str | None = None
    # GCP
    projects: tuple[str, ...] = ()  # empty: every project the credential can see
    # Every active project below these nodes, as well ("organizations/N", "folders/N").
    organizations: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    gcp_endpoint: str | None = None
    # All
    max_workers: int = 8
    # Retries after the first attempt for throttling and transient errors (0 turns them off,
    # as the tests do); None leaves each SDK's own default (AWS: adaptive mode).
    max_retries: int | None = None
    # Seconds to wait for one HTTP request before the scope is recorded as timed out.
    request_timeout: float = 60.0
    # Per resource type and scope: a paginated read that needs more is stopped and recorded.
    max_pages: int = DEFAULT_MAX_PAGES
    max_items: int = DEFAULT_MAX_ITEMS
    demo_stage: str = "baseline"  # demo estate: baseline | changed


# RFC 6750 b64token, which every cloud's access tokens are spelled in.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MAX_TOKEN = 16_384


def bearer_token(value: str, variable: str) -> str:
    """A bearer token from the environment, checked before it goes into an HTTP header: one
    line of token characters (a stray space or line break would otherwise fail every request
    later, per scope). The token itself is never quoted in the error."""
    token = value.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise ConfigError(f"{variable} is set but empty", f"unset {variable} or set a token")
    if len(token) > _MAX_TOKEN or not _TOKEN.fullmatch(token):
        raise ConfigError(f"{variable} does not hold a bearer token (it has spaces, line breaks "
                          "or other characters a token cannot contain)",
                          f"set {variable} to the access token alone, on one line")
    return token


def page_limits(settings: ProviderSettings) -> PageLimits:
    return PageLimits(settings.max_pages, settings.max_items)


# Called with (scope label, done, total) as scopes finish; the CLI draws a progress bar with it.
ProgressCallback = Callable[[str, int, int], None]


class Provider(Protocol):
    """One cloud. Construction is cheap and does no I/O; credentials are resolved lazily."""

    name: ClassVar[str]
    # What the provider was made from. With ``--executor dask`` the name and these settings
    # (nothing secret) are all a worker receives to build the provider again; so ``collect``
    # must work on a fresh instance, without this one's ``discover_scopes`` state. An adapter
    # whose scopes may report the same item (a GCP hierarchical policy) also offers
    # ``collect_unmerged(scope)`` and ``merge_collected(items)``, which the client applies.
    settings: ProviderSettings

    def __init__(self, settings: ProviderSettings) -> None: ...

    def discover_scopes(self) -> Iterable[Scope | CollectionError]:
        """The scopes to collect (account x region, subscription, project).

        A scope that cannot even be listed (an account whose role cannot be assumed) is yielded
        as a CollectionError so it is reported, never silently skipped.
        """
        ...

    def collect(self, scope: Scope) -> Iterator[CollectedItem]:
        """Everything in one scope; failures are yielded as CollectionError, never raised."""
        ...

    def attribute(
        self, items: Sequence[DriftItem], since: datetime
    ) -> Mapping[str, tuple[Attribution, ...]]:
        """Who made each drift item of this provider, from the cloud's audit log.

        Returns ``drift_id -> attributions``. An item whose lookup failed (no permission,
        outside the log's retention) gets one ``Attribution`` whose ``unavailable_reason`` says
        why; it is never silently left out.
        """
        ...


def parse_timestamp(text: str | None) -> datetime | None:
    """An audit log's RFC 3339 time in UTC; None when absent or not a time.

    Azure sends seven fractional digits and GCP nine, where ``datetime`` takes six; a time
    without an offset is UTC.
    """
    if not text or not isinstance(text, str):
        return None
    value = text.strip().replace("Z", "+00:00")
    head, dot, rest = value.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
