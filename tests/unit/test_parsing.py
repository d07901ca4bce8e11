"""Unit tests for the sdr/parsing/ package: every reader, with positive and negative cases."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import yaml

from sdr import parsing
from sdr.parsing import (
    BillFigure,
    Location,
    fold,
    is_opt_out,
    parse_bill,
    parse_decision_maker,
    parse_location,
    parse_name,
    parse_ownership,
    parse_property_type,
    parse_state,
    parse_timeline,
    parse_yes_no,
)
from sdr.parsing.gazetteer import load_gazetteer

EMPTY_BILL = BillFigure()
EMPTY_PLACE = Location()


# --------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  NÃO  Quero ", "nao quero"),
        ("São José dos Campos", "sao jose dos campos"),
        ("AÇÃO\tÉ\nJÁ", "acao e ja"),
        ("", ""),
        ("Ñ", "n"),
        ("R$ 1.234,56", "r$ 1.234,56"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


# --------------------------------------------------------------------------- bill


@pytest.mark.parametrize(
    "text, bare_ok, expected",
    [
        ("R$ 450,00", False, 450.0),
        ("450", True, 450.0),
        ("uns 400 reais", False, 400.0),
        ("mil e duzentos", True, 1200.0),
        ("mil e duzentos reais", False, 1200.0),
        ("1,2 mil", True, 1200.0),
        ("R$1.234,56", False, 1234.56),
        ("1.200", True, 1200.0),
        ("R$ 1.200", False, 1200.0),
        ("450 reais por mês", False, 450.0),
        ("minha conta vem uns 450 reais", False, 450.0),
        ("minha conta de luz é 380", False, 380.0),
        ("pago uns 520 por mes", False, 520.0),
        ("o valor fica em torno de 610", False, 610.0),
        ("entre 300 e 400 reais", False, 350.0),
        ("300 a 400", True, 350.0),
        ("de 300 a 400", True, 350.0),
        ("300-400 reais", False, 350.0),
        ("quinhentos reais", False, 500.0),
        ("dois mil", True, 2000.0),
        ("uns 2 mil", True, 2000.0),
        ("mil e quinhentos reais", False, 1500.0),
        ("R$ 1,5 mil", False, 1500.0),
        ("2k", True, 2000.0),
        ("2 a 3 mil", True, 2500.0),
        ("2 mil e 500 reais", False, 2500.0),
        ("cento e vinte e cinco reais", False, 125.0),
        ("trezentos e cinquenta reais", False, 350.0),
        ("450 conto", False, 450.0),
        ("450 pila", False, 450.0),
        ("400 paus", False, 400.0),
        ("MINHA CONTA VEM 700", False, 700.0),
        ("uns 450 mais ou menos", True, 450.0),
        ("450.", True, 450.0),
        ("r$ 89,90", False, 89.9),
    ],
)
def test_parse_bill_reads_reais(text: str, bare_ok: bool, expected: float) -> None:
    assert parse_bill(text, bare_number_ok=bare_ok) == BillFigure(brl=expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("380 kwh", 380.0),
        ("380kWh", 380.0),
        ("consumo de 412 kwh", 412.0),
        ("uns 500 quilowatts", 500.0),
        ("meu consumo é 350", 350.0),
        ("gasto 600 kw/h", 600.0),
    ],
)
def test_parse_bill_reads_kwh(text: str, expected: float) -> None:
    assert parse_bill(text, bare_number_ok=False) == BillFigure(kwh=expected)


def test_parse_bill_reads_both_figures() -> None:
    assert parse_bill("pago 450 reais e consumo 380 kwh", bare_number_ok=False) == BillFigure(
        brl=450.0, kwh=380.0
    )


@pytest.mark.parametrize(
    "text, bare_ok",
    [
        ("450", False),
        ("mil e duzentos", False),
        ("2k", False),
        ("oi", True),
        ("tenho 2 filhos", False),
        ("tenho 2 filhos", True),
        ("moro no 302", False),
        ("moro no 302", True),
        ("sao paulo", True),
        ("dia 15", False),
        ("dia 15", True),
        ("a conta vence dia 15", False),
        ("0", True),
        ("0 reais", False),
        ("2000000 reais", False),
        ("3 milhoes", True),
        ("meu telefone é 11987654321", True),
        ("(11) 98765-4321", True),
        ("cep 01310-100", True),
        ("pago um absurdo", False),
        ("5", True),
        ("quero 10 placas", False),
        ("faz 3 anos", True),
        ("50%", True),
        ("quanto custa?", True),
        ("", True),
    ],
)
def test_parse_bill_rejects(text: str, bare_ok: bool) -> None:
    assert parse_bill(text, bare_number_ok=bare_ok) == EMPTY_BILL


# --------------------------------------------------------------------------- property type


@pytest.mark.parametrize(
    "text, expected",
    [
        ("casa", "residencial"),
        ("é minha casa", "residencial"),
        ("apartamento", "residencial"),
        ("moro em apto", "residencial"),
        ("ap 302", "residencial"),
        ("sobrado", "residencial"),
        ("condomínio", "residencial"),
        ("Residência", "residencial"),
        ("residencial", "residencial"),
        ("loja", "comercial"),
        ("tenho um comércio", "comercial"),
        ("minha empresa", "comercial"),
        ("escritório", "comercial"),
        ("PADARIA", "comercial"),
        ("restaurante", "comercial"),
        ("mercado", "comercial"),
        ("clinica", "comercial"),
        ("consultório", "comercial"),
        ("hotel", "comercial"),
        ("pousada", "comercial"),
        ("oficina mecanica", "comercial"),
        ("ponto comercial", "comercial"),
        ("comercial", "comercial"),
        ("fazenda", "rural"),
        ("sítio", "rural"),
        ("chácara", "rural"),
        ("propriedade rural", "rural"),
        ("zona rural", "rural"),
        ("granja", "rural"),
        ("agro", "rural"),
        ("roça", "rural"),
        ("casa na roça", "rural"),
        ("indústria", "industrial"),
        ("fábrica", "industrial"),
        ("galpão industrial", "industrial"),
        ("industrial", "industrial"),
    ],
)
def test_parse_property_type(text: str, expected: str) -> None:
    assert parse_property_type(text) == expected


@pytest.mark.parametrize(
    "text",
    ["sou casado", "casamento", "oi", "apartado", "quanto custa", "a empresa de vocês é confiável?",
     "sua empresa instala em SP?", "capacete", "lojista", "to em casa agora, pode ligar", ""],
)
def test_parse_property_type_rejects(text: str) -> None:
    assert parse_property_type(text) is None


# --------------------------------------------------------------------------- yes / no


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sim", True),
        ("Sim!", True),
        ("simmm", True),
        ("s", True),
        ("ss", True),
        ("claro", True),
        ("isso", True),
        ("isso mesmo", True),
        ("com certeza", True),
        ("certeza", True),
        ("sou sim", True),
        ("sim sou", True),
        ("pode ser", True),
        ("exato", True),
        ("positivo", True),
        ("uhum", True),
        ("aham", True),
        ("yes", True),
        ("👍", True),
        ("👍🏽", True),
        ("sim, mas quanto custa?", True),
        ("não", False),
        ("nao", False),
        ("NÃOOO", False),
        ("n", False),
        ("nn", False),
        ("nem", False),
        ("negativo", False),
        ("não sou", False),
        ("de jeito nenhum", False),
        ("ainda não", False),
        ("nao, obrigado", False),
        ("claro que não", False),
        ("👎", False),
    ],
)
def test_parse_yes_no(text: str, expected: bool) -> None:
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize(
    "text",
    ["não sei", "nao sei dizer", "sei la", "talvez", "oi", "quanto custa?", "simples assim",
     "nossa que caro", "", "depende", "n sei", "acho que sim"],
)
def test_parse_yes_no_rejects(text: str) -> None:
    assert parse_yes_no(text) is None


# --------------------------------------------------------------------------- ownership


@pytest.mark.parametrize(
    "text, requested, expected",
    [
        ("é próprio", False, True),
        ("casa propria", False, True),
        ("imóvel próprio", False, True),
        ("sou dono", False, True),
        ("sou a dona", False, True),
        ("é meu", False, True),
        ("é minha mesmo", False, True),
        ("já está quitado", False, True),
        ("é financiado", False, True),
        ("não é alugado", False, True),
        ("nao pago aluguel", False, True),
        ("aluguel", False, False),
        ("é alugado", False, False),
        ("alugada", False, False),
        ("sou inquilino", False, False),
        ("inquilina", False, False),
        ("eu alugo", False, False),
        ("moro de aluguel", False, False),
        ("pago aluguel", False, False),
        ("não é próprio", False, False),
        ("sim", True, True),
        ("não", True, False),
    ],
)
def test_parse_ownership(text: str, requested: bool, expected: bool) -> None:
    assert parse_ownership(text, requested=requested) is expected


@pytest.mark.parametrize(
    "text, requested",
    [
        ("sim", False),
        ("não", False),
        ("oi", True),
        ("não sei", True),
        ("quanto custa?", True),
        ("moro de aluguel mas a casa de praia é própria", False),
    ],
)
def test_parse_ownership_rejects(text: str, requested: bool) -> None:
    assert parse_ownership(text, requested=requested) is None


# --------------------------------------------------------------------------- decision maker


@pytest.mark.parametrize(
    "text, requested, expected",
    [
        ("sou eu que decido", False, True),
        ("eu decido", False, True),
        ("eu mesmo", False, True),
        ("eu mesma", False, True),
        ("sou eu", False, True),
        ("a decisão é minha", False, True),
        ("sou o responsavel", False, True),
        ("eu que resolvo", False, True),
        ("decidimos juntos", False, True),
        ("eu e minha esposa", False, True),
        ("eu decido, não preciso falar com ninguém", False, True),
        ("preciso falar com minha esposa", False, False),
        ("preciso falar com meu marido", False, False),
        ("vou ver com meu sócio", False, False),
        ("não sou eu", False, False),
        ("não sou eu que decido", False, False),
        ("depende do meu marido", False, False),
        ("meu pai decide", False, False),
        ("quem decide é minha mãe", False, False),
        ("sim", True, True),
        ("não", True, False),
    ],
)
def test_parse_decision_maker(text: str, requested: bool, expected: bool) -> None:
    assert parse_decision_maker(text, requested=requested) is expected


@pytest.mark.parametrize(
    "text, requested",
    [("sim", False), ("não", False), ("oi", True), ("depende do preço", False), ("quanto custa?", True)],
)
def test_parse_decision_maker_rejects(text: str, requested: bool) -> None:
    assert parse_decision_maker(text, requested=requested) is None


# --------------------------------------------------------------------------- timeline


@pytest.mark.parametrize(
    "text, requested, expected",
    [
        ("agora", True, "imediato"),
        ("o quanto antes", False, "imediato"),
        ("o mais rápido possível", False, "imediato"),
        ("imediato", False, "imediato"),
        ("é urgente", False, "imediato"),
        ("essa semana", False, "imediato"),
        ("já", True, "imediato"),
        ("pra ontem", False, "imediato"),
        ("esse mês", False, "30_dias"),
        ("em 30 dias", False, "30_dias"),
        ("mês que vem", False, "30_dias"),
        ("mes q vem", False, "30_dias"),
        ("próximo mês", False, "30_dias"),
        ("1 mes", True, "30_dias"),
        ("um mês", True, "30_dias"),
        ("umas semanas", False, "30_dias"),
        ("daqui 2 semanas", False, "30_dias"),
        ("2 ou 3 meses", True, "90_dias"),
        ("dois ou três meses", True, "90_dias"),
        ("em 90 dias", False, "90_dias"),
        ("uns 3 meses", False, "90_dias"),
        ("até o fim do trimestre", False, "90_dias"),
        ("em 60 dias", False, "90_dias"),
        ("sem pressa", False, "sem_previsao"),
        ("não sei", True, "sem_previsao"),
        ("só pesquisando", False, "sem_previsao"),
        ("ano que vem", False, "sem_previsao"),
        ("sem previsão", False, "sem_previsao"),
        ("mais pra frente", False, "sem_previsao"),
        ("6 meses", True, "sem_previsao"),
        ("daqui uns 6 meses", False, "sem_previsao"),
        ("agora não", True, "sem_previsao"),
        ("agora não, talvez mês que vem", True, "30_dias"),
    ],
)
def test_parse_timeline(text: str, requested: bool, expected: str) -> None:
    assert parse_timeline(text, requested=requested) == expected


@pytest.mark.parametrize(
    "text, requested",
    [
        ("já", False),
        ("não sei", False),
        ("agora minha conta está 500", False),
        ("já tenho outro orçamento", False),
        ("3 meses", False),
        ("faz 6 meses que pesquiso", True),
        ("oi", True),
        ("quanto custa?", True),
        ("450 reais", True),
    ],
)
def test_parse_timeline_rejects(text: str, requested: bool) -> None:
    assert parse_timeline(text, requested=requested) is None


# --------------------------------------------------------------------------- location


@pytest.mark.parametrize(
    "text, requested, expected",
    [
        ("moro em belo horizonte", False, Location("Belo Horizonte", "MG")),
        ("bh", False, Location("Belo Horizonte", "MG")),
        ("BH", True, Location("Belo Horizonte", "MG")),
        ("campinas sp", False, Location("Campinas", "SP")),
        ("Campinas - SP", False, Location("Campinas", "SP")),
        ("campinas/sp", False, Location("Campinas", "SP")),
        ("Campinas, São Paulo", False, Location("Campinas", "SP")),
        ("São Paulo", False, Location("São Paulo", "SP")),
        ("sao paulo", True, Location("São Paulo", "SP")),
        ("sampa", False, Location("São Paulo", "SP")),
        ("sp capital", False, Location("São Paulo", "SP")),
        ("floripa", False, Location("Florianópolis", "SC")),
        ("moro no rio", False, Location("Rio de Janeiro", "RJ")),
        ("rio", True, Location("Rio de Janeiro", "RJ")),
        ("POA", False, Location("Porto Alegre", "RS")),
        ("bsb", False, Location("Brasília", "DF")),
        ("sao jose dos campos", False, Location("São José dos Campos", "SP")),
        ("SÃO JOSÉ DO RIO PRETO", False, Location("São José do Rio Preto", "SP")),
        ("moro em ribeirao preto", False, Location("Ribeirão Preto", "SP")),
        ("sou de juiz de fora", False, Location("Juiz de Fora", "MG")),
        ("moro em natal", False, Location("Natal", "RN")),
        ("natal rn", False, Location("Natal", "RN")),
        ("moro em palmas to", False, Location("Palmas", "TO")),
        ("Palmas TO", False, Location("Palmas", "TO")),
        ("palmas", True, Location("Palmas", None)),
        ("cascavel", True, Location("Cascavel", None)),
        ("cascavel pr", True, Location("Cascavel", "PR")),
        ("campinas mg", False, Location("Campinas", "MG")),
        ("moro em campinas se precisar", False, Location("Campinas", "SP")),
        ("ji-parana", False, Location("Ji-Paraná", "RO")),
        ("santa barbara d oeste", False, Location("Santa Bárbara d'Oeste", "SP")),
        ("aqui em vitoria da conquista", False, Location("Vitória da Conquista", "BA")),
        ("sou de minas", False, Location(None, "MG")),
        ("sou de minas", True, Location(None, "MG")),
        ("moro no interior de são paulo", False, Location(None, "SP")),
        ("rio grande do sul", False, Location(None, "RS")),
        ("xique-xique ba", True, Location("Xique-Xique", "BA")),
        ("Xique-Xique - BA", True, Location("Xique-Xique", "BA")),
        ("moro em lagoa da prata/mg", True, Location("Lagoa da Prata", "MG")),
        ("itapira", True, Location("Itapira", None)),
        ("sao jose do rio pardo", True, Location("Sao Jose do Rio Pardo", None)),
        ("bom jesus do tocantins", True, Location("Bom Jesus do Tocantins", None)),
        ("rio pardo", True, Location("Rio Pardo", "RS")),
        ("sou de sp mas moro em bh", False, Location("Belo Horizonte", "MG")),
        ("campinas, no interior de sp", False, Location("Campinas", "SP")),
    ],
)
def test_parse_location(text: str, requested: bool, expected: Location) -> None:
    assert parse_location(text, requested=requested) == expected


@pytest.mark.parametrize(
    "text, requested",
    [
        ("quanto custa?", True),
        ("sim", True),
        ("450 reais", True),
        ("oi", True),
        ("bom dia", True),
        ("não sei", True),
        ("itapira", False),
        ("no natal vou viajar", False),
        ("a contagem do medidor", False),
        ("rio", False),
        ("palmas", False),
        ("para quem é isso?", False),
        ("to em casa", False),
        ("rs kkkk", False),
        ("moro na rua 7", True),
        ("", True),
    ],
)
def test_parse_location_rejects(text: str, requested: bool) -> None:
    assert parse_location(text, requested=requested) == EMPTY_PLACE


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MG", "MG"),
        ("mg", "MG"),
        ("minas", "MG"),
        ("Minas Gerais", "MG"),
        ("sao paulo", "SP"),
        ("rio de janeiro", "RJ"),
        ("moro no Pará", "PA"),
        ("estado do para", "PA"),
        ("Tocantins", "TO"),
        ("se", "SE"),
        ("é no RS", "RS"),
        ("rio grande do norte", "RN"),
    ],
)
def test_parse_state(text: str, expected: str) -> None:
    assert parse_state(text) == expected


@pytest.mark.parametrize(
    "text",
    ["campinas", "para quem é isso", "to em casa", "se eu instalar", "rs kkk", "oi", "mt caro", ""],
)
def test_parse_state_rejects(text: str) -> None:
    assert parse_state(text) is None


# --------------------------------------------------------------------------- name


@pytest.mark.parametrize(
    "text, requested, expected",
    [
        ("meu nome é joão silva", False, "João Silva"),
        ("Meu nome eh JOÃO SILVA", False, "João Silva"),
        ("me chamo maria", False, "Maria"),
        ("sou o Pedro", False, "Pedro"),
        ("aqui é a Ana, tudo bem?", False, "Ana"),
        ("pode me chamar de Zé", False, "Zé"),
        ("oi, meu nome é Carla e quero um orçamento", False, "Carla"),
        ("Meu nome é Ana Paula Souza Lima Costa", False, "Ana Paula Souza Lima"),
        ("meu nome é maria da silva", False, "Maria da Silva"),
        ("carlos eduardo", True, "Carlos Eduardo"),
        ("Carlos 😊", True, "Carlos"),
        ("joão!", True, "João"),
        ("maria das graças", True, "Maria das Graças"),
        ("boa tarde aqui é o Roberto", False, "Roberto"),
        ("oi! sou a Fernanda", False, "Fernanda"),
    ],
)
def test_parse_name(text: str, requested: bool, expected: str) -> None:
    assert parse_name(text, requested=requested) == expected


@pytest.mark.parametrize(
    "text, requested",
    [
        ("joão", False),
        ("oi", True),
        ("sim", True),
        ("ok", True),
        ("bom dia", True),
        ("tudo bem", True),
        ("quanto custa?", True),
        ("quanto custa", True),
        ("sou o responsavel", False),
        ("sou a dona", False),
        ("aqui é de campinas", False),
        ("carlos 123", True),
        ("kkkkk", True),
        ("quero saber o preço da instalação", True),
        ("o sol aqui é forte o ano todo", False),
        ("então sou o primeiro da rua", False),
        ("", True),
    ],
)
def test_parse_name_rejects(text: str, requested: bool) -> None:
    assert parse_name(text, requested=requested) is None


# --------------------------------------------------------------------------- opt-out


@pytest.mark.parametrize(
    "text",
    [
        "sair", "SAIR", "Parar", "pare", "para", "stop", "STOP!", "cancelar", "descadastrar",
        "#sair", "sair da lista", "remover", "chega", "chega!!",
        "quero me descadastrar", "não quero mais receber mensagens", "nao quero mais msg",
        "Não quero mais contato", "para de me mandar mensagem", "parar de me mandar isso",
        "pare de me enviar mensagens", "pare de mandar", "me tira da lista", "me tirar dessa lista",
        "remove meu número", "remover meu contato", "não me mande mais nada",
        "não entre mais em contato comigo",
    ],
)
def test_is_opt_out(text: str) -> None:
    assert is_opt_out(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "quero parar de pagar caro na conta", "para quem é isso?", "não quero", "sair mais barato?",
        "como faço pra parar de pagar tanto", "oi", "parar de pagar a conta de luz",
        "quero sair do aluguel", "chega de conta alta", "parar de pagar tanto imposto",
        "pare de sofrer com a conta", "",
    ],
)
def test_is_opt_out_rejects(text: str) -> None:
    assert is_opt_out(text) is False


# --------------------------------------------------------------------------- gazetteer


@pytest.fixture(scope="module")
def gazetteer_yaml() -> dict:
    return yaml.safe_load(parsing.GAZETTEER_PATH.read_text(encoding="utf-8"))


CAPITALS = {
    "Rio Branco": "AC", "Maceió": "AL", "Macapá": "AP", "Manaus": "AM", "Salvador": "BA",
    "Fortaleza": "CE", "Brasília": "DF", "Vitória": "ES", "Goiânia": "GO", "São Luís": "MA",
    "Cuiabá": "MT", "Campo Grande": "MS", "Belo Horizonte": "MG", "Belém": "PA",
    "João Pessoa": "PB", "Curitiba": "PR", "Recife": "PE", "Teresina": "PI",
    "Rio de Janeiro": "RJ", "Natal": "RN", "Porto Alegre": "RS", "Porto Velho": "RO",
    "Boa Vista": "RR", "Florianópolis": "SC", "São Paulo": "SP", "Aracaju": "SE", "Palmas": "TO",
}


def test_gazetteer_has_all_states(gazetteer_yaml: dict) -> None:
    assert len(gazetteer_yaml["states"]) == 27


@pytest.mark.parametrize("capital, uf", sorted(CAPITALS.items()))
def test_gazetteer_has_every_capital(gazetteer_yaml: dict, capital: str, uf: str) -> None:
    ufs = gazetteer_yaml["cities"][capital]
    assert uf == ufs or uf in ufs


def test_gazetteer_is_consistent(gazetteer_yaml: dict) -> None:
    states = set(gazetteer_yaml["states"])
    for name, ufs in gazetteer_yaml["cities"].items():
        assert set([ufs] if isinstance(ufs, str) else ufs) <= states, name
    for alias, target in gazetteer_yaml["city_aliases"].items():
        assert target in gazetteer_yaml["cities"], alias
    assert len(gazetteer_yaml["cities"]) >= 150
    load_gazetteer.cache_clear()
    assert load_gazetteer() is load_gazetteer()  # loads, validates, caches


def test_gazetteer_rejects_unknown_uf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("states: {SP: São Paulo}\ncities: {Campinas: XX}\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_gazetteer(bad)


@pytest.mark.parametrize("capital, uf", sorted(CAPITALS.items()))
def test_every_capital_is_found_when_asked(capital: str, uf: str) -> None:
    expected_uf: Optional[str] = None if capital == "Palmas" else uf  # Palmas is also in PR
    assert parse_location(capital, requested=True) == Location(capital, expected_uf)
