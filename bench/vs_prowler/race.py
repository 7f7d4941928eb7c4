"""cloudwall against Prowler on the same moto-served AWS estate (one region).

    python3 bench/vs_prowler/race.py [--work DIR] [--sizes 0,1000,5000] [--reps 2]

Creates three virtual environments under the work directory (kept between runs, so only the
first run installs): Prowler from PyPI, cloudwall from this checkout (``pip install .``) and
``moto[server]``. Starts one moto server, grows its estate to each size in turn (security groups
with 10 rules each, one VPC per 200 groups, a network ACL per 10 groups: bench/vs_prowler/seed.py)
and at each size runs, alternately, Prowler's security-group and network-ACL checks and a
cloudwall scan, ``--reps`` times each. Both only ever talk to the moto server: fake credentials,
``AWS_ENDPOINT_URL``, the one region named, the instance metadata service off.

The server is moto's own, started through bench/vs_prowler/moto_server.py, which replaces one
lookup: moto found a resource's tags by scanning every tag of the region, for each group and
rule it described, minutes at 5,000 groups that real EC2 does not spend (the same answers).
Both tools get the same read timeout, 900 s, through their own options (Prowler's
``--aws-read-timeout``, cloudwall's ``--timeout``): boto3's default 60 s is shorter than a
loaded 2-core machine's moto needs for 5,000 groups in one answer (moto ignores page sizes).

Prints one table: wall time, CPU time (user + system, children included) and peak RSS of each
tool per size (the best of the repetitions), the ratios Prowler / cloudwall, and the share of
the moto server's own CPU time during each tool's runs (read from /proc/PID/stat). Not part of
CI: Prowler and its dependencies are large.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REGION = "us-east-1"
TICKS = os.sysconf("SC_CLK_TCK")
# Seconds either tool waits for one answer (see the module docstring).
READ_TIMEOUT = 900

# Prowler 5's checks over security groups and network ACLs (``prowler aws --list-checks
# --service ec2``): every ec2_securitygroup_* and ec2_networkacl_* check.
PROWLER_CHECKS = (
    "ec2_networkacl_allow_ingress_any_port",
    "ec2_networkacl_allow_ingress_tcp_port_22",
    "ec2_networkacl_allow_ingress_tcp_port_3389",
    "ec2_networkacl_unused",
    "ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
    "ec2_securitygroup_allow_ingress_from_internet_to_any_port",
    "ec2_securitygroup_allow_ingress_from_internet_to_any_port_from_ip",
    "ec2_securitygroup_allow_ingress_from_internet_to_high_risk_tcp_ports",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_cassandra_7199_9160_8888",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_elasticsearch_kibana_9200_9300_5601",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_ftp_20_21",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_kafka_9092",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_memcached_11211",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mongodb_27017_27018",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mysql_3306",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_oracle_1521_2483",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_postgres_5432",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_redis_6379",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_sql_server_1433_1434",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_telnet_23",
    "ec2_securitygroup_allow_wide_open_public_ipv4",
    "ec2_securitygroup_default_restrict_traffic",
    "ec2_securitygroup_from_launch_wizard",
    "ec2_securitygroup_not_used",
    "ec2_securitygroup_with_many_ingress_egress_rules",
)


def make_venv(path: Path, *requirements: str) -> Path:
    """A virtual environment with ``requirements`` installed; reused when already complete."""
    python = path / "bin" / "python"
    marker = path / ".race-installed"
    if marker.exists() and marker.read_text() == repr(requirements):
        return python
    if path.exists():
        shutil.rmtree(path)
    print(f"creating {path} ({' '.join(requirements)}) ...", flush=True)
    venv.create(path, with_pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    marker.write_text(repr(requirements))
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def timed(argv: list[str], env: dict[str, str], log: Path, moto_pid: int) -> dict[str, float]:
    """Run one tool to its end: wall, CPU (its process tree, as wait4 reports it), peak RSS of
    its largest process, the moto server's CPU meanwhile, and the exit code."""
    moto_before = cpu_seconds(moto_pid)
    started = time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss / 1024, "moto": cpu_seconds(moto_pid) - moto_before,
            "code": child.returncode}


def prowler_results(out_dir: Path, since: float) -> int:
    """Rows of the CSV Prowler wrote in this run (none when it wrote none): a run that failed
    to read the groups still exits 0, with the network ACL results alone."""
    written = [p for p in out_dir.rglob("*.csv") if p.stat().st_mtime >= since]
    if not written:
        return 0
    with max(written, key=lambda p: p.stat().st_mtime).open(newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle, delimiter=";")) - 1, 0)


def cloudwall_results(report: Path) -> int:
    """Rule sets in cloudwall's JSON report (none when it wrote no report)."""
    try:
        return len(json.loads(report.read_bytes())["inventory"]["rule_sets"])
    except (OSError, ValueError, KeyError):
        return 0


def aws_env(endpoint: str, home: Path) -> dict[str, str]:
    """Nothing but the moto server: fake credentials, its endpoint for every service, one
    region, no shared config, no metadata service."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "BOTO_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "HOME": str(home),
    })
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/cloudwall-vs-prowler"))
    parser.add_argument("--sizes", default="0,1000,5000",
                        help="security group counts, comma-separated, ascending")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--prowler", default="prowler",
                        help="the Prowler requirement to install (e.g. prowler==5.46.0)")
    parser.add_argument("--tools", default="prowler,cloudwall",
                        help="which tools to run, comma-separated")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    moto_py = make_venv(work / "venv-moto", "moto[server]")
    prowler_py = make_venv(work / "venv-prowler", args.prowler)
    # This checkout as a user would install it (not editable): rebuilt every run.
    cloudwall_py = make_venv(work / "venv-cloudwall", "pip")
    subprocess.run([str(cloudwall_py), "-m", "pip", "install", "-q", "--force-reinstall",
                    "--no-deps", str(ROOT)], check=True)
    subprocess.run([str(cloudwall_py), "-m", "pip", "install", "-q", str(ROOT)], check=True)

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen([str(moto_py), str(HERE / "moto_server.py"), "-H", "127.0.0.1",
                             "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = aws_env(endpoint, home)
    results: list[tuple[int, str, dict[str, float]]] = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        for size in sizes:
            started = time.perf_counter()
            subprocess.run([str(moto_py), str(HERE / "seed.py"), endpoint, REGION, str(size)],
                           env=env, check=True)
            print(f"estate of {size} security groups ready in "
                  f"{time.perf_counter() - started:.0f}s", flush=True)
            runs = {
                "prowler": [str(prowler_py), "-m", "prowler", "aws", "--region", REGION,
                            "--checks", *PROWLER_CHECKS, "--output-formats", "csv",
                            "--output-directory", str(work / "prowler-out"), "--no-banner",
                            "--ignore-exit-code-3", "--aws-read-timeout", str(READ_TIMEOUT)],
                "cloudwall": [str(cloudwall_py), "-m", "scanner.cli", "--quiet", "--store",
                              str(work / "cloudwall.db"), "scan", "--provider", "aws",
                              "--regions", REGION, "--format", "json", "--output",
                              str(work / f"cloudwall-{size}.json"),
                              "--timeout", str(READ_TIMEOUT)],
            }
            runs = {tool: argv for tool, argv in runs.items() if tool in args.tools.split(",")}
            for rep in range(args.reps):
                for tool, argv in runs.items():
                    started_at = time.time() - 1
                    (work / f"cloudwall-{size}.json").unlink(missing_ok=True)  # no stale count
                    figures = timed(argv, env, work / f"{tool}-{size}-{rep}.log", moto.pid)
                    figures["results"] = (
                        prowler_results(work / "prowler-out", started_at) if tool == "prowler"
                        else cloudwall_results(work / f"cloudwall-{size}.json"))
                    results.append((size, tool, figures))
                    print(f"N={size} rep {rep + 1} {tool}: wall {figures['wall']:.1f}s, CPU "
                          f"{figures['cpu']:.1f}s, peak RSS {figures['rss']:.0f} MiB, moto CPU "
                          f"{figures['moto']:.1f}s, exit {figures['code']}, "
                          f"{figures['results']:,} results, load average "
                          f"{os.getloadavg()[0]:.1f}", flush=True)
    finally:
        moto.send_signal(signal.SIGINT)
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            moto.kill()
    print_table(sizes, [tool for tool in ("prowler", "cloudwall") if tool in args.tools],
                results)
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
          f"{os.getloadavg()[2]:.1f} on {os.cpu_count()} cores")


def print_table(sizes: list[int], tools: list[str],
                results: list[tuple[int, str, dict[str, float]]]) -> None:
    """Best of the repetitions; the moto share is its CPU over the tool's wall time (of one
    core); ``exit`` is the worst exit code (cloudwall's 3: a read failed, say a timeout);
    ``results`` the fewest of the repetitions (Prowler's CSV rows, cloudwall's rule sets): a
    Prowler run that could not read the groups has only its network ACL rows."""
    def best(size: int, tool: str) -> dict[str, float]:
        runs = [r for s, t, r in results if s == size and t == tool]
        return {key: min(r[key] for r in runs) for key in ("wall", "cpu", "rss")} | {
            "moto": sum(r["moto"] for r in runs) / sum(r["wall"] for r in runs),
            "code": max(r["code"] for r in runs),
            "results": min(r["results"] for r in runs)}

    print("\n| SGs | tool | wall s | CPU s | peak RSS MiB | moto CPU share | exit | results |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        for tool in tools:
            b = best(size, tool)
            print(f"| {size:,} | {tool} | {b['wall']:.1f} | {b['cpu']:.1f} | {b['rss']:.0f} | "
                  f"{b['moto']:.0%} | {b['code']} | {b['results']:,} |")
    if len(tools) < 2:
        return
    print("\n| SGs | Prowler / cloudwall wall | CPU | peak RSS |")
    print("|---:|---:|---:|---:|")
    for size in sizes:
        p, c = best(size, "prowler"), best(size, "cloudwall")
        print(f"| {size:,} | {p['wall'] / c['wall']:.1f}x | {p['cpu'] / c['cpu']:.1f}x | "
              f"{p['rss'] / c['rss']:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
