"""cloudwall: posture scanner for live cloud firewall configuration."""

__version__ = "0.1.0"
TOOL_NAME = "cloudwall"
