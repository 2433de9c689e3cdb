"""The deployment files, checked offline: Kubernetes manifests against the API schemas of
kubernetes-validate, the compose file against the Compose Specification schema that
check-jsonschema vendors, and the settings they pass against the assistant's own settings."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from graph.settings import Settings

DEPLOY = Path(__file__).parents[3] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.33.0"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_is_valid_kubernetes(path: Path) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secret() -> None:
    (kustomization,) = documents(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS} - {"secret.example.yaml"}


def all_docs() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in documents(path)]


def containers() -> list[dict[str, Any]]:
    found = []
    for doc in all_docs():
        spec = doc.get("spec", {})
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
        found += template.get("spec", {}).get("containers", [])
    return found


def test_the_bot_is_probed_sized_spread_and_scaled() -> None:
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in all_docs()}
    bot = by_kind[("Deployment", "bot")]["spec"]
    (container,) = bot["template"]["spec"]["containers"]
    assert bot["replicas"] >= 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["memory"] == "1Gi"
    assert bot["template"]["spec"]["terminationGracePeriodSeconds"] > 30, "longer than the drain"
    hpa = by_kind[("HorizontalPodAutoscaler", "bot")]["spec"]
    assert {m["type"] for m in hpa["metrics"]} == {"Resource", "Pods"}
    assert by_kind[("PodDisruptionBudget", "bot")]["spec"]["minAvailable"] == 1
    assert ("CronJob", "offline-evaluation") in by_kind
    assert (
        "--appendonly"
        in by_kind[("StatefulSet", "redis")]["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def setting_exists(name: str) -> bool:
    """Whether ``ASSISTANT_A__B`` names a field of ``Settings`` (``a.b``)."""
    model: Any = Settings
    for part in name.removeprefix("ASSISTANT_").lower().split("__"):
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation
    return True


def test_every_assistant_variable_the_files_set_is_a_real_setting() -> None:
    names = {e["name"] for c in containers() for e in c.get("env", [])}
    compose = (DEPLOY / "compose.yaml").read_text()
    names |= set(re.findall(r"\b(ASSISTANT_[A-Z_]+?)(?=[:=])", compose))
    names |= set(re.findall(r"^(ASSISTANT_[A-Z_]+)=", (DEPLOY / ".env.example").read_text(), re.M))
    # Slack credentials are bot.config's; ASSISTANT_CONFIG names the YAML file itself
    slack = {"ASSISTANT_SLACK_BOT_TOKEN", "ASSISTANT_SLACK_SIGNING_SECRET", "ASSISTANT_CONFIG"}
    unknown = sorted(
        n for n in names if n.startswith("ASSISTANT_") and n not in slack and not setting_exists(n)
    )
    assert unknown == []


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    jsonschema.validate(compose, schema)
    services = compose["services"]
    assert services["bot"]["deploy"]["replicas"] == 2
    assert "--appendonly" in services["redis"]["command"]
    assert services["ingest"]["profiles"] == ["jobs"]
    assert "healthcheck" in services["bot"] and "healthcheck" in services["redis"]


def test_the_mounted_configuration_is_valid_for_the_assistant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (config_map,) = documents(K8S / "configmap.yaml")
    for text in (config_map["data"]["assistant.yaml"], (DEPLOY / "assistant.yaml").read_text()):
        path = tmp_path / "assistant.yaml"
        path.write_text(text)
        monkeypatch.setenv("ASSISTANT_CONFIG", str(path))
        settings = Settings()
        assert settings.tools.planning == "auto"
