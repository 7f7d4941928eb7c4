"""A local AWS endpoint for what moto does not do: EC2 pagination, faults, GuardDuty IP sets,
CloudTrail event history, Security Hub per-item import failures.

boto3 is pointed at it with ``AWS_ENDPOINT_URL_EC2`` / ``_GUARDDUTY`` / ``_CLOUDTRAIL``:

- EC2: Describe calls are answered a page at a time (``NextToken``), from moto's full answer or
  from an estate held in memory (the benchmark's thousands of groups); every other call is
  forwarded to moto unchanged, and recorded as a CloudTrail management event.
- GuardDuty (REST JSON): detectors, trusted IP sets and threat intel sets, paginated.
- CloudTrail (JSON 1.1): ``LookupEvents`` over the recorded events, newest first, paginated;
  ``hold``/``release`` keep events back and deliver them late, out of order or twice.
- Faults by (service, region, action): an error code (AccessDenied, throttling, a disabled
  region, InternalError) for a number of calls or for good, a delay that outlasts the client's
  timeout, or a body cut short (``Truncated``: the XML ends half-way, with a matching
  ``Content-Length``; ``Dropped``: the connection closes half-way through the promised body).
- Paging faults by EC2 action (``paging_faults``): ``repeat`` answers the first page with the
  same ``NextToken`` forever, ``cycle`` alternates two tokens, ``endless`` answers empty pages
  with a new token every time.
- ``latency``: seconds added to every answer, as a real endpoint's round trip.
- Without an upstream, STS ``GetCallerIdentity`` is answered for ``DEFAULT_ACCOUNT`` so a whole
  scan can run against in-memory estates alone.

The region, service and access key come from the SigV4 ``Authorization`` header, exactly as AWS
routes them; signatures are not checked.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .aws_wire import ec2_error, ec2_parse, ec2_response, query_error
from .quiet import QuietHTTPServer

DEFAULT_ACCOUNT = "123456789012"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/")
# EC2 describe action -> result key of its paginated answer
EC2_PAGED = {
    "DescribeVpcs": "Vpcs",
    "DescribeSubnets": "Subnets",
    "DescribeRouteTables": "RouteTables",
    "DescribeInternetGateways": "InternetGateways",
    "DescribeSecurityGroups": "SecurityGroups",
    "DescribeSecurityGroupRules": "SecurityGroupRules",
    "DescribeNetworkAcls": "NetworkAcls",
    "DescribeNetworkInterfaces": "NetworkInterfaces",
    "DescribeInstances": "Reservations",
    "DescribeManagedPrefixLists": "PrefixLists",
    "GetManagedPrefixListEntries": "Entries",
}
_EC2_STATUS = {"UnauthorizedOperation": 403, "AuthFailure": 401, "RequestLimitExceeded": 503,
               "OptInRequired": 401, "InternalError": 500, "Unavailable": 503}
_JSON_STATUS = {"AccessDeniedException": 403, "TooManyRequestsException": 429,
                "ThrottlingException": 400}
_EC2_RESOURCE_PARAMS = {"GroupId": "AWS::EC2::SecurityGroup",
                        "NetworkAclId": "AWS::EC2::NetworkAcl",
                        "NetworkInterfaceId": "AWS::EC2::NetworkInterface",
                        "SubnetId": "AWS::EC2::Subnet",
                        "InstanceId": "AWS::EC2::Instance"}


@dataclass
class Fault:
    service: str
    region: str | None  # None: every region
    action: str | None  # None: every action of the service
    code: str  # an error code, or "Delay"
    remaining: int | None = None  # None: for good
    delay: float = 0.0

    def matches(self, service: str, region: str, action: str) -> bool:
        return (self.service == service and self.region in (None, region)
                and self.action in (None, action) and self.remaining != 0)


class AwsStub:
    def __init__(self, upstream: str | None = None, page_size: int = 2) -> None:
        self.upstream = upstream
        self.default_page_size = page_size
        self._lock = threading.Lock()
        self._server: QuietHTTPServer | None = None
        self.reset()

    # --- control ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.page_size = self.default_page_size
            self.faults: list[Fault] = []
            self.paging_faults: dict[str, str] = {}  # EC2 action -> repeat | cycle | endless
            self.calls: list[tuple[str, str, str]] = []  # (service, region, action)
            self.ec2_estate: dict[tuple[str, str], dict[str, Any]] = {}
            self.guardduty: dict[tuple[str, str], dict[str, dict]] = {}
            self.events: dict[tuple[str, str], list[dict]] = {}
            self.record_events = True
            # While holding, recorded events are kept back from LookupEvents (an event history
            # that lags); ``release`` delivers them late, with their original times.
            self.holding = False
            self.held: list[tuple[tuple[str, str], dict]] = []
            # Seconds added to every answer, as a real endpoint's round trip (benchmarks).
            self.latency = 0.0
            # Serve in-memory estates from pre-rendered pages after the first read (benchmarks
            # time the client, not this server's XML writer).
            self.cache_pages = False
            self._page_cache: dict[tuple, bytes] = {}
            self._accounts: dict[str, str] = {}
            # Security Hub finding id -> [error code, times left]: BatchImportFindings answers
            # these as failed items (the rest go to moto).
            self.finding_rejections: dict[str, list] = {}

    def clear_faults(self) -> None:
        """Forget faults and call counts; keep every estate."""
        with self._lock:
            self.faults = []
            self.paging_faults = {}
            self.calls = []

    def fail(self, service: str, code: str, region: str | None = None,
             action: str | None = None, times: int | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self.faults.append(Fault(service, region, action, code, times, delay))

    def reject_finding(self, finding_id: str, code: str, times: int = 1) -> None:
        """BatchImportFindings fails this finding with ``code`` the next ``times`` times."""
        with self._lock:
            self.finding_rejections[finding_id] = [code, times]

    def pages(self, action: str, region: str | None = None) -> int:
        return sum(1 for _, r, a in self.calls if a == action and region in (None, r))

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> AwsStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- shared helpers --------------------------------------------------------------------

    def _new_id(self) -> str:
        return uuid.uuid4().hex  # GuardDuty ids are 32 hex digits

    def account_for(self, access_key: str) -> str:
        """The account moto knows these credentials by (assumed roles live in other accounts)."""
        with self._lock:
            if access_key in self._accounts:
                return self._accounts[access_key]
        account = DEFAULT_ACCOUNT
        if self.upstream:
            status, _, body = self.forward("POST", "/", {
                "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20200101/"
                                 "us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
                "Content-Type": "application/x-www-form-urlencoded"},
                b"Action=GetCallerIdentity&Version=2011-06-15")
            found = re.search(rb"<Account>(\d+)</Account>", body)
            if status == 200 and found:
                account = found.group(1).decode()
        with self._lock:
            self._accounts[access_key] = account
        return account

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes):
        assert self.upstream, "no upstream server configured"
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            skip = {"host", "content-length", "connection", "accept-encoding"}
            sent = {k: v for k, v in headers.items() if k.lower() not in skip}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def record(self, account: str, region: str, access_key: str, source: str, name: str,
               params: dict, resources: list[dict], response: dict | None, address: str):
        if not self.record_events:
            return
        now = datetime.now(timezone.utc)
        event_id = str(uuid.uuid4())
        arn = f"arn:aws:iam::{account}:user/{access_key}"
        detail = {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": access_key, "arn": arn,
                             "accountId": account, "accessKeyId": access_key,
                             "userName": access_key},
            "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": address,
            "userAgent": "Boto3",
            "requestParameters": params,
            "responseElements": response,
            "requestID": str(uuid.uuid4()),
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
        }
        event = {
            "EventId": event_id, "EventName": name, "ReadOnly": "false",
            "AccessKeyId": access_key, "EventTime": now.timestamp(), "EventSource": source,
            "Username": access_key, "Resources": resources,
            "CloudTrailEvent": json.dumps(detail),
        }
        with self._lock:
            if self.holding:
                self.held.append(((account, region), event))
            else:
                self.events.setdefault((account, region), []).append(event)

    def hold(self) -> None:
        with self._lock:
            self.holding = True

    def release(self, duplicate: bool = False) -> None:
        """Deliver the held events (newest first, so they arrive out of order); with
        ``duplicate``, each one twice, as CloudTrail may."""
        with self._lock:
            self.holding = False
            for where, event in reversed(self.held):
                for _ in range(2 if duplicate else 1):
                    self.events.setdefault(where, []).append(dict(event))
            self.held = []

    def page(self, items: list, max_results: Any, token: Any) -> tuple[list, str | None]:
        size = self.page_size
        if max_results:
            size = min(size, int(max_results)) if size else int(max_results)
        start = int(str(token).removeprefix("page-")) if token else 0
        if not size:
            return items[start:], None
        end = start + size
        return items[start:end], (f"page-{end}" if end < len(items) else None)


class _Handler(BaseHTTPRequestHandler):
    owner: AwsStub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        found = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        access_key, region, service = found.groups() if found else ("", "us-east-1", "")
        stub = self.owner
        action = self._action(service, method, body)
        with stub._lock:
            stub.calls.append((service, region, action))
            fault = next((f for f in stub.faults if f.matches(service, region, action)), None)
            if fault is not None and fault.remaining is not None:
                fault.remaining -= 1
        if stub.latency:
            time.sleep(stub.latency)
        if fault is not None:
            if fault.code == "Delay":
                time.sleep(fault.delay)  # longer than the client waits: it has given up
                self.close_connection = True
                return
            if fault.code in ("Truncated", "Dropped"):
                self._cut(fault.code)
                return
            self._fault(service, fault.code)
            return
        account = stub.account_for(access_key)
        handler = {"ec2": self._ec2, "guardduty": self._guardduty,
                   "cloudtrail": self._cloudtrail,
                   "securityhub": self._securityhub}.get(service, self._passthrough)
        try:
            handler(method, body, account, region, access_key, action)
        except OSError as exc:  # moto gone (the session is ending) or unreachable
            self._send(502, f"upstream unavailable: {exc}".encode(), "text/plain")

    do_GET = lambda self: self._route("GET")  # noqa: E731
    do_POST = lambda self: self._route("POST")  # noqa: E731
    do_DELETE = lambda self: self._route("DELETE")  # noqa: E731

    def _action(self, service: str, method: str, body: bytes) -> str:
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            return parse_qs(body.decode()).get("Action", [""])[0]  # EC2, STS, IAM: Query
        if self.headers.get("X-Amz-Target"):  # JSON protocols: CloudTrail, Organizations
            return self.headers["X-Amz-Target"].rsplit(".", 1)[-1]
        if service == "guardduty":
            return _guardduty_action(method, urlsplit(self.path).path)
        if service == "securityhub":
            path = urlsplit(self.path).path
            return {"/findings/import": "BatchImportFindings", "/findings": "GetFindings"}.get(
                path, path)
        return ""

    def _fault(self, service: str, code: str) -> None:
        message = f"stubbed {code}"
        if service == "ec2":
            self._send(_EC2_STATUS.get(code, 400), ec2_error(code, message), "text/xml")
            return
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", ""):
            self._send(403 if "Denied" in code else 400, query_error(code, message), "text/xml")
            return
        body = json.dumps({"__type": code, "message": message}).encode()
        self._send(_JSON_STATUS.get(code, 400), body, "application/json",
                   {"x-amzn-ErrorType": code})

    def _cut(self, how: str) -> None:
        """A body cut short: by a proxy that fixed up the length, or by a dropped connection."""
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeVpcsResponse xmlns="' \
            b'http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><vpcSet><item>'
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body) * (2 if how == "Dropped" else 1)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _passthrough(self, method, body, *_args) -> None:
        if not self.owner.upstream:
            self._local(body)
            return
        status, headers, answer = self.owner.forward(method, self.path, dict(self.headers), body)
        self._send(status, answer, headers.get("Content-Type", "text/xml"))

    def _local(self, body: bytes) -> None:
        """No moto behind the stub: who the caller is, and nothing else."""
        action = parse_qs(body.decode()).get("Action", [""])[0]
        if action != "GetCallerIdentity":
            self._send(400, query_error("InvalidAction", f"{action} is not served here"),
                       "text/xml")
            return
        answer = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>arn:aws:iam::{DEFAULT_ACCOUNT}:user/scanner</Arn>"
            f"<UserId>AIDAEXAMPLE</UserId><Account>{DEFAULT_ACCOUNT}</Account>"
            "</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
            "</ResponseMetadata></GetCallerIdentityResponse>")
        self._send(200, answer.encode(), "text/xml")

    # --- Security Hub -----------------------------------------------------------------------

    def _securityhub(self, method, body, *_args) -> None:
        """Per-item failures of BatchImportFindings, as Security Hub reports them (HTTP 200 with
        ``FailedFindings``); everything else is moto's."""
        stub = self.owner
        if urlsplit(self.path).path != "/findings/import" or not stub.finding_rejections:
            self._passthrough(method, body)
            return
        request = json.loads(body or b"{}")
        failed, kept = [], []
        with stub._lock:
            for finding in request.get("Findings", []):
                rule = stub.finding_rejections.get(finding.get("Id"))
                if rule and rule[1] > 0:
                    rule[1] -= 1
                    failed.append({"Id": finding["Id"], "ErrorCode": rule[0],
                                   "ErrorMessage": f"stubbed {rule[0]}"})
                else:
                    kept.append(finding)
        answer = {"FailedCount": 0, "SuccessCount": 0, "FailedFindings": []}
        if kept:
            status, _, raw = stub.forward(method, self.path, dict(self.headers),
                                          json.dumps({**request, "Findings": kept}).encode())
            if status != 200:
                self._send(status, raw, "application/json")
                return
            answer = json.loads(raw)
        answer["FailedCount"] = answer.get("FailedCount", 0) + len(failed)
        answer["FailedFindings"] = answer.get("FailedFindings", []) + failed
        self._send(200, json.dumps(answer).encode(), "application/json")

    # --- EC2 ------------------------------------------------------------------------------

    def _ec2(self, method, body, account, region, access_key, action) -> None:
        stub = self.owner
        params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if action in EC2_PAGED:
            self._ec2_page(action, params, body, account, region)
            return
        status, headers, answer = stub.forward(method, self.path, dict(self.headers), body)
        if status == 200 and not action.startswith(("Describe", "Get")):
            resources = [{"ResourceType": kind, "ResourceName": value}
                         for key, kind in _EC2_RESOURCE_PARAMS.items()
                         if (value := params.get(key))]
            resources += [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": v}
                          for k, v in params.items() if k.startswith("SecurityGroupId.")]
            request = {k: v for k, v in params.items() if k not in ("Action", "Version")}
            # The ids a create call returns, as CloudTrail's responseElements carry them.
            created = {name.decode(): value.decode() for name, value in re.findall(
                rb"<(groupId|networkAclId|networkInterfaceId)>([^<]+)</", answer)}
            stub.record(account, region, access_key, "ec2.amazonaws.com", action, request,
                        resources, created or None, self.client_address[0])
        self._send(status, answer, headers.get("Content-Type", "text/xml"))

    def _ec2_page(self, action: str, params: dict, body: bytes, account: str,
                  region: str) -> None:
        stub = self.owner
        key = EC2_PAGED[action]
        mode = stub.paging_faults.get(action)
        if mode is not None:
            self._ec2_bad_page(action, key, mode, params.get("NextToken"))
            return
        estate = stub.ec2_estate.get((account, region))
        cache_key = (account, region, action, params.get("MaxResults"), params.get("NextToken"),
                     params.get("PrefixListId"))
        if estate is not None and stub.cache_pages and cache_key in stub._page_cache:
            self._send(200, stub._page_cache[cache_key], "text/xml")
            return
        if estate is not None:
            items = estate.get(key, [])
            if action == "GetManagedPrefixListEntries":
                items = items.get(params.get("PrefixListId"), []) if items else []
        else:
            upstream = {k: v for k, v in params.items() if k not in ("MaxResults", "NextToken")}
            data = "&".join(f"{k}={_quote(v)}" for k, v in upstream.items()).encode()
            status, headers, answer = stub.forward("POST", "/", dict(self.headers), data)
            if status != 200:
                self._send(status, answer, headers.get("Content-Type", "text/xml"))
                return
            items = ec2_parse(action, answer).get(key, [])
        chunk, token = stub.page(list(items), params.get("MaxResults"), params.get("NextToken"))
        result: dict[str, Any] = {key: chunk}
        if token:
            result["NextToken"] = token
        body = ec2_response(action, result)
        if estate is not None and stub.cache_pages:
            stub._page_cache[cache_key] = body
        self._send(200, body, "text/xml")

    def _ec2_bad_page(self, action: str, key: str, mode: str, token: str | None) -> None:
        """A list that never ends: the same token again, two tokens in turn, or new tokens on
        empty pages forever."""
        if mode == "repeat":
            result: dict[str, Any] = {key: [], "NextToken": "same-token"}
        elif mode == "cycle":
            result = {key: [], "NextToken": "token-b" if token == "token-a" else "token-a"}
        else:
            result = {key: [], "NextToken": f"fresh-{uuid.uuid4().hex}"}
        self._send(200, ec2_response(action, result), "text/xml")

    # --- GuardDuty ------------------------------------------------------------------------

    def _guardduty(self, method, body, account, region, access_key, action) -> None:
        stub = self.owner
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        request = json.loads(body or b"{}")
        detectors = stub.guardduty.setdefault((account, region), {})
        out: dict[str, Any] | None = None
        resources: list[dict] = []
        if parts == ["detector"] and method == "POST":
            detector_id = stub._new_id()
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            detectors[detector_id] = {
                "detector": {"createdAt": now, "updatedAt": now,
                             "findingPublishingFrequency": request.get(
                                 "findingPublishingFrequency", "SIX_HOURS"),
                             "serviceRole": f"arn:aws:iam::{account}:role/aws-service-role/"
                                            "guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
                             "status": "ENABLED" if request.get("enable") else "DISABLED",
                             "tags": request.get("tags") or {}},
                "ipset": {}, "threatintelset": {}}
            out = {"detectorId": detector_id}
        elif parts == ["detector"]:
            ids, token = stub.page(sorted(detectors), query.get("maxResults"),
                                   query.get("nextToken"))
            out = {"detectorIds": ids, **({"nextToken": token} if token else {})}
        elif len(parts) >= 2 and parts[1] not in detectors:
            self._json_error(400, "BadRequestException", "The request is rejected because "
                             "the input detectorId is not owned by the current account.")
            return
        elif len(parts) == 2:
            out = detectors[parts[1]]["detector"]
        else:
            kind, sets = parts[2], detectors[parts[1]][parts[2]]
            id_key = "ipSetId" if kind == "ipset" else "threatIntelSetId"
            if len(parts) == 3 and method == "POST":
                set_id = stub._new_id()
                sets[set_id] = {"name": request["name"], "format": request["format"],
                                "location": request["location"],
                                "status": "ACTIVE" if request.get("activate") else "INACTIVE",
                                "tags": request.get("tags") or {}}
                out = {id_key: set_id}
            elif len(parts) == 3:
                ids, token = stub.page(sorted(sets), query.get("maxResults"),
                                       query.get("nextToken"))
                out = {id_key + "s": ids, **({"nextToken": token} if token else {})}
            elif parts[3] not in sets:
                self._json_error(400, "BadRequestException", "The request is rejected "
                                 "because the input ipSetId is not owned by the current account.")
                return
            elif method == "GET":
                out = sets[parts[3]]
            elif method == "DELETE":
                del sets[parts[3]]
                out = {}
            else:
                item = sets[parts[3]]
                for field in ("name", "location"):
                    if field in request:
                        item[field] = request[field]
                if "activate" in request:
                    item["status"] = "ACTIVE" if request["activate"] else "INACTIVE"
                out = {}
            resources = [{"ResourceType": "AWS::GuardDuty::Detector", "ResourceName": parts[1]}]
        if method != "GET":
            params = {"detectorId": parts[1]} if len(parts) > 1 else {}
            params.update(request)
            if len(parts) > 3:
                params[("ipSetId" if parts[2] == "ipset" else "threatIntelSetId")] = parts[3]
            stub.record(account, region, access_key, "guardduty.amazonaws.com", action, params,
                        resources, out, self.client_address[0])
        self._send(200, json.dumps(out).encode(), "application/json")

    def _json_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"__type": code, "message": message}).encode()
        self._send(status, body, "application/json", {"x-amzn-ErrorType": code})

    # --- CloudTrail -----------------------------------------------------------------------

    def _cloudtrail(self, method, body, account, region, access_key, action) -> None:
        if action != "LookupEvents":
            self._json_error(400, "UnknownOperationException", f"{action} is not served here")
            return
        request = json.loads(body or b"{}")
        events = list(self.owner.events.get((account, region), ()))
        start, end = request.get("StartTime"), request.get("EndTime")
        for attribute in request.get("LookupAttributes") or ():
            key, value = attribute["AttributeKey"], attribute["AttributeValue"]
            if key == "ResourceName":
                events = [e for e in events
                          if any(r["ResourceName"] == value for r in e["Resources"])]
            elif key == "EventName":
                events = [e for e in events if e["EventName"] == value]
            elif key == "EventSource":
                events = [e for e in events if e["EventSource"] == value]
            elif key == "ReadOnly":
                events = [e for e in events if e["ReadOnly"] == value]
        events = [e for e in events if (start is None or e["EventTime"] >= start - 1)
                  and (end is None or e["EventTime"] <= end + 1)]
        events.sort(key=lambda e: -e["EventTime"])
        chunk, token = self.owner.page(events, request.get("MaxResults") or 50,
                                       request.get("NextToken"))
        out = {"Events": chunk, **({"NextToken": token} if token else {})}
        self._send(200, json.dumps(out).encode(), "application/x-amz-json-1.1")


def _guardduty_action(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    noun = {"ipset": "IPSet", "threatintelset": "ThreatIntelSet"}
    if len(parts) <= 2:
        if len(parts) == 1:
            return "CreateDetector" if method == "POST" else "ListDetectors"
        return {"GET": "GetDetector", "DELETE": "DeleteDetector"}.get(method, "UpdateDetector")
    name = noun.get(parts[2], parts[2])
    if len(parts) == 3:
        return ("Create" if method == "POST" else "List") + name + ("s" if method != "POST"
                                                                    else "")
    return {"GET": "Get", "DELETE": "Delete"}.get(method, "Update") + name


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
