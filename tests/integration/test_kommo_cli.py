"""`python -m crm kommo check` / `ids` run in-process against the fake Kommo: exit codes and output."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest

from crm.cli import main
from tests.fake_kommo import FIRST_STAGE, IN_SERVICE_STAGE, MEETING_STAGE, PIPELINE_ID, QUALIFIED_STAGE, FakeKommo

ROOT = Path(__file__).resolve().parents[2]
GOOD = f"""
stages:
  events: {{meeting.booked: {MEETING_STAGE}, lead.opted_out: 143}}
  statuses: {{qualificado: {QUALIFIED_STAGE}}}
  classes: {{HOT: {FIRST_STAGE}}}
  in_service: [{IN_SERVICE_STAGE}]
lead_fields: {{monthly_bill_brl: 1001, is_owner: 1007, meeting_at: 1014, city: 1004, lead_campaign: 1013}}
contact_fields: {{city: 2004}}
responsible_user_ids: [10004026, 10004027]
"""
BAD = f"""
stages:
  events: {{meeting.booked: 999}}
  in_service: [{IN_SERVICE_STAGE}]
lead_fields: {{monthly_bill_brl: 1001, is_owner: 1003, meeting_at: 1017, city: 8888}}
responsible_user_ids: [1]
"""


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeKommo]:
    with FakeKommo() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: FakeKommo) -> Iterator[FakeKommo]:
    module_fake.come_back()
    module_fake.reset()
    yield module_fake
    module_fake.come_back()


def env(fake: FakeKommo, tmp_path: Path, mapping: Optional[str], **extra: str) -> dict[str, str]:
    values = {"KOMMO_BASE_URL": fake.url, "KOMMO_ACCESS_TOKEN": fake.token, "KOMMO_PIPELINE_ID": str(PIPELINE_ID)}
    if mapping is not None:
        path = tmp_path / "kommo_mapping.yml"
        path.write_text(mapping, encoding="utf-8")
        values["KOMMO_MAPPING_FILE"] = str(path)
    return {**values, **extra}


def cli(args: list[str], environ: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(args, environ=environ, out=out), out.getvalue()


def rows(out: str) -> dict[str, tuple[str, str]]:
    """The table's rows: what → (Kommo id, result); repeated names (users) keep the last."""
    found = (re.match(r"^  (\S.*?)\s{2,}(\S+)  (.*)$", line) for line in out.splitlines())
    return {m[1]: (m[2], m[3]) for m in found if m}


def test_every_mapped_id_exists(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "check"], env(fake, tmp_path, GOOD))
    assert code == 0, out
    table = rows(out)
    assert "Kommo account SolarPrime (solarprime): token accepted" in out
    assert table["pipeline (KOMMO_PIPELINE_ID)"] == (str(PIPELINE_ID), "ok (Funil de vendas)")
    assert table["stage for event meeting.booked"] == (str(MEETING_STAGE), "ok (Visita agendada)")
    assert table["stage for event lead.opted_out"] == ("143", "ok (lost, in every pipeline)")
    assert table["stage in service"] == (str(IN_SERVICE_STAGE), "ok (Em atendimento)")
    assert table["lead field is_owner"] == ("1007", "ok (checkbox: Proprietário)")
    assert table["lead field meeting_at"] == ("1014", "ok (date_time: Reunião)")
    assert table["lead field lead_campaign"] == ("1013", "ok (textarea: Campanha)")
    assert table["lead field utility"] == ("-", "not mapped")
    assert table["contact field city"] == ("2004", "ok (text: Cidade)")
    assert table["responsible user"] == ("10004027", "ok (Bruno Vendas)")
    assert "all 14 mapped ids exist in Kommo" in out and fake.token not in out


def test_missing_ids_and_wrong_types_fail(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "check"], env(fake, tmp_path, BAD))
    table = rows(out)
    assert code == 1
    assert table["stage for event meeting.booked"] == ("999", "missing")
    assert table["lead field city"] == ("8888", "missing")
    assert table["lead field is_owner"] == ("1003", "wrong type: text (needs checkbox)")
    assert table["lead field meeting_at"] == ("1017", "ok (date: Data)")  # a date field holds a meeting too
    assert table["responsible user"] == ("1", "missing")
    assert "4 of 8 mapped ids are missing or of the wrong type" in out


def test_the_shipped_mapping_is_all_not_mapped(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "check"], env(fake, tmp_path, None))
    assert code == 0
    assert "not mapped (the token's user owns new leads)" in out
    assert "all 1 mapped ids exist in Kommo" in out  # the pipeline


def test_a_refused_token_fails(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "check"], env(fake, tmp_path, GOOD, KOMMO_ACCESS_TOKEN="not-the-token"))
    assert code == 1 and "Kommo refused the token (KOMMO_ACCESS_TOKEN)" in out and "not-the-token" not in out


def test_kommo_down_fails(fake: FakeKommo, tmp_path: Path) -> None:
    fake.go_down(refuse=True)
    code, out = cli(["kommo", "check"], env(fake, tmp_path, GOOD))
    assert code == 1 and "Kommo could not be asked" in out


def test_an_unknown_pipeline_is_missing(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "check"], env(fake, tmp_path, GOOD, KOMMO_PIPELINE_ID="12345"))
    assert code == 1 and "pipeline (KOMMO_PIPELINE_ID)" in out
    code, out = cli(["kommo", "ids"], env(fake, tmp_path, None, KOMMO_PIPELINE_ID="12345"))
    assert code == 1 and "no such pipeline" in out


@pytest.mark.parametrize("changes, named", [
    ({"KOMMO_PIPELINE_ID": ""}, "KOMMO_PIPELINE_ID"),
    ({"KOMMO_PIPELINE_ID": "funil"}, "KOMMO_PIPELINE_ID"),
    ({"KOMMO_BASE_URL": ""}, "KOMMO_BASE_URL"),
    ({"KOMMO_BASE_URL": "acme.kommo.com"}, "KOMMO_BASE_URL"),
    ({"KOMMO_ACCESS_TOKEN": ""}, "KOMMO_ACCESS_TOKEN"),
])
def test_a_configuration_error_names_the_variable(fake: FakeKommo, tmp_path: Path, changes: dict, named: str) -> None:
    code, out = cli(["kommo", "check"], {**env(fake, tmp_path, GOOD), **changes})
    assert code == 2 and named in out and out.startswith("configuration error")
    assert fake.requests == []


def test_a_mapping_mistake_names_its_key(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "check"], env(fake, tmp_path, "stages:\n  classes:\n    QUENTE: 5\n"))
    assert code == 2 and "stages.classes.QUENTE" in out


def test_ids_lists_what_to_copy(fake: FakeKommo, tmp_path: Path) -> None:
    code, out = cli(["kommo", "ids"], env(fake, tmp_path, None))
    assert code == 0
    assert re.search(rf"stage +{QUALIFIED_STAGE}  Qualificado", out)
    assert re.search(r"numeric +1001  Conta de luz \(R\$\)", out)
    assert re.search(r"multitext +2001  Telefone", out)
    assert re.search(r"user +10004027  Bruno Vendas", out) and fake.token not in out


def test_python_dash_m_crm_runs_the_cli() -> None:
    run = subprocess.run([sys.executable, "-m", "crm", "kommo", "check"], cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert run.returncode == 2 and "KOMMO_BASE_URL is not set" in run.stdout
