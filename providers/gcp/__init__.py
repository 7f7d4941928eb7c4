"""GCP: VPC firewall rules, firewall policies and the instances they guard, per project."""

from providers.gcp.normalize import normalize_scope
from providers.gcp.provider import GcpProvider

__all__ = ["GcpProvider", "normalize_scope"]
