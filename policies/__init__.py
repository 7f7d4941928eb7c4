"""Policies: what cloudwall judges."""
