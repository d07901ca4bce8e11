"""The solar simulation's arithmetic (sdr/simulation), checked against hand calculations.

All cases start in 2026 (Fio B 60%, then 75% in 2027, 90% in 2028, 100% from 2029) with the
shipped tables. Common figures, from parameters.yml and tariffs.yml (checked first below):

    tax factor, ICMS 18% + PIS/COFINS 5%:  1 / (1 - 0.23) = 1.298701
    yield per kWp = HSP × PR 0.78 × 30.4 days          modules of 550 W and 2.6 m²
    Fio B (R$/kWh) = TUSD × 0.35; TUSD unknown -> TE+TUSD × 0.623008 (median split share)
    public lighting R$ 15 (only turns a bill in R$ into kWh)
    monthly saving, year 1 = compensated × (tariff - Fio B × 0.60) × 1.298701
"""
import math
import shutil

import pytest
import yaml

from sdr.simulation import PARAMETERS_FILE_ENV, SimulationError, SimulationRequest, load_data, simulate
from sdr.simulation.parameters import DATA_DIR, load_parameters
from sdr.simulation.savings import payback_years
from sdr.vocabulary import UFS

TAX = 1 / 0.77


@pytest.fixture(autouse=True)
def shipped_parameters(monkeypatch):
    monkeypatch.delenv(PARAMETERS_FILE_ENV, raising=False)


def run(**request):
    return simulate(SimulationRequest(start_year=2026, **request))


def test_the_figures_the_hand_calculations_use():
    data = load_data()
    p, tariffs = data.parameters, data.tariffs
    assert (p.performance_ratio, p.days_per_month, p.module_power_w, p.module_area_m2) == (0.78, 30.4, 550, 2.6)
    assert (p.icms("MG"), p.icms("SP"), p.pis_cofins, p.public_lighting_brl) == (0.18, 0.18, 0.05, 15.0)
    assert p.fio_b_share_of_tusd == 0.35 and p.fio_b_percent(2026) == 0.60 and p.fio_b_percent(2031) == 1.0
    assert p.minimum_billing_kwh == {"monofasico": 30, "bifasico": 50, "trifasico": 100}
    assert p.default_connection == "bifasico" and p.horizon_years == 25
    assert [(b.up_to_kwp, b.min_brl_per_wp, b.max_brl_per_wp) for b in p.price_bands] == [
        (4, 2.49, 3.10), (15, 2.35, 2.70), (None, 2.28, 2.49)]
    assert tariffs.find("CEMIG").te_plus_tusd == 0.800
    assert (tariffs.find("Enel SP").te_plus_tusd, tariffs.find("Enel SP").tusd) == (0.78938, 0.47242)
    assert (tariffs.find("Equatorial Goiás").te_plus_tusd, tariffs.find("Equatorial Goiás").tusd) == (0.89181, 0.56767)
    assert (tariffs.find("CEEE Equatorial").te_plus_tusd, tariffs.find("CEEE Equatorial").tusd) == (0.822, 0.47863)
    assert tariffs.median == 0.822
    assert tariffs.median_tusd_share == pytest.approx(0.623008, abs=1e-6)  # RGE's 0.58850 / 0.94461
    sun = data.sun
    assert (sun["MG"].capital_hsp, sun["SP"].hsp, sun["GO"].capital_hsp) == (5.1, 4.8, 5.3)
    assert (sun["RN"].hsp, sun["RS"].capital_hsp, sun["SC"].hsp) == (5.8, 4.4, 4.3)


def test_a_small_residential_bill():
    # R$ 250 in Belo Horizonte/MG (CEMIG 0.800, capital HSP 5.1), bifásico (50 kWh minimum):
    #   tariff with taxes = 0.800 × 1.298701 = 1.038961 R$/kWh
    #   consumption = (250 - 15) / 1.038961 = 226.19 kWh; to compensate 226.19 - 50 = 176.19 kWh
    #   yield = 5.1 × 0.78 × 30.4 = 120.9312 kWh/kWp; 176.19 / 120.9312 = 1.4569 kWp
    #   = 2.649 modules -> 3 modules = 1.65 kWp, 7.8 m², 1.65 × 120.9312 = 199.54 kWh/month
    #   price band <= 4 kWp: 1650 × 2.49 = R$ 4,108.50 to 1650 × 3.10 = R$ 5,115.00 (mid 4,611.75)
    #   year 1: generation 199.54 × 0.98 = 195.55 >= 176.19, so all 176.19 kWh compensated;
    #   Fio B = 0.800 × 0.623008 × 0.35 = 0.174442; saving = 176.19 × (0.800 - 0.104665) × 1.298701
    #   = R$ 159.10 a month; the bill goes from R$ 250.00 to 250 - 159.10 = R$ 90.90
    #   year 2 (×1.054, 75%): 176.19 × (0.8432 - 0.183862 × 0.75) × 1.298701 × 12 = R$ 1,936.61
    #   payback: 1,909.24 + 1,936.61 = 3,845.84 after 2 years; year 3 saves 1,961.37:
    #   2 + (4,611.75 - 3,845.84) / 1,961.37 = 2.39 years
    sim = run(state="MG", city="Belo Horizonte", monthly_bill_brl=250)
    s = sim.as_dict()
    assert sim.sizing.consumption_kwh == pytest.approx(226.19, abs=0.01)
    assert (s["kwp"], s["modules"], s["area_m2"]) == (1.65, 3, 7.8)
    assert s["monthly_generation_kwh"] == pytest.approx(199.54, abs=0.05)
    assert (s["investment_min_brl"], s["investment_max_brl"]) == (4108.50, 5115.00)
    assert s["monthly_savings_brl"] == pytest.approx(159.10, abs=0.01)
    assert (s["bill_before_brl"], s["bill_after_brl"]) == pytest.approx((250.00, 90.90), abs=0.01)
    assert sim.savings.years[1].savings_brl == pytest.approx(1936.61, abs=0.01)
    assert sim.savings.payback_years == pytest.approx(2.39, abs=0.005)
    assert (s["utility"], s["tariff_source"], s["hsp"], s["hsp_basis"]) == ("CEMIG", "table", 5.1, "capital")


def test_a_large_commercial_bill():
    # R$ 8,000 in Campinas/SP (Enel SP 0.78938, TUSD 0.47242; Campinas is not the capital: HSP 4.8),
    # trifásico (100 kWh minimum):
    #   tariff with taxes = 0.78938 × 1.298701 = 1.025169; consumption = 7,985 / 1.025169 = 7,788.96 kWh
    #   to compensate 7,688.96 kWh; yield = 4.8 × 0.78 × 30.4 = 113.8176; 67.555 kWp = 122.83 modules
    #   -> 123 modules = 67.65 kWp, 319.8 m², 67.65 × 113.8176 = 7,699.76 kWh/month
    #   price band > 15 kWp: 67,650 × 2.28 = R$ 154,242.00 to × 2.49 = R$ 168,448.50 (mid 161,345.25)
    #   year 1: generation 7,699.76 × 0.98 = 7,545.77 < 7,688.96: all of it compensated, the rest billed
    #   Fio B = 0.47242 × 0.35 = 0.165347; saving = 7,545.77 × (0.78938 - 0.099208) × 1.298701
    #   = R$ 6,763.47 a month (81,161.68 in the year); year 2 saves 82,007.44:
    #   payback 1 + (161,345.25 - 81,161.68) / 82,007.44 = 1.98 years
    sim = run(state="SP", city="Campinas", monthly_bill_brl=8000, connection="trifasico")
    s = sim.as_dict()
    assert sim.sizing.consumption_kwh == pytest.approx(7788.96, abs=0.01)
    assert (s["kwp"], s["modules"], s["area_m2"]) == (67.65, 123, 319.8)
    assert s["monthly_generation_kwh"] == pytest.approx(7699.76, abs=0.05)
    assert (s["investment_min_brl"], s["investment_max_brl"]) == (154242.00, 168448.50)
    assert sim.savings.years[0].compensated_kwh == pytest.approx(7545.77, abs=0.01)
    assert s["monthly_savings_brl"] == pytest.approx(6763.47, abs=0.01)
    assert sim.savings.payback_years == pytest.approx(1.98, abs=0.005)
    assert (s["hsp"], s["hsp_basis"]) == (4.8, "state")


def test_the_three_phase_minimum_charge_stays_on_the_bill():
    # 300 kWh in Goiânia/GO (Equatorial Goiás 0.89181, TUSD 0.56767, capital HSP 5.3):
    #   yield = 5.3 × 0.78 × 30.4 = 125.6736 kWh/kWp; Fio B = 0.56767 × 0.35 = 0.198684
    #   trifásico: compensate 300 - 100 = 200 kWh: 200 / 125.6736 / 0.55 = 2.893 -> 3 modules, 1.65 kWp
    #     bill before = 300 × 0.89181 × 1.298701 + 15 = R$ 362.46
    #     bill after = (100 × 0.89181 + 200 × 0.198684 × 0.60) × 1.298701 + 15 = R$ 161.78,
    #     which holds the minimum charge 100 × 0.89181 × 1.298701 + 15 = R$ 130.82; saving R$ 200.68
    #   monofásico: compensate 270 kWh: 3.906 -> 4 modules, 2.2 kWp; year 1 generation
    #     276.48 × 0.98 = 270.95 >= 270; bill after = (30 × 0.89181 + 270 × 0.119211) × 1.298701 + 15
    #     = R$ 91.55; saving R$ 270.91
    three = run(state="GO", city="Goiânia", monthly_kwh=300, connection="trifasico").as_dict()
    assert (three["kwp"], three["modules"], three["minimum_billing_kwh"]) == (1.65, 3, 100)
    assert (three["bill_before_brl"], three["bill_after_brl"]) == pytest.approx((362.46, 161.78), abs=0.01)
    assert three["bill_after_brl"] >= 100 * 0.89181 * TAX + 15
    assert three["monthly_savings_brl"] == pytest.approx(200.68, abs=0.01)
    one = run(state="GO", city="Goiânia", monthly_kwh=300, connection="monofasico").as_dict()
    assert (one["kwp"], one["modules"]) == (2.2, 4)
    assert one["bill_after_brl"] == pytest.approx(91.55, abs=0.01)
    assert one["monthly_savings_brl"] == pytest.approx(270.91, abs=0.01)


def test_a_high_irradiation_city_without_a_tariff_of_its_own():
    # 400 kWh in Mossoró/RN (state HSP 5.8; Cosern has no row: the median 0.822, flagged), bifásico:
    #   yield = 5.8 × 0.78 × 30.4 = 137.5296; 350 kWh / 137.5296 = 2.5449 kWp = 4.627 modules
    #   -> 5 modules = 2.75 kWp, 13 m², 378.21 kWh/month; R$ 6,847.50 to R$ 8,525.00
    #   Fio B = 0.822 × 0.623008 × 0.35 = 0.179240; saving = 350 × (0.822 - 0.107544) × 1.298701
    #   = R$ 324.75 a month
    s = run(state="RN", city="Mossoró", monthly_kwh=400).as_dict()
    assert (s["hsp"], s["hsp_basis"], s["utility"], s["tariff_source"]) == (5.8, "state", "Cosern", "median")
    assert (s["kwp"], s["modules"], s["area_m2"]) == (2.75, 5, 13.0)
    assert s["monthly_generation_kwh"] == pytest.approx(378.21, abs=0.05)
    assert (s["investment_min_brl"], s["investment_max_brl"]) == (6847.50, 8525.00)
    assert s["monthly_savings_brl"] == pytest.approx(324.75, abs=0.01)
    assert any("median" in note for note in s["assumptions"])


def test_a_low_irradiation_city_needs_more_modules_for_the_same_consumption():
    # 400 kWh in Porto Alegre/RS (capital HSP 4.4; CEEE Equatorial 0.822, TUSD 0.47863), bifásico:
    #   yield = 4.4 × 0.78 × 30.4 = 104.3328; 350 / 104.3328 = 3.3546 kWp = 6.099 modules
    #   -> 7 modules = 3.85 kWp (Mossoró: 5), 18.2 m², 401.68 kWh/month; R$ 9,586.50 to R$ 11,935.00
    #   Fio B = 0.47863 × 0.35 = 0.167521; saving = 350 × (0.822 - 0.100512) × 1.298701 = R$ 327.95
    s = run(state="RS", city="Porto Alegre", monthly_kwh=400).as_dict()
    assert (s["hsp"], s["utility"], s["tariff_source"]) == (4.4, "CEEE Equatorial", "table")
    assert (s["kwp"], s["modules"], s["area_m2"]) == (3.85, 7, 18.2)
    assert s["monthly_generation_kwh"] == pytest.approx(401.68, abs=0.05)
    assert (s["investment_min_brl"], s["investment_max_brl"]) == (9586.50, 11935.00)
    assert s["monthly_savings_brl"] == pytest.approx(327.95, abs=0.01)
    assert s["payback_years"] > run(state="RN", city="Mossoró", monthly_kwh=400).as_dict()["payback_years"]


@pytest.mark.parametrize("kwh", [120, 300, 800, 2500, 15000])
@pytest.mark.parametrize("state", UFS)
def test_payback_is_within_the_horizon_and_savings_are_never_negative(state, kwh):
    for connection in ("monofasico", "bifasico", "trifasico"):
        sim = run(state=state, monthly_kwh=kwh, connection=connection)
        assert sim.savings.payback_years is not None and 0 < sim.savings.payback_years < 25
        assert all(year.savings_brl >= 0 for year in sim.savings.years)
        assert all(year.bill_after_brl <= year.bill_before_brl for year in sim.savings.years)
        cumulative = [0.0] + [year.cumulative_brl for year in sim.savings.years]
        assert cumulative == sorted(cumulative)


def test_savings_stay_non_negative_with_the_harshest_parameters(tmp_path, monkeypatch):
    raw = yaml.safe_load((DATA_DIR / "parameters.yml").read_text(encoding="utf-8"))
    raw["fio_b"]["share_of_tusd"]["value"] = 1.0
    raw["tariff_increase_per_year"]["value"] = -0.1
    raw["degradation"]["per_year_after"]["value"] = 0.02
    raw["price_per_wp_brl"]["bands"] = [{"up_to_kwp": None, "min": 19.0, "max": 20.0, "assumption": "test"}]
    path = tmp_path / "harsh.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(PARAMETERS_FILE_ENV, str(path))
    sim = run(state="SC", city="Florianópolis", monthly_kwh=400)
    assert sim.parameters.fio_b_share_of_tusd == 1.0  # the variable's file was read
    assert all(year.savings_brl >= 0 for year in sim.savings.years)
    assert sim.savings.payback_years is None and sim.as_dict()["payback_years"] is None


def test_the_parameters_file_can_be_replaced_through_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "parameters.yml"
    shutil.copy(DATA_DIR / "parameters.yml", path)
    path.write_text(path.read_text(encoding="utf-8").replace("value: 0.78", "value: 0.75"), encoding="utf-8")
    monkeypatch.setenv(PARAMETERS_FILE_ENV, str(path))
    assert load_parameters().performance_ratio == 0.75
    monkeypatch.delenv(PARAMETERS_FILE_ENV)
    assert load_parameters().performance_ratio == 0.78


def test_a_parameter_without_a_source_or_assumption_is_refused(tmp_path):
    raw = yaml.safe_load((DATA_DIR / "parameters.yml").read_text(encoding="utf-8"))
    del raw["generation"]["performance_ratio"]["source"]
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="performance_ratio needs a source or an assumption"):
        load_parameters(str(path))


def test_the_data_files_carry_their_sources():
    tariffs = yaml.safe_load((DATA_DIR / "tariffs.yml").read_text(encoding="utf-8"))
    assert all(row["source"] and row["as_of"] for row in tariffs["tariffs"])
    sun = yaml.safe_load((DATA_DIR / "irradiation.yml").read_text(encoding="utf-8"))
    assert sun["source"] and sun["year"] and "low" in sun["confidence"] and sorted(sun["by_uf"]) == sorted(UFS)
    assert "assumption" in yaml.safe_load((DATA_DIR / "parameters.yml").read_text())["fio_b"]["after_schedule"]


def test_a_bill_is_reproduced_by_the_simulation():
    for state in UFS:
        s = run(state=state, monthly_bill_brl=700).as_dict()
        assert s["bill_before_brl"] == pytest.approx(700, abs=0.01)
        assert s["consumption_source"] == "bill"


def test_kwh_wins_over_the_bill_and_fio_b_after_2028_is_called_an_assumption():
    s = run(state="MG", monthly_kwh=500, monthly_bill_brl=9999).as_dict()
    assert s["monthly_kwh"] == 500 and s["consumption_source"] == "kwh"
    assert any("2029" in note and "assumption" in note for note in s["assumptions"])
    assert len(s["cumulative_savings_brl"]) == 26 and s["cumulative_savings_brl"][0] == 0


@pytest.mark.parametrize("request_fields, message", [
    ({"state": "MG"}, "or the monthly bill"),
    ({"state": "MG", "monthly_kwh": -5}, "positive"),
    ({"state": "MG", "monthly_kwh": 0}, "positive"),
    ({"state": "MG", "monthly_kwh": math.nan}, "positive"),
    ({"state": "MG", "monthly_kwh": 10_000_000}, "above"),
    ({"state": "MG", "monthly_bill_brl": 1e9}, "above"),
    ({"state": "MG", "monthly_kwh": 45}, "minimum charge"),
    ({"state": "MG", "monthly_kwh": 90, "connection": "trifasico"}, "minimum charge"),
    ({"state": "MG", "monthly_bill_brl": 12}, "public lighting"),
    ({"state": "XX", "monthly_kwh": 300}, "unknown state"),
    ({"state": "MG", "monthly_kwh": 300, "connection": "quadrifasico"}, "unknown connection"),
    ({"state": "MG", "monthly_kwh": 300, "start_year": 2019}, "start year"),
])
def test_figures_that_cannot_be_simulated_are_refused(request_fields, message):
    with pytest.raises(SimulationError, match=message):
        simulate(SimulationRequest(**{"start_year": 2026, **request_fields}))


def test_payback_years_interpolates_within_the_year():
    assert payback_years([100, 100, 100], 250) == pytest.approx(2.5)
    assert payback_years([100, 100], 201) is None
    assert payback_years([0, 50], 25) == pytest.approx(1.5)
