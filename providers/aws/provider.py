"""AwsProvider: credentials, accounts and regions, and collection per (account, region).

Credentials come from boto3's standard chain (environment, shared config and ``--profile``,
SSO, container and instance roles). ``--role-arn`` assumes one role first; ``--org-role NAME``
assumes that role in every active account of the AWS Organization (``--accounts`` picks some,
``--ou`` takes those below organizational units).
An account that cannot be entered, or whose regions cannot be listed, is reported as a
CollectionError, never skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from providers.aws.fetch import (
    PROVIDER,
    ClientFactory,
    aws_pages,
    collection_error,
    fetch_scope,
)
from providers.aws.normalize import normalize_scope
from providers.aws.organization import accounts_under, inactive_error
from providers.base import ProviderSettings
from providers.paging import PagingError
from providers.watching import AuditEvent, Reread
from scanner.errors import CloudwallError, ConfigError, ProviderError
from scanner.model import Attribution, CollectedItem, CollectionError, DriftItem, Scope

ROLE_SESSION_NAME = "cloudwall-scan"


@dataclass(frozen=True, slots=True)
class Account:
    """One account cloudwall can read, with the client factory for its credentials."""

    account_id: str
    name: str
    clients: ClientFactory | None  # None: the account could not be entered
    error: CollectionError | None = None


class AwsProvider:
    name: ClassVar[str] = PROVIDER

    def __init__(self, settings: ProviderSettings) -> None:
        if settings.role_arn:
            _account_of_role(settings.role_arn)  # a typo fails before any cloud call
        self.settings = settings
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] | None = None

    # --- credentials and accounts -------------------------------------------------------

    def _base_session(self) -> Any:
        from botocore.exceptions import BotoCoreError, ProfileNotFound

        try:
            return new_session(profile_name=self.settings.profile)
        except ProfileNotFound as exc:  # some botocore versions check the profile this early
            raise ConfigError(f"AWS profile {self.settings.profile!r} not found",
                              "check --profile against ~/.aws/config") from exc
        except BotoCoreError as exc:  # the shared config or credentials file cannot be read
            raise config_file_error(exc) from exc

    def _home_region(self, session: Any) -> str:
        if self.settings.regions:
            return self.settings.regions[0]
        return session.region_name or "us-east-1"

    def accounts(self) -> dict[str, Account]:
        """Every account of this scan, entered once (thread-safe, cached)."""
        with self._lock:
            if self._accounts is None:
                self._accounts = self._enter_accounts()
            return self._accounts

    def _enter_accounts(self) -> dict[str, Account]:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConfigParseError,
            ProfileNotFound,
        )

        base = self._base_session()
        base_clients = ClientFactory(base, self.settings)
        try:
            home = self._home_region(base)
            identity = base_clients("sts", home).get_caller_identity()
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile {self.settings.profile!r} not found",
                              "check --profile against ~/.aws/config") from exc
        except ConfigParseError as exc:
            raise config_file_error(exc) from exc
        except (BotoCoreError, ClientError) as exc:
            raise ProviderError(
                f"cannot use the AWS credentials: {exc}",
                "configure credentials (environment, --profile, SSO or an instance role)",
                provider=PROVIDER) from exc
        own = identity["Account"]
        partition = identity["Arn"].split(":")[1]
        if self.settings.role_arn:
            target = _account_of_role(self.settings.role_arn)
            return {target: self._assume(base_clients, home, target, self.settings.role_arn, "")}
        if not self.settings.org_role:
            return {own: Account(own, _alias(base_clients, home), base_clients)}
        out: dict[str, Account] = {}
        if self.settings.ous:
            # --ou: the accounts below the OUs, and any named with --accounts as well.
            below = accounts_under(base_clients, home, self.settings.ous)
            members = self._org_accounts(base_clients, home) if self.settings.accounts else {}
            members.update(below.active)
            wanted = (*self.settings.accounts, *below.active)
            for error in below.errors:
                out[error.account] = Account(error.account, "", None, error)
            for account_id, (name, state) in below.inactive.items():
                out[account_id] = Account(account_id, name, None,
                                          inactive_error(account_id, name, state))
        else:
            members = self._org_accounts(base_clients, home)
            wanted = self.settings.accounts or tuple(members)
        jobs = []
        with ThreadPoolExecutor(max_workers=max(1, self.settings.max_workers)) as pool:
            for account_id in dict.fromkeys(wanted):
                if account_id in out:
                    continue
                if account_id not in members:
                    out[account_id] = Account(account_id, "", None, CollectionError(
                        provider=PROVIDER, account=account_id, region="",
                        reason="not an active account of the organization",
                        hint="check --accounts against `aws organizations list-accounts`",
                        code="NotFound"))
                elif account_id == own:
                    # The caller's own account is read with the caller's credentials.
                    out[own] = Account(own, members[own], base_clients)
                else:
                    role = f"arn:{partition}:iam::{account_id}:role/{self.settings.org_role}"
                    jobs.append(pool.submit(self._assume, base_clients, home, account_id, role,
                                            members[account_id]))
            for job in jobs:
                account = job.result()
                out[account.account_id] = account
        return out

    def _org_accounts(self, clients: ClientFactory, home: str) -> dict[str, str]:
        """Active member accounts: id -> name."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            members = {}
            for page in aws_pages(clients("organizations", home), "list_accounts", "Accounts",
                                  20, clients.limits):
                for account in page.get("Accounts") or ():
                    state = account.get("State") or account.get("Status")
                    if state == "ACTIVE":
                        members[account["Id"]] = account.get("Name", "")
            return members
        except (BotoCoreError, ClientError, PagingError) as exc:
            raise ProviderError(
                f"cannot list the organization's accounts: {exc}",
                "allow organizations:ListAccounts (management or delegated administrator "
                "account), or scan one account with --role-arn", provider=PROVIDER) from exc

    def _assume(self, clients: ClientFactory, home: str, account_id: str, role_arn: str,
                name: str) -> Account:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            credentials = clients("sts", home).assume_role(
                RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
        except (BotoCoreError, ClientError) as exc:
            scope = Scope(PROVIDER, account_id, "", name)
            error = collection_error(scope, None, "sts:AssumeRole", exc)
            return Account(account_id, name, None, CollectionError(
                provider=PROVIDER, account=account_id, region="",
                reason=f"cannot assume {role_arn}: {error.reason}",
                hint=f"allow sts:AssumeRole on {role_arn} and trust the scanning identity "
                     "in that role", code=error.code))
        session = new_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=home,
        )
        assumed = ClientFactory(session, self.settings)
        return Account(account_id, name or _alias(assumed, home), assumed)

    # --- the Provider protocol ----------------------------------------------------------

    def discover_scopes(self) -> Iterator[Scope | CollectionError]:
        accounts = sorted(self.accounts().values(), key=lambda a: a.account_id)
        with ThreadPoolExecutor(max_workers=max(1, self.settings.max_workers)) as pool:
            for result in pool.map(self._regions_of, accounts):
                yield from result

    def _regions_of(self, account: Account) -> list[Scope | CollectionError]:
        from botocore.exceptions import BotoCoreError, ClientError

        if account.clients is None:
            assert account.error is not None
            return [account.error]
        regions = list(self.settings.regions)
        if not regions:
            probe = Scope(PROVIDER, account.account_id, "", account.name)
            try:
                ec2 = account.clients("ec2", self._home_region(account.clients.session))
                answer = ec2.describe_regions()
                regions = sorted(r["RegionName"] for r in answer.get("Regions") or ())
            except (BotoCoreError, ClientError) as exc:
                error = collection_error(probe, None, "ec2:DescribeRegions", exc)
                return [CollectionError(
                    provider=PROVIDER, account=account.account_id, region="",
                    reason=f"cannot list the enabled regions: {error.reason}",
                    hint="allow ec2:DescribeRegions, or name the regions with --regions",
                    code=error.code)]
        return [Scope(PROVIDER, account.account_id, r, account.name) for r in regions]

    def collect(self, scope: Scope) -> Iterator[CollectedItem]:
        account = self.accounts().get(scope.account)
        if account is None or account.clients is None:
            yield account.error if account and account.error else CollectionError(
                provider=PROVIDER, account=scope.account, region=scope.region,
                reason="the account is not part of this scan", code="NotFound")
            return
        raw, errors = fetch_scope(account.clients, scope)
        yield from errors
        yield from normalize_scope(scope, raw)

    # --- the WatchSource protocol (providers.watching) -----------------------------------

    def audit_events(self, scope: Scope, start: datetime,
                     end: datetime) -> Iterator[AuditEvent | CollectionError]:
        from providers.aws.watch import lookup_events

        account = self.accounts().get(scope.account)
        if account is None or account.clients is None:
            yield self._not_entered(scope, account)
            return
        yield from lookup_events(account.clients, scope, start, end)

    def reread(self, scope: Scope, targets: Sequence[str]) -> Reread:
        from providers.aws.watch import reread

        account = self.accounts().get(scope.account)
        if account is None or account.clients is None:
            return Reread(scope, (self._not_entered(scope, account),))
        return reread(account.clients, scope, targets)

    @staticmethod
    def _not_entered(scope: Scope, account: Account | None) -> CollectionError:
        return account.error if account and account.error else CollectionError(
            provider=PROVIDER, account=scope.account, region=scope.region,
            reason="the account is not part of this scan", code="NotFound")

    def attribute(self, items: Sequence[DriftItem],
                  since: datetime) -> Mapping[str, tuple[Attribution, ...]]:
        from providers.aws.audit import attribute_items

        try:
            accounts = self.accounts()
        except CloudwallError as exc:  # no usable credentials: say so on every item
            reason = f"CloudTrail not consulted: {exc.message}"
            return {i.drift_id: (Attribution(unavailable_reason=reason),)
                    for i in items if i.provider == PROVIDER}
        return attribute_items(accounts, items, since, max_workers=self.settings.max_workers)


_LOADER_LOCK = threading.Lock()
_LOADER: list[Any] = []


def new_session(**kwargs: Any) -> Any:
    """A boto3 Session sharing one botocore data loader with every other one.

    Each session would otherwise parse the service models again (EC2's alone takes most of a
    second), once per account of an organization scan.
    """
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(core.get_component("data_loader"))
        core.register_component("data_loader", _LOADER[0])
    return boto3.Session(botocore_session=core, **kwargs)


def config_file_error(exc: BaseException) -> ConfigError:
    """The shared AWS config or credentials file (or a value in it) cannot be used."""
    return ConfigError(f"cannot read the AWS configuration: {exc}",
                       "fix the file (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, default "
                       "~/.aws/config and ~/.aws/credentials) or the AWS_* variable it names")


def _account_of_role(role_arn: str) -> str:
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[4].isdigit() or \
            not parts[5].startswith("role/"):
        raise ConfigError(f"not an IAM role ARN: {role_arn!r}",
                          "expected arn:aws:iam::123456789012:role/NAME")
    return parts[4]


def _alias(clients: ClientFactory, home: str) -> str:
    """The account alias, if any; it only labels the scope, so failure to read it is fine."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aliases = clients("iam", home).list_account_aliases().get("AccountAliases") or []
    except (BotoCoreError, ClientError):
        return ""
    return aliases[0] if aliases else ""
