"""The pure bill-text reader: labels, values, OCR noise, and text that is no bill."""
from __future__ import annotations

import random
import string

import pytest

from actions.bill_text import FIELDS, BillFacts, extract_bill_facts, looks_like_a_bill

CONTRACT_FIELDS = (
    "total_brl", "kwh", "utility", "due_date", "reference_month", "customer_class",
    "connection_type", "city", "state", "holder_name",
)

CEMIG_BILL = """\
CEMIG DISTRIBUIÇÃO S.A.   CNPJ 06.981.180/0001-16
Av. Barbacena, 1200 - Santo Agostinho - Belo Horizonte - MG - CEP 30190-131
MARIA DA CONCEIÇÃO SILVA                                  Nº do Cliente: 7012345678
RUA DAS FLORES, 123 - CENTRO                              Nº da Instalação: 3012345678
38400-000 UBERLÂNDIA - MG                                 Data de emissão: 03/11/2025
Referente a          Vencimento          Valor a pagar (R$)
OUT/2025             17/11/2025          245,90
Classe: B1 Residencial   Subclasse: Normal        Tipo de fornecimento: Trifásico
Leitura anterior     Leitura atual       Consumo kWh
12345                12695               350
Itens da fatura              Unid.   Quant.   Preço unit. (R$)   Valor (R$)
Energia Elétrica             kWh     350      0,65321            228,62
Contrib. Ilum. Pública                                           17,28
Histórico de consumo (kWh)
SET/25 320     AGO/25 298     JUL/25 301
"""

ENEL_BILL_OCR = """\
enel
Distribuição São Paulo
Nome: JOSE CARLOS PEREIRA    CPF: ***.123.456-**
Endereço: Av. Paulista, 1000 apto 12 - Bela Vista - São Paulo/SP - CEP 01310-100
Mes de referencia: 1O/2O25
VENClMENTO: 05/11/2025
T0TAL A PAGAR RS 1.234,56
Consumo: 812 kWh
Media diaria: 27 kWh/dia
B1 RESIDENCIAL BIFASICO
"""


def facts(text: str) -> BillFacts:
    return extract_bill_facts(text)


# --------------------------------------------------------------------------
# Whole bills
# --------------------------------------------------------------------------


def test_the_result_has_exactly_the_contract_fields() -> None:
    assert FIELDS == CONTRACT_FIELDS
    assert tuple(BillFacts().as_dict()) == CONTRACT_FIELDS
    assert all(value is None for value in BillFacts().as_dict().values())


def test_a_cemig_bill_with_header_rows_and_distractors() -> None:
    assert facts(CEMIG_BILL) == BillFacts(
        total_brl=245.90,
        kwh=350.0,
        utility="CEMIG",
        due_date="2025-11-17",
        reference_month="2025-10",
        customer_class="residencial",
        connection_type="trifasico",
        city="Uberlândia",  # not the company's Belo Horizonte
        state="MG",
        holder_name="Maria da Conceição Silva",
    )
    assert looks_like_a_bill(CEMIG_BILL)


def test_an_enel_bill_read_with_ocr_noise() -> None:
    assert facts(ENEL_BILL_OCR) == BillFacts(
        total_brl=1234.56,
        kwh=812.0,  # not the daily average
        utility="Enel SP",
        due_date="2025-11-05",
        reference_month="2025-10",
        customer_class="residencial",
        connection_type="bifasico",
        city="São Paulo",
        state="SP",
        holder_name="Jose Carlos Pereira",
    )
    assert looks_like_a_bill(ENEL_BILL_OCR)


# --------------------------------------------------------------------------
# Field by field
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("TOTAL A PAGAR R$ 245,90", 245.90),
        ("Total a pagar: R$245,90", 245.90),
        ("VALOR A PAGAR (R$)   1.234,56", 1234.56),
        ("Valor a pagar RS 99,9O", 99.90),  # "R$" read as "RS", 0 read as O
        ("T0TAL A PAGAR: RS245,90", 245.90),
        ("Total da fatura  R$ 3.210,05", 3210.05),
        ("Total a pagar 245.90", 245.90),  # decimal comma read as a dot
        ("TOTAL A PAGAR\nR$ 87,12", 87.12),  # value under the label
        ("Vencimento      Total a pagar\n17/11/2025      R$ 245,90", 245.90),
        ("Tarifa R$ 0,95/kWh\nTotal a pagar R$ 245,90", 245.90),
        ("Total a pagar\nVencimento 10/10/2025\nR$ 1.002,00", 1002.00),
        ("TOTAL    245,90", 245.90),  # bare "TOTAL" at the end of the line items
        ("Subtotal 12,00", None),
        ("Consumo 350 kWh", None),
    ],
)
def test_total(text: str, expected: float | None) -> None:
    assert facts(text).total_brl == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Consumo: 350 kWh", 350.0),
        ("Consumo kWh 350", 350.0),
        ("CONSUMO (kWh): 1.204", 1204.0),
        ("Consumo faturado  812 kWh", 812.0),
        ("Consumo (kWh)\n350", 350.0),
        ("Leitura anterior   Leitura atual   Consumo kWh\n12345   12695   350", 350.0),
        ("Medidor   Leitura anterior   Leitura atual   Consumo\nA123456   12345   12695   350", 350.0),
        ("Energia Elétrica   kWh   350   0,65321   228,62", 350.0),  # a line item
        ("Consumo: 35O kWh", 350.0),  # 0 read as O
        ("Média diária: 11 kWh/dia", None),
        ("Consumo dos últimos 12 meses", None),
        ("Histórico de consumo\nSET/25 320 AGO/25 298", None),
        ("Tarifa: 0,95 R$/kWh", None),
        # OCR lost the consumption cell: the meter reading under another label is no answer.
        ("Medidor   Leitura anterior   Leitura atual   Consumo (kWh)\nA615062   30611   31382", None),
    ],
)
def test_kwh(text: str, expected: float | None) -> None:
    assert facts(text).kwh == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Vencimento: 05/11/2025", "2025-11-05"),
        ("VENCIMENTO\n05/11/2025", "2025-11-05"),
        ("Data de vencimento 5/11/25", "2025-11-05"),
        ("Venc. 05.11.2025", "2025-11-05"),
        ("VENClMENTO 05/1l/2O25", "2025-11-05"),
        ("Leitura anterior   Leitura atual   Vencimento\n15/10/2025   14/11/2025   24/11/2025", "2025-11-24"),
        ("Vencimento   Data de emissão 10/11/2025", None),  # the date belongs to the other label
        ("Vencimento: 31/02/2025", None),  # no such day
        ("Data de emissão: 10/11/2025", None),
    ],
)
def test_due_date(text: str, expected: str | None) -> None:
    assert facts(text).due_date == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mês de referência: OUT/2025", "2025-10"),
        ("Referência 10/2025", "2025-10"),
        ("REFERENTE A: Outubro/2025", "2025-10"),
        ("Conta mês 0UT/25", "2025-10"),
        ("Mes/Ano: 1O/2O25", "2025-10"),
        ("Mês de referência: março de 2026", "2026-03"),
        ("Referente a     Vencimento\nSET/2025     17/10/2025", "2025-09"),
        ("Conta de energia elétrica - DEZ/2024", "2024-12"),  # unlabelled, four-digit year
        ("Histórico: SET/25 320 AGO/25 298", None),  # a history is no reference month
        ("Vencimento 17/11/2025", None),  # a full date is not a month
    ],
)
def test_reference_month(text: str, expected: str | None) -> None:
    assert facts(text).reference_month == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Classe: Residencial", "residencial"),
        ("CLASSE: B3 COMERCIAL", "comercial"),
        ("Classificação: B2 Rural Agropecuária", "rural"),
        ("Classe/Subclasse: Industrial", "industrial"),
        ("Classe: Rura1", "rural"),
        ("Classe\nResidencial Normal", "residencial"),
        ("B1 RESIDENCIAL CONVENCIONAL", "residencial"),
        ("Subgrupo B1 - Tarifa convencional", "residencial"),
        ("Rua das Acácias, 10 - Jardim Residencial Europa", None),  # an address
    ],
)
def test_customer_class(text: str, expected: str | None) -> None:
    assert facts(text).customer_class == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tipo de fornecimento: Trifásico", "trifasico"),
        ("TRIFASICO", "trifasico"),
        ("Ligação: Tri-fásica", "trifasico"),
        ("BIFÁSlCO", "bifasico"),
        ("Monofásica", "monofasico"),
        ("M0NOFÁSICO", "monofasico"),
        ("Fornecimento em baixa tensão", None),
    ],
)
def test_connection_type(text: str, expected: str | None) -> None:
    assert facts(text).connection_type == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CEMIG DISTRIBUIÇÃO S.A.", "CEMIG"),
        ("CEMlG D", "CEMIG"),
        ("C0PEL Distribuição", "Copel"),
        ("Enel Distribuição São Paulo", "Enel SP"),
        ("enel\nRua X, 1 - São Paulo - SP", "Enel SP"),  # the brand alone, with the bill's state
        ("ENEL\nRua X, 1 - Fortaleza - CE", "Enel CE"),
        ("Enel Distribuição Rio", "Enel RJ"),
        ("ENEL", None),  # which Enel: no state, no guess
        ("Light Serviços de Eletricidade S.A.", "Light"),
        ("Neoenergia Coelba", "Coelba"),
        ("CELPE", "Neoenergia Pernambuco"),
        ("Neoenergia Cosern", "Cosern"),
        ("Equatorial Energia Pará", "Equatorial Pará"),
        ("Energisa Mato Grosso do Sul", "Energisa MS"),
        ("Energisa Mato Grosso", "Energisa MT"),
        ("Companhia Paulista de Força e Luz", "CPFL Paulista"),
        ("CPFL PAULISTA", "CPFL Paulista"),
        ("RGE Sul Distribuidora de Energia", "RGE"),
        ("CELESC DISTRIBUIÇÃO S.A.", "Celesc"),
        ("EDP Espírito Santo", "EDP ES"),
        ("Eletropaulo", "Enel SP"),  # the old name
        ("Atendemos uma ampla rede de clientes", None),  # "ampla" is also a word
    ],
)
def test_utility(text: str, expected: str | None) -> None:
    assert facts(text).utility == expected


@pytest.mark.parametrize(
    "text, city, state",
    [
        ("MARIA SILVA\nRUA A, 1 - CENTRO\n38400-000 UBERLÂNDIA - MG", "Uberlândia", "MG"),
        ("Cidade: Vila Velha    UF: ES    CEP: 29100-000", "Vila Velha", "ES"),
        ("Cidade: Via Velha    UF. ES", "Vila Velha", "ES"),  # OCR typo, colon read as a dot
        ("Cidade: Olinda", "Olinda", "PE"),  # the gazetteer knows its state
        ("Ana Lima\nRua B, 2\nCamaçarilBA CEP 42800-000", "Camaçari", "BA"),  # "/" read as "l"
        ("José Souza\nRua C, 3\nPetrópolis/R] CEP 25600-000", "Petrópolis", "RJ"),  # "J" read as "]"
        ("Ana Lima\nRua D, 4 - Centro - Xique-Xique - BA", "Xique-Xique", "BA"),  # not in the gazetteer
        ("COPEL DISTRIBUIÇÃO S.A. CNPJ 76.483.817/0001-20\nRua X, 158 - Curitiba - PR", None, None),
        ("Pagável em qualquer banco", None, None),
    ],
)
def test_city_and_state(text: str, city: str | None, state: str | None) -> None:
    found = facts(text)
    assert (found.city, found.state) == (city, state)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Nome: JOSE CARLOS PEREIRA    CPF: ***.123.456-**", "Jose Carlos Pereira"),
        ("Cliente: MARIA DA SILVA", "Maria da Silva"),
        ("Titular: J0SE DA S1LVA", "Jose da Silva"),
        ("NOME DO CUENTE; ANA DE JESUS LIMA", "Ana de Jesus Lima"),  # "CLIENTE" misread
        ("NOME DO CLIENTE:\nANTÔNIO CARLOS", "Antônio Carlos"),
        ("LUÍZA DOS SANTOS ARAÚJO          Nº do Cliente: 123\nRUA DAS FLORES, 10", "Luíza dos Santos Araújo"),
        ("Código do Cliente: 12345678", None),
        ("Cliente desde 2010", None),
        ("Classe: Residencial", None),
    ],
)
def test_holder_name(text: str, expected: str | None) -> None:
    assert facts(text).holder_name == expected


# --------------------------------------------------------------------------
# Not a bill
# --------------------------------------------------------------------------

NOT_BILLS = (
    "",
    "Oi, tudo bem? Segue a foto do meu cachorro",
    "Lista de compras\n- arroz 5 kg\n- feijão\n- leite 12 caixas\nTotal R$ 85,40",
    # A credit-card statement has "fatura", a due date and a total, but no energy.
    "Fatura do cartão Nubank\nVencimento 10/11/2025\nTotal a pagar R$ 1.234,56\nPagamento mínimo R$ 150,00",
    # A water bill: same shape, other utility.
    "SABESP - Conta de água\nConsumo 12 m³\nVencimento 10/11/2025\nTotal a pagar R$ 98,70",
    "Nota fiscal de venda ao consumidor\nTV LED 50 polegadas R$ 2.399,00\nICMS R$ 431,82",
)


@pytest.mark.parametrize("text", NOT_BILLS)
def test_text_that_is_not_an_electricity_bill(text: str) -> None:
    assert not looks_like_a_bill(text)


def test_an_empty_text_yields_nothing() -> None:
    assert facts("") == BillFacts()
    assert facts("\n\n   \n") == BillFacts()


@pytest.mark.parametrize("seed", range(20))
def test_garbage_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = string.printable + "ÁÉÍÓÚÃÕÇáéíóúãõç$/|]°º"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3000)))
    result = facts(text)
    assert isinstance(result, BillFacts)
    assert isinstance(looks_like_a_bill(text), bool)


def test_a_bill_with_too_few_cues_is_not_a_bill() -> None:
    assert not looks_like_a_bill("Consumo 350 kWh")
    assert looks_like_a_bill("Conta de energia elétrica\nConsumo 350 kWh\nVencimento 10/11/2025")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("VENCIMENTO   27/10/2626", "2026-10-27"),  # a dotted zero read as 6
        ("VENCIMENTO   98/05/2025", "2025-05-08"),  # ... or as 9
        ("VENCIMENTO   19/67/2026", None),  # was 10/07: the 9 may be a zero too, no guess
        ("VENCIMENTO   99/99/2099", None),  # no single change makes a date
    ],
)
def test_due_date_with_a_dotted_zero(text: str, expected: str | None) -> None:
    assert facts(text).due_date == expected
