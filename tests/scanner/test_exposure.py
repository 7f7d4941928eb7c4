"""Exposure across clouds: newly exposed assets, the graph and its paths, DOT escaping, the
``cloudwall exposure`` command and the scan report."""

from __future__ import annotations

import json

from click.testing import CliRunner

from reports.dot import quote, render_graph
from scanner.cli import main
from scanner.engine import analyze
from scanner.exposure import analyze_exposure, graph, newly_exposed, parse_protocol_label
from scanner.exposure_graph import asset_node, exposure_paths, rule_set_node, subnet_node
from scanner.netmath import PortSet
from scanner.store import Store
from scanner.traffic import ProtocolSet
from tests.scanner.exposure_builders import (
    ALLOW,
    DENY,
    INTERNET,
    OPEN_ACL,
    acl,
    aws_subnet,
    azure_subnet,
    eni,
    gcp_network,
    instance,
    nic,
    nsg,
    rule,
    sg,
    snapshot,
    vpc_rules,
)

ANY4 = ("0.0.0.0/0",)


def three_clouds(ssh_open=False, snapshot_id="snap-1"):
    group_rules = [("tcp", "443", ANY4)] + ([("tcp", "22", ANY4)] if ssh_open else [])
    vpc = vpc_rules(rule(ALLOW, "tcp", "80", ANY4, 1000, native_id="web/tcp"))
    web_nsg = nsg("web-nsg", rule(ALLOW, "tcp", "3389", (INTERNET,), 100, native_id="rdp"))
    return snapshot(
        acl("acl-1", *OPEN_ACL), aws_subnet(), sg("sg-1", *group_rules), eni(),
        eni("eni-private", public=()),
        web_nsg, azure_subnet(), nic(nsg_set=web_nsg),
        vpc, gcp_network(vpc), instance(),
        snapshot_id=snapshot_id,
    )


def test_every_cloud_contributes_its_exposed_machine():
    analysis = analyze_exposure(three_clouds())
    assert {(e.provider, e.protocol, str(e.ports)) for e in analysis.exposures} == {
        ("aws", "tcp", "443"), ("azure", "tcp", "3389"), ("gcp", "tcp", "80")}
    assert analysis.exposed_assets() == sorted(e.asset_id for e in analysis.exposures)
    assert analysis.reachable_ports(nic().asset_id, "tcp") == PortSet.of(3389)
    assert analysis.reachable_ports(nic().asset_id, "udp") == PortSet()


def test_newly_exposed_names_the_asset_ports_and_services():
    before = analyze_exposure(three_clouds())
    after = analyze_exposure(three_clouds(ssh_open=True))
    assert newly_exposed(before, after) == [{
        "asset_id": "eni-1", "provider": "aws", "account": "111122223333",
        "region": "eu-west-1", "source": "internet", "family": "ipv4", "protocol": "tcp",
        "protocols": ["tcp"],
        "ports": ["22"], "services": ["ssh"], "was_unknown": False,
    }]
    assert newly_exposed(after, before) == []
    assert newly_exposed(after, after) == []


def test_broad_is_not_new_when_the_whole_internet_reached_it_before():
    wide = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), sg("sg-1", ("tcp", "22", ANY4)), eni())
    half = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(),
                    sg("sg-1", ("tcp", "22", ("0.0.0.0/1",))), eni())
    assert newly_exposed(analyze_exposure(wide), analyze_exposure(half)) == []
    (item,) = newly_exposed(analyze_exposure(half), analyze_exposure(wide))
    assert (item["source"], item["ports"]) == ("internet", ["22"])


def test_protocol_labels_round_trip():
    for protocols in (ProtocolSet.of("tcp"), ProtocolSet.of("all"),
                      ProtocolSet(((6, 6), (17, 17))),
                      ProtocolSet.of("all").difference(ProtocolSet.of("tcp"))):
        assert parse_protocol_label(protocols.label()) == protocols


def test_graph_paths_go_from_the_internet_through_every_layer():
    snap = three_clouds()
    g = graph(snap, analyze_exposure(snap))
    assert exposure_paths(g, "eni-1") == [[
        "internet:ipv4", subnet_node("subnet-1"), rule_set_node("acl-1"), rule_set_node("sg-1"),
        asset_node("eni-1")]]
    assert exposure_paths(g, "eni-private") == []
    assert g.edges[rule_set_node("sg-1"), asset_node("eni-1")]["attached"] == "guards"
    assert g.edges[rule_set_node("sg-1"), asset_node("eni-1")]["admits"] == {
        "eni-1": ["tcp 443 (internet)"]}
    gcp_paths = exposure_paths(g, instance().asset_id)
    assert gcp_paths == [["internet:ipv4", rule_set_node(vpc_rules().resource_id),
                          asset_node(instance().asset_id)]]


def test_two_groups_admitting_parts_are_alternatives_in_the_graph():
    snap = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(),
                    sg("sg-1", ("tcp", "22", ("0.0.0.0/1",))),
                    sg("sg-2", ("tcp", "22", ("128.0.0.0/1",))), eni(groups=("sg-1", "sg-2")))
    g = graph(snap, analyze_exposure(snap))
    assert [p[-2] for p in exposure_paths(g, "eni-1")] == [rule_set_node("sg-1"),
                                                           rule_set_node("sg-2")]


def test_dot_escapes_untrusted_names():
    evil = 'x" ]; "pwn" [label="<b>' + "\\\n\x1b[31m"
    assert quote(evil) == '"x\\" ]; \\"pwn\\" [label=\\"<b>\\\\\\n?[31m"'
    snap = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), sg("sg-1", ("tcp", "22", ANY4),
                                                               name=evil), eni(name=evil))
    text = render_graph(graph(snap, analyze_exposure(snap)))
    assert text.startswith("digraph exposure {") and text.rstrip().endswith("}")
    assert "\x1b" not in text
    for line in text.splitlines()[3:-1]:
        # Every quote inside a node or edge statement is escaped or a string delimiter.
        unescaped = line.replace('\\\\', '').replace('\\"', '')
        assert unescaped.count('"') % 2 == 0
        assert "pwn\" [" not in unescaped


def test_scan_report_carries_exposures_and_json_has_them():
    report = analyze(three_clouds())
    assert {e.provider for e in report.exposures} == {"aws", "azure", "gcp"}
    from reports.json_report import to_document

    assert len(to_document(report)["exposures"]) == 3


def test_exposure_command_formats_and_exit_codes(tmp_path):
    store_path = tmp_path / "store.db"
    with Store(store_path) as store:
        store.save(three_clouds())
    runner = CliRunner()
    table = runner.invoke(main, ["--store", str(store_path), "exposure"])
    assert table.exit_code == 0, table.output
    assert "sg-1 sg-1-r0" in table.output and "HTTPS" in table.output
    assert "3 of 4 assets exposed (3 to the whole internet)" in table.output
    data = runner.invoke(main, ["--store", str(store_path), "exposure", "--format", "json"])
    assert data.exit_code == 0
    document = json.loads(data.stdout)
    assert {e["asset_id"] for e in document["exposures"]} == {
        "eni-1", nic().asset_id, instance().asset_id}
    assert {"rule_set_id": "sg-1", "rule_id": "sg-1-r0", "assets": ["eni-1"]} in \
        document["live_rules"]
    dot = runner.invoke(main, ["--store", str(store_path), "exposure", "--format", "dot"])
    assert dot.exit_code == 0 and '"internet:ipv4" -> "subnet:subnet-1"' in dot.stdout
    trusted = runner.invoke(main, ["--store", str(store_path), "exposure", "--trusted", "nope"])
    assert trusted.exit_code == 2 and "not a CIDR" in trusted.output


def test_exposure_command_exits_3_when_an_asset_is_unknown(tmp_path):
    store_path = tmp_path / "store.db"
    with Store(store_path) as store:
        store.save(snapshot(aws_subnet(), eni()))  # the ACL and group were not collected
    result = CliRunner().invoke(main, ["--store", str(store_path), "exposure"])
    assert result.exit_code == 3
    assert "Unknown" in result.output and "acl-1" in result.output


def test_demo_estate_shows_exposed_machines_on_all_three_clouds(tmp_path):
    store = str(tmp_path / "demo.db")
    runner = CliRunner()
    scanned = runner.invoke(main, ["--store", store, "scan", "--provider", "demo", "--save",
                                   "--format", "json"])
    assert scanned.exit_code == 0, scanned.output
    result = runner.invoke(main, ["--store", store, "exposure", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {e["provider"] for e in document["exposures"]} == {"aws", "azure", "gcp"}
    for exposure in document["exposures"]:
        assert any(s["decision"] == "allow" and s["rule_id"] for s in exposure["path"])


def test_by_family_merges_ports_of_one_protocol():
    snap = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(),
                    sg("sg-1", ("tcp", "22", ANY4), ("tcp", "80", ANY4), ("tcp", "443", ("::/0",))),
                    eni(ipv6=("2a05:d018::10",)))
    analysis = analyze_exposure(snap)
    assert len(analysis.for_asset("eni-1")) == 3
    assert analysis.by_family("eni-1") == {"ipv4": {"tcp": PortSet.of(22, 80)},
                                           "ipv6": {"tcp": PortSet.of(443)}}


def test_exposure_command_trusted_ranges_turn_a_broad_exposure_into_internet(tmp_path):
    store_path = tmp_path / "store.db"
    ingress = ((90, DENY, "tcp", "22", "8.0.0.0/8"),) + OPEN_ACL[0]
    with Store(store_path) as store:
        store.save(snapshot(acl("acl-1", ingress, OPEN_ACL[1]), aws_subnet(),
                            sg("sg-1", ("tcp", "22", ANY4)), eni()))
    runner = CliRunner()
    plain = json.loads(runner.invoke(main, ["--store", str(store_path), "exposure",
                                            "--format", "json"]).stdout)
    assert [e["source"] for e in plain["exposures"]] == ["broad"]
    trusted = json.loads(runner.invoke(main, ["--store", str(store_path), "exposure",
                                              "--format", "json", "--trusted-cidr",
                                              "8.0.0.0/8"]).stdout)
    assert [e["source"] for e in trusted["exposures"]] == ["internet"]
    assert trusted["trusted_cidrs"] == ["8.0.0.0/8"]
