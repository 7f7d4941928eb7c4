"""Compliance frameworks, as data: the controls cloudwall assesses, and those it cannot.

Policies map to controls (``compliance`` in their metadata); a compliance report lists every
control here with pass, fail or not assessed. Controls whose data cloudwall does not collect
(log metric filters, flow logs, AWS Network Firewall) are listed with ``collected=False`` and
the reason, so a report never suggests they were checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.policy import Policy
from scanner.compliance_model import Control, Framework
from scanner.errors import ConfigError


def _c(control_id: str, title: str, not_collected: str = "") -> Control:
    return Control(control_id, title, not not_collected, not_collected)


_METRIC = "CloudWatch log metric filters and alarms are not collected by cloudwall"
_NFW = "AWS Network Firewall resources are not collected by cloudwall"
_SCC_PORTS = (
    ("OPEN_CASSANDRA_PORT", "Cassandra ports open to all addresses"),
    ("OPEN_CISCOSECURE_WEBSM_PORT", "CiscoSecure WebSM port (TCP 9090) open to all addresses"),
    ("OPEN_DIRECTORY_SERVICES_PORT", "Directory services ports (445) open to all addresses"),
    ("OPEN_DNS_PORT", "DNS port open to all addresses"),
    ("OPEN_ELASTICSEARCH_PORT", "Elasticsearch ports open to all addresses"),
    ("OPEN_FTP_PORT", "FTP port open to all addresses"),
    ("OPEN_HTTP_PORT", "HTTP port open to all addresses"),
    ("OPEN_LDAP_PORT", "LDAP ports open to all addresses"),
    ("OPEN_MEMCACHED_PORT", "Memcached ports open to all addresses"),
    ("OPEN_MONGODB_PORT", "MongoDB ports open to all addresses"),
    ("OPEN_MYSQL_PORT", "MySQL port open to all addresses"),
    ("OPEN_NETBIOS_PORT", "NetBIOS ports open to all addresses"),
    ("OPEN_ORACLEDB_PORT", "Oracle DB ports open to all addresses"),
    ("OPEN_POP3_PORT", "POP3 port open to all addresses"),
    ("OPEN_POSTGRESQL_PORT", "PostgreSQL port open to all addresses"),
    ("OPEN_RDP_PORT", "RDP port open to all addresses"),
    ("OPEN_REDIS_PORT", "Redis port open to all addresses"),
    ("OPEN_SMTP_PORT", "SMTP port open to all addresses"),
    ("OPEN_SSH_PORT", "SSH port open to all addresses"),
    ("OPEN_TELNET_PORT", "Telnet port open to all addresses"),
)

FRAMEWORKS: dict[str, Framework] = {f.framework_id: f for f in (
    Framework("aws-fsbp", "AWS Security Hub Foundational Security Best Practices", "1.0.0",
              ("aws",), (
        _c("EC2.2", "VPC default security groups should not allow inbound or outbound traffic"),
        _c("EC2.13", "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to "
                     "port 22"),
        _c("EC2.14", "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to "
                     "port 3389"),
        _c("EC2.15", "EC2 subnets should not automatically assign public IP addresses"),
        _c("EC2.16", "Unused network access control lists should be removed"),
        _c("EC2.18", "Security groups should only allow unrestricted incoming traffic for "
                     "authorized ports"),
        _c("EC2.19", "Security groups should not allow unrestricted access to ports with high "
                     "risk"),
        _c("EC2.21", "Network ACLs should not allow ingress from 0.0.0.0/0 to port 22 or port "
                     "3389"),
        _c("EC2.22", "Unused EC2 security groups should be removed"),
        _c("EC2.53", "EC2 security groups should not allow ingress from 0.0.0.0/0 to remote "
                     "server administration ports"),
        _c("EC2.54", "EC2 security groups should not allow ingress from ::/0 to remote server "
                     "administration ports"),
        _c("NetworkFirewall.2", "Network Firewall logging should be enabled", _NFW),
        _c("NetworkFirewall.9", "Network Firewall firewalls should have deletion protection "
                                "enabled", _NFW),
        _c("NetworkFirewall.10", "Network Firewall firewalls should have subnet change "
                                 "protection enabled", _NFW),
    )),
    Framework("cis-aws", "CIS Amazon Web Services Foundations Benchmark", "3.0.0", ("aws",), (
        _c("4.10", "Ensure security group changes are monitored", _METRIC),
        _c("4.11", "Ensure Network Access Control Lists (NACL) changes are monitored", _METRIC),
        _c("5.1", "Ensure no Network ACLs allow ingress from 0.0.0.0/0 to remote server "
                  "administration ports"),
        _c("5.2", "Ensure no security groups allow ingress from 0.0.0.0/0 to remote server "
                  "administration ports"),
        _c("5.3", "Ensure no security groups allow ingress from ::/0 to remote server "
                  "administration ports"),
        _c("5.4", "Ensure the default security group of every VPC restricts all traffic"),
    )),
    Framework("cis-azure", "CIS Microsoft Azure Foundations Benchmark", "2.1.0", ("azure",), (
        _c("5.2.3", "Ensure that Activity Log Alert exists for Create or Update Network "
                    "Security Group", "activity log alert rules are not collected by cloudwall"),
        _c("5.2.4", "Ensure that Activity Log Alert exists for Delete Network Security Group",
           "activity log alert rules are not collected by cloudwall"),
        _c("6.1", "Ensure that RDP access from the Internet is evaluated and restricted"),
        _c("6.2", "Ensure that SSH access from the Internet is evaluated and restricted"),
        _c("6.3", "Ensure that UDP access from the Internet is evaluated and restricted"),
        _c("6.4", "Ensure that HTTP(S) access from the Internet is evaluated and restricted"),
        _c("6.5", "Ensure that Network Security Group Flow Log retention period is greater "
                  "than 90 days", "NSG flow logs are not collected by cloudwall"),
        _c("6.6", "Ensure that Network Watcher is enabled",
           "Network Watcher is not collected by cloudwall"),
    )),
    Framework("azure-defender", "Microsoft Defender for Cloud network recommendations", "2025",
              ("azure",), (
        _c("restrict-all-ports", "All network ports should be restricted on network security "
                                 "groups associated to your virtual machine"),
        _c("close-management-ports", "Management ports should be closed on your virtual "
                                     "machines"),
        _c("jit-management-ports", "Management ports of virtual machines should be protected "
                                   "with just-in-time network access control"),
        _c("internet-facing-vm-nsg", "Internet-facing virtual machines should be protected "
                                     "with network security groups"),
        _c("subnet-nsg", "Subnets should be associated with a network security group"),
        _c("ip-forwarding", "IP Forwarding on your virtual machine should be disabled"),
    )),
    Framework("cis-gcp", "CIS Google Cloud Platform Foundation Benchmark", "3.0.0", ("gcp",), (
        _c("2.7", "Ensure that the log metric filter and alerts exist for VPC network firewall "
                  "rule changes", "log metrics and alert policies are not collected by "
                                  "cloudwall"),
        _c("3.1", "Ensure that the default network does not exist in a project"),
        _c("3.2", "Ensure legacy networks do not exist for older projects"),
        _c("3.6", "Ensure that SSH access is restricted from the internet"),
        _c("3.7", "Ensure that RDP access is restricted from the internet"),
        _c("3.8", "Ensure that VPC Flow Logs is enabled for every subnet in a VPC network",
           "subnetworks and their flow log settings are not collected by cloudwall"),
    )),
    Framework("gcp-scc", "Security Command Center Security Health Analytics (firewall and "
                         "network findings)", "sha", ("gcp",), (
        _c("OPEN_FIREWALL", "Firewall rules allow ingress from all addresses"),
        *(_c(cid, title) for cid, title in _SCC_PORTS),
        _c("EGRESS_DENY_RULE_NOT_SET", "No egress deny rule is set on the network"),
        _c("FIREWALL_RULE_LOGGING_DISABLED", "Firewall rule logging is disabled"),
        _c("DEFAULT_NETWORK", "The default network exists in the project"),
        _c("LEGACY_NETWORK", "A legacy network exists in the project"),
        _c("FIREWALL_NOT_MONITORED", "Log metrics and alerts are not configured to monitor VPC "
                                     "firewall rule changes", "log metrics and alert policies "
                                                              "are not collected by cloudwall"),
    )),
    Framework("nist-800-53", "NIST SP 800-53 Security and Privacy Controls", "rev5",
              ("aws", "azure", "gcp"), (
        _c("SC-7", "Boundary Protection"),
        _c("SC-7(5)", "Boundary Protection | Deny by Default - Allow by Exception"),
        _c("CM-6", "Configuration Settings"),
        _c("CM-7", "Least Functionality"),
        _c("AC-17", "Remote Access"),
        _c("AU-12", "Audit Record Generation"),
        _c("SI-4", "System Monitoring"),
    )),
    Framework("pci-dss-4.0", "PCI DSS requirement 1: network security controls", "4.0",
              ("aws", "azure", "gcp"), (
        _c("1.2.1", "Configuration standards for NSC rulesets are defined, implemented and "
                    "maintained"),
        _c("1.2.5", "All services, protocols and ports allowed are identified, approved and "
                    "have a defined business need"),
        _c("1.2.7", "Configurations of NSCs are reviewed at least once every six months",
           "a review is a process; cloudwall's drift reports support it"),
        _c("1.3.1", "Inbound traffic to the CDE is restricted"),
        _c("1.3.2", "Outbound traffic from the CDE is restricted"),
        _c("1.4.1", "NSCs are implemented between trusted and untrusted networks"),
        _c("1.4.2", "Inbound traffic from untrusted networks to trusted networks is "
                    "restricted"),
    )),
)}


def custom_frameworks(policies: Iterable[Policy]) -> dict[str, Framework]:
    """The ``x-`` frameworks users' packs map to: their controls are the ids the policies name,
    in the order first named; their clouds are those of the policies that map to them."""
    controls: dict[tuple[str, str], dict[str, None]] = {}
    providers: dict[tuple[str, str], set[str]] = {}
    for policy in policies:
        for ref in policy.meta.compliance:
            if ref.framework in FRAMEWORKS:
                continue
            key = (ref.framework, ref.version)
            controls.setdefault(key, {})[ref.control] = None
            providers.setdefault(key, set()).update(ref.when.providers or policy.meta.providers)
    out: dict[str, Framework] = {}
    for (framework_id, version), ids in sorted(controls.items()):
        # Two versions of one x- framework are reported apart, under their own keys.
        name = framework_id if (framework_id not in out) else f"{framework_id}@{version}"
        out[name] = Framework(framework_id, f"{framework_id} (custom)", version,
                              tuple(sorted(providers[(framework_id, version)])),
                              tuple(Control(c, "") for c in ids), custom=True)
    return out


def framework(framework_id: str, policies: Iterable[Policy] = ()) -> Framework:
    """A built-in framework, or an ``x-`` framework of the given policies' packs."""
    known = {**FRAMEWORKS, **custom_frameworks(policies)}
    try:
        return known[framework_id]
    except KeyError:
        from policies.schema import did_you_mean

        hint = did_you_mean(framework_id, known) or f"choose from {', '.join(known)} or all"
        raise ConfigError(f"unknown framework {framework_id!r}", hint) from None


def frameworks(spec: Iterable[str], policies: Iterable[Policy] = ()) -> list[Framework]:
    """``all`` (every built-in framework and every custom one of the packs given) or a list of
    framework ids, each once, in the order asked."""
    policies = list(policies)
    chosen: dict[str, Framework] = {}
    for framework_id in spec:
        if framework_id.lower() == "all":
            for fw in (*FRAMEWORKS.values(), *custom_frameworks(policies).values()):
                chosen.setdefault(fw.key, fw)
        else:
            fw = framework(framework_id, policies)
            chosen.setdefault(fw.key, fw)
    if not chosen:
        raise ConfigError("no framework given", "use --framework all or a comma list such as "
                          "cis-aws,pci-dss-4.0")
    return list(chosen.values())
