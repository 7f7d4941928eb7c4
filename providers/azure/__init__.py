"""Azure: network security groups and what they guard, per subscription.

Importing this package imports no Azure SDK; the adapter imports them when it first needs them.
"""

from providers.azure.normalize import normalize_scope
from providers.azure.provider import AzureProvider

__all__ = ["AzureProvider", "normalize_scope"]
