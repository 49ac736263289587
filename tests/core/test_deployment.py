"""The deployment files refer to real things (docs/deployment.md): the Kubernetes manifests under
deploy/kubernetes/ and the load balancer and pooler of docker-compose.yml. No container engine
runs here, so each file is parsed, each Kubernetes object is checked against the API's own
schemas, and every image, command, queue, probe and file it names is checked against the
repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from django.core.management import get_commands
from django.urls import resolve

from spoc.core.queues import WORKERS
from tests.conftest import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
HUB_IMAGE, PGBOUNCER_IMAGE = "spoc-hub", "spoc-pgbouncer"


def manifests() -> dict[str, list[dict[str, Any]]]:
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for path in sorted(KUBERNETES.glob("*.yaml"))
    }


def objects(kind: str) -> list[dict[str, Any]]:
    return [
        doc
        for name, docs in manifests().items()
        if name != "secret.example.yaml"
        for doc in docs
        if doc["kind"] == kind
    ]


def containers() -> list[dict[str, Any]]:
    found = []
    for kind in ("Deployment", "Job"):
        for obj in objects(kind):
            found += obj["spec"]["template"]["spec"]["containers"]
    return found


def test_kustomization_applies_every_manifest_but_the_example_secret():
    kustomization = manifests()["kustomization.yaml"][0]
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")}
    assert listed == on_disk - {"kustomization.yaml", "secret.example.yaml"}
    assert {image["name"] for image in kustomization["images"]} == {HUB_IMAGE, PGBOUNCER_IMAGE}


# The Kubernetes releases the manifests are checked against: the three Kubernetes itself supports
# at the time of writing and the two before, which managed platforms still run.
KUBERNETES_VERSIONS = ["1.33", "1.34", "1.35", "1.36", "1.37"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_kubernetes_own_schemas(version: str):
    """Each object, field by field, against the API's published OpenAPI schemas (the package
    kubernetes-validate), strictly: a field that is misspelled, misplaced or gone from that
    release fails here instead of at `kubectl apply`."""
    checked = []
    for name, documents in manifests().items():
        if name == "kustomization.yaml":  # kustomize's own file, not an API object
            continue
        for document in documents:
            kubernetes_validate.validate(document, f"{version}.0", strict=True)
            checked.append(f"{document['kind']}/{document['metadata']['name']}")
    assert {"Deployment/web", "Deployment/beat", "Job/migrate", "Secret/spoc-secrets"} <= set(
        checked
    )


def test_every_container_runs_a_command_of_the_hub():
    commands = get_commands()
    for container in containers():
        command = container["command"]
        assert container["image"] in {HUB_IMAGE, PGBOUNCER_IMAGE}, container["name"]
        if container["image"] == PGBOUNCER_IMAGE:
            dockerfile = (ROOT / "docker" / "pgbouncer" / "Dockerfile").read_text()
            assert f"COPY deploy/pgbouncer/run.sh {command[0]}" in dockerfile
            continue
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in commands
        elif command[0] == "sh":
            assert "gunicorn spoc.wsgi -c gunicorn.conf.py" in command[2]
            assert (ROOT / "gunicorn.conf.py").exists()
        else:
            assert command[:3] == ["celery", "-A", "spoc"], command
        for probe in ("readinessProbe", "livenessProbe"):
            if "exec" in container.get(probe, {}):
                managed = re.search(r"manage\.py (\w+)", container[probe]["exec"]["command"][2])
                assert managed and managed.group(1) in commands


def test_one_worker_deployment_per_kind_of_work_and_one_beat():
    consumed = {}
    beats = []
    for deployment in objects("Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        command = container["command"]
        if command[:4] == ["celery", "-A", "spoc", "worker"]:
            queues = command[command.index("--queues") + 1]
            consumed[deployment["metadata"]["name"]] = queues
            probe = container["livenessProbe"]["exec"]["command"][2]
            assert f"check_pipeline worker --queues {queues};" in probe
        elif command[:4] == ["celery", "-A", "spoc", "beat"]:
            beats.append(deployment)
    assert consumed == {f"worker-{kind}": ",".join(queues) for kind, queues in WORKERS.items()}
    [beat] = beats
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_web_probes_ask_a_real_path_and_the_migrations_bypass_the_pooler():
    [web] = [d for d in objects("Deployment") if d["metadata"]["name"] == "web"]
    [container] = web["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert resolve(path).url_name, path
    [job] = objects("Job")
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in migrate["env"]}
    assert env["DATABASE_POOLER"]["value"] == ""
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_DIRECT_URL"


def test_every_secret_and_config_key_read_is_in_the_example_or_the_config_map():
    [secret] = manifests()["secret.example.yaml"]
    [config] = objects("ConfigMap")
    assert config["data"]["DATABASE_POOLER"] == "pgbouncer"
    for container in containers():
        for ref in container.get("envFrom", []):
            name = (ref.get("configMapRef") or ref.get("secretRef"))["name"]
            assert name in {config["metadata"]["name"], secret["metadata"]["name"]}
        for entry in container.get("env", []):
            key = entry.get("valueFrom", {}).get("secretKeyRef", {}).get("key")
            assert key is None or key in secret["stringData"]
    services = {s["metadata"]["name"] for s in objects("Service")}
    assert "@pgbouncer:6432/" in secret["stringData"]["DATABASE_URL"]
    assert "pgbouncer" in services


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_runs_two_web_nodes_behind_the_balancer_and_everything_through_pgbouncer():
    services = compose()
    lb = services["lb"]
    assert {lb["environment"]["SPOC_WEB1"], lb["environment"]["SPOC_WEB2"]} == {
        "web:8000",
        "web-2:8000",
    }
    assert services["web-2"]["command"] == services["web"]["command"]
    source = lb["volumes"][0].split(":")[0]
    assert (ROOT / source).resolve() == HAPROXY_CFG
    pooled = [name for name, s in services.items() if "DATABASE_URL" in s.get("environment", {})]
    for name in pooled:
        env = services[name]["environment"]
        if name == "migrate":
            assert "@db:5432/" in env["DATABASE_URL"] and env["DATABASE_POOLER"] == ""
        else:
            assert "@pgbouncer:6432/" in env["DATABASE_URL"]
            assert env["DATABASE_POOLER"] == "pgbouncer"
    assert (ROOT / services["pgbouncer"]["build"]["dockerfile"]).exists()


def test_haproxy_accepts_the_balancers_configuration(tmp_path: Path):
    """HAProxy itself checks the file, with the variables compose gives it (make test installs
    haproxy: scripts/ensure_services.sh)."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.fail("haproxy is missing: run 'apt-get install haproxy' (make test does as root).")
    env = {str(k): str(v) for k, v in compose()["lb"]["environment"].items()}
    env["SPOC_HEALTH_HOST"] = "localhost"
    result = subprocess.run(
        [haproxy, "-c", "-f", str(HAPROXY_CFG)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _images_started_from() -> set[str]:
    """Every image docker-compose.yml runs and every image a Dockerfile of ours starts FROM."""
    images = {s["image"] for s in compose().values() if "image" in s}
    for dockerfile in [ROOT / "Dockerfile", *ROOT.glob("docker/*/Dockerfile")]:
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                images.add(line.split()[1])
    return images


def test_every_image_the_layout_starts_from_can_be_built_from_debians_archive():
    """deploy/debian-images/build.sh builds, under the same names, each image the layout pulls
    (docs/deployment.md, "Without Docker Hub"): a new one in docker-compose.yml or a Dockerfile
    needs its recipe there too, or that way of running the layout breaks."""
    built = []
    for tag in (ROOT / "deploy" / "debian-images").glob("*/tag"):
        assert (tag.parent / "Dockerfile").exists(), tag.parent.name
        built.append(tag.read_text().strip())
    # Each image once: two recipes of one name would leave the second one's image.
    assert sorted(built) == sorted(_images_started_from())
