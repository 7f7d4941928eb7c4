"""Policies: what cloudwall judges.

``evaluate_snapshot(snapshot, PolicySettings(...))`` runs the built-in packs
(``policies/packs/*.yaml``), the Python checks (``policies/checks/``) and the user's packs, and
applies suppressions. See ``policies.packs`` for the pack format and ``policies.conditions``
for the condition vocabulary.
"""

from policies.engine import available_policies, evaluate, evaluate_snapshot, select_policies
from policies.policy import Policy, PolicyMeta, PolicySettings

__all__ = [
    "Policy",
    "PolicyMeta",
    "PolicySettings",
    "available_policies",
    "evaluate",
    "evaluate_snapshot",
    "select_policies",
]
