"""Cloud adapters and the registry that finds them.

Each adapter module has two halves: *fetch* (SDK calls only, one bulk paginated call per resource
type per scope) and *normalize* (pure functions from raw API payloads to model objects). Modules
are imported only when their provider is asked for, so ``--provider gcp`` never imports boto3;
adapters import their SDKs inside functions for the same reason.
"""

from __future__ import annotations

import importlib

from providers.base import Provider, ProviderSettings

# name -> "module:Class"; the single place that knows which adapters exist.
REGISTRY: dict[str, str] = {
    "demo": "providers.demo:DemoProvider",
    "aws": "providers.aws:AwsProvider",
    "azure": "providers.azure:AzureProvider",
    "gcp": "providers.gcp:GcpProvider",
}


def provider_names() -> list[str]:
    return list(REGISTRY)


def load_provider(name: str) -> type[Provider]:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["REGISTRY", "Provider", "ProviderSettings", "load_provider", "provider_names"]
