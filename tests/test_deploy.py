"""deploy/ and dashboards/ parse and validate here (no Docker engine, no Grafana server, no Kubernetes):
the compose file by parsing it, Prometheus's config with promtool, the Ray launcher YAML with Ray's own
validation, the KubeRay job for the fields KubeRay requires, and the dashboard's structure and PromQL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DASHBOARD = ROOT / "dashboards" / "cloudsim.json"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not found (Debian: apt-get install prometheus; .ci/run does)"
)


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_compose_stack_is_wired():
    compose = load(DEPLOY / "docker-compose.yml")
    svc = compose["services"]
    assert set(svc) == {"prometheus", "grafana"}
    prom = svc["prometheus"]
    assert any(c.startswith("--storage.tsdb.retention.time=") for c in prom["command"])
    mounts = {m.split(":")[1] for m in prom["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/prometheus", "/backfill"} <= mounts
    for m in prom["volumes"] + svc["grafana"]["volumes"]:
        src = m.split(":")[0]
        if src.startswith("."):
            assert (DEPLOY / src).exists(), m  # every bind mount points at a file or folder in the repo
    assert "host.docker.internal:host-gateway" in prom["extra_hosts"]
    assert svc["grafana"]["depends_on"] == ["prometheus"]
    assert "prom-data" in compose["volumes"]


@needs_promtool
def test_prometheus_config_passes_promtool():
    r = subprocess.run(
        ["promtool", "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    cfg = load(DEPLOY / "prometheus" / "prometheus.yml")
    assert cfg["scrape_configs"][0]["static_configs"][0]["targets"] == ["host.docker.internal:8000"]


def test_grafana_provisioning_matches_the_dashboard():
    ds = load(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")["datasources"][0]
    prov = load(DEPLOY / "grafana" / "provisioning" / "dashboards" / "cloudsim.yml")["providers"][0]
    dash = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    source = variables["datasource"]
    # a datasource variable of Prometheus type whose default is the provisioned datasource (also Grafana's
    # default there), so the dashboard works provisioned and imported into another Grafana alike
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    assert source["current"]["value"] == ds["uid"] and ds["isDefault"] and ds["type"] == "prometheus"
    used = [p["datasource"] for p in dash["panels"] if p["type"] != "row"]
    used += [t["datasource"] for p in dash["panels"] if p["type"] != "row" for t in p["targets"]]
    used += [v["datasource"] for v in variables.values() if v["type"] == "query"]
    assert all(d == {"type": "prometheus", "uid": "${datasource}"} for d in used)
    assert DASHBOARD.read_text().count(ds["uid"]) == 1  # the variable's default, nowhere else
    assert ds["url"] == "http://prometheus:9090"
    # the compose file mounts ../dashboards where the provider looks
    grafana = load(DEPLOY / "docker-compose.yml")["services"]["grafana"]
    assert f"../dashboards:{prov['options']['path']}:ro" in grafana["volumes"]


def test_ray_cluster_launcher_yaml_passes_rays_validation():
    from ray.autoscaler._private.util import prepare_config, validate_config

    cfg = load(DEPLOY / "ray" / "cluster.yaml")
    validate_config(prepare_config(cfg))
    assert any("cloudsim" in c for c in cfg["setup_commands"])
    broken = dict(cfg, max_wrokers=2)
    with pytest.raises(Exception, match="max_wrokers"):
        validate_config(prepare_config(broken))


@pytest.mark.skipif(
    shutil.which("rsync") is None, reason="rsync not found (Debian: apt-get install rsync; .ci/run does)"
)
def test_ray_cluster_launcher_copies_the_repository_without_its_virtualenv_or_history(tmp_path):
    """The file mount goes through rsync with the arguments Ray builds from rsync_exclude / rsync_filter;
    a dry run from a copy of the repository with a .venv and .git of its own lists what would be sent."""
    from ray.autoscaler._private.command_runner import SSHCommandRunner

    cfg = load(DEPLOY / "ray" / "cluster.yaml")
    assert cfg["file_mounts"] == {"~/cloudsim": "."}
    args = SSHCommandRunner._create_rsync_filter_args(None, cfg)
    repo = tmp_path / "repo"
    for name in ("pyproject.toml", "README.md", ".gitignore", "cloudsim/__init__.py", "cloudsim/engine/core.py"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    for junk in (
        ".venv/lib/python3.11/site-packages/ray/__init__.py",
        ".git/objects/ab/cdef",
        "runs/r1/summary.json",
        "cloudsim/__pycache__/core.cpython-311.pyc",
    ):
        (repo / junk).parent.mkdir(parents=True, exist_ok=True)
        (repo / junk).write_text("x")
    out = subprocess.run(
        ["rsync", "-a", "--dry-run", "--out-format=%n", *args, "./", str(tmp_path / "node")],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "cloudsim/engine/core.py" in out and "pyproject.toml" in out
    assert not [n for n in out if n.startswith((".venv", ".git/", "runs")) or "__pycache__" in n], out


def test_kuberay_job_has_what_kuberay_requires():
    _claim, job = yaml.safe_load_all((DEPLOY / "kuberay" / "rayjob.yaml").read_text(encoding="utf-8"))
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    assert spec["entrypoint"].startswith("cloudsim run ")
    cluster = spec["rayClusterSpec"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", cluster["rayVersion"])
    assert cluster["headGroupSpec"]["template"]["spec"]["containers"]
    for group in cluster["workerGroupSpecs"]:
        for key in ("groupName", "minReplicas", "maxReplicas", "template"):
            assert key in group, key
        assert isinstance(group["replicas"], int) and group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    # the entrypoint is a real command line of this CLI: it parses, and its scenario validates
    from cloudsim.cli import main

    args = spec["entrypoint"].split()[1:]
    assert args[0] == "run"
    assert main(["validate", args[1]]) == 0


def test_kuberay_job_keeps_its_outputs_on_a_volume_that_outlives_the_cluster():
    claim, job = yaml.safe_load_all((DEPLOY / "kuberay" / "rayjob.yaml").read_text(encoding="utf-8"))
    assert claim["kind"] == "PersistentVolumeClaim"
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    (volume,) = [
        v for v in head["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == claim["metadata"]["name"]
    ]
    mounts = {m["name"]: m["mountPath"] for c in head["containers"] for m in c.get("volumeMounts", [])}
    args = job["spec"]["entrypoint"].split()
    for flag in ("--out", "--openmetrics"):
        assert args[args.index(flag) + 1].startswith(mounts[volume["name"]] + "/"), flag
    reader = load(DEPLOY / "kuberay" / "results-pod.yaml")
    assert reader["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert "cloudsim-results:/results/" in (DEPLOY / "kuberay" / "rayjob.yaml").read_text()  # the comment says how


def test_docker_build_context_leaves_out_virtualenvs_and_history():
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()[:1] not in ("", "#")
    }
    assert {".git", ".venv", "runs", "**/__pycache__"} <= ignored
    # what the image's `pip install` needs is not ignored
    assert not ignored & {"pyproject.toml", "README.md", "cloudsim"}


def test_dashboard_is_generated_and_up_to_date():
    r = subprocess.run(
        [sys.executable, str(ROOT / "dashboards" / "build.py"), "--check"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


def panels() -> list[dict]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def test_dashboard_refreshes_and_shows_the_last_hour():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["refresh"] == "10s" and dash["refresh"] in dash["timepicker"]["refresh_intervals"]
    assert dash["time"] == {"from": "now-1h", "to": "now"}


def test_dashboard_structure():
    dash = json.loads(DASHBOARD.read_text())
    names = {v["name"]: v for v in dash["templating"]["list"]}
    assert names["scenario"]["multi"] and names["run"]["multi"]
    cells: set[tuple[int, int]] = set()
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, p["title"]
                cells.add((x, y))
    titles = " ".join(p["title"].lower() for p in panels())
    for needed in ("consolidation ratio", "lower bound", "cpu and memory", "cpu overhead", "memory overhead",
                   "guests by mode and state", "placements", "rejections", "migrations", "energy", "sla",
                   "simulation speed"):  # fmt: skip
        assert needed in titles, needed
    for p in panels():
        for t in p["targets"]:
            assert 'scenario=~"$scenario"' in t["expr"] and 'run=~"$run"' in t["expr"], p["title"]


def substituted(expr: str) -> str:
    return expr.replace("$scenario", ".*").replace("$run", ".*")


@needs_promtool
def test_dashboard_queries_parse(tmp_path):
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"panel_{i}_{k}", "expr": substituted(t["expr"])}
        for i, p in enumerate(panels()) for k, t in enumerate(p["targets"])]}]}  # fmt: skip
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    r = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
