import pytest

from sdr.scoring import assess_lead, effective_bill, load_rules, scoring_slots

OWNER_NOW = {"is_owner": True, "is_decision_maker": True, "timeline": "imediato", "property_type": "residencial"}


@pytest.mark.parametrize(
    "bill, expected_score, expected_class",
    [
        (1500.0, 35 + 20 + 20 + 15 + 8, "HOT"),
        (450.0, 20 + 20 + 20 + 15 + 8, "HOT"),
        (250.0, 10 + 20 + 20 + 15 + 8, "HOT"),
        (100.0, 0 + 20 + 20 + 15 + 8, "WARM"),
    ],
)
def test_bill_tiers_add_up_with_the_other_answers(bill, expected_score, expected_class):
    assessment = assess_lead({**OWNER_NOW, "monthly_bill_brl": bill})
    assert assessment.score == expected_score
    assert assessment.lead_class == expected_class


def test_a_cold_lead():
    assessment = assess_lead(
        {"monthly_bill_brl": 320.0, "is_owner": True, "is_decision_maker": False,
         "timeline": "sem_previsao", "property_type": "residencial"}
    )
    assert assessment.score == 20 + 20 + 5 + 2 + 8
    assert assessment.lead_class == "WARM"
    assessment = assess_lead({"monthly_bill_brl": 320.0, "is_decision_maker": False, "timeline": "sem_previsao"})
    assert assessment.lead_class == "COLD"


def test_nothing_known_is_unqualified_and_disqualified():
    assessment = assess_lead({})
    assert (assessment.score, assessment.lead_class, assessment.status) == (0.0, "UNQUALIFIED", "desqualificado")


def test_kwh_is_priced_at_the_configured_tariff():
    rules = load_rules()
    assert effective_bill(None, 400.0, rules) == pytest.approx(400 * rules.tariff_brl_per_kwh)
    assert effective_bill(300.0, 400.0, rules) == 300.0
    assert effective_bill(None, None, rules) is None


def test_tenants_and_small_bills_are_routed_to_subscription():
    tenant = assess_lead({**OWNER_NOW, "is_owner": False, "monthly_bill_brl": 900.0})
    small = assess_lead({**OWNER_NOW, "monthly_bill_brl": 120.0})
    owner = assess_lead({**OWNER_NOW, "monthly_bill_brl": 900.0})
    assert tenant.offer_subscription and tenant.status == "assinatura"
    assert small.offer_subscription and small.status == "assinatura"
    assert not owner.offer_subscription and owner.status == "qualificado"
    assert tenant.estimated_savings_brl is None
    assert owner.estimated_savings_brl == pytest.approx(900 * 0.85)


def test_rules_come_from_the_file_named_by_the_environment(tmp_path, monkeypatch):
    custom = tmp_path / "rules.yml"
    custom.write_text(
        "tariff_brl_per_kwh: 1.0\n"
        "points:\n  bill: [{min: 0, points: 100}]\n"
        "classes: [{name: HOT, min: 90}, {name: UNQUALIFIED, min: 0}]\n"
        "subscription_max_bill_brl: 0\nrooftop_savings_rate: 0.5\n"
    )
    monkeypatch.setenv("LEAD_SCORING_FILE", str(custom))
    assessment = assess_lead({"monthly_bill_brl": 10.0})
    assert (assessment.score, assessment.lead_class) == (100.0, "HOT")


def test_scoring_slots_have_the_contract_names():
    slots = scoring_slots(assess_lead({**OWNER_NOW, "monthly_bill_brl": 450.0}))
    assert set(slots) == {"lead_score", "lead_class", "lead_status"}
