"""--organization / --folder: the projects below them, walked through Resource Manager v3's
projects.list and folders.list on the local Google API server (real clients, real HTTP)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from providers.demo.gcp import network
from providers.gcp import GcpProvider
from providers.gcp.hierarchy import active_folders, active_projects, parse_node
from scanner.cli import main
from scanner.errors import ConfigError
from scanner.model import CollectionError, Scope
from tests.servers.gcp_compute import Project
from tests.servers.gcp_estate import FOLDER_PROD, FOLDER_TEAM, ORG

FOLDER_DEEP = "folders/400"
FOLDER_GONE = "folders/500"


@pytest.fixture
def tree(gcp):
    """The sample organization, one folder deeper: folders/400 below folders/300 holds four
    projects (two pages) and one pending deletion; folders/500 is being deleted."""
    estate = gcp.estate
    estate.folders[FOLDER_DEEP] = {"name": FOLDER_DEEP, "parent": FOLDER_PROD,
                                   "displayName": "deep", "state": "ACTIVE"}
    estate.folders[FOLDER_GONE] = {"name": FOLDER_GONE, "parent": ORG,
                                   "displayName": "gone", "state": "DELETE_REQUESTED"}
    for i in range(4):
        estate.projects[f"deep-{i}"] = Project(f"deep-{i}", parent=FOLDER_DEEP,
                                               number=f"40{i}", display_name=f"Deep {i}",
                                               networks=[network(f"deep-{i}", "n")])
    estate.projects["leaving"] = Project("leaving", parent=FOLDER_DEEP, number="499",
                                         state="DELETE_REQUESTED")
    return gcp


def discover(settings) -> list:
    return list(GcpProvider(settings).discover_scopes())


def test_organization_walks_every_folder_level_and_keeps_active_projects(tree, settings_for):
    found = discover(settings_for(organizations=(ORG,)))
    assert all(isinstance(s, Scope) for s in found)
    assert [s.account for s in found] == [
        "alpha", "beta", "deep-0", "deep-1", "deep-2", "deep-3", "delta", "gamma"]
    assert {s.account: s.name for s in found}["deep-2"] == "Deep 2"
    lists = [path for method, path in tree.requests if path in ("/v3/projects", "/v3/folders")]
    # organizations/100, folders/200, /300 and /400, each read once; folders/400 has two
    # pages of projects (four at three per page).
    assert lists.count("/v3/folders") == 4
    assert lists.count("/v3/projects") == 5
    assert not [p for _, p in tree.requests if p == "/v3/projects:search"]


def test_the_walk_gives_the_ancestry_of_each_project_without_asking_again(tree, settings_for):
    provider = GcpProvider(settings_for(organizations=(ORG,)))
    scopes = [s for s in provider.discover_scopes() if s.account == "alpha"]
    items = list(provider.collect(scopes[0]))
    assert not [i for i in items if isinstance(i, CollectionError)]
    # The organization and folder policies were found through the parents the walk saw.
    assert {"org-baseline", "prod-folder"} <= {getattr(i, "name", None) for i in items}
    assert not [p for _, p in tree.requests if p.startswith(("/v3/folders/", "/v3/projects/"))]


def test_folder_scans_only_what_is_below_it(tree, settings_for):
    found = discover(settings_for(folders=(FOLDER_PROD,)))
    assert [s.account for s in found] == ["alpha", "deep-0", "deep-1", "deep-2", "deep-3"]
    nested = discover(settings_for("beta", folders=(FOLDER_DEEP, FOLDER_PROD)))
    assert [s.account for s in nested] == [
        "beta", "alpha", "deep-0", "deep-1", "deep-2", "deep-3"]  # each project once


def test_denied_and_unknown_nodes_are_reported_never_empty(tree, settings_for):
    tree.estate.forbid_listing.add(FOLDER_TEAM)
    found = discover(settings_for(organizations=(ORG,), folders=("folders/999",)))
    scopes = [s.account for s in found if isinstance(s, Scope)]
    errors = {e.account: e for e in found if isinstance(e, CollectionError)}
    assert scopes == ["beta", "delta", "gamma"]  # the organization's own projects
    assert set(errors) == {FOLDER_TEAM, "folders/999"}
    denied = errors[FOLDER_TEAM]
    assert denied.code == "403" and denied.resource_type is None
    assert "the projects below folders/200" in denied.reason
    assert "resourcemanager.projects.list" in denied.hint


def test_a_projects_list_that_never_ends_is_stopped(tree, settings_for):
    tree.estate.faults["/v3/projects"] = "repeat"
    found = discover(settings_for(folders=(FOLDER_DEEP,)))
    (error,) = found
    assert (error.account, error.code) == (FOLDER_DEEP, "PaginationLoop")


def test_scan_by_folder_end_to_end(tree, tmp_path):
    args = ["--store", str(tmp_path / "s.db"), "scan", "--provider", "gcp", "--gcp-endpoint",
            tree.url, "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--folder", "400"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(s["account"], s["status"]) for s in report["snapshot"]["scopes"]] == [
        (f"deep-{i}", "ok") for i in range(4)]

    tree.estate.forbid_listing.add(FOLDER_DEEP)
    result = CliRunner().invoke(main, [*args, "--folder", "folders/400"])
    assert result.exit_code == 3, result.output
    (error,) = json.loads(result.stdout)["errors"]
    assert error["account"] == FOLDER_DEEP and "roles/browser" in error["hint"]

    bad = CliRunner().invoke(main, [*args, "--organization", "example.com"])
    assert bad.exit_code == 2 and "is not an organization id" in bad.stderr


def test_folders_from_the_configuration_file(tree, tmp_path):
    config = tmp_path / "cloudwall.toml"
    config.write_text(f'[providers.gcp]\nendpoint = "{tree.url}"\nfolders = ["400"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--store",
                                       str(tmp_path / "s.db"), "scan", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [s["account"] for s in json.loads(result.stdout)["snapshot"]["scopes"]] == [
        f"deep-{i}" for i in range(4)]


def test_parse_node_takes_numbers_and_resource_names():
    assert parse_node(" 123 ", "organization") == "organizations/123"
    assert parse_node("organizations/123", "organization") == "organizations/123"
    assert parse_node("folders/456/", "folder") == "folders/456"
    for value, kind in (("folders/456", "organization"), ("example.com", "organization"),
                        ("", "folder"), ("projects/1", "folder"), ("4 5", "folder")):
        with pytest.raises(ConfigError):
            parse_node(value, kind)


def test_active_projects_and_folders_of_list_answers():
    # projects.list and folders.list answers as Resource Manager v3 sends them.
    projects = {"projects": [
        {"name": "projects/415104041262", "parent": "folders/300", "projectId": "web-prod",
         "state": "ACTIVE", "displayName": "Web production", "createTime":
         "2024-03-01T10:00:00.000Z", "updateTime": "2024-03-01T10:00:00.000Z",
         "etag": "W/\"a1\"", "labels": {"env": "prod"}},
        {"name": "projects/2", "parent": "folders/300", "projectId": "old",
         "state": "DELETE_REQUESTED", "displayName": "old"},
        {"name": "projects/3", "projectId": "bare", "state": "ACTIVE"},
        {"name": "projects/4", "state": "ACTIVE"},
    ]}
    assert active_projects(projects["projects"]) == [
        ("web-prod", "Web production", "folders/300"), ("bare", "", "")]
    folders = {"folders": [
        {"name": "folders/300", "parent": "folders/200", "displayName": "prod",
         "state": "ACTIVE", "createTime": "2024-01-01T00:00:00Z", "etag": "W/\"b\""},
        {"name": "folders/301", "parent": "folders/200", "state": "DELETE_REQUESTED"},
        {"name": "organizations/1", "state": "ACTIVE"},
    ]}
    assert active_folders(folders["folders"]) == [("folders/300", "folders/200")]
