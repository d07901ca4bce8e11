"""`python -m actions.simulation`: exit codes, JSON keys, messages (run as a subprocess)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions.simulation_chart import PNG_SIGNATURE

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {
    "kwp", "modules", "area_m2", "monthly_generation_kwh", "investment_min_brl", "investment_max_brl",
    "monthly_savings_brl", "payback_years", "savings_25y_brl",
}


def cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "SIMULATION_PARAMETERS_FILE"}
    return subprocess.run(
        [sys.executable, "-m", "actions.simulation", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_kwh_and_a_known_city_print_the_contract_json():
    done = cli("--kwh", "500", "--city", "Belo Horizonte", "--json", "--start-year", "2026")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert CONTRACT_KEYS <= set(out)
    assert (out["state"], out["utility"], out["connection"]) == ("MG", "CEMIG", "bifasico")
    # 450 kWh to compensate / (5.1 × 0.78 × 30.4) = 3.72 kWp -> 7 modules of 550 W = 3.85 kWp
    assert (out["kwp"], out["modules"]) == (3.85, 7)
    assert out["monthly_savings_brl"] == pytest.approx(406.36, abs=0.01)


def test_a_bill_with_state_connection_and_utility():
    done = cli("--bill", "450", "--state", "ba", "--connection", "trifasico", "--utility", "Neoenergia Coelba",
               "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["state"], out["utility"], out["tariff_source"], out["minimum_billing_kwh"]) == (
        "BA", "Coelba", "table", 100)
    assert out["bill_before_brl"] == pytest.approx(450, abs=0.01)


def test_a_utility_without_a_tariff_gets_the_median_flagged():
    out = json.loads(cli("--bill", "450", "--city", "Joinville", "--utility", "celesc", "--json").stdout)
    assert (out["state"], out["utility"], out["tariff_source"]) == ("SC", "Celesc", "median")


def test_without_json_it_prints_the_whatsapp_text():
    done = cli("--kwh", "500", "--state", "MG", "--name", "Carlos Souza")
    assert done.returncode == 0
    assert "Sua simulação solar, Carlos" in done.stdout and "estimativa" in done.stdout


def test_png_is_written(tmp_path):
    done = cli("--kwh", "500", "--city", "Natal", "--png", str(tmp_path / "s.png"), "--json")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("args, message", [
    (("--kwh", "-5", "--city", "Natal"), "positive"),
    (("--kwh", "0", "--state", "SP"), "positive"),
    (("--bill", "nan", "--state", "SP"), "positive"),
    (("--kwh", "5000000", "--state", "SP"), "above"),
    (("--bill", "1e9", "--state", "SP"), "above"),
    (("--kwh", "40", "--state", "SP", "--connection", "trifasico"), "minimum charge"),
    (("--kwh", "500", "--city", "Cidade Que Nao Existe"), "give --state"),
    (("--kwh", "500", "--city", "Bom Jesus"), "give --state"),  # a name several states have
    (("--kwh", "500",), "give --city"),
    (("--kwh", "500", "--state", "XX"), "unknown state"),
    (("--kwh", "500", "--city", "Campinas", "--state", "MG"), "Campinas is in SP"),
    (("--kwh", "500", "--state", "SP", "--utility", "Companhia Inventada"), "unknown distribuidora"),
    (("--state", "SP",), "--kwh"),  # argparse: neither figure
    (("--kwh", "500", "--bill", "300", "--state", "SP"), "not allowed"),
    (("--kwh", "abc", "--state", "SP"), "invalid float"),
    (("--kwh", "500", "--state", "SP", "--connection", "quadrifasico"), "invalid choice"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message):
    done = cli(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
