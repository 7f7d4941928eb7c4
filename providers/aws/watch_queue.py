"""``cloudwall watch --aws-queue URL``: CloudTrail records pushed through EventBridge to SQS.

An EventBridge rule matching ``"detail-type": ["AWS API Call via CloudTrail"]`` for the EC2 and
GuardDuty calls that change firewalls delivers each call within seconds (CloudTrail's event
history can take many minutes). Each message body is the EventBridge event; its ``detail`` is
the CloudTrail record, read by the same code as a LookupEvents item.

Messages are deleted only after the loop has handled their batch (``acknowledge``): a watcher
stopped in between sees them again after the visibility timeout, and the loop's event-id
deduplication drops the repeat. A message that is not a CloudTrail call, or is for an account
or region this watch does not cover, is reported and deleted (it would come back forever).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from providers.aws.fetch import classify
from providers.aws.watch import audit_event
from providers.guard import guarded
from providers.watching import AuditEvent
from scanner.model import CollectionError, Scope

DETAIL_TYPE = "AWS API Call via CloudTrail"
MAX_MESSAGES = 10  # SQS ReceiveMessage takes at most 10
MAX_WAIT = 20  # seconds: SQS long polling's longest wait


@dataclass(frozen=True, slots=True)
class Received:
    """One receive: the watched calls, what could not be used (one line each), and the
    receipt handles to delete once they are handled."""

    events: tuple[AuditEvent, ...] = ()
    problems: tuple[str, ...] = ()
    receipts: tuple[str, ...] = ()


def queue_region(url: str, default: str) -> str:
    """``https://sqs.eu-west-1.amazonaws.com/123456789012/name`` -> ``eu-west-1``."""
    host = (urlsplit(url).hostname or "").split(".")
    if len(host) >= 3 and host[0] == "sqs":
        return host[1]
    return default


def parse_message(body: str, scopes: Mapping[tuple[str, str], Scope]) -> AuditEvent | str | None:
    """The watched call one message carries; a string says why it cannot be used; None for
    a call that changes no firewall."""
    try:
        event = json.loads(body)
    except ValueError:
        return "a message that is not JSON"
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE or \
            not isinstance(event.get("detail"), dict):
        return "a message that is not an EventBridge \"AWS API Call via CloudTrail\" event"
    detail = event["detail"]
    account = str(detail.get("recipientAccountId") or event.get("account") or "")
    region = str(detail.get("awsRegion") or event.get("region") or "")
    scope = scopes.get((account, region))
    if scope is None:
        name = detail.get("eventName") or "?"
        return f"a {name} call in account {account or '?'} region {region or '?'}, " \
               "which this watch does not cover"
    built = guarded(scope, "CloudTrail", "a queue message",
                    lambda: audit_event(scope, detail, fallback={"EventId": event.get("id")}))
    return built.reason if isinstance(built, CollectionError) else built


class EventQueue:
    """The SQS queue the EventBridge rule feeds."""

    provider = "aws"  # the cloud whose audit logs this queue stands in for

    def __init__(self, url: str, make_client: Callable[[str, str], Any],
                 scopes: Sequence[Scope], home_region: str) -> None:
        self.url = url
        self._client = make_client("sqs", queue_region(url, home_region))
        self._scopes = {(s.account, s.region): s for s in scopes if s.provider == "aws"}

    def receive(self, wait: float) -> Received:
        """Waits up to ``wait`` seconds (long polling) for messages."""
        try:
            answer = self._client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=max(0, min(MAX_WAIT, int(wait))))
        except Exception as exc:  # noqa: BLE001 - classify() re-raises non-SDK errors
            code, reason = classify(exc)
            hint = "; allow sqs:ReceiveMessage on the queue" if code == "AccessDenied" else ""
            return Received(problems=(f"cannot read the queue ({code}): {reason}{hint}",))
        events, problems, receipts = [], [], []
        for message in answer.get("Messages") or ():
            receipts.append(message["ReceiptHandle"])
            parsed = parse_message(message.get("Body") or "", self._scopes)
            if isinstance(parsed, str):
                problems.append(f"queue message {message.get('MessageId', '?')} ignored: "
                                f"{parsed}")
            elif parsed is not None:
                events.append(parsed)
        return Received(tuple(events), tuple(problems), tuple(receipts))

    def acknowledge(self, receipts: Sequence[str]) -> list[str]:
        """Delete handled messages; returns one line per message that could not be."""
        problems = []
        for start in range(0, len(receipts), MAX_MESSAGES):
            chunk = receipts[start:start + MAX_MESSAGES]
            try:
                answer = self._client.delete_message_batch(QueueUrl=self.url, Entries=[
                    {"Id": str(n), "ReceiptHandle": r} for n, r in enumerate(chunk)])
            except Exception as exc:  # noqa: BLE001
                code, reason = classify(exc)
                problems.append(f"cannot delete {len(chunk)} handled message(s) ({code}): "
                                f"{reason}; they will be received again and deduplicated")
                continue
            for failed in answer.get("Failed") or ():
                problems.append(f"cannot delete a handled message ({failed.get('Code')}); it "
                                "will be received again and deduplicated")
        return problems
