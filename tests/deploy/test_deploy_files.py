"""The deploy files, checked offline: there is no Docker engine or Kubernetes cluster here.

hadolint lints the Dockerfiles; the Compose file is validated against the Compose
specification's schema (check-jsonschema ships it), the Kubernetes manifests against the
Kubernetes API schemas (kubernetes-validate ships them). What an image would *do* is tested
by ``test_images.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCKERFILES = [REPO / "Dockerfile.agent", REPO / "Dockerfile.backend"]
K8S = sorted((REPO / "deploy" / "k8s").glob("*.yaml"))
K8S_VERSION = "1.31.0"


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_hadolint_finds_nothing() -> None:
    out = run(str(BIN / "hadolint"), *map(str, DOCKERFILES))
    assert out.returncode == 0, out.stdout + out.stderr


def test_images_run_as_a_non_root_user_with_data_under_a_volume() -> None:
    for path in DOCKERFILES:
        text = path.read_text()
        users = re.findall(r"^USER\s+(\S+)", text, re.M)
        assert users, f"{path.name}: no USER"
        uid = users[-1].split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"{path.name}: runs as {users[-1]}"
        assert re.search(r'^VOLUME \["/data"\]', text, re.M), f"{path.name}: no /data volume"
        assert "PARLEY_DATA_DIR=/data" in text, f"{path.name}: data dir not on the volume"
        # Installed non-editable and the sources removed: nothing can lean on the checkout.
        assert "pip install --no-cache-dir --no-deps . &&" in text, path.name
    assert "PARLEY_HISTORY_SPOOL_DIR=/data/" in DOCKERFILES[0].read_text()


def test_the_backend_image_carries_no_speech_or_llm_stack() -> None:
    text = (REPO / "Dockerfile.backend").read_text()
    used = set(re.findall(r"requirements[\w-]*\.txt", text))
    assert used == {"requirements-backend.txt"}, used
    backend = (REPO / "requirements-backend.txt").read_text().lower()
    for package in ("livekit-agents", "faster-whisper", "piper-tts", "xllamacpp", "onnxruntime"):
        assert package not in backend, package


def test_requirements_txt_is_both_sets() -> None:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    assert "-r requirements-backend.txt" in lines
    assert "-r requirements-agent.txt" in lines


def test_compose_file_follows_the_compose_specification() -> None:
    compose = REPO / "deploy" / "docker-compose.yml"
    out = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)
    )
    assert out.returncode == 0, out.stdout + out.stderr
    services = yaml.safe_load(compose.read_text())["services"]
    assert set(services) == {"livekit", "redis", "postgres", "backend", "worker"}
    for name in ("backend", "worker"):
        dockerfile = services[name]["build"]["dockerfile"]
        assert (REPO / dockerfile).is_file(), dockerfile
    assert "redis:6379" in services["livekit"]["environment"]["LIVEKIT_CONFIG"]
    assert services["backend"]["environment"]["DATABASE_URL"].startswith("postgresql://")


def test_kubernetes_manifests_validate_against_the_api_schemas() -> None:
    assert K8S, "no manifests in deploy/k8s"
    out = run(str(BIN / "kubernetes-validate"), "--strict", "-k", K8S_VERSION, *map(str, K8S))
    assert out.returncode == 0, out.stdout + out.stderr
    docs = [d for path in K8S for d in yaml.safe_load_all(path.read_text()) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for wanted in [
        ("Deployment", "livekit"),
        ("Deployment", "redis"),
        ("Deployment", "backend"),
        ("Deployment", "worker"),
        ("HorizontalPodAutoscaler", "worker"),
        ("Ingress", "parley"),
    ]:
        assert wanted in kinds, f"missing {wanted}"
    livekit_config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"]
    assert "redis:" in livekit_config and "redis.parley.svc" in livekit_config
    for deploy in (d for d in docs if d["kind"] == "Deployment"):
        pod = deploy["spec"]["template"]["spec"]
        ctx = {**pod.get("securityContext", {}), **pod["containers"][0].get("securityContext", {})}
        assert ctx.get("runAsNonRoot") is True, deploy["metadata"]["name"]
    worker = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "worker"
    )
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60
