"""The deployment commands themselves: `docker compose config` on the shipped files (where the
compose plugin exists) and scripts/deploy.sh's dry run."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_deployment import BASE, ROOT, SCALE


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_plugin(), reason="no Docker compose plugin on this machine")
@pytest.mark.parametrize("files", [[BASE], [BASE, SCALE]], ids=["base", "scale"])
def test_docker_compose_accepts_the_files(files):
    env = {**os.environ, "EVOLUTION_API_KEY": "x" * 16, "RASA_AUTH_TOKEN": "x" * 16, "REVIEW_TOKEN": "x" * 16}
    args = [arg for path in files for arg in ("-f", str(path))]
    result = subprocess.run(["docker", "compose", *args, "--profile", "setup", "config", "--quiet"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def dry_run(*args: str, state_dir: Path) -> str:
    env = {**os.environ, "DEPLOY_STATE_DIR": str(state_dir)}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "deploy.sh"), "--dry-run", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_deploy_dry_run_walks_every_step_in_order(tmp_path):
    (tmp_path / "current-tag").write_text("abc123\n")
    out = dry_run("--tag", "def456", state_dir=tmp_path)
    steps = ["redis-cli BGSAVE", "compose cp redis:/data/dump.rdb", "make test",
             "APP_TAG=def456 docker compose -f docker-compose.yml build actions rasa",
             "rasa test core", "up -d --no-deps actions", "up -d --no-deps rasa", "up -d --no-deps review",
             "/webhooks/evolution/ready", "previous tag (abc123)", "record def456"]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions) if p == -1]
    assert positions == sorted(positions)
    assert "deploy: tag def456 (previous: abc123)" in out
    assert not (tmp_path / "backups").exists() and (tmp_path / "current-tag").read_text() == "abc123\n"


def test_deploy_dry_run_with_scale_rolls_replicas_and_pulls(tmp_path):
    out = dry_run("--scale", "--pull", "--skip-tests", "--tag", "v1", state_dir=tmp_path)
    assert "-f docker-compose.scale.yml pull actions rasa" in out
    assert "--scale rasa=<2 x replicas>" in out and "docker stop / docker rm the old rasa containers" in out
    assert "--scale review" not in out  # one container on a fixed port: recreated
    assert "+ make test" not in out


def test_deploy_refuses_unknown_options(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "scripts" / "deploy.sh"), "--dry-run", "--frobnicate"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "unknown option" in result.stderr
