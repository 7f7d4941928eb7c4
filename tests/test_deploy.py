"""The deployment recipes in deploy/ run: their manifests parse, their settings are what a
hardened deployment needs, and the exact cloudwall command line each contains runs against the
demo provider (with a scratch store) and gates as documented."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_wheel import PACKAGES

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def manifests() -> list[dict]:
    return list(yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text()))


def of_kind(kind: str) -> dict:
    (found,) = [m for m in manifests() if m["kind"] == kind]
    return found


def workflow() -> dict:
    return yaml.safe_load((DEPLOY / "github" / "cloudwall-scan.yml").read_text())


def dockerfile() -> str:
    return (DEPLOY / "docker" / "Dockerfile").read_text()


# --- the command lines, as each recipe writes them ---------------------------------------------


def cron_command() -> list[str]:
    (line,) = [line for line in (DEPLOY / "cron" / "cloudwall").read_text().splitlines()
               if line and not line.startswith("#") and "=" not in line.split()[0]]
    fields = line.split(None, 6)
    assert len(fields) == 7 and fields[5] == "cloudwall", "minute hour dom month dow user cmd"
    (scan,) = [part for part in fields[6].split("&&") if part.strip().startswith("cloudwall ")]
    return shlex.split(scan)


def systemd_command() -> list[str]:
    text = (DEPLOY / "systemd" / "cloudwall-scan.service").read_text()
    (line,) = re.findall(r"^ExecStart=(.+)$", text, re.MULTILINE)
    argv = shlex.split(line)
    assert argv[0] == "/usr/local/bin/cloudwall"
    return ["cloudwall", *argv[1:]]


def kubernetes_command() -> list[str]:
    (container,) = of_kind("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"]
    assert "command" not in container  # the image's ENTRYPOINT is cloudwall
    return ["cloudwall", *container["args"]]


def workflow_command() -> list[str]:
    (step,) = [s for s in workflow()["jobs"]["scan"]["steps"] if s.get("id") == "scan"]
    return shlex.split(step["run"])


def kubernetes_config() -> str:
    return of_kind("ConfigMap")["data"]["cloudwall.toml"]


RECIPES = {
    "cron": (cron_command, lambda: (DEPLOY / "cloudwall.toml").read_text()),
    "systemd": (systemd_command, lambda: (DEPLOY / "cloudwall.toml").read_text()),
    "kubernetes": (kubernetes_command, kubernetes_config),
    "github": (workflow_command, lambda: (DEPLOY / "cloudwall.toml").read_text()),
}


def demo_config(text: str, stage: str) -> str:
    """The recipe's configuration with its clouds replaced by the demo estate."""
    head = re.split(r"^\[providers\.", text, maxsplit=1, flags=re.MULTILINE)[0]
    return f'{head}\n[providers.demo]\nstage = "{stage}"\n'


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    assert argv[0] == "cloudwall"
    return subprocess.run([sys.executable, "-m", "scanner.cli", *argv[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_the_recipe_command_runs_and_fails_the_job_on_drift(recipe, tmp_path):
    command, config_text = RECIPES[recipe]
    argv = command()
    config_path = tmp_path / "etc" / "cloudwall.toml"
    config_path.parent.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLOUDWALL_STORE": str(tmp_path / "store.db"),
           "CLOUDWALL_CONFIG": str(config_path)}
    if "--config" in argv:  # the workflow names the file in the checkout
        config_path = work / argv[argv.index("--config") + 1]
    # The set-up each recipe documents: a baseline taken from a first scan.
    config_path.write_text(demo_config(config_text(), "baseline"))
    setup = ["cloudwall", "--config", str(config_path)]
    assert run([*setup, "scan", "--save"], work, env).returncode in (0, 1)
    if "baseline.json" in argv:
        done = run([*setup, "snapshots", "export", "latest", "-o", "baseline.json"], work, env)
    else:
        done = run([*setup, "baseline", "set", "prod", "--from-snapshot", "latest"], work, env)
    assert done.returncode == 0, done.stderr

    unchanged = run(argv, work, env)
    output = work / argv[argv.index("--output") + 1]
    report = json.loads(output.read_text())
    assert report["baseline"] is not None and report["drift"] == []
    # The drift gate: the demo estate's existing high findings do not fail the job ...
    assert unchanged.returncode == 0, unchanged.stderr

    config_path.write_text(demo_config(config_text(), "changed"))
    changed = run(argv, work, env)
    assert changed.returncode == 1, changed.stderr  # ... a widening does
    report = json.loads(output.read_text())
    assert any(item["severity"] == "critical" for item in report["drift"])
    assert "Traceback" not in unchanged.stderr + changed.stderr


def test_every_recipe_configuration_is_valid(tmp_path):
    for name, text in (("deploy", (DEPLOY / "cloudwall.toml").read_text()),
                       ("configmap", kubernetes_config())):
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        shown = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(path),
                                "config", "show", "scan"], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert shown.returncode == 0, (name, shown.stderr)
        assert 'deadline = "50m"' in shown.stdout


def test_kubernetes_cronjob_is_hardened_and_keeps_the_store_on_a_volume():
    cronjob = of_kind("CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e["value"] for e in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    store_dir = str(Path(env["CLOUDWALL_STORE"]).parent)
    assert "persistentVolumeClaim" in volumes[mounts[store_dir]]
    assert "configMap" in volumes[mounts[str(Path(env["CLOUDWALL_CONFIG"]).parent)]]
    assert container["workingDir"] == store_dir  # relative --output lands on the volume
    assert "emptyDir" in volumes[mounts["/tmp"]] and env["HOME"] == "/tmp"
    # Credentials from the platform's identity federation, never from keys in the cluster.
    account = of_kind("ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    annotations = account["metadata"]["annotations"]
    assert {"eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account",
            "azure.workload.identity/client-id"} <= set(annotations)
    labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    assert not [e for e in container["env"] if "SECRET" in e["name"] or "KEY" in e["name"]]
    # SIGTERM at the deadline: cloudwall needs seconds, not the default 30.
    assert pod["terminationGracePeriodSeconds"] <= 30


def test_github_workflow_is_scheduled_uses_oidc_and_uploads_results_always():
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    assert flow["permissions"]["id-token"] == "write"
    steps = flow["jobs"]["scan"]["steps"]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload["if"] == "always()"
    output = workflow_command()[workflow_command().index("--output") + 1]
    assert upload["with"]["path"].rstrip("/") == str(Path(output).parent)


def test_dockerfile_is_slim_non_root_with_cloudwall_as_entrypoint():
    text = dockerfile()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases and all(re.fullmatch(r"python:3\.\d+-slim", b) for b in bases)
    (user,) = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user.split(":")[0] not in ("0", "root")
    (entrypoint,) = re.findall(r"^ENTRYPOINT\s+(.+)$", text, re.MULTILINE)
    assert json.loads(entrypoint) == ["cloudwall"]
    copied = set(re.findall(r"^COPY\s+(\w+)\s+\./\1$", text, re.MULTILINE))
    assert copied == set(PACKAGES)  # every package the wheel ships, no more
    # Its build context is the repository root: the files it copies exist there.
    for source in ("pyproject.toml", "README.md", *PACKAGES):
        assert (ROOT / source).exists()


def test_the_cron_user_and_the_systemd_unit_agree_on_paths():
    cron = (DEPLOY / "cron" / "cloudwall").read_text()
    unit = (DEPLOY / "systemd" / "cloudwall-scan.service").read_text()
    for line in ("CLOUDWALL_CONFIG=/etc/cloudwall/cloudwall.toml",
                 "CLOUDWALL_STORE=/var/lib/cloudwall/store.db"):
        assert line in cron and line in unit
    assert cron_command() == systemd_command()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (apt-get install systemd)")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    # verify checks that ExecStart exists: point it at this environment's cloudwall.
    executable = shutil.which("cloudwall", path=str(Path(sys.executable).parent))
    assert executable, "cloudwall is not installed in this environment"
    service = (DEPLOY / "systemd" / "cloudwall-scan.service").read_text()
    (tmp_path / "cloudwall-scan.service").write_text(
        service.replace("/usr/local/bin/cloudwall", executable))
    shutil.copy(DEPLOY / "systemd" / "cloudwall-scan.timer", tmp_path)
    result = subprocess.run(["systemd-analyze", "verify", "cloudwall-scan.service",
                             "cloudwall-scan.timer"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if "cloudwall-scan" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts_as_the_readme_documents(shell):
    result = subprocess.run([sys.executable, "-m", "scanner.cli"], capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "_CLOUDWALL_COMPLETE": f"{shell}_source"})
    assert result.returncode == 0, result.stderr
    assert "_CLOUDWALL_COMPLETE" in result.stdout
    readme = (ROOT / "README.md").read_text()
    assert f"_CLOUDWALL_COMPLETE={shell}_source cloudwall" in readme


# --- the watch service -------------------------------------------------------------------------


def watch_deployment() -> dict:
    (found,) = [m for m in yaml.safe_load_all((DEPLOY / "kubernetes" / "watch.yaml").read_text())
                if m["kind"] == "Deployment"]
    return found


def watch_commands() -> dict[str, list[str]]:
    unit = (DEPLOY / "systemd" / "cloudwall-watch.service").read_text()
    (line,) = re.findall(r"^ExecStart=(.+)$", unit, re.MULTILINE)
    (container,) = watch_deployment()["spec"]["template"]["spec"]["containers"]
    assert "command" not in container  # the image's ENTRYPOINT is cloudwall
    return {"systemd": ["cloudwall", *shlex.split(line)[1:]],
            "kubernetes": ["cloudwall", *container["args"]]}


@pytest.mark.parametrize("recipe", ["systemd", "kubernetes"])
def test_the_watch_command_line_is_accepted(recipe, tmp_path):
    """Every option of the recipe's command parses (durations, gate, provider); with no
    baseline in the store it stops at that, with the documented one-line error and exit 2."""
    argv = watch_commands()[recipe]
    assert argv[1] == "watch" and argv[argv.index("--baseline") + 1] == "prod"
    from scanner.store import Store

    Store(tmp_path / "s.db").close()  # an empty store: no baseline yet
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLOUDWALL_STORE": str(tmp_path / "s.db")}
    result = run(argv, tmp_path, env)
    assert result.returncode == 2, result.stderr
    assert "no baseline named 'prod'" in result.stderr and "Traceback" not in result.stderr


def test_the_watch_deployment_is_one_hardened_writer_sharing_the_scan_store():
    deployment = watch_deployment()
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["serviceAccountName"] == of_kind("ServiceAccount")["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["store"]["persistentVolumeClaim"]["claimName"] == \
        of_kind("PersistentVolumeClaim")["metadata"]["name"]
    assert volumes["config"]["configMap"]["name"] == of_kind("ConfigMap")["metadata"]["name"]
    env = {e["name"]: e for e in container["env"]}
    assert env["CLOUDWALL_NOTIFY"]["valueFrom"]["secretKeyRef"]["optional"] is True
    # The batch in progress is finished and saved after SIGTERM: more than a scan's grace.
    assert pod["terminationGracePeriodSeconds"] >= 60


def test_the_watch_unit_counts_a_sigterm_stop_as_success():
    unit = (DEPLOY / "systemd" / "cloudwall-watch.service").read_text()
    assert re.search(r"^SuccessExitStatus=143$", unit, re.MULTILINE)
    assert re.search(r"^Restart=on-failure$", unit, re.MULTILINE)
    scan_unit = (DEPLOY / "systemd" / "cloudwall-scan.service").read_text()
    for line in ("Environment=CLOUDWALL_STORE=/var/lib/cloudwall/store.db", "User=cloudwall",
                 "ProtectSystem=strict", "NoNewPrivileges=yes"):
        assert line in unit and line in scan_unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (apt-get install systemd)")
def test_the_watch_unit_passes_systemd_analyze_verify(tmp_path):
    executable = shutil.which("cloudwall", path=str(Path(sys.executable).parent))
    assert executable, "cloudwall is not installed in this environment"
    service = (DEPLOY / "systemd" / "cloudwall-watch.service").read_text()
    (tmp_path / "cloudwall-watch.service").write_text(
        service.replace("/usr/local/bin/cloudwall", executable))
    result = subprocess.run(["systemd-analyze", "verify", "cloudwall-watch.service"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if "cloudwall-watch" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


# --- the team setup on Kubernetes: a Dask cluster, the scan CronJob, the PostgreSQL Secret ----

TEAM = DEPLOY / "kubernetes" / "team"
# What `kubectl apply -f DIR` reads from a directory.
APPLIED = (".yaml", ".yml", ".json")


def team_manifests() -> list[dict]:
    return [doc for path in sorted(TEAM.iterdir()) if path.suffix in APPLIED
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def team(kind: str, name: str | None = None) -> dict:
    (found,) = [m for m in team_manifests() if m["kind"] == kind
                and name in (None, m["metadata"]["name"])]
    return found


def team_secret() -> dict:
    return yaml.safe_load((TEAM / "store-secret.yaml.example").read_text())


def team_cronjob_pod() -> dict:
    return team("CronJob")["spec"]["jobTemplate"]["spec"]["template"]


def team_command() -> list[str]:
    (container,) = team_cronjob_pod()["spec"]["containers"]
    assert "command" not in container  # the image's ENTRYPOINT is cloudwall
    return ["cloudwall", *container["args"]]


def first_scan_job() -> dict:
    return yaml.safe_load((TEAM / "once" / "first-scan.yaml").read_text())


def first_scan_commands() -> list[list[str]]:
    """The one-off Job's commands, in the order they run: the scan, then the baseline."""
    pod = first_scan_job()["spec"]["template"]["spec"]
    containers = [*pod["initContainers"], *pod["containers"]]
    assert all("command" not in c for c in containers)  # the image's ENTRYPOINT is cloudwall
    return [["cloudwall", *c["args"]] for c in containers]


def team_config() -> str:
    return team("ConfigMap")["data"]["cloudwall.toml"]


def scheduler_address() -> str:
    cluster = team("DaskCluster")
    # The operator names the scheduler's Service <cluster>-scheduler.
    name, namespace = cluster["metadata"]["name"], cluster["metadata"]["namespace"]
    return f"tcp://{name}-scheduler.{namespace}.svc.cluster.local:8786"


def pod_specs() -> dict[str, dict]:
    cluster = team("DaskCluster")["spec"]
    return {"scheduler": cluster["scheduler"]["spec"], "worker": cluster["worker"]["spec"],
            "scan": team_cronjob_pod()["spec"]}


def test_team_manifests_apply_in_order_into_one_namespace():
    files = sorted(p.name for p in TEAM.iterdir() if p.suffix in APPLIED)
    first = yaml.safe_load((TEAM / files[0]).read_text())
    assert first["kind"] == "Namespace"  # kubectl applies a directory in name order
    namespace = first["metadata"]["name"]
    documents = team_manifests()
    assert all(d["metadata"].get("namespace") == namespace for d in documents
               if d["kind"] != "Namespace")
    keys = [(d["kind"], d["metadata"]["name"]) for d in documents]
    assert len(keys) == len(set(keys))
    # The example Secret holds a placeholder password: never applied with the directory.
    assert "Secret" not in {d["kind"] for d in documents}
    assert team_secret()["metadata"]["namespace"] == namespace


def test_dask_cluster_is_an_operator_resource_with_a_reachable_scheduler():
    cluster = team("DaskCluster")
    assert cluster["apiVersion"] == "kubernetes.dask.org/v1"
    spec = cluster["spec"]
    (scheduler,) = spec["scheduler"]["spec"]["containers"]
    assert scheduler["command"] == ["dask", "scheduler"]
    ports = {p["name"]: p["containerPort"] for p in scheduler["ports"]}
    assert ports["tcp-comm"] == 8786
    service = spec["scheduler"]["service"]
    assert service["selector"] == {"dask.org/cluster-name": cluster["metadata"]["name"],
                                   "dask.org/component": "scheduler"}
    assert {(p["port"], p["targetPort"]) for p in service["ports"]} >= {(8786, "tcp-comm")}
    (worker,) = spec["worker"]["spec"]["containers"]
    assert worker["command"] == ["dask", "worker"] and spec["worker"]["replicas"] >= 1
    assert "$(DASK_WORKER_NAME)" in worker["args"]
    local = worker["args"][worker["args"].index("--local-directory") + 1]
    assert local.startswith("/tmp/")  # the only writable place
    # One image everywhere: a worker refuses tasks from another cloudwall version.
    images = {c["image"] for pod in pod_specs().values() for c in pod["containers"]}
    assert len(images) == 1


def test_workers_and_the_scan_use_their_own_cloud_identity_the_scheduler_none():
    accounts = {a["metadata"]["name"]: a for a in team_manifests()
                if a["kind"] == "ServiceAccount"}
    clouds = {"eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account",
              "azure.workload.identity/client-id"}
    pods = pod_specs()
    for role in ("worker", "scan"):
        account = accounts[pods[role]["serviceAccountName"]]
        assert clouds <= set(account["metadata"]["annotations"]), role
    worker_labels = team("DaskCluster")["spec"]["worker"]["metadata"]["labels"]
    assert worker_labels["azure.workload.identity/use"] == "true"
    assert team_cronjob_pod()["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    scheduler_account = accounts[pods["scheduler"]["serviceAccountName"]]
    assert not clouds & set(scheduler_account["metadata"].get("annotations") or {})
    assert scheduler_account["automountServiceAccountToken"] is False
    assert pods["worker"]["serviceAccountName"] != pods["scan"]["serviceAccountName"]


def test_every_team_pod_is_non_root_with_a_read_only_root_filesystem():
    for role, pod in pod_specs().items():
        assert pod["securityContext"]["runAsNonRoot"] is True, role
        assert pod["securityContext"]["runAsUser"] != 0, role
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, role
            assert security["allowPrivilegeEscalation"] is False, role
            assert security["capabilities"]["drop"] == ["ALL"], role
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], role
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["HOME"] == "/tmp", role


def test_only_the_cluster_and_the_scan_jobs_reach_the_scheduler():
    policy = team("NetworkPolicy")
    cluster = team("DaskCluster")["metadata"]["name"]
    assert policy["spec"]["podSelector"]["matchLabels"] == {"dask.org/cluster-name": cluster}
    allowed = [peer["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"]
               for peer in rule["from"] if "podSelector" in peer]
    scan_labels = team_cronjob_pod()["metadata"]["labels"]
    assert any(labels.items() <= scan_labels.items() for labels in allowed)
    assert {"dask.org/cluster-name": cluster} in allowed
    # Anything else only on the HTTP port, and only from the operator's namespace.
    for rule in policy["spec"]["ingress"]:
        if any("namespaceSelector" in peer for peer in rule["from"]):
            assert [p["port"] for p in rule["ports"]] == [8787]


def test_the_scan_cronjob_runs_on_the_cluster_with_the_store_from_the_secret():
    from urllib.parse import urlsplit

    from scanner.cli.scan import scan

    argv = team_command()
    assert argv[1:3] == ["--quiet", "scan"]
    with scan.make_context("scan", argv[3:], default_map={"providers": ["aws"]}) as ctx:
        params = ctx.params
    assert params["executor_name"] == "dask"
    assert params["dask_scheduler"] == scheduler_address()
    assert params["baseline"] == "prod" and params["fail_on_drift"].word == "widened"
    (container,) = team_cronjob_pod()["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    secret = team_secret()
    for name in ("CLOUDWALL_STORE", "PGPASSWORD"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    url = urlsplit(secret["stringData"][env["CLOUDWALL_STORE"]["valueFrom"]["secretKeyRef"][
        "key"]])
    assert url.scheme == "postgresql" and url.username and url.password is None
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "password"
    # No other secret is set in the clear.
    assert all("value" not in e for e in container["env"]
               if "PASSWORD" in e["name"] or "SECRET" in e["name"] or "KEY" in e["name"])
    pod = team_cronjob_pod()["spec"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_dir = str(Path(env["CLOUDWALL_CONFIG"]["value"]).parent)
    assert volumes[mounts[config_dir]]["configMap"]["name"] == team("ConfigMap")["metadata"][
        "name"]
    assert team("CronJob")["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_first_scan_job_is_wired_as_the_cronjob():
    from scanner.cli.scan import scan

    job = first_scan_job()
    assert job["metadata"]["namespace"] == team("Namespace")["metadata"]["name"]
    scan_argv, baseline_argv = first_scan_commands()
    with scan.make_context("scan", scan_argv[3:], default_map={"providers": ["aws"]}) as ctx:
        assert ctx.params["save"] is True and ctx.params["baseline"] is None
        assert ctx.params["dask_scheduler"] == scheduler_address()
    assert baseline_argv[1:] == ["baseline", "set", "prod", "--from-snapshot", "latest"]
    assert "prod" in team_command()  # the baseline the CronJob compares with
    cron = team_cronjob_pod()
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"] == cron["metadata"]["labels"]
    for key in ("serviceAccountName", "securityContext", "volumes"):
        assert pod["spec"][key] == cron["spec"][key], key
    (cron_container,) = cron["spec"]["containers"]
    for container in [*pod["spec"]["initContainers"], *pod["spec"]["containers"]]:
        for key in ("image", "env", "securityContext", "volumeMounts"):
            assert container[key] == cron_container[key], (container["name"], key)


def test_the_team_configuration_is_valid(tmp_path):
    path = tmp_path / "team.toml"
    path.write_text(team_config())
    shown = subprocess.run([sys.executable, "-m", "scanner.cli", "--config", str(path),
                            "config", "show", "scan"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert 'org-role = "CloudwallAudit"' in shown.stdout


def test_the_scan_cronjob_command_runs_on_a_dask_cluster(tmp_path):
    """The first-scan Job's and the CronJob's exact arguments, with the cluster's address
    replaced by a local Dask cluster's and the PostgreSQL store by a scratch SQLite one, on the
    demo estate."""
    pytest.importorskip("distributed")
    from tests.dask_support import local_cluster

    argv = team_command()
    config_path = tmp_path / "cloudwall.toml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLOUDWALL_STORE": str(tmp_path / "s.db"),
           "CLOUDWALL_CONFIG": str(config_path)}
    config_path.write_text(demo_config(team_config(), "baseline"))
    with local_cluster(workers=1, threads=2) as cluster:
        argv[argv.index(scheduler_address())] = cluster.scheduler_address
        # The set-up the README documents: the one-off Job's scan, then its baseline.
        first_scan, set_baseline = first_scan_commands()
        first_scan[first_scan.index(scheduler_address())] = cluster.scheduler_address
        for step in (first_scan, set_baseline):
            done = run(step, tmp_path, env)
            assert done.returncode == 0, done.stderr
        unchanged = run(argv, tmp_path, env)
        assert unchanged.returncode == 0, unchanged.stderr
        report = json.loads(unchanged.stdout)
        assert report["baseline"] is not None and report["drift"] == []
        config_path.write_text(demo_config(team_config(), "changed"))
        changed = run(argv, tmp_path, env)
        # The scopes were collected by the cluster's worker, not by the scan's own process.
        collected = cluster.scheduler.task_prefixes.get("cloudwall-collect")
        assert collected is not None and sum(collected.state_counts.values()) >= 2
    assert changed.returncode == 1, changed.stderr
    assert any(item["severity"] == "critical" for item in json.loads(changed.stdout)["drift"])
    assert "Traceback" not in unchanged.stderr + changed.stderr
