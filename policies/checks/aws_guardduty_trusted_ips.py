"""AWS: a GuardDuty trusted IP list exists; traffic from its addresses raises no findings."""

from __future__ import annotations

from policies.findings import ip_list_finding
from policies.registry import check
from scanner.model import Severity


@check(
    id="CW-AWS-004",
    subject="ip_list",
    title="GuardDuty trusted IP list present",
    severity="medium",
    providers=["aws"],
    rationale="GuardDuty generates no findings for addresses on an active trusted IP list. "
              "Adding one is a documented adversary procedure (Pacu) to blind detection "
              "before using opened firewall paths; every list needs an owner and a reason.",
    remediation={"summary": "Confirm the list is yours and its addresses are still trusted; "
                            "delete or deactivate it otherwise.",
                 "console": "GuardDuty > Settings > Lists.",
                 "cli": "aws guardduty update-ip-set --detector-id D --ip-set-id I "
                        "--no-activate; aws guardduty delete-ip-set ..."},
    compliance={"nist-800-53": ["SI-4"]},
    attack=["T1562.007", "T1562.001"],
)
def aws_guardduty_trusted_ips(ctx, meta):
    for ip_list in ctx.snapshot.ip_lists:
        if ip_list.provider != "aws" or ip_list.list_type != "trusted":
            continue
        # An inactive list suppresses nothing today, but one call re-activates it.
        active = ip_list.status.upper() in ("ACTIVE", "ACTIVATING")
        yield ip_list_finding(meta, ip_list, {
            "status": ip_list.status, "location": ip_list.location,
            "detector": ip_list.detector_id, "format": ip_list.format,
        }, severity=None if active else Severity.LOW)
