"""Accounts under organizational units (``--ou``), found by walking the OU tree.

Each OU is read with ListAccountsForParent (its own accounts) and
ListOrganizationalUnitsForParent (its child OUs), both paginated under the shared page guard,
down to the leaves. An OU that cannot be listed (denied, unknown, a list that never ends) is a
CollectionError naming it: what is below it is unknown, never an empty OU. Accounts that are not
ACTIVE (suspended, or on their way to being closed) cannot be read; they are returned as such so
they are reported too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.aws.fetch import PROVIDER, ClientFactory, aws_pages, classify
from providers.paging import PagingError
from scanner.errors import ConfigError
from scanner.model import CollectionError

# AWS Organizations' own id patterns: an OU, or the root (the whole organization).
_OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
_ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}")
# Organizations pages are small: 20 is the most ListAccountsForParent returns at once.
PAGE_SIZE = 20
LIST_PERMISSIONS = ("organizations:ListAccountsForParent and "
                    "organizations:ListOrganizationalUnitsForParent")


def parse_ou(value: str) -> str:
    """An ``--ou`` value as the id Organizations expects; a mistyped one is a usage error."""
    text = value.strip().lower()
    if _OU_ID.fullmatch(text) or _ROOT_ID.fullmatch(text):
        return text
    raise ConfigError(f"--ou {value!r} is not an organizational unit id",
                      "expected ou-ab12-cd34ef56 (or the root, r-ab12), as "
                      "`aws organizations list-organizational-units-for-parent` shows them")


def account_state(account: Mapping[str, Any]) -> str:
    """``State`` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED...) of an Account object; the API
    sent ``Status`` alone before it added ``State``."""
    return str(account.get("State") or account.get("Status") or "").upper()


@dataclass(frozen=True, slots=True)
class OuMembers:
    """What is below the OUs asked for."""

    active: dict[str, str]  # account id -> name, in the order found
    inactive: dict[str, tuple[str, str]]  # account id -> (name, state)
    errors: tuple[CollectionError, ...]  # OUs that could not be listed


def sort_accounts(accounts: Iterable[Mapping[str, Any]], active: dict[str, str],
                  inactive: dict[str, tuple[str, str]]) -> None:
    """File Account objects of a ListAccountsForParent page under active or not."""
    for account in accounts:
        account_id = str(account.get("Id") or "")
        if not account_id:
            continue
        name = str(account.get("Name") or "")
        state = account_state(account)
        if state == "ACTIVE":
            active[account_id] = name
        else:
            inactive[account_id] = (name, state or "in an unknown state")


def accounts_under(clients: ClientFactory, home: str, ous: Iterable[str]) -> OuMembers:
    """Every account below ``ous``, recursively through child OUs; each OU read once."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = clients("organizations", home)
    active: dict[str, str] = {}
    inactive: dict[str, tuple[str, str]] = {}
    errors: list[CollectionError] = []
    pending = list(dict.fromkeys(ous))
    seen: set[str] = set()
    while pending:
        parent = pending.pop(0)
        if parent in seen:
            continue
        seen.add(parent)
        try:
            found: dict[str, str] = {}
            gone: dict[str, tuple[str, str]] = {}
            for page in aws_pages(client, "list_accounts_for_parent", "Accounts", PAGE_SIZE,
                                  clients.limits, ParentId=parent):
                sort_accounts(page.get("Accounts") or (), found, gone)
            children = [str(ou["Id"]) for page in aws_pages(
                client, "list_organizational_units_for_parent", "OrganizationalUnits",
                PAGE_SIZE, clients.limits, ParentId=parent)
                for ou in page.get("OrganizationalUnits") or () if ou.get("Id")]
        except (BotoCoreError, ClientError, PagingError) as exc:
            errors.append(ou_error(parent, exc))
            continue
        active.update(found)
        inactive.update(gone)
        pending.extend(children)
    return OuMembers(active, inactive, tuple(errors))


def ou_error(parent: str, exc: BaseException) -> CollectionError:
    """An OU that could not be listed: everything below it is unknown."""
    code, reason = classify(exc)
    if code == "ParentNotFoundException":
        hint = (f"check --ou {parent} against `aws organizations "
                "list-organizational-units-for-parent`: it is not in this organization")
    elif isinstance(exc, PagingError):
        hint = exc.hint
    else:
        hint = (f"allow {LIST_PERMISSIONS} (management or delegated administrator account)")
    return CollectionError(provider=PROVIDER, account=parent, region="",
                           reason=f"cannot list the accounts under {parent}: {reason}",
                           hint=hint, code=code)


def inactive_error(account_id: str, name: str, state: str) -> CollectionError:
    label = f"{account_id} ({name})" if name else account_id
    return CollectionError(provider=PROVIDER, account=account_id, region="",
                           reason=f"account {label} is {state.lower()} in the organization: "
                                  "it cannot be read",
                           hint="reactivate the account, or move it out of the OU scanned",
                           code=f"Account{state.title().replace('_', '')}")
