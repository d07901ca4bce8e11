"""Facts of a Brazilian electricity bill, read from its text (OCR output or a PDF text layer).

Pure: no I/O, no OCR, no Rasa. `actions/bill.py` turns bytes into text and calls
`extract_bill_facts`; the tests feed it text directly.

Bills differ per distribuidora, and OCR adds its own noise, so every reader here:

* matches labels on a *folded* copy of each line (lowercase, no accents, same
  length as the original so positions map back) with OCR look-alikes tolerated
  ("T0TAL", "VENClMENTO", "Mes de referencia");
* reads the value on the label's line, after the label and before the next label
  of the same kind, or else in the next few lines below it, where a header row of
  several labels ("Referente a  Vencimento  Valor a pagar") is matched to its
  row of values by order or by column;
* returns `None` rather than a guess: a missing fact is asked again, a wrong one
  (a tariff read as the total, the utility's head-office city read as the
  customer's) silently corrupts the lead.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Optional, TypeVar

import yaml

from sdr.parsing import GAZETTEER_PATH, parse_location
from sdr import vocabulary
from sdr.text import fold, fold_same_length

T = TypeVar("T")

# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BillFacts:
    """What `python -m actions.bill` prints; `None` for a fact the bill did not yield."""

    total_brl: Optional[float] = None
    kwh: Optional[float] = None
    utility: Optional[str] = None  # canonical name, e.g. "CEMIG", "Enel SP"
    due_date: Optional[str] = None  # ISO, "2025-11-17"
    reference_month: Optional[str] = None  # "2025-10"
    customer_class: Optional[str] = None  # see CUSTOMER_CLASSES
    connection_type: Optional[str] = None  # "monofasico" | "bifasico" | "trifasico"
    city: Optional[str] = None
    state: Optional[str] = None  # UF
    holder_name: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS: tuple[str, ...] = tuple(BillFacts.__dataclass_fields__)

# --------------------------------------------------------------------------
# Limits and vocabulary
# --------------------------------------------------------------------------

# Larger "totals" and consumptions are account or barcode numbers.
MAX_TOTAL_BRL = vocabulary.MAX_MONTHLY_BILL_BRL
MAX_KWH = vocabulary.MAX_MONTHLY_KWH
MIN_KWH = 1.0
LOOKAHEAD_LINES = 3  # a value printed under its label, past blank lines
COLUMN_SLACK_CHARS = 4  # a value under a label may start or end this far outside it
HOLDER_ADDRESS_WINDOW = 8  # lines after the holder's name where their address may be
NAME_MIN_WORDS, NAME_MAX_WORDS = 2, 8
CITY_MAX_WORDS = 4  # an unknown "city" longer than this is a street or a sentence
# Place scores: the block under the holder's name wins over the company's address.
COMPANY_ADDRESS_PENALTY = -2.0
HOLDER_NEARBY_BONUS = 2.0
CEP_BONUS = 0.5
MIN_PLACE_SCORE = -1.0
CITY_FUZZY_CUTOFF = 0.8  # difflib ratio: "Via Velha" -> "Vila Velha", "Onta Grossa" -> "Ponta Grossa"
CITY_FUZZY_MIN_CHARS = 5  # shorter words are too easily "close" to some city
BILL_MIN_SIGNALS = 3  # distinct bill cues needed by looks_like_a_bill
OLDEST_YEAR, NEWEST_YEAR = 2000, 2099
TWO_DIGIT_YEAR_BASE = 2000

UFS: frozenset[str] = frozenset(vocabulary.UFS)

MONTHS: Mapping[str, int] = {
    "janeiro": 1, "fevereiro": 2, "marco": 3, "abril": 4, "maio": 5, "junho": 6, "julho": 7,
    "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "jan": 1, "fev": 2, "mar": 3, "abr": 4, "mai": 5, "jun": 6, "jul": 7, "ago": 8,
    "set": 9, "out": 10, "nov": 11, "dez": 12,
}

# Folded class wording on bills -> the value reported (the first four match the
# `property_type` slot).
CUSTOMER_CLASSES: Sequence[tuple[str, str]] = (
    ("residencial", "residencial"),
    ("comercial", "comercial"),
    ("rural", "rural"),
    ("industrial", "industrial"),
    ("poder publico", "poder_publico"),
    ("servico publico", "servico_publico"),
    ("iluminacao publica", "iluminacao_publica"),
)
# ANEEL's low-voltage subgroups, printed next to (or instead of) the class name.
SUBGROUP_CLASSES: Mapping[str, str] = {"b1": "residencial", "b2": "rural"}

CONNECTION_TYPES: Mapping[str, str] = {"mono": "monofasico", "bi": "bifasico", "tri": "trifasico"}


@dataclass(frozen=True)
class Utility:
    name: str  # canonical, as stored in the `utility` slot
    spellings: tuple[str, ...]  # folded phrases that name it and no other


# Distribuidoras with the names their bills and customers use (old names included:
# bills and people keep them for years). Only unambiguous spellings here; brand
# names shared by several concessions are in GROUP_BY_STATE.
UTILITIES: Sequence[Utility] = (
    Utility("CEMIG", ("cemig", "cemig d", "cemig distribuicao")),
    Utility("Enel SP", ("enel sp", "enel sao paulo", "enel distribuicao sao paulo", "eletropaulo",
                        "aes eletropaulo")),
    Utility("Enel RJ", ("enel rj", "enel rio", "enel distribuicao rio", "ampla energia")),
    Utility("Enel CE", ("enel ce", "enel ceara", "enel distribuicao ceara", "coelce")),
    Utility("Light", ("light", "light sesa", "light servicos de eletricidade")),
    Utility("Copel", ("copel", "copel distribuicao", "copel dis")),
    Utility("CPFL Paulista", ("cpfl paulista", "companhia paulista de forca e luz")),
    Utility("CPFL Piratininga", ("cpfl piratininga", "piratininga de forca e luz")),
    Utility("CPFL Santa Cruz", ("cpfl santa cruz",)),
    Utility("RGE", ("rge", "rge sul", "cpfl rge", "rio grande energia")),
    Utility("Celesc", ("celesc", "celesc distribuicao")),
    Utility("Coelba", ("coelba", "neoenergia coelba", "neoenergia bahia")),
    Utility("Cosern", ("cosern", "neoenergia cosern", "neoenergia rio grande do norte")),
    Utility("Neoenergia Pernambuco", ("neoenergia pernambuco", "neoenergia pe", "celpe")),
    Utility("Neoenergia Brasília", ("neoenergia brasilia", "neoenergia distribuicao brasilia",
                                    "ceb distribuicao")),
    Utility("Neoenergia Elektro", ("elektro", "neoenergia elektro")),
    Utility("Equatorial Pará", ("equatorial para", "equatorial energia para", "celpa")),
    Utility("Equatorial Maranhão", ("equatorial maranhao", "equatorial energia maranhao", "cemar")),
    Utility("Equatorial Piauí", ("equatorial piaui", "equatorial energia piaui", "cepisa")),
    Utility("Equatorial Alagoas", ("equatorial alagoas", "equatorial energia alagoas")),
    Utility("Equatorial Goiás", ("equatorial goias", "equatorial energia goias", "enel goias",
                                 "enel go", "celg", "celg d")),
    Utility("CEEE Equatorial", ("ceee equatorial", "ceee", "ceee d")),
    Utility("CEA Equatorial", ("cea equatorial",)),
    Utility("Energisa MS", ("energisa ms", "energisa mato grosso do sul", "enersul")),
    Utility("Energisa MT", ("energisa mt", "energisa mato grosso", "cemat", "rede cemat")),
    Utility("Energisa TO", ("energisa to", "energisa tocantins")),
    Utility("Energisa PB", ("energisa pb", "energisa paraiba")),
    Utility("Energisa SE", ("energisa se", "energisa sergipe")),
    Utility("Energisa RO", ("energisa ro", "energisa rondonia", "ceron")),
    Utility("Energisa AC", ("energisa ac", "energisa acre", "eletroacre")),
    Utility("Energisa MG", ("energisa mg", "energisa minas gerais", "energisa minas rio")),
    Utility("Energisa Sul-Sudeste", ("energisa sul sudeste", "energisa sul-sudeste")),
    Utility("EDP ES", ("edp es", "edp espirito santo", "escelsa")),
    Utility("EDP SP", ("edp sp", "edp sao paulo", "bandeirante energia")),
    Utility("Amazonas Energia", ("amazonas energia", "amazonas distribuidora")),
    Utility("Roraima Energia", ("roraima energia",)),
    Utility("Sulgipe", ("sulgipe",)),
    Utility("DMED", ("dmed",)),
)

# A brand alone ("ENEL", "Energisa") names a utility only together with the state of the bill.
GROUP_BY_STATE: Mapping[str, Mapping[str, str]] = {
    "enel": {"SP": "Enel SP", "RJ": "Enel RJ", "CE": "Enel CE", "GO": "Equatorial Goiás"},
    "energisa": {"MT": "Energisa MT", "MS": "Energisa MS", "TO": "Energisa TO", "PB": "Energisa PB",
                 "SE": "Energisa SE", "RO": "Energisa RO", "AC": "Energisa AC", "MG": "Energisa MG"},
    "equatorial": {"PA": "Equatorial Pará", "MA": "Equatorial Maranhão", "PI": "Equatorial Piauí",
                   "AL": "Equatorial Alagoas", "GO": "Equatorial Goiás", "RS": "CEEE Equatorial",
                   "AP": "CEA Equatorial"},
    "neoenergia": {"BA": "Coelba", "RN": "Cosern", "PE": "Neoenergia Pernambuco",
                   "DF": "Neoenergia Brasília"},
    "edp": {"ES": "EDP ES", "SP": "EDP SP"},
    "cpfl": {"RS": "RGE"},  # CPFL has three concessions in SP: no guess there
}

# --------------------------------------------------------------------------
# OCR-tolerant patterns
# --------------------------------------------------------------------------

# Characters OCR confuses with each other, per letter of a (folded) label word.
_LOOKALIKES: Mapping[str, str] = {
    "o": "[o0q]", "i": "[il1|!]", "l": "[li1|!]", "s": "[s5]", "e": "[e3]", "a": "[a@]",
    "c": "[c(]", "g": "[g9]", "b": "[b8]", "z": "[z2]", "t": "[t7]",
}
_DIGIT = "[0-9OoQDIl|]"  # a digit as OCR may print it: O/o/Q/D for 0, I/l/| for 1
_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "|": "1"})
# Letters OCR misreads as digits inside a word (names, months).
_LETTER_FIXES = str.maketrans({"0": "o", "1": "i", "5": "s", "3": "e", "8": "b", "|": "i", "!": "i"})


def fuzzy(phrase: str) -> str:
    """Regex for a folded phrase that tolerates OCR look-alikes and lost or extra spaces."""
    words = []
    for word in phrase.split():
        words.append("".join(_LOOKALIKES.get(c, re.escape(c)) for c in word))
    return r"\s*".join(words)


def _labels(*phrases: str) -> re.Pattern[str]:
    """One pattern for several label phrases, longest first, bounded by non-letters."""
    body = "|".join(fuzzy(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z])")


TOTAL_LABELS = _labels(
    "total a pagar", "valor a pagar", "valor total a pagar", "total da fatura", "valor da fatura",
    "total da conta", "valor total", "total geral", "valor cobrado", "valor do documento",
    "total a pagar r$", "valor a pagar r$",
)
WEAK_TOTAL_LABELS = _labels("total")  # "TOTAL  245,90" at the end of the line items
DUE_LABELS = _labels(
    "vencimento", "data de vencimento", "data do vencimento", "vencto", "venc", "pagavel ate",
    "pague ate", "pagar ate",
)
# Every label whose value is a date: a header row of several is matched by order.
DATE_LABELS = _labels(
    "vencimento", "data de vencimento", "vencto", "venc", "emissao", "data de emissao",
    "leitura anterior", "leitura atual", "proxima leitura", "data da leitura", "apresentacao",
    "data de apresentacao", "pagavel ate", "pague ate", "data",
)
MONEY_LABELS = _labels(
    "total a pagar", "valor a pagar", "valor total", "total", "valor", "icms", "pis", "cofins",
    "tarifa", "multa", "juros", "subtotal", "tributos", "cip", "cosip", "iluminacao publica",
)
REFERENCE_LABELS = _labels(
    "mes de referencia", "mes referencia", "mes/ano de referencia", "mes/ano", "mes ano",
    "referencia", "referente a", "referente ao mes", "ref", "competencia", "conta mes",
    "conta do mes", "mes de faturamento", "periodo de referencia", "mes",
)
KWH_LABELS = _labels(
    "consumo kwh", "consumo (kwh)", "consumo em kwh", "consumo faturado", "consumo do mes",
    "consumo ativo", "consumo", "energia ativa", "energia consumida", "kwh consumidos",
)
# Every label whose value is a whole number in a header row with the consumption.
COUNT_LABELS = _labels(
    "consumo", "leitura anterior", "leitura atual", "leitura", "dias", "n de dias", "numero de dias",
    "constante", "fator", "media", "energia ativa",
)
CLASS_LABELS = _labels(
    "classe", "subclasse", "classe/subclasse", "classificacao", "classe de consumo",
    "tipo de cliente", "categoria",
)
HOLDER_LABELS = _labels(
    "nome do cliente", "nome do titular", "nome/razao social", "razao social", "nome", "cliente",
    "titular", "consumidor", "titular da conta",
    # "CLIENTE" as OCR reads it off a blurred photo
    "nome do cuente", "nome do chente", "cuente", "chente",
)
# Only with a colon: "Cidade Nova" is a neighbourhood, "Estado" a word.
# OCR often reads the colon as "." or ";".
CITY_LABEL = re.compile(rf"(?<![a-z])(?:{fuzzy('cidade')}|{fuzzy('municipio')}|{fuzzy('localidade')})"
                        rf"(?:\s*/\s*uf)?\s*[:.;]")
STATE_LABEL = re.compile(rf"(?<![a-z])(?:uf|{fuzzy('estado')})\s*[:.;]")

# Context that makes a number something else than the month's consumption: a
# tariff, an average, a history, a count of days or months.
KWH_CONTEXT_CHARS = 20
KWH_EXCLUDE_BEFORE = re.compile(r"media|historico|tarifa|preco|r\s?\$\s*$")
KWH_EXCLUDE_AFTER = re.compile(
    r"\s*(k\s?w\s?h)?\s*/\s*d|\s*(meses|mes|dias|dia|anos|%|x\b|r\s?\$|[.,]\d)"
)
LINE_ITEM_KWH = re.compile(r"energia|consumo|ativ[ao]")
KWH_BEFORE_QUANTITY = re.compile(r"k\s?w\s?h\s*\)?\s*$")
KWH_LABEL_SKIP = re.compile(r"historico|media|ultimos|grafico|evolucao")
NOT_A_HOLDER = re.compile(
    r"(?<![a-z])(desde|codigo|cod|n[o°º]?|numero|cpf|cnpj|residencial|comercial|rural|industrial"
    r"|ltda|s\s*/?\s*a|distribui\w*|energia|eletricidade)(?![a-z])"
)
# Words that end a name printed on the same line as other fields.
NAME_ENDERS = re.compile(
    r"(?<![a-z])(cpf|cnpj|rg|cep|endereco|unidade|instalacao|classe|codigo|cod|matricula|conta"
    r"|n[°º]|no\.|inscricao|cliente|data|vencimento|total|referencia|ie)(?![a-z])"
)
ADDRESS_START = re.compile(
    r"^\s*(rua|r\.|av\.?|avenida|travessa|tv\.|alameda|al\.|estrada|est\.|rodovia|rod\.|praca|pca"
    r"|largo|quadra|qd\.?|setor|loteamento|sitio|fazenda|chacara|linha|br-?\d)(?![a-z])"
)
# The distribuidora's own address block (customer blocks say "CPF/CNPJ" too, so the
# number's shape, not the word, marks a company).
COMPANY_CUES = re.compile(
    r"\d{2}\.?\d{3}\.?\d{3}\s?/\s?\d{4}|s\s*[./]\s*a\b|ltda|inscricao\s*estadual|distribuidora"
    r"|distribuicao|companhia|eletricidade|ouvidoria|0800|www|\.com"
)
CEP = re.compile(rf"(?<![0-9])({_DIGIT}{{2}}\.?{_DIGIT}{{3}})\s?-\s?({_DIGIT}{{3}})(?![0-9])")

# looks_like_a_bill: independent cues, each counted once.
ENERGY_SIGNALS: Sequence[re.Pattern[str]] = (
    re.compile(r"(?<![a-z])k\s*w\s*h(?![a-z])"),
    re.compile(fuzzy("energia eletrica")),
    re.compile(fuzzy("unidade consumidora")),
)
OTHER_SIGNALS: Sequence[re.Pattern[str]] = (
    re.compile(fuzzy("consumo")),
    DUE_LABELS,
    TOTAL_LABELS,
    re.compile(r"bandeira|tarifa|icms|aneel|cosip|ilum\w*\s*publica|leitura"),
    re.compile(r"fatura|nota\s*fiscal|conta\s*de\s*(energia|luz)|distribuidora"),
    re.compile(r"instalacao|n[o°º]?\s*do\s*cliente|codigo\s*do\s*cliente|medidor"),
)

# --------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    raw: str  # NFC text as read
    key: str  # folded, same length as `raw`: positions in one are positions in the other


def _lines(text: str) -> list[_Line]:
    text = unicodedata.normalize("NFC", text).replace("\t", "  ")
    return [_Line(line, fold_same_length(line)) for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# Value finders: each returns (start, end, value) per occurrence in a line
# --------------------------------------------------------------------------

_Found = tuple[int, int, T]
Finder = Callable[[_Line], list[_Found[T]]]

MONEY_RE = re.compile(
    # "S" may precede: "RS245,90" is "R$ 245,90" read by OCR. Thousands only with ".":
    # "350 245,90" in a row of line items is two numbers.
    rf"(?<![0-9A-RT-Za-rt-z.,/])({_DIGIT}{{1,3}}(?:\.{_DIGIT}{{3}})+|{_DIGIT}{{1,7}})\s?[,.]\s?({_DIGIT}{{2}})"
    rf"(?![0-9,./]|\s?%|\s?[kK]\s?[wW])",
)
DATE_RE = re.compile(
    rf"(?<![0-9A-Za-z/.])({_DIGIT}{{1,2}})\s?[/.\-]\s?({_DIGIT}{{1,2}})\s?[/.\-]\s?({_DIGIT}{{4}}|{_DIGIT}{{2}})"
    rf"(?![0-9/])"
)
_MONTH_WORD = "|".join(fuzzy(m) for m in sorted(MONTHS, key=len, reverse=True))
MONTH_RE = re.compile(
    rf"(?<![a-z0-9/])(?:(?P<name>{_MONTH_WORD})|(?P<num>{_DIGIT}{{1,2}}))"
    rf"\s?(?:[/.\-]|\s|\s?de\s)\s?(?P<year>{_DIGIT}{{4}}|{_DIGIT}{{2}})(?![0-9/]|\s?[/.\-]\s?[0-9])"
)
INT_RE = re.compile(
    rf"(?<![0-9A-Za-z.,/$])({_DIGIT}{{1,3}}(?:\.{_DIGIT}{{3}})+|{_DIGIT}{{1,7}})(?![0-9A-Za-z]|[.,/-]\s?[0-9])"
)
KWH_UNIT_RE = re.compile(r"\s*\(?\s*k\s?w\s?h(?![a-z/])")


def _digits(raw: str) -> str:
    return raw.translate(_DIGIT_FIXES)


def _has_real_digit(raw: str) -> bool:
    return any(c.isdigit() for c in raw)


def find_money(line: _Line) -> list[_Found[float]]:
    found = []
    for m in MONEY_RE.finditer(line.raw):
        if not _has_real_digit(m.group(0)):
            continue
        whole = _digits(m.group(1)).replace(".", "")
        value = float(f"{int(whole)}.{_digits(m.group(2))}") if whole.isdigit() else None
        if value is not None and 0 < value < MAX_TOTAL_BRL:
            found.append((m.start(), m.end(), value))
    return found


def find_dates(line: _Line) -> list[_Found[str]]:
    found = []
    for m in DATE_RE.finditer(line.raw):
        if not _has_real_digit(m.group(0)):
            continue
        parts = tuple(_digits(g) for g in m.groups())
        date = _date(*parts) or _date_with_zero_repaired(parts)
        if date is not None:
            found.append((m.start(), m.end(), date))
    return found


def _date(day: str, month: str, year: str) -> Optional[str]:
    full_year = int(year) + TWO_DIGIT_YEAR_BASE if len(year) <= 2 else int(year)
    try:
        date = dt.date(full_year, int(month), int(day))
    except ValueError:
        return None
    return date.isoformat() if OLDEST_YEAR <= date.year <= NEWEST_YEAR else None


# Fonts with a dotted or slashed zero (field printers, monospaced bills) make OCR
# read 0 as 6, 8 or 9: "27/10/2626", "98/05/2025".
ZERO_LOOKALIKES = "689"


def _date_with_zero_repaired(parts: tuple[str, str, str]) -> Optional[str]:
    """The one valid date that a single 6/8/9 -> 0 change makes of an impossible one.

    Only when the other parts have no 6/8/9 themselves: in "19/67/2026" the 9 may be
    a misread zero too, and "19/07/2026" would be a confident wrong answer.
    """
    repaired = set()
    for k, part in enumerate(parts):
        others = "".join(p for j, p in enumerate(parts) if j != k)
        if any(c in ZERO_LOOKALIKES for c in others):
            continue
        for i, char in enumerate(part):
            if char in ZERO_LOOKALIKES:
                attempt = list(parts)
                attempt[k] = part[:i] + "0" + part[i + 1:]
                date = _date(*attempt)
                if date:
                    repaired.add(date)
    return repaired.pop() if len(repaired) == 1 else None


def find_months(line: _Line) -> list[_Found[str]]:
    found = []
    for m in MONTH_RE.finditer(line.key):
        if m.group("name"):
            month = MONTHS.get(m.group("name").translate(_LETTER_FIXES).replace("q", "o"))
        else:
            month = int(_digits(m.group("num"))) if _has_real_digit(m.group("num")) else None
        year_raw = m.group("year")
        if month is None or not 1 <= month <= 12 or not _has_real_digit(year_raw):
            continue
        year = int(_digits(year_raw))
        year = year + TWO_DIGIT_YEAR_BASE if year < 100 else year
        if OLDEST_YEAR <= year <= NEWEST_YEAR:
            found.append((m.start(), m.end(), f"{year:04d}-{month:02d}"))
    return found


def find_counts(line: _Line) -> list[_Found[float]]:
    """Whole numbers that are not part of an amount, a date or a code."""
    found = []
    for m in INT_RE.finditer(line.key):
        if not _has_real_digit(m.group(0)):
            continue
        before = line.key[max(0, m.start() - 4):m.start()]
        if re.search(r"r\s?\$\s*$|r\s?s\s*$", before):
            continue  # "R$ 12": money without cents
        value = float(_digits(m.group(1)).replace(".", ""))
        found.append((m.start(), m.end(), value))
    return found


def find_kwh_with_unit(line: _Line) -> list[_Found[float]]:
    """Numbers printed with their unit: "350 kWh", "350kWh"."""
    return [
        (start, end, value) for start, end, value in find_counts(line)
        if KWH_UNIT_RE.match(line.key, end)
    ]


def find_classes(line: _Line) -> list[_Found[str]]:
    found = []
    for wording, value in CUSTOMER_CLASSES:
        for m in re.finditer(rf"(?<![a-z]){fuzzy(wording)}", line.key):
            found.append((m.start(), m.end(), value))
    for code, value in SUBGROUP_CLASSES.items():
        for m in re.finditer(rf"(?<![a-z0-9]){fuzzy(code)}(?![0-9a-z])", line.key):
            found.append((m.start(), m.end(), value))
    return sorted(found)


CONNECTION_RE = re.compile(
    rf"(?<![a-z])(?P<kind>m[o0]n[o0]|{fuzzy('bi')}|{fuzzy('tri')})\s*-?\s*{fuzzy('fasic')}[oa0@]"
)


def find_connections(line: _Line) -> list[_Found[str]]:
    found = []
    for m in CONNECTION_RE.finditer(line.key):
        first = m.group("kind")[0]
        kind = "mono" if first == "m" else "tri" if first in "t7" else "bi"
        found.append((m.start(), m.end(), CONNECTION_TYPES[kind]))
    return found


# --------------------------------------------------------------------------
# Label -> value
# --------------------------------------------------------------------------


def _value_for_label(
    lines: Sequence[_Line],
    labels: re.Pattern[str],
    finder: Finder[T],
    row_labels: Optional[re.Pattern[str]] = None,
    *,
    accept: Callable[[_Line, int, int, T], bool] = lambda line, start, end, value: True,
    skip_label_lines: Optional[re.Pattern[str]] = None,
) -> Optional[T]:
    """First value found for any occurrence of `labels`, in reading order.

    `row_labels` are all the labels whose values share a type with this one; they
    bound the value on the label's own line and match a header row to its values.
    """
    row_labels = row_labels or labels
    for i, line in enumerate(lines):
        if skip_label_lines is not None and skip_label_lines.search(line.key):
            continue
        for label in labels.finditer(line.key):
            value = _same_line_value(line, label, finder, row_labels, accept)
            if value is None:
                value = _value_below(lines, i, label, finder, row_labels, accept)
            if value is not None:
                return value
    return None


Accept = Callable[[_Line, int, int, Any], bool]


def _same_line_value(
    line: _Line, label: re.Match[str], finder: Finder[T], row_labels: re.Pattern[str], accept: Accept,
) -> Optional[T]:
    later_labels = [m.start() for m in row_labels.finditer(line.key) if m.start() >= label.end()]
    stop = min(later_labels, default=len(line.key))
    for start, end, value in finder(line):
        if label.end() <= start < stop and accept(line, start, end, value):
            return value
    return None


def _value_below(
    lines: Sequence[_Line],
    i: int,
    label: re.Match[str],
    finder: Finder[T],
    row_labels: re.Pattern[str],
    accept: Accept,
) -> Optional[T]:
    """Value in the rows under a label: by order in a header row, else the nearest column."""
    header = lines[i]
    labels_in_row = _non_overlapping(row_labels.finditer(header.key))
    order = next((k for k, m in enumerate(labels_in_row) if m.start() <= label.start() < m.end()), 0)
    for j in range(i + 1, min(len(lines), i + 1 + LOOKAHEAD_LINES)):
        values = [v for v in finder(lines[j]) if accept(lines[j], *v)]
        if not values:
            if row_labels.search(lines[j].key):
                return None  # another header: this label's value is not below it
            continue
        if len(values) == len(labels_in_row):
            return values[order][2]
        if len(labels_in_row) == 1 and len(values) == 1:
            return values[0][2]
        # Counts differ (a cell OCR lost or merged): only a value in the label's column.
        in_column = [
            v for v in values if v[0] < label.end() + COLUMN_SLACK_CHARS and v[1] > label.start() - COLUMN_SLACK_CHARS
        ]
        centre = (label.start() + label.end()) / 2
        return min(in_column, key=lambda v: abs((v[0] + v[1]) / 2 - centre))[2] if in_column else None
    return None


def _non_overlapping(matches: Iterable[re.Match[str]]) -> list[re.Match[str]]:
    kept: list[re.Match[str]] = []
    for m in matches:
        if not kept or m.start() >= kept[-1].end():
            kept.append(m)
    return kept


# --------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------


def _total(lines: Sequence[_Line]) -> Optional[float]:
    not_a_tariff = _not_followed_by_unit
    value = _value_for_label(lines, TOTAL_LABELS, find_money, MONEY_LABELS, accept=not_a_tariff)
    if value is not None:
        return value
    for line in lines:
        label = WEAK_TOTAL_LABELS.search(line.key)
        if label and not re.search(r"sub\s*total|total\s*(de|dos)?\s*(tribut|impost|consumo)", line.key):
            after = [v for s, e, v in find_money(line) if s >= label.end() and not_a_tariff(line, s, e, v)]
            if after:
                return after[-1]
    # Unlabelled: an amount printed with "R$" more than once is the total (front page and slip).
    counts = Counter(
        v for line in lines for s, e, v in find_money(line)
        if re.search(r"r\s?[$s5]\s*:?\s*$", line.key[max(0, s - 5):s]) and not_a_tariff(line, s, e, v)
    )
    repeated = [v for v, n in counts.items() if n >= 2]
    return max(repeated) if repeated else None


def _not_followed_by_unit(line: _Line, start: int, end: int, value: Any) -> bool:
    return not re.match(r"\s*/\s*k?\s?w", line.key[end:end + 6])


def _kwh(lines: Sequence[_Line]) -> Optional[float]:
    def plausible(line: _Line, start: int, end: int, value: float) -> bool:
        if not MIN_KWH <= value <= MAX_KWH:
            return False
        before, after = line.key[max(0, start - KWH_CONTEXT_CHARS):start], line.key[end:end + KWH_CONTEXT_CHARS]
        return not KWH_EXCLUDE_BEFORE.search(before) and not KWH_EXCLUDE_AFTER.match(after)

    # "Consumo: 350 kWh" or "Consumo (kWh)  350", and the same as a header row.
    with_unit = _value_for_label(
        lines, KWH_LABELS, find_kwh_with_unit, COUNT_LABELS, accept=plausible, skip_label_lines=KWH_LABEL_SKIP,
    )
    if with_unit is not None:
        return with_unit
    bare = _value_for_label(
        lines, KWH_LABELS, find_counts, COUNT_LABELS,
        accept=lambda line, s, e, v: plausible(line, s, e, v) and _kwh_context(line, s),
        skip_label_lines=KWH_LABEL_SKIP,
    )
    if bare is not None:
        return bare
    # No label read: the most frequent "N kWh" outside tariffs and histories, or the
    # quantity of a line item ("Energia Elétrica  kWh  350  0,95  332,50").
    counts = Counter(
        v for line in lines for s, e, v in find_kwh_with_unit(line) if plausible(line, s, e, v)
    )
    counts.update(
        v for line in lines if LINE_ITEM_KWH.search(line.key)
        for s, e, v in find_counts(line) if KWH_BEFORE_QUANTITY.search(line.key[:s]) and plausible(line, s, e, v)
    )
    return counts.most_common(1)[0][0] if counts else None


def _kwh_context(line: _Line, start: int) -> bool:
    """A bare number is the consumption only on a line that speaks of kWh or consumption."""
    return bool(re.search(r"k\s?w\s?h|consumo", line.key)) or not re.search(r"[a-z]{3}", line.key[start:])


def _due_date(lines: Sequence[_Line]) -> Optional[str]:
    return _value_for_label(lines, DUE_LABELS, find_dates, DATE_LABELS)


def _reference_month(lines: Sequence[_Line]) -> Optional[str]:
    month = _value_for_label(lines, REFERENCE_LABELS, find_months, REFERENCE_LABELS)
    if month is not None:
        return month
    # An unlabelled "OUT/2025" (month name and four-digit year) is the reference;
    # consumption histories print two-digit years ("SET/25").
    for line in lines:
        for start, end, value in find_months(line):
            if re.search(r"[a-z]", line.key[start:start + 3]) and re.search(r"\d{4}$", line.key[start:end]):
                return value
    return None


def _customer_class(lines: Sequence[_Line]) -> Optional[str]:
    value = _value_for_label(lines, CLASS_LABELS, find_classes, CLASS_LABELS)
    if value is not None:
        return value
    for line in lines:
        for start, end, value in find_classes(line):
            # An unlabelled class counts where tariffs are described ("B1 RESIDENCIAL
            # CONVENCIONAL", "Residencial Trifásico"), not in an address ("Jardim Residencial").
            context = line.key[max(0, start - 20):end + 30]
            if re.search(r"(?<![a-z0-9])b[123](?![0-9])|convencional|normal|baixa renda|fasic|tarifa", context):
                return value
    return None


def _connection_type(lines: Sequence[_Line]) -> Optional[str]:
    kinds = [value for line in lines for _, _, value in find_connections(line)]
    return Counter(kinds).most_common(1)[0][0] if kinds else None


# ---- utility -------------------------------------------------------------


def _utility_key(text: str) -> str:
    """Folded text with OCR look-alikes merged and punctuation dropped, for name lookup."""
    merged = fold(text).translate(str.maketrans({"0": "o", "1": "i", "l": "i", "|": "i", "!": "i", "5": "s"}))
    return " " + re.sub(r"[^a-z0-9]+", " ", merged).strip() + " "


_UTILITY_KEYS: Sequence[tuple[str, str]] = sorted(
    ((_utility_key(spelling), u.name) for u in UTILITIES for spelling in u.spellings),
    key=lambda pair: len(pair[0]),
    reverse=True,
)


def _utility(text: str, state: Optional[str]) -> Optional[str]:
    key = _utility_key(text)
    hits: Counter[str] = Counter()
    first_at: dict[str, int] = {}
    taken = [False] * len(key)
    for spelling, name in _UTILITY_KEYS:  # longest first: "energisa mato grosso do sul" before "... grosso"
        for m in re.finditer(re.escape(spelling), key):
            if any(taken[m.start() + 1:m.end() - 1]):
                continue
            for k in range(m.start() + 1, m.end() - 1):
                taken[k] = True
            hits[name] += 1
            first_at.setdefault(name, m.start())
    if hits:
        return min(hits, key=lambda name: (-hits[name], first_at[name]))
    if state is None:
        return None
    for brand, by_state in GROUP_BY_STATE.items():
        if f" {_utility_key(brand).strip()} " in key and state in by_state:
            return by_state[state]
    return None


# ---- holder --------------------------------------------------------------


def _holder(lines: Sequence[_Line]) -> tuple[Optional[str], Optional[int]]:
    """(name, index of its line): after a label, else the line above the address."""
    for i, line in enumerate(lines):
        for label in HOLDER_LABELS.finditer(line.key):
            if re.match(r"\s*(desde|n[o°º]?\b|numero|codigo|cod)", line.key[label.end():]):
                continue
            name = _name_at(line, label.end())
            if name is None and not line.key[label.end():].strip(" :.-"):
                if i + 1 < len(lines):
                    name = _name_at(lines[i + 1], 0)
                    if name:
                        return name, i + 1
            if name:
                return name, i
    for i, line in enumerate(lines[1:], start=1):
        if ADDRESS_START.match(line.key):
            name = _name_at(lines[i - 1], 0, whole_line=True)
            if name:
                return name, i - 1
    return None, None


def _name_at(line: _Line, start: int, *, whole_line: bool = False) -> Optional[str]:
    raw, key = line.raw[start:], line.key[start:]
    lead = len(key) - len(key.lstrip(" :;.,-"))
    raw, key = raw[lead:], key[lead:]
    end = len(key)
    for pattern in (NAME_ENDERS, re.compile(r"\s{3,}|[0-9]{3,}|[:;]")):
        m = pattern.search(key)
        if m and m.start() < end:
            end = m.start()
    if whole_line and end < len(key.rstrip()) and not re.match(r"\s{3,}", key[end:]):
        return None  # the line above an address is a name only if nothing else shares its column
    candidate = raw[:end].strip(" -,.")
    words = candidate.split()
    if not NAME_MIN_WORDS <= len(words) <= NAME_MAX_WORDS:
        return None
    fixed = [w.translate(_LETTER_FIXES) if sum(c.isalpha() for c in w) > len(w) / 2 else w for w in words]
    if not all(re.fullmatch(r"[^\W\d_]+(?:['’.\-][^\W\d_]*)*", w) for w in fixed):
        return None
    if NOT_A_HOLDER.search(fold_same_length(" ".join(fixed))) or _utility(" ".join(fixed), None):
        return None
    return _title_name(" ".join(fixed))


NAME_CONNECTORS = frozenset({"da", "das", "de", "do", "dos", "e", "di", "du"})


def _title_name(name: str) -> str:
    words = name.split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        out.append(lower if i and fold(lower) in NAME_CONNECTORS else lower[:1].upper() + lower[1:])
    return " ".join(out)


# ---- place ---------------------------------------------------------------

_UF_ALTERNATIVES = "|".join(sorted(UFS))
# "Campinas - SP", "Campinas/SP", "Campinas, SP", "CAMPINAS SP"; OCR often reads the
# slash as "l", "I" or "|" ("CamaçarilBA").
# A UF as OCR prints it: "R]" or "Rj" for RJ, "R5" for RS, "M6" for MG (see _uf_from_ocr).
_UF_TOKEN = r"[A-Z0-9][A-Za-z0-9\]]"
_UF_OCR_FIXES = str.maketrans({"]": "J", "5": "S", "6": "G", "0": "O", "1": "I", "8": "B", "2": "Z"})
_UF_AFTER_CITY = re.compile(
    rf"(?P<sep>\s*[-–/,|]\s*|(?<=[a-zà-ÿ])[lI1](?={_UF_TOKEN}(?![A-Za-z0-9]))|\s+)"
    rf"(?P<uf>{_UF_TOKEN})(?![A-Za-z0-9\]])"
)


def _uf_from_ocr(token: str) -> Optional[str]:
    uf = token.upper().translate(_UF_OCR_FIXES)
    return uf if uf in UFS else None


@dataclass(frozen=True)
class _Place:
    line: int
    city: Optional[str]
    state: str
    score: float


@lru_cache(maxsize=1)
def _gazetteer_cities() -> Mapping[str, tuple[tuple[str, str], ...]]:
    """UF -> ((folded name, official name), ...) from the project's gazetteer."""
    raw = yaml.safe_load(GAZETTEER_PATH.read_text(encoding="utf-8"))
    by_uf: dict[str, list[tuple[str, str]]] = {}
    for name, ufs in raw["cities"].items():
        for uf in (ufs,) if isinstance(ufs, str) else ufs:
            by_uf.setdefault(uf, []).append((fold(name), name))
    return {uf: tuple(names) for uf, names in by_uf.items()}


def _known_city(piece: str, uf: Optional[str]) -> Optional[tuple[str, Optional[str]]]:
    """(official name, UF) of the gazetteer city `piece` ends with, tolerating OCR typos.

    The piece may carry a district before the city ("Centro Belo Horizonte"), so
    its last words are tried, longest first. Without a UF only an exact name of a
    single state counts: a typo-tolerant match across 27 states would be a guess.
    """
    words = fold(piece).split()
    gazetteer = _gazetteer_cities()
    pool = gazetteer.get(uf, ()) if uf else tuple(pair for names in gazetteer.values() for pair in names)
    names = {folded: name for folded, name in pool}
    for k in range(min(len(words), CITY_MAX_WORDS + 1), 0, -1):
        tail = " ".join(words[-k:])
        if tail in names:
            found = names[tail]
        elif uf and len(tail) >= CITY_FUZZY_MIN_CHARS:
            close = difflib.get_close_matches(tail, names, n=1, cutoff=CITY_FUZZY_CUTOFF)
            if not close:
                continue
            found = names[close[0]]
        else:
            continue
        if uf:
            return found, uf
        states = [state for state, pairs in gazetteer.items() if any(name == found for _, name in pairs)]
        return found, states[0] if len(states) == 1 else None
    return None


def _places(lines: Sequence[_Line], holder_line: Optional[int]) -> list[_Place]:
    found = []
    for i, line in enumerate(lines):
        for city, uf in _places_in_line(line):
            found.append(_Place(i, city, uf, _place_score(lines, i, holder_line)))
    return found


def _places_in_line(line: _Line) -> list[tuple[Optional[str], str]]:
    """(city, UF) pairs written "Campinas - SP", "CAMPINAS/SP", "30130-000 BELO HORIZONTE MG"."""
    out = []
    for m in _UF_AFTER_CITY.finditer(line.raw):
        before = line.raw[:m.start()]
        piece = re.split(r"\s[-–]\s|[,;:/()|]|\d+|\s{3,}|\bCEP\b|\bcep\b", before)[-1].strip(" -.")
        if not piece or not re.fullmatch(r"[^\W\d_]+(?:[\s'’.\-]+[^\W\d_]+)*", piece):
            continue
        uf = _uf_from_ocr(m.group("uf"))
        if uf is None:
            continue
        if not m.group("sep").strip():
            # "BELO HORIZONTE MG": without a separator only a city the gazetteer knows
            # counts, or any word before "SE"/"TO"/"PA" would be a place.
            known = _known_city(piece, uf)
            if known:
                out.append((known[0], uf))
            continue
        out.append((_city_name(piece, uf)[0], uf))
    return out


def _city_name(piece: str, uf: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(city, UF): a gazetteer city, else (with a UF) the piece itself if it reads as a place."""
    known = _known_city(piece, uf)
    if known:
        return known
    if uf is None or len(piece.split()) > CITY_MAX_WORDS or ADDRESS_START.match(fold_same_length(piece)):
        return None, uf
    guessed = parse_location(f"{piece} - {uf}", requested=True)
    return (guessed.city, uf) if guessed.state in (uf, None) else (None, uf)


def _place_score(lines: Sequence[_Line], i: int, holder_line: Optional[int]) -> float:
    score = 0.0
    near = " ".join(line.key for line in lines[max(0, i - 1):i + 1])
    if COMPANY_CUES.search(near) or _utility(near, None):
        score += COMPANY_ADDRESS_PENALTY
    if CEP.search(lines[i].key) or (i + 1 < len(lines) and CEP.search(lines[i + 1].key)):
        score += CEP_BONUS
    if holder_line is not None and 0 <= i - holder_line <= HOLDER_ADDRESS_WINDOW:
        score += HOLDER_NEARBY_BONUS * (1 - (i - holder_line) / (2 * HOLDER_ADDRESS_WINDOW))
    return score


def _labelled_place(lines: Sequence[_Line]) -> tuple[Optional[str], Optional[str]]:
    """ "Cidade: Campinas", "Município/UF: Campinas/SP", "UF: SP"."""
    piece = piece_uf = state = None
    for line in lines:
        for label in CITY_LABEL.finditer(line.key):
            rest = line.raw[label.end():].strip()
            text = re.split(r"\s{2,}|\bUF\b|\bCEP\b|\d", rest)[0].strip(" -,")
            m = re.fullmatch(rf"(.+?)\s*[/\-–,|]\s*({_UF_TOKEN})", text)
            if m and _uf_from_ocr(m.group(2)):
                text, uf = m.group(1), _uf_from_ocr(m.group(2))
            else:
                uf = None
            if text and piece is None:
                piece, piece_uf = text, uf
        for label in STATE_LABEL.finditer(line.key):
            m = re.match(rf"\s*({_UF_TOKEN})(?![A-Za-z0-9\]])", line.raw[label.end():])
            if m and _uf_from_ocr(m.group(1)):
                state = state or _uf_from_ocr(m.group(1))
    if piece is None:
        return None, state
    # The UF printed with the city, else the labelled one, else the gazetteer's.
    city, city_uf = _city_name(piece, piece_uf or state)
    return city, piece_uf or state or city_uf


def _place(lines: Sequence[_Line], holder_line: Optional[int]) -> tuple[Optional[str], Optional[str]]:
    city, state = _labelled_place(lines)
    if city and state:
        return city, state
    places = _places(lines, holder_line)
    if places:
        best = max(places, key=lambda p: (p.score, p.city is not None, -p.line))
        if best.score > MIN_PLACE_SCORE:  # else only the distribuidora's address was read
            return city or best.city, state or best.state
    return city, state


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def extract_bill_facts(text: str) -> BillFacts:
    """Every fact the text of a bill yields; `None` for each one it does not."""
    lines = _lines(text)
    holder, holder_line = _holder(lines)
    city, state = _place(lines, holder_line)
    return BillFacts(
        total_brl=_total(lines),
        kwh=_kwh(lines),
        utility=_utility(text, state),
        due_date=_due_date(lines),
        reference_month=_reference_month(lines),
        customer_class=_customer_class(lines),
        connection_type=_connection_type(lines),
        city=city,
        state=state,
        holder_name=holder,
    )


def looks_like_a_bill(text: str) -> bool:
    """True for the text of an electricity bill: energy wording plus other bill cues.

    Energy wording is required so a credit-card statement ("fatura", "vencimento",
    "total a pagar") or a shop receipt never passes for a bill.
    """
    key = "\n".join(line.key for line in _lines(text))
    energy = sum(bool(p.search(key)) for p in ENERGY_SIGNALS)
    has_utility = _utility(text, None) is not None
    other = sum(bool(p.search(key)) for p in OTHER_SIGNALS)
    if not (energy or has_utility):
        return False
    return energy + has_utility + other >= BILL_MIN_SIGNALS
