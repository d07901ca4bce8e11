"""Deployment files: every image pinned, every long-running service restarted and
health-checked, the compose files valid (when Docker's compose plugin is here), and
the deploy script's dry run walking every step in order."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "docker-compose.yml"
SCALE = ROOT / "docker-compose.scale.yml"
COMPOSE_FILES = [BASE, SCALE]

# A tag with a digit (a version or a commit), or a digest; our own images' tag is ${APP_TAG...}.
_TAG = r":(?:(?!latest$)[\w.-]*\d[\w.-]*|\$\{APP_TAG[^}]*\})"
_DIGEST = r"@sha256:[0-9a-f]{64}"
PINNED = re.compile(rf"^[^:@\s]+(?:{_TAG}(?:{_DIGEST})?|{_DIGEST})$")
# Each compose service that must keep running (profiles hold one-shot jobs).
ONE_SHOT_PROFILES = {"setup"}


class _ComposeLoader(yaml.SafeLoader):
    """PyYAML with compose's `!reset` / `!override` tags read as plain values."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return loader.construct_scalar(node)


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(_tag, _plain)


def load(path: Path) -> Dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_ComposeLoader)


def merged_services() -> Dict[str, Dict[str, Any]]:
    services: Dict[str, Dict[str, Any]] = {}
    for path in COMPOSE_FILES:
        for name, service in (load(path).get("services") or {}).items():
            services[name] = {**services.get(name, {}), **service}
    return services


def long_running(services: Dict[str, Dict[str, Any]]) -> List[str]:
    return [name for name, s in services.items() if not ONE_SHOT_PROFILES & set(s.get("profiles") or [])]


@pytest.mark.parametrize("image, pinned", [
    ("redis:7.2.5-alpine", True), ("evoapicloud/evolution-api:v2.3.6", True),
    ("solarprime/rasa:${APP_TAG:-dev}", True), (f"nginx@sha256:{'a' * 64}", True),
    ("redis", False), ("redis:latest", False), ("nginx:alpine", False), ("postgres:stable", False),
])
def test_pinned_pattern(image, pinned):
    assert bool(PINNED.match(image)) is pinned


def test_every_image_is_pinned():
    for path in COMPOSE_FILES:
        for name, service in load(path)["services"].items():
            if "image" in service:
                image = service["image"]
                assert PINNED.match(image), f"{path.name}: {name} image {image!r} is not pinned"
    for name, service in merged_services().items():
        assert "image" in service, f"{name} has no image name: built images must be tagged (APP_TAG)"


def test_dockerfile_base_images_are_pinned():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            image = line.split()[1]
            assert image in {"python"} or PINNED.match(image), line


def test_long_running_services_restart_and_are_health_checked():
    services = merged_services()
    assert {"redis", "evolution", "rasa", "actions", "review", "proxy"} <= set(long_running(services))
    for name in long_running(services):
        assert services[name].get("restart") in ("unless-stopped", "always"), f"{name}: no restart policy"
        assert services[name].get("healthcheck", {}).get("test"), f"{name}: no healthcheck"


def test_the_setup_job_points_the_webhook_at_rasa():
    job = load(BASE)["services"]["setup-webhook"]
    assert job["profiles"] == ["setup"] and job["restart"] == "no"
    assert job["command"][:4] == ["python", "-m", "connectors.evolution", "setup-webhook"]
    assert "http://rasa:5005" in job["command"]


def test_scaled_rasa_is_behind_the_proxy_only():
    scale = load(SCALE)["services"]
    assert scale["rasa"]["ports"] == [] and scale["proxy"]["ports"] == ["5005:5005"]
    config = (ROOT / "deploy" / "nginx-rasa.conf").read_text()
    assert "server rasa:5005 resolve" in config and "X-Request-ID" in config


@pytest.mark.parametrize(
    "variable, run_stack_pattern",
    [
        ("SANIC_WORKERS", r'workers="\$\{SANIC_WORKERS:-(\w+)\}"'),
        ("SANIC_ACCESS_LOG", r'SANIC_ACCESS_LOG="\$\{SANIC_ACCESS_LOG:-(\w+)\}"'),
    ],
)
def test_the_rasa_server_settings_are_alike_everywhere_they_are_shipped(variable, run_stack_pattern):
    """make run, the Rasa image and .env.example start the Rasa server with the
    worker count and access log that the tests and the benchmark run as shipped."""
    from scripts.procs import SHIPPED_SANIC_ACCESS_LOG, SHIPPED_SANIC_WORKERS

    expected = {"SANIC_WORKERS": str(SHIPPED_SANIC_WORKERS), "SANIC_ACCESS_LOG": SHIPPED_SANIC_ACCESS_LOG}[variable]
    run_stack = (ROOT / "scripts" / "run-stack.sh").read_text()
    rasa_stage = (ROOT / "Dockerfile").read_text().split("AS rasa", 1)[1].split("\nFROM ", 1)[0]
    env_example = (ROOT / ".env.example").read_text()
    assert re.search(run_stack_pattern, run_stack).group(1) == expected
    assert re.search(rf"ENV {variable}=(\w+)", rasa_stage).group(1) == expected
    assert re.search(rf"^{variable}=(\w+)$", env_example, re.M).group(1) == expected
