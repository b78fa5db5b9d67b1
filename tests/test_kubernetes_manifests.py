"""deploy/kubernetes validates offline: every object against the Kubernetes JSON schemas the
``kubernetes-validate`` package ships (no cluster, no download), and what the schemas cannot
say: probes on the service's own endpoints, resources set, the HPA and the Service aimed at
the API Deployment, every Secret key a pod reads provided by the example Secret, the kustomization
listing every file. The KubeRay example's pod templates validate as PodTemplates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate (a dev dependency) is needed"
)

K8S = ROOT / "deploy" / "kubernetes"
VERSION = "1.33.0"  # the oldest Kubernetes release still supported upstream (2026)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _objects() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in _documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


@pytest.mark.parametrize("path", [*sorted(K8S.glob("*.yaml")), K8S / "ray" / "raycluster.yaml"])
def test_every_object_validates_against_the_kubernetes_schemas(path: Path) -> None:
    for doc in _documents(path):
        if doc["kind"] == "Kustomization":
            continue
        if doc["kind"] == "RayCluster":  # a CRD: its pod templates are core objects
            groups = [doc["spec"]["headGroupSpec"], *doc["spec"]["workerGroupSpecs"]]
            for group in groups:
                template = {
                    "apiVersion": "v1",
                    "kind": "PodTemplate",
                    "metadata": {"name": "ray"},
                    "template": group["template"],
                }
                kubernetes_validate.validate(template, VERSION, strict=True)
            continue
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == on_disk


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_api_replicas_probe_readyz_and_healthz_and_are_autoscaled() -> None:
    objects = _objects()
    api = objects[("Deployment", "triage-api")]
    container = _container(api)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert api["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert objects[("Service", "triage-api")]["spec"]["selector"].items() <= labels.items()
    target = objects[("HorizontalPodAutoscaler", "triage-api")]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "triage-api")
    for name in ("triage-api", "triage-worker"):
        resources = _container(objects[("Deployment", name)])["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert "memory" in resources["limits"]


def test_every_secret_and_config_a_pod_reads_exists() -> None:
    objects = _objects()
    secret = _documents(K8S / "secret.example.yaml")[0]
    for name in ("triage-api", "triage-worker"):
        for source in _container(objects[("Deployment", name)])["envFrom"]:
            if "secretRef" in source:
                assert source["secretRef"]["name"] == secret["metadata"]["name"]
            else:
                assert ("ConfigMap", source["configMapRef"]["name"]) in objects
    assert set(secret["stringData"]) == {"TRIAGE_API_KEYS", "TRIAGE_DATABASE_URL"}
    # The Settings the ConfigMap sets are the service's own.
    from triage.settings import Settings

    fields = {f"TRIAGE_{name.upper()}" for name in Settings.model_fields}
    config = objects[("ConfigMap", "triage-config")]["data"]
    assert {k for k in config if k.startswith("TRIAGE_")} <= fields
    assert set(secret["stringData"]) <= fields
