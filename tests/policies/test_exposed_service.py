"""CW-EXP-001 merges every path an asset is reached by, per protocol."""

from __future__ import annotations

from datetime import datetime, timezone

from policies.engine import evaluate, select_policies
from policies.policy import PolicySettings
from scanner.exposure import ExposureAnalysis
from scanner.model import Asset, Exposure, Scope, Snapshot
from scanner.netmath import PortSet


def test_two_paths_for_one_protocol_are_both_in_the_evidence():
    asset = Asset("aws", "111", "us-east-1", "aws_network_interface", "eni-1",
                  public_addresses=("203.0.113.10",))
    snapshot = Snapshot.from_items("s", datetime(2026, 11, 1, tzinfo=timezone.utc),
                                   [Scope("aws", "111", "us-east-1")], [asset])
    ssh = Exposure("eni-1", "aws", "111", "us-east-1", "internet", "ipv4", "tcp",
                   PortSet.of(22), ("ssh",))
    rdp = Exposure("eni-1", "aws", "111", "us-east-1", "internet", "ipv4", "tcp",
                   PortSet.of(3389), ("rdp",))
    analysis = ExposureAnalysis(exposures=(ssh, rdp), _by_asset={"eni-1": (ssh, rdp)})
    policies = select_policies(PolicySettings(only=("CW-EXP-001",)))
    [finding] = evaluate(snapshot, policies, PolicySettings(), analysis)
    assert finding.evidence["ports"] == {"ipv4": {"tcp": "22,3389"}}
    assert finding.evidence["services"] == ["ssh", "rdp"]
