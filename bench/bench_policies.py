"""Policy evaluation at scale: every built-in policy over a synthetic snapshot of 1M+ rules.

    .venv/bin/python bench/bench_policies.py [--rules 1000000] [--distinct 0.1] [--seed 7]
                                             [--tracemalloc]

The snapshot mixes the three clouds the way estates look: AWS security groups (union, 4-16
rules) and network ACLs (first match, 12 entries and the ``*`` deny), Azure NSGs (5-25 rules and
the default rules), and GCP VPC firewall rules per network (10-50 rules and the implied rules),
with group references, tags, disabled rules, IPv6 sources, protocol "all", port ranges and the
Internet tag; 8% of first-match rules are denies. Estates are templated: by default 10% of the
rule sets have content of their own (``--distinct``) and the others repeat the rules of one of
those (a layout deployed again in another account, region or network), each with its own id,
name and attachments; ``--distinct 1`` makes every rule set unique. Every built-in pack and Python
check runs (the exposure analysis is benchmarked by bench_exposure.py; without it the asset-level
check has nothing to judge). Prints the rule count, build and evaluation wall times, the reuse
rate (rule sets whose findings were bound from an equal content instead of judged), findings
per policy, and peak memory (process maximum RSS; with --tracemalloc also the Python heap peak
of the evaluation alone, which makes it run slower).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies import PolicySettings, evaluate, select_policies  # noqa: E402
from policies.reuse import RuleSetMemo  # noqa: E402
from scanner.model import (  # noqa: E402
    Action,
    Attachment,
    Direction,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
)
from scanner.netmath import PortSet  # noqa: E402

EVERYWHERE = ("0.0.0.0/0", "::/0")
# Sources as estates have them: mostly private ranges, partner and office ranges, some of the
# whole internet (IPv4 and IPv6) and a few broad public ranges.
CIDRS = (["10.0.0.0/8", "10.20.0.0/16", "10.20.30.0/24", "172.16.0.0/12", "192.168.1.0/24",
          "100.64.0.0/10", "fd00::/8"] * 3
         + ["8.8.8.0/24", "198.51.100.7/32", "34.120.0.0/16", "2600:1f18:1234::/48",
            "81.2.69.160/27"] * 2
         + ["0.0.0.0/0", "0.0.0.0/0", "::/0", "52.0.0.0/8", "0.0.0.0/1"])
PORTS = [PortSet.parse(p) for p in ("22", "80", "443", "3389", "1433", "5432", "8080-8090",
                                     "0-65535", "80,443", "1000-2000", "6379", "20-25",
                                     "3306", "9200", "53", "27017")]
PROTOCOLS = ["tcp", "tcp", "tcp", "tcp", "udp", "all", "icmp"]


def _peers(rng: random.Random, cloud: str) -> tuple[Peer, ...]:
    roll = rng.random()
    if cloud == "aws" and roll < 0.15:
        return (Peer(PeerKind.SECURITY_GROUP, f"sg-{rng.randrange(10**6):06d}"),)
    if cloud == "azure" and roll < 0.15:
        return (Peer(PeerKind.SERVICE_TAG, "Internet", EVERYWHERE),) if roll < 0.05 else \
            (Peer(PeerKind.SERVICE_TAG, "VirtualNetwork"),)
    if cloud == "gcp" and roll < 0.1:
        return (Peer(PeerKind.NETWORK_TAG, "web"),)
    count = 1 if cloud == "aws" else rng.choice((1, 1, 1, 2, 3))
    return tuple(Peer.cidr(c) for c in dict.fromkeys(rng.choice(CIDRS) for _ in range(count)))


def _rule(rng: random.Random, cloud: str, index: int, priority: int | None) -> Rule:
    protocol = rng.choice(PROTOCOLS)
    egress = rng.random() < 0.2
    deny = cloud != "aws" and rng.random() < 0.08
    targets = (Peer(PeerKind.NETWORK_TAG, "db"),) if cloud == "gcp" and rng.random() < 0.1 else ()
    return Rule(
        direction=Direction.EGRESS if egress else Direction.INGRESS,
        action=Action.DENY if deny else Action.ALLOW,
        protocol=protocol,
        ports=rng.choice(PORTS) if protocol in ("tcp", "udp") else PortSet.all(),
        peers=_peers(rng, cloud),
        priority=priority,
        enabled=not (cloud == "gcp" and rng.random() < 0.05),
        native_id=f"r{index}",
        targets=targets,
        logging=(rng.random() < 0.5) if cloud == "gcp" else None,
    )


def _final(direction: Direction, action: Action, priority: int, name: str) -> Rule:
    return Rule(direction, action, "all", PortSet.all(),
                tuple(Peer.cidr(c) for c in EVERYWHERE), priority, native_id=name,
                is_default=True, logging=False)


def build(total: int, seed: int, distinct: float = 1.0) -> Snapshot:
    """About ``total`` rules; ``distinct``: the share of rule sets with rules of their own (the
    others take the rules of an earlier rule set of the same kind)."""
    rng = random.Random(seed)
    layouts: dict[str, list[tuple[Rule, ...]]] = {}
    items: list = []
    scopes = [Scope("aws", "111122223333", "us-east-1"), Scope("azure", "sub-1"),
              Scope("gcp", "proj-1")]
    count = 0
    index = 0
    while count < total:
        index += 1
        cloud = ("aws", "aws", "azure", "gcp")[index % 4]
        kind = "acl" if cloud == "aws" and index % 8 == 0 else cloud
        # (with every rule set distinct the random stream is the one of the plain estate)
        reused = layouts.get(kind) if distinct < 1 and rng.random() >= distinct else None

        def layout(rules: list[Rule], kind: str = kind, reused: list | None = reused) -> tuple:
            if reused:
                return rng.choice(reused)
            layouts.setdefault(kind, []).append(tuple(rules))
            return tuple(rules)

        if cloud == "aws" and index % 8 == 0:
            rules = [_rule(rng, cloud, i, 100 + 10 * i) for i in range(12)]
            rules += [_final(Direction.INGRESS, Action.DENY, 32767, "ingress:*"),
                      _final(Direction.EGRESS, Action.DENY, 32767, "egress:*")]
            items.append(RuleSet("aws", "111122223333", "us-east-1", RuleSetKind.AWS_NETWORK_ACL,
                                 f"acl-{index}", f"acl-{index}", layout(rules),
                                 (Attachment("subnet", f"subnet-{index}"),), "vpc-1"))
        elif cloud == "aws":
            rules = [_rule(rng, cloud, i, None) for i in range(rng.randint(4, 16))]
            attached = () if index % 50 == 0 else (Attachment("network_interface", f"eni-{index}"),)
            items.append(RuleSet("aws", "111122223333", "us-east-1",
                                 RuleSetKind.AWS_SECURITY_GROUP, f"sg-{index}", f"sg-{index}",
                                 layout(rules), attached, "vpc-1", is_default=index % 97 == 0))
        elif cloud == "azure":
            rules = [_rule(rng, cloud, i, 100 + 10 * i) for i in range(rng.randint(5, 25))]
            rules += [
                Rule(Direction.INGRESS, Action.ALLOW, "all", PortSet.all(),
                     (Peer(PeerKind.SERVICE_TAG, "VirtualNetwork"),), 65000,
                     native_id="defaultSecurityRules/AllowVnetInBound", is_default=True),
                _final(Direction.INGRESS, Action.DENY, 65500, "defaultSecurityRules/DenyAll"),
                Rule(Direction.EGRESS, Action.ALLOW, "all", PortSet.all(),
                     (Peer(PeerKind.SERVICE_TAG, "Internet", EVERYWHERE),), 65001,
                     native_id="defaultSecurityRules/AllowInternetOutBound", is_default=True),
                _final(Direction.EGRESS, Action.DENY, 65500, "defaultSecurityRules/DenyAllOut"),
            ]
            items.append(RuleSet("azure", "sub-1", "westeurope", RuleSetKind.AZURE_NSG,
                                 f"nsg-{index}", f"nsg-{index}", layout(rules),
                                 (Attachment("subnet", f"subnet-{index}"),)))
        else:
            network = f"projects/proj-1/global/networks/n{index}"
            rules = [_rule(rng, cloud, i, rng.choice((100, 500, 1000, 1000, 2000)))
                     for i in range(rng.randint(10, 50))]
            rules += [_final(Direction.INGRESS, Action.DENY, 65535, "implied-deny-ingress/all"),
                      _final(Direction.EGRESS, Action.ALLOW, 65535, "implied-allow-egress/all")]
            items.append(RuleSet("gcp", "proj-1", "global", RuleSetKind.GCP_VPC_FIREWALL,
                                 f"{network}/firewalls", f"n{index}", layout(rules),
                                 (Attachment("network", network),), network))
            items.append(Network("gcp", "proj-1", "global", network, f"n{index}",
                                 is_default=index % 40 == 3,
                                 rule_set_ids=(f"{network}/firewalls",)))
        count += len(items[-1].rules) if isinstance(items[-1], RuleSet) else \
            len(items[-2].rules)
    return Snapshot.from_items("bench", datetime.now(timezone.utc), scopes, items,
                               ["aws", "azure", "gcp"])


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=float, default=0.1,
                        help="share of rule sets with content of their own (1: all unique)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    snapshot = build(args.rules, args.seed, args.distinct)
    built = time.perf_counter() - started
    print(f"snapshot: {snapshot.rule_count():,} rules in {len(snapshot.rule_sets):,} rule sets "
          f"({Counter(r.provider for r in snapshot.rule_sets)}); built in {built:.1f} s; "
          f"max RSS {_rss_mib():,.0f} MiB")

    settings = PolicySettings()
    policies = select_policies(settings)
    if args.tracemalloc:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    memo = RuleSetMemo()
    findings = evaluate(snapshot, policies, settings, memo=memo)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    rate = snapshot.rule_count() / elapsed
    print(f"evaluated {len(policies)} policies in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
          f"({rate:,.0f} rules/s); "
          f"{len(findings):,} findings; max RSS {_rss_mib():,.0f} MiB"
          + (f"; evaluation heap peak {heap:,.0f} MiB" if heap is not None else ""))
    print(f"reuse: {memo.judged:,} distinct rule sets judged, {memo.bound:,} bound from an "
          f"equal content: reuse rate {memo.reuse_rate:.1%} (estate: --distinct "
          f"{args.distinct:g})")
    for policy_id, n in sorted(Counter(f.policy_id for f in findings).items()):
        print(f"  {policy_id:14} {n:>9,}")


if __name__ == "__main__":
    main()
