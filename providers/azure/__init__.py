"""Azure: network security groups and what they guard, per subscription."""

from providers.azure.normalize import normalize_scope

__all__ = ["normalize_scope"]
