"""Which public load balancer front ends reach which NIC. Pure functions over ARM JSON.

A NIC without a public IP of its own is still reachable from the internet when it sits in the
backend pool of a load-balancing rule, or behind an inbound NAT rule, whose front end has a
public IP. The association is written on both sides (the NIC's IP configuration names its pools
and NAT rules; the pool and NAT rule name the IP configurations), so both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Json = Mapping[str, Any]


def _id(obj: Json | None) -> str:
    return str((obj or {}).get("id") or "").lower()


def _props(obj: Json) -> Json:
    return obj.get("properties") or {}


@dataclass(frozen=True, slots=True)
class FrontEnds:
    """The public side of the load balancers that reach one NIC."""

    addresses: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()  # public IPs referenced but not read
    load_balancers: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()  # of the front ends' public IPs


@dataclass(slots=True)
class LoadBalancerIndex:
    # front end id -> (public IP id, address or None when the IP was not read, IP SKU)
    front_ends: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)
    by_backend: dict[str, set[str]] = field(default_factory=dict)  # pool / NAT rule id -> fronts
    by_config: dict[str, set[str]] = field(default_factory=dict)  # NIC ip config id -> fronts

    def for_nic(self, configs: Iterable[Json]) -> FrontEnds:
        fronts: set[str] = set()
        for config in configs:
            cp = _props(config)
            fronts |= self.by_config.get(_id(config), set())
            for ref in (cp.get("loadBalancerBackendAddressPools") or []) + (
                    cp.get("loadBalancerInboundNatRules") or []):
                fronts |= self.by_backend.get(_id(ref), set())
        addresses, unresolved, skus = [], [], set()
        for front in sorted(fronts):
            pip_id, address, sku = self.front_ends[front]
            if address:
                addresses.append(address)
                skus.add(sku)
            elif address is None:
                unresolved.append(pip_id)
        balancers = sorted({f.split("/frontendipconfigurations/")[0] for f in fronts})
        return FrontEnds(tuple(dict.fromkeys(addresses)), tuple(sorted(set(unresolved))),
                         tuple(balancers), tuple(sorted(skus)))


def index_load_balancers(load_balancers: Iterable[Json],
                         public_ips: Mapping[str, Json] | None) -> LoadBalancerIndex:
    """``public_ips`` None: the subscription's public IPs could not be read."""
    index = LoadBalancerIndex()
    for lb in load_balancers:
        props = _props(lb)
        for front in props.get("frontendIPConfigurations") or []:
            pip_id = _id(_props(front).get("publicIPAddress"))
            if not pip_id:
                continue  # an internal front end: not reachable from the internet
            pip = None if public_ips is None else public_ips.get(pip_id)
            address = None if pip is None else (_props(pip).get("ipAddress") or "")
            sku = ((pip or {}).get("sku") or {}).get("name") or "Basic"
            index.front_ends[_id(front)] = (pip_id, address, sku)
        for rule in props.get("loadBalancingRules") or []:
            rp = _props(rule)
            front = _id(rp.get("frontendIPConfiguration"))
            if front not in index.front_ends:
                continue
            pools = [rp.get("backendAddressPool")] + list(rp.get("backendAddressPools") or [])
            for pool in filter(None, pools):
                index.by_backend.setdefault(_id(pool), set()).add(front)
        for nat in props.get("inboundNatRules") or []:
            np_ = _props(nat)
            front = _id(np_.get("frontendIPConfiguration"))
            if front not in index.front_ends:
                continue
            index.by_backend.setdefault(_id(nat), set()).add(front)
            if np_.get("backendAddressPool"):
                index.by_backend.setdefault(_id(np_["backendAddressPool"]), set()).add(front)
            config = _id(np_.get("backendIPConfiguration"))
            if config:
                index.by_config.setdefault(config, set()).add(front)
        for pool in props.get("backendAddressPools") or []:
            fronts = index.by_backend.get(_id(pool), set())
            for config in _props(pool).get("backendIPConfigurations") or []:
                if fronts:
                    index.by_config.setdefault(_id(config), set()).update(fronts)
    return index
