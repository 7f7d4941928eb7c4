"""ProviderSettings is what a Dask worker receives to build a provider again: plain, picklable,
hashable values only (the organization scopes included), and nothing secret."""

from __future__ import annotations

import dataclasses
import pickle

from click.testing import CliRunner

from providers.base import ProviderSettings
from scanner.cli import main


def test_settings_with_organization_scopes_travel_as_plain_values():
    settings = ProviderSettings(org_role="Audit", ous=("ou-ab12-cd34ef56", "r-ab12"),
                                management_groups=("contoso",),
                                organizations=("organizations/1",), folders=("folders/2",))
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings and hash(copy) == hash(settings)
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, tuple):
            assert all(type(item) is str for item in value), field.name
        else:
            assert value is None or type(value) in (str, int, float), field.name


def test_scan_help_documents_the_organization_options():
    shown = CliRunner().invoke(main, ["scan", "--help"], terminal_width=200).output
    for option in ("--ou OU_ID", "--management-group ID", "--organization ID", "--folder ID"):
        assert option in shown
