"""The catalogue of sensitive services, as data.

Merged from what the major posture products check (AWS Security Hub, GCP Security Health
Analytics, the CIS benchmarks and open-source scanners). A rule's protocol and port set expand to
every service they cover, so ``0-65535``, ``20-25`` or protocol ``all`` name each service inside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from scanner.model import Severity
from scanner.netmath import ALL_PROTOCOLS, PortSet, intervals_overlap


@dataclass(frozen=True, slots=True)
class Service:
    key: str  # stable slug used in policy packs: ssh, rdp, mysql, ...
    name: str
    ports: tuple[tuple[str, PortSet], ...]  # (protocol, ports) pairs
    severity: Severity
    references: tuple[str, ...] = ()
    remote_admin: bool = False  # remote administration (SSH, RDP, WinRM, VNC, Telnet)

    def exposed_by(self, protocol: str, ports: PortSet) -> PortSet:
        """The ports of this service that a rule on ``protocol``/``ports`` admits."""
        hit = PortSet()
        for service_protocol, service_ports in self.ports:
            # Most rules miss most services: the overlap test allocates nothing.
            if protocol in (ALL_PROTOCOLS, service_protocol) and intervals_overlap(
                    service_ports.intervals, ports.intervals):
                hit = hit.union(service_ports.intersection(ports))
        return hit


def _svc(key, name, spec, severity, refs=(), remote_admin=False) -> Service:
    """``spec`` is "tcp:22;udp:3389" style: protocol:ports pairs separated by semicolons."""
    pairs = []
    for part in spec.split(";"):
        protocol, _, ports = part.partition(":")
        pairs.append((protocol, PortSet.parse(ports)))
    return Service(key, name, tuple(pairs), Severity(severity), tuple(refs), remote_admin)


SERVICES: tuple[Service, ...] = (
    _svc("ssh", "SSH", "tcp:22;sctp:22", "high",
         ("CIS AWS/Azure/GCP", "FSBP EC2.13/EC2.53/EC2.54", "SCC OPEN_SSH_PORT"), True),
    _svc("rdp", "RDP", "tcp:3389;udp:3389", "high",
         ("CIS AWS/Azure/GCP", "FSBP EC2.14/EC2.53/EC2.54", "SCC OPEN_RDP_PORT"), True),
    _svc("winrm", "WinRM", "tcp:5985,5986", "high", ("Defender for Cloud JIT",), True),
    _svc("telnet", "Telnet", "tcp:23", "high", ("FSBP EC2.19", "SCC OPEN_TELNET_PORT"), True),
    _svc("ftp", "FTP", "tcp:20,21", "high", ("FSBP EC2.19", "SCC OPEN_FTP_PORT")),
    _svc("smtp", "SMTP", "tcp:25", "medium", ("FSBP EC2.19", "SCC OPEN_SMTP_PORT")),
    _svc("pop3", "POP3", "tcp:110", "medium", ("FSBP EC2.19", "SCC OPEN_POP3_PORT")),
    _svc("imap", "IMAP", "tcp:143", "medium", ("FSBP EC2.19",)),
    _svc("dns", "DNS", "tcp:53;udp:53", "medium", ("SCC OPEN_DNS_PORT",)),
    _svc("http", "HTTP", "tcp:80", "low", ("SCC OPEN_HTTP_PORT", "CIS Azure")),
    _svc("https", "HTTPS", "tcp:443", "low", ("CIS Azure",)),
    _svc("ntp", "NTP", "udp:123", "medium", ("CIS Azure",)),
    _svc("msrpc", "MS RPC", "tcp:135", "high", ("FSBP EC2.19",)),
    _svc("netbios", "NetBIOS", "tcp:137-139;udp:137-139", "high", ("SCC OPEN_NETBIOS_PORT",)),
    _svc("snmp", "SNMP", "udp:161", "high", ("open-source scanners",)),
    _svc("ldap", "LDAP", "tcp:389;udp:389", "high", ("SCC OPEN_LDAP_PORT",)),
    _svc("ldaps", "LDAPS", "tcp:636", "high", ("SCC OPEN_LDAP_PORT",)),
    _svc("smb", "SMB / CIFS", "tcp:445;udp:445", "critical",
         ("FSBP EC2.19", "SCC OPEN_DIRECTORY_SERVICES_PORT", "CIS AWS")),
    _svc("ssdp", "SSDP", "udp:1900", "medium", ("CIS Azure",)),
    _svc("nfs", "NFS", "tcp:2049;udp:2049", "high", ("open-source scanners",)),
    _svc("mssql", "MS SQL", "tcp:1433;udp:1434", "high", ("FSBP EC2.19",)),
    _svc("oracle", "Oracle DB", "tcp:1521,1522,2483-2484;udp:1521,1522,2483-2484", "high",
         ("SCC OPEN_ORACLEDB_PORT",)),
    _svc("mysql", "MySQL", "tcp:3306,4333", "high", ("FSBP EC2.19", "SCC OPEN_MYSQL_PORT")),
    _svc("postgresql", "PostgreSQL", "tcp:5432;udp:5432", "high",
         ("FSBP EC2.19", "SCC OPEN_POSTGRESQL_PORT")),
    _svc("mongodb", "MongoDB", "tcp:27017-27019", "high", ("SCC OPEN_MONGODB_PORT",)),
    _svc("redis", "Redis", "tcp:6379", "high", ("SCC OPEN_REDIS_PORT",)),
    _svc("memcached", "Memcached", "tcp:11211,11214-11215;udp:11211,11214-11215", "high",
         ("SCC OPEN_MEMCACHED_PORT",)),
    _svc("elasticsearch", "Elasticsearch", "tcp:9200,9300", "high",
         ("FSBP EC2.19", "SCC OPEN_ELASTICSEARCH_PORT")),
    _svc("kibana", "Kibana", "tcp:5601", "high", ("FSBP EC2.19",)),
    _svc("cassandra", "Cassandra", "tcp:7000-7001,7199,8888,9042,9160,61620-61621", "high",
         ("SCC OPEN_CASSANDRA_PORT", "FSBP EC2.19")),
    _svc("kafka", "Kafka", "tcp:9092", "high", ("open-source scanners",)),
    _svc("docker", "Docker API", "tcp:2375,2376", "critical", ("open-source scanners",)),
    _svc("kubernetes", "Kubernetes API / kubelet", "tcp:6443,10250,10255", "critical",
         ("open-source scanners",)),
    _svc("etcd", "etcd", "tcp:2379-2380", "critical", ("open-source scanners",)),
    _svc("saltstack", "SaltStack", "tcp:4505,4506", "critical", ("open-source scanners",)),
    _svc("vnc", "VNC", "tcp:5500,5900", "high", ("FSBP EC2.19",), True),
    _svc("hadoop", "Hadoop", "tcp:8020,50070,50470", "high", ("open-source scanners",)),
    _svc("web_admin", "Web admin / dev servers", "tcp:3000,5000,8080,8088,8888,9090", "medium",
         ("FSBP EC2.19", "SCC OPEN_CISCOSECURE_WEBSM_PORT")),
)

SERVICES_BY_KEY: dict[str, Service] = {s.key: s for s in SERVICES}

# AWS Security Hub EC2.19's fixed list of high-risk ports (TCP and UDP alike).
FSBP_EC2_19_PORTS = PortSet.of(
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432,
    5500, 5601, 8080, 8088, 8888, 9200, 9300,
)


def service(key: str) -> Service:
    try:
        return SERVICES_BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown service {key!r}") from None


@dataclass(frozen=True, slots=True)
class ServiceHit:
    service: Service
    ports: PortSet  # the service's ports the rule admits


@lru_cache(maxsize=8192)
def services_in(protocol: str, ports: PortSet) -> tuple[ServiceHit, ...]:
    """Every catalogued service a (protocol, ports) pair admits, with the ports that hit."""
    if not ports.intervals:
        return ()
    low, high = ports.intervals[0][0], ports.intervals[-1][1]
    hits = []
    for svc, first, last in _port_bounds(protocol):
        if last < low or first > high:
            continue  # none of its ports on this protocol is within the rule's
        hit = svc.exposed_by(protocol, ports)
        if hit:
            hits.append(ServiceHit(svc, hit))
    return tuple(hits)


def services_met(protocol: str, ports: PortSet) -> tuple[Service, ...]:
    """The services of ``services_in(protocol, ports)`` (a sentence names the services only)."""
    return tuple(hit.service for hit in services_in(protocol, ports))


@lru_cache(maxsize=64)
def _port_bounds(protocol: str) -> tuple[tuple[Service, int, int], ...]:
    """Each service that listens on ``protocol`` (any, for ``all``), in catalogue order, with
    its lowest and highest port there."""
    out = []
    for svc in SERVICES:
        spans = [i for p, ports in svc.ports if protocol in (ALL_PROTOCOLS, p)
                 for i in ports.intervals]
        if spans:
            out.append((svc, min(lo for lo, _ in spans), max(hi for _, hi in spans)))
    return tuple(out)


def service_names(hits: Iterable[ServiceHit]) -> list[str]:
    return [h.service.name for h in hits]
