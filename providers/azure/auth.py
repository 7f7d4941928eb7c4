"""Which Azure cloud to talk to, and with which credential.

The token of ``CLOUDWALL_AZURE_TOKEN`` is held only in memory by :class:`StaticTokenCredential`
and never printed, logged or stored; its ``repr`` hides it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from providers.base import bearer_token
from scanner.errors import ConfigError
from scanner.redact import redact

TOKEN_ENV = "CLOUDWALL_AZURE_TOKEN"


@dataclass(frozen=True, slots=True)
class AzureCloud:
    name: str
    authority: str  # Entra ID authority host
    resource_manager: str  # Resource Manager base URL

    @property
    def scope(self) -> str:
        return self.resource_manager.rstrip("/") + "/.default"


CLOUDS = {
    "public": AzureCloud("public", "login.microsoftonline.com", "https://management.azure.com"),
    "usgov": AzureCloud("usgov", "login.microsoftonline.us",
                        "https://management.usgovcloudapi.net"),
    "china": AzureCloud("china", "login.chinacloudapi.cn", "https://management.chinacloudapi.cn"),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where Resource Manager is and which token audience it wants."""

    base_url: str
    credential_scopes: tuple[str, ...]
    authority: str


def resolve_endpoint(cloud_name: str, endpoint: str | None) -> Endpoint:
    """``--azure-cloud`` picks the authority and Resource Manager; ``--azure-endpoint`` overrides
    only the Resource Manager URL (Azure Stack Hub, private test servers)."""
    try:
        cloud = CLOUDS[cloud_name]
    except KeyError:
        raise ConfigError(f"unknown Azure cloud {cloud_name!r}",
                          f"use one of: {', '.join(CLOUDS)}") from None
    base_url = cloud.resource_manager
    if endpoint:
        base_url = endpoint.strip().rstrip("/")
        try:
            host = urlsplit(base_url).hostname
        except ValueError:
            host = None
        if not host:
            raise ConfigError(f"Azure endpoint {redact(endpoint)!r} is not a URL",
                              "give it as https://management.example.com")
        if not base_url.lower().startswith("https://"):
            # Bearer tokens are never sent in clear text.
            raise ConfigError(f"Azure endpoint {redact(endpoint)!r} is not an https:// URL",
                              "Resource Manager is only reachable over HTTPS")
    return Endpoint(base_url, (cloud.scope,), cloud.authority)


class StaticTokenCredential:
    """An ``azure.core.credentials.TokenCredential`` that hands out one bearer token as-is.

    For pipelines that already hold a token (``az account get-access-token``); the token is not
    refreshed, so a scan that outlives it gets 401s, recorded per subscription.
    """

    def __init__(self, token: str, lifetime: int = 3600) -> None:
        self._token = bearer_token(token, TOKEN_ENV)
        self._expires_on = int(time.time()) + lifetime

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any):
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return "StaticTokenCredential(token=<hidden>)"


def make_credential(endpoint: Endpoint):
    """``CLOUDWALL_AZURE_TOKEN`` when set, else ``DefaultAzureCredential`` (environment, managed
    identity, Azure CLI login), created only now that it is needed."""
    token = os.environ.get(TOKEN_ENV)
    if token is not None:
        return StaticTokenCredential(token)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=endpoint.authority)
