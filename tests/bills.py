"""Synthetic Brazilian electricity bills for the bill reader's tests and benchmark.

Each bill is drawn from a `BillSpec` (the facts, plus the wording its
distribuidora prints) in one of several layouts, as a list of drawing
operations rendered either with Pillow (images, scanned PDFs) or with fpdf2 (PDFs
with a text layer). Images then go through the degradations phone photos
suffer: low resolution, blur, noise, slight rotation, uneven light, JPEG.

Everything is seeded: the same (n, seed) gives the same corpus, byte for byte
for images (fpdf2 writes a fixed creation date).

Needs a TrueType font with Portuguese glyphs: Debian's `fonts-dejavu-core`
(see `fonts_missing()`).
"""
from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from actions.bill_text import BillFacts

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES: dict[tuple[str, bool], str] = {
    ("sans", False): "DejaVuSans.ttf",
    ("sans", True): "DejaVuSans-Bold.ttf",
    ("serif", False): "DejaVuSerif.ttf",
    ("serif", True): "DejaVuSerif-Bold.ttf",
    ("mono", False): "DejaVuSansMono.ttf",
    ("mono", True): "DejaVuSansMono-Bold.ttf",
    ("condensed", False): "DejaVuSansCondensed.ttf",
    ("condensed", True): "DejaVuSansCondensed-Bold.ttf",
}
FONTS_HINT = "install Debian's fonts-dejavu-core (apt-get install -y fonts-dejavu-core)"

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0  # A4
MM_PER_INCH = 25.4
PT_PER_INCH = 72.0
PDF_DATE = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)  # fixed: deterministic PDFs
SCAN_JPEG_QUALITY = 80  # what a scanner app embeds in an image-only PDF

Kind = Literal["image", "pdf_text", "pdf_scan"]
LAYOUTS: tuple[str, ...] = ("boxes", "labels", "two_column", "slip", "grid")


def fonts_missing() -> Optional[str]:
    """Why bills cannot be drawn here, or None when the fonts are installed."""
    absent = [name for name in FONT_FILES.values() if not (FONT_DIR / name).is_file()]
    if absent:
        return f"TrueType fonts missing under {FONT_DIR} ({', '.join(absent)}): {FONTS_HINT}"
    return None


# --------------------------------------------------------------------------
# What a bill says
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class UtilityStyle:
    canonical: str
    state: str
    cities: tuple[str, ...]  # gazetteer spellings (the reader answers with those)
    printed: tuple[str, ...]  # how its bills write the name
    head_office: str  # the company's address, a distractor for the customer's city
    colour: tuple[int, int, int]


UTILITY_STYLES: tuple[UtilityStyle, ...] = (
    UtilityStyle("CEMIG", "MG", ("Belo Horizonte", "Uberlândia", "Juiz de Fora", "Montes Claros", "Betim"),
                 ("CEMIG DISTRIBUIÇÃO S.A.", "Cemig", "CEMIG D"),
                 "Av. Barbacena, 1200 - Santo Agostinho - Belo Horizonte - MG - CEP 30190-131",
                 (0, 102, 84)),
    UtilityStyle("Enel SP", "SP", ("São Paulo", "Guarulhos", "Osasco", "Barueri"),
                 ("Enel Distribuição São Paulo", "ENEL SP", "enel"),
                 "Rua Ática, 673 - Jardim Brasil - São Paulo - SP - CEP 04634-042", (0, 84, 166)),
    UtilityStyle("Light", "RJ", ("Rio de Janeiro", "Nova Iguaçu", "Duque de Caxias", "Volta Redonda"),
                 ("Light Serviços de Eletricidade S.A.", "LIGHT", "Light S.A."),
                 "Av. Marechal Floriano, 168 - Centro - Rio de Janeiro - RJ - CEP 20080-002", (230, 120, 0)),
    UtilityStyle("Enel RJ", "RJ", ("Niterói", "São Gonçalo", "Petrópolis", "Cabo Frio"),
                 ("Enel Distribuição Rio", "ENEL RJ"),
                 "Praça Leoni Ramos, 1 - São Domingos - Niterói - RJ - CEP 24210-205", (0, 84, 166)),
    UtilityStyle("Enel CE", "CE", ("Fortaleza", "Caucaia", "Juazeiro do Norte", "Sobral"),
                 ("Enel Distribuição Ceará", "ENEL CE", "enel"),
                 "Rua Padre Valdevino, 150 - Centro - Fortaleza - CE - CEP 60135-040", (0, 84, 166)),
    UtilityStyle("Copel", "PR", ("Curitiba", "Londrina", "Maringá", "Ponta Grossa", "Cascavel"),
                 ("COPEL DISTRIBUIÇÃO S.A.", "Copel"),
                 "Rua José Izidoro Biazetto, 158 - Curitiba - PR - CEP 81200-240", (0, 70, 140)),
    UtilityStyle("CPFL Paulista", "SP", ("Campinas", "Ribeirão Preto", "Bauru", "Piracicaba"),
                 ("CPFL Paulista", "Companhia Paulista de Força e Luz", "CPFL PAULISTA"),
                 "Rodovia Engenheiro Miguel Noel Nascentes Burnier, 1755 - Campinas - SP - CEP 13088-900",
                 (0, 90, 160)),
    UtilityStyle("Celesc", "SC", ("Florianópolis", "Joinville", "Blumenau", "Chapecó", "Lages"),
                 ("CELESC DISTRIBUIÇÃO S.A.", "Celesc"),
                 "Av. Itamarati, 160 - Itacorubi - Florianópolis - SC - CEP 88034-900", (0, 110, 70)),
    UtilityStyle("Coelba", "BA", ("Salvador", "Feira de Santana", "Vitória da Conquista", "Camaçari"),
                 ("Neoenergia Coelba", "COELBA", "Coelba - Neoenergia"),
                 "Av. Edgard Santos, 300 - Narandiba - Salvador - BA - CEP 41181-900", (0, 120, 60)),
    UtilityStyle("Equatorial Pará", "PA", ("Belém", "Ananindeua", "Santarém", "Marabá", "Castanhal"),
                 ("Equatorial Pará", "EQUATORIAL ENERGIA PARÁ", "Equatorial Energia Pará"),
                 "Rodovia Augusto Montenegro, Km 8,5 - Belém - PA - CEP 66823-010", (0, 60, 130)),
    UtilityStyle("Energisa MT", "MT", ("Cuiabá", "Várzea Grande", "Rondonópolis", "Sinop"),
                 ("Energisa Mato Grosso", "ENERGISA MT", "Energisa Mato Grosso - Distribuidora"),
                 "Rua Vereador João Barbosa Caramuru, 184 - Cuiabá - MT - CEP 78010-900", (0, 130, 180)),
    UtilityStyle("RGE", "RS", ("Caxias do Sul", "Passo Fundo", "Santa Maria", "Bento Gonçalves"),
                 ("RGE Sul Distribuidora de Energia", "RGE", "CPFL RGE"),
                 "Rua São Luiz, 77 - Centro - São Leopoldo - RS - CEP 93010-110", (0, 90, 160)),
    UtilityStyle("Neoenergia Pernambuco", "PE", ("Recife", "Olinda", "Caruaru", "Petrolina"),
                 ("Neoenergia Pernambuco", "NEOENERGIA PERNAMBUCO", "Celpe"),
                 "Av. João de Barros, 111 - Boa Vista - Recife - PE - CEP 50050-902", (0, 120, 60)),
    UtilityStyle("Cosern", "RN", ("Natal", "Mossoró", "Parnamirim"),
                 ("Neoenergia Cosern", "COSERN"),
                 "Rua Mermoz, 150 - Baldo - Natal - RN - CEP 59025-250", (0, 120, 60)),
    UtilityStyle("EDP ES", "ES", ("Vitória", "Vila Velha", "Serra", "Cariacica", "Linhares"),
                 ("EDP Espírito Santo", "EDP ES", "EDP Espírito Santo Distribuição de Energia S.A."),
                 "Av. Nossa Senhora da Penha, 1950 - Vitória - ES - CEP 29056-250", (40, 40, 40)),
)

FIRST_NAMES = ("Maria", "João", "José", "Ana", "Antônio", "Francisca", "Carlos", "Paulo", "Luíza",
               "Márcia", "Sebastião", "Fernanda", "Raimundo", "Patrícia", "Lúcia", "Cláudio",
               "Juliana", "Rogério", "Tereza", "Gustavo")
MIDDLE_NAMES = ("da Conceição", "dos Santos", "de Souza", "Aparecida", "Carlos", "Batista",
                "de Jesus", "Helena", "", "", "")
LAST_NAMES = ("Silva", "Oliveira", "Pereira", "Rodrigues", "Almeida", "Nascimento", "Lima",
              "Araújo", "Fernandes", "Gonçalves", "Ribeiro", "Carvalho", "Gomes", "Martins")
STREETS = ("Rua das Flores", "Av. Brasil", "Rua São João", "Travessa Boa Esperança",
           "Rua Sete de Setembro", "Av. Getúlio Vargas", "Rua Tiradentes", "Alameda dos Ipês",
           "Rua Padre Anchieta", "Rua Quinze de Novembro")
DISTRICTS = ("Centro", "Jardim América", "Vila Nova", "Boa Vista", "Santa Cruz", "São Cristóvão",
             "Parque Industrial", "Bela Vista")

CLASS_WORDING: dict[str, tuple[str, ...]] = {
    "residencial": ("Residencial", "RESIDENCIAL", "B1 Residencial", "B1 - RESIDENCIAL NORMAL",
                    "Residencial Normal"),
    "comercial": ("Comercial", "B3 COMERCIAL", "Comercial, Serviços e Outras"),
    "rural": ("Rural", "B2 RURAL", "B2 - Rural Agropecuária"),
    "industrial": ("Industrial", "B3 INDUSTRIAL"),
}
CLASS_WEIGHTS = {"residencial": 6, "comercial": 2, "rural": 1, "industrial": 1}
CONNECTION_WORDING: dict[str, tuple[str, ...]] = {
    "monofasico": ("Monofásico", "MONOFÁSICO", "Monofásica"),
    "bifasico": ("Bifásico", "BIFÁSICO", "Bifásica"),
    "trifasico": ("Trifásico", "TRIFÁSICO", "Trifásica"),
}
MONTH_ABBR = ("JAN", "FEV", "MAR", "ABR", "MAI", "JUN", "JUL", "AGO", "SET", "OUT", "NOV", "DEZ")
MONTH_NAMES = ("Janeiro", "Fevereiro", "Março", "Abril", "Maio", "Junho", "Julho", "Agosto",
               "Setembro", "Outubro", "Novembro", "Dezembro")

TOTAL_LABELS = ("TOTAL A PAGAR", "Total a pagar", "VALOR A PAGAR (R$)", "Valor a pagar", "Total da fatura")
DUE_LABELS = ("Vencimento", "VENCIMENTO", "Data de vencimento")
REFERENCE_LABELS = ("Mês de referência", "Referente a", "REFERÊNCIA", "Mês/Ano", "Conta mês")
KWH_LABELS = ("Consumo (kWh)", "Consumo kWh", "CONSUMO", "Consumo faturado")
HOLDER_LABELS = ("Nome", "Cliente", "Titular", "NOME DO CLIENTE")


@dataclass(frozen=True)
class Wording:
    """The spellings one bill uses; varied so no reader can rely on one layout's words."""

    utility: str
    total_label: str
    due_label: str
    reference_label: str
    kwh_label: str
    holder_label: str
    class_text: str
    connection_text: str
    month_text: str
    currency_prefix: str  # "R$ " or ""
    holder_upper: bool


@dataclass(frozen=True)
class BillSpec:
    facts: BillFacts  # the truth the reader must find
    style: UtilityStyle
    wording: Wording
    street: str
    district: str
    cep: str
    customer_code: str
    installation: str
    meter_previous: int
    meter_current: int
    issued: dt.date
    read_previous: dt.date
    read_current: dt.date
    tariff: float  # R$/kWh with taxes
    history: tuple[tuple[str, int], ...]  # consumption of past months


def random_spec(rng: random.Random) -> BillSpec:
    style = rng.choice(UTILITY_STYLES)
    city = rng.choice(style.cities)
    holder = " ".join(p for p in (rng.choice(FIRST_NAMES), rng.choice(MIDDLE_NAMES), rng.choice(LAST_NAMES)) if p)
    customer_class = rng.choices(list(CLASS_WEIGHTS), weights=list(CLASS_WEIGHTS.values()))[0]
    connection = rng.choice(list(CONNECTION_WORDING))
    kwh = rng.randint(90, 1800)
    tariff = round(rng.uniform(0.78, 1.12), 5)
    public_lighting = round(rng.uniform(8, 45), 2)
    total = round(kwh * tariff + public_lighting, 2)
    reference = dt.date(rng.choice((2024, 2025, 2026)), rng.randint(1, 12), 1)
    read_current = reference.replace(day=rng.randint(8, 25))
    read_previous = read_current - dt.timedelta(days=rng.randint(28, 33))
    issued = read_current + dt.timedelta(days=rng.randint(1, 4))
    due = issued + dt.timedelta(days=rng.randint(8, 20))
    meter_previous = rng.randint(1000, 90000)
    month_text = rng.choice((
        f"{MONTH_ABBR[reference.month - 1]}/{reference.year}",
        f"{reference.month:02d}/{reference.year}",
        f"{MONTH_NAMES[reference.month - 1]}/{reference.year}",
        f"{MONTH_ABBR[reference.month - 1]}/{reference.year % 100:02d}",
    ))
    history = []
    for back in range(1, 7):
        month = (reference.month - back - 1) % 12 + 1
        year = reference.year - (1 if month > reference.month else 0)
        history.append((f"{MONTH_ABBR[month - 1]}/{year % 100:02d}", max(30, kwh + rng.randint(-120, 120))))
    facts = BillFacts(
        total_brl=total,
        kwh=float(kwh),
        utility=style.canonical,
        due_date=due.isoformat(),
        reference_month=f"{reference.year:04d}-{reference.month:02d}",
        customer_class=customer_class,
        connection_type=connection,
        city=city,
        state=style.state,
        holder_name=holder,
    )
    wording = Wording(
        utility=rng.choice(style.printed),
        total_label=rng.choice(TOTAL_LABELS),
        due_label=rng.choice(DUE_LABELS),
        reference_label=rng.choice(REFERENCE_LABELS),
        kwh_label=rng.choice(KWH_LABELS),
        holder_label=rng.choice(HOLDER_LABELS),
        class_text=rng.choice(CLASS_WORDING[customer_class]),
        connection_text=rng.choice(CONNECTION_WORDING[connection]),
        month_text=month_text,
        currency_prefix=rng.choice(("R$ ", "R$ ", "")),
        holder_upper=rng.random() < 0.6,
    )
    return BillSpec(
        facts=facts, style=style, wording=wording,
        street=f"{rng.choice(STREETS)}, {rng.randint(10, 3999)}",
        district=rng.choice(DISTRICTS),
        cep=f"{rng.randint(10000, 99999)}-{rng.randint(0, 999):03d}",
        customer_code=str(rng.randint(10_000_000, 99_999_999)),
        installation=str(rng.randint(3_000_000_000, 3_999_999_999)),
        meter_previous=meter_previous,
        meter_current=meter_previous + kwh,
        issued=issued, read_previous=read_previous, read_current=read_current,
        tariff=tariff,
        history=tuple(history),
    )


# --------------------------------------------------------------------------
# Formatting as bills print
# --------------------------------------------------------------------------


def brl(value: float) -> str:
    """1234.5 -> "1.234,50"."""
    whole, cents = f"{value:,.2f}".split(".")
    return f"{whole.replace(',', '.')},{cents}"


def br_date(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def holder_text(spec: BillSpec) -> str:
    name = spec.facts.holder_name or ""
    return name.upper() if spec.wording.holder_upper else name


def money(spec: BillSpec, value: float) -> str:
    return f"{spec.wording.currency_prefix}{brl(value)}"


# --------------------------------------------------------------------------
# Drawing operations (millimetres, origin top-left; text y is the baseline)
# --------------------------------------------------------------------------

Colour = tuple[int, int, int]
BLACK: Colour = (0, 0, 0)
WHITE: Colour = (255, 255, 255)
GREY: Colour = (110, 110, 110)
LIGHT: Colour = (232, 232, 232)


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 9.0  # points
    bold: bool = False
    family: str = "sans"
    colour: Colour = BLACK
    align: Literal["left", "right", "center"] = "left"


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    fill: Optional[Colour] = None
    outline: Optional[Colour] = BLACK
    width: float = 0.3  # mm


@dataclass(frozen=True)
class Bars:
    """A payment-slip barcode: `pattern` is 0/1 modules."""

    x: float
    y: float
    height: float
    module: float
    pattern: tuple[int, ...]


Op = Union[Text, Box, Bars]


@dataclass
class Page:
    ops: list[Op] = field(default_factory=list)
    family: str = "sans"

    def text(self, x: float, y: float, text: str, size: float = 9.0, **kw) -> None:
        kw.setdefault("family", self.family)
        self.ops.append(Text(x, y, text, size, **kw))

    def box(self, x0: float, y0: float, x1: float, y1: float, **kw) -> None:
        self.ops.append(Box(x0, y0, x1, y1, **kw))


def _header(page: Page, spec: BillSpec, *, y: float, banner: bool) -> float:
    colour = spec.style.colour
    if banner:
        page.box(0, y - 2, PAGE_W_MM, y + 16, fill=colour, outline=None)
        page.text(12, y + 8, spec.wording.utility, 16, bold=True, colour=WHITE)
        page.text(12, y + 13.5, "Nota Fiscal / Conta de Energia Elétrica", 8, colour=WHITE)
    else:
        page.text(12, y + 8, spec.wording.utility, 16, bold=True, colour=colour)
        page.text(12, y + 13.5, "Nota Fiscal / Conta de Energia Elétrica", 8)
    code = spec.customer_code
    cnpj = f"CNPJ {code[:2]}.{code[2:5]}.{code[5:8]}/0001-{spec.installation[-2:]}"
    page.text(12, y + 21, cnpj, 6.5, colour=GREY)
    page.text(12, y + 24.5, spec.style.head_office, 6.5, colour=GREY)
    return y + 32


def _customer_block(page: Page, spec: BillSpec, x: float, y: float, *, labelled: bool, size: float = 9) -> float:
    facts = spec.facts
    city_line = f"{spec.cep} {facts.city.upper()} - {facts.state}" if not labelled else None
    if labelled:
        page.text(x, y, f"{spec.wording.holder_label}: {holder_text(spec)}", size, bold=True)
        page.text(x, y + 5, f"Endereço: {spec.street} - {spec.district}", size)
        page.text(x, y + 10, f"Cidade: {facts.city}    UF: {facts.state}    CEP: {spec.cep}", size)
        return y + 16
    page.text(x, y, holder_text(spec), size, bold=True)
    page.text(x, y + 5, f"{spec.street.upper()} - {spec.district.upper()}", size)
    page.text(x, y + 10, city_line, size)
    return y + 16


def _codes(page: Page, spec: BillSpec, x: float, y: float, size: float = 8) -> None:
    page.text(x, y, f"Nº do Cliente: {spec.customer_code}", size)
    page.text(x, y + 4.5, f"Nº da Instalação: {spec.installation}", size)
    page.text(x, y + 9, f"Data de emissão: {spec.issued.strftime('%d/%m/%Y')}", size)


def _line_items(page: Page, spec: BillSpec, x: float, y: float, width: float) -> float:
    kwh = int(spec.facts.kwh or 0)
    energy = round((spec.facts.total_brl or 0) - _lighting(spec), 2)
    page.box(x, y, x + width, y + 6, fill=LIGHT, outline=None)
    page.text(x + 2, y + 4.3, "Itens da fatura", 8, bold=True)
    page.text(x + width * 0.45, y + 4.3, "Unid.", 8, bold=True)
    page.text(x + width * 0.58, y + 4.3, "Quant.", 8, bold=True)
    page.text(x + width * 0.72, y + 4.3, "Preço unit. (R$)", 8, bold=True)
    page.text(x + width - 2, y + 4.3, "Valor (R$)", 8, bold=True, align="right")
    rows = (
        ("Energia Elétrica", "kWh", str(kwh), f"{spec.tariff:.5f}".replace(".", ","), brl(energy)),
        ("Contrib. Ilum. Pública", "", "", "", brl(_lighting(spec))),
    )
    for k, row in enumerate(rows):
        yy = y + 11 + 5 * k
        page.text(x + 2, yy, row[0], 8)
        page.text(x + width * 0.45, yy, row[1], 8)
        page.text(x + width * 0.58, yy, row[2], 8)
        page.text(x + width * 0.72, yy, row[3], 8)
        page.text(x + width - 2, yy, row[4], 8, align="right")
    return y + 11 + 5 * len(rows) + 2


def _lighting(spec: BillSpec) -> float:
    return round((spec.facts.total_brl or 0) - round(spec.tariff * (spec.facts.kwh or 0), 2), 2)


def _history(page: Page, spec: BillSpec, x: float, y: float) -> float:
    page.text(x, y, "Histórico de consumo (kWh)", 8, bold=True)
    for k, (month, value) in enumerate(spec.history):
        page.text(x + k * 24, y + 5, f"{month} {value}", 7.5, colour=GREY)
    return y + 10


def _slip(page: Page, spec: BillSpec, y: float, rng: random.Random) -> None:
    """Payment slip at the foot: repeats the due date and the amount, as real bills do."""
    page.ops.append(Box(8, y, PAGE_W_MM - 8, y, outline=GREY, width=0.2))
    page.text(12, y + 6, "Autenticação mecânica - recibo do pagador", 7, colour=GREY)
    page.text(12, y + 12, f"Vencimento {br_date(spec.facts.due_date or '2025-01-01')}", 9, bold=True)
    page.text(90, y + 12, f"Valor do documento R$ {brl(spec.facts.total_brl or 0)}", 9, bold=True)
    pattern = tuple(rng.choice((0, 1)) for _ in range(95))
    page.ops.append(Bars(12, y + 16, 12, 0.45, pattern))


def layout_boxes(spec: BillSpec, rng: random.Random) -> Page:
    """CEMIG-like: unlabelled customer block, a row of boxed key facts, a meter table."""
    page = Page(family="sans")
    w = spec.wording
    y = _header(page, spec, y=8, banner=False)
    y = _customer_block(page, spec, 12, y + 2, labelled=False)
    _codes(page, spec, 130, y - 16)
    y += 4
    heads = (w.reference_label, w.due_label, w.total_label)
    values = (w.month_text, br_date(spec.facts.due_date), money(spec, spec.facts.total_brl))
    for k, (head, value) in enumerate(zip(heads, values)):
        x0 = 12 + k * 62
        page.box(x0, y, x0 + 58, y + 16, fill=LIGHT if k == 2 else None)
        page.text(x0 + 3, y + 5.5, head, 8)
        page.text(x0 + 3, y + 13, value, 12, bold=True)
    y += 24
    page.text(12, y, f"Classe: {w.class_text}", 9)
    page.text(100, y, f"Tipo de fornecimento: {w.connection_text}", 9)
    y += 8
    cols = ("Leitura anterior", "Leitura atual", w.kwh_label)
    vals = (str(spec.meter_previous), str(spec.meter_current), str(int(spec.facts.kwh)))
    for k, (head, value) in enumerate(zip(cols, vals)):
        page.text(12 + k * 60, y, head, 8, bold=True)
        page.text(12 + k * 60, y + 5.5, value, 10)
    y += 12
    y = _line_items(page, spec, 12, y, 186)
    y = _history(page, spec, 12, y + 4)
    _slip(page, spec, 240, rng)
    return page


def layout_labels(spec: BillSpec, rng: random.Random) -> Page:
    """Enel-like: one column of "Label: value" lines, serif."""
    page = Page(family="serif")
    w = spec.wording
    y = _header(page, spec, y=8, banner=True)
    y = _customer_block(page, spec, 12, y + 4, labelled=True)
    _codes(page, spec, 12, y + 2)
    y += 18
    lines = (
        f"{w.reference_label}: {w.month_text}",
        f"{w.due_label}: {br_date(spec.facts.due_date)}",
        f"{w.kwh_label}: {int(spec.facts.kwh)} kWh" if "kwh" not in w.kwh_label.lower()
        else f"{w.kwh_label}: {int(spec.facts.kwh)}",
        f"Classificação: {w.class_text} - {w.connection_text}",
    )
    for k, line in enumerate(lines):
        page.text(12, y + 6 * k, line, 10)
    y += 6 * len(lines) + 4
    page.box(12, y, 198, y + 12, fill=LIGHT)
    page.text(16, y + 8.5, f"{w.total_label}: {money(spec, spec.facts.total_brl)}", 13, bold=True)
    y += 20
    y = _line_items(page, spec, 12, y, 186)
    _history(page, spec, 12, y + 4)
    _slip(page, spec, 240, rng)
    return page


def layout_two_column(spec: BillSpec, rng: random.Random) -> Page:
    """Customer data on the left, a highlighted summary on the right, condensed font."""
    page = Page(family="condensed")
    w = spec.wording
    f = spec.facts
    y = _header(page, spec, y=8, banner=False)
    left = (
        (f"{w.holder_label}:", holder_text(spec)),
        ("Endereço:", f"{spec.street}, {spec.district}"),
        ("", f"{f.city}/{f.state}  CEP {spec.cep}"),
        ("Classe:", w.class_text),
        ("Ligação:", w.connection_text),
    )
    for k, (label, value) in enumerate(left):
        page.text(12, y + 6 * k, f"{label} {value}".strip(), 9)
    page.box(128, y - 5, 198, y + 40, fill=LIGHT, outline=spec.style.colour, width=0.6)
    page.text(132, y + 1, w.total_label, 9, bold=True)
    page.text(132, y + 10, money(spec, f.total_brl), 15, bold=True)
    page.text(132, y + 19, w.due_label, 9, bold=True)
    page.text(132, y + 26, br_date(f.due_date), 12)
    page.text(132, y + 34, f"{w.reference_label}: {w.month_text}", 9)
    y += 48
    heads = ("Medidor", "Leitura anterior", "Leitura atual", w.kwh_label)
    vals = (f"A{spec.installation[-6:]}", str(spec.meter_previous), str(spec.meter_current), str(int(f.kwh)))
    page.box(12, y - 4.5, 198, y + 1.5, fill=LIGHT, outline=None)
    for k, (head, value) in enumerate(zip(heads, vals)):
        page.text(14 + k * 46, y, head, 8.5, bold=True)
        page.text(14 + k * 46, y + 6.5, value, 9.5)
    y += 14
    _codes(page, spec, 12, y)
    y = _line_items(page, spec, 12, y + 14, 186)
    _history(page, spec, 12, y + 4)
    _slip(page, spec, 240, rng)
    return page


def layout_slip(spec: BillSpec, rng: random.Random) -> Page:
    """Narrow receipt-like column (printed by field readers), monospaced, summary at the end."""
    page = Page(family="mono")
    w = spec.wording
    f = spec.facts
    x0, x1 = 40, 170
    page.box(x0 - 4, 6, x1 + 4, 290, outline=GREY, width=0.2)
    y = 16
    page.text((x0 + x1) / 2, y, w.utility.upper(), 12, bold=True, align="center")
    page.text((x0 + x1) / 2, y + 5, "CONTA DE ENERGIA ELETRICA", 8, align="center")
    page.text((x0 + x1) / 2, y + 9, spec.style.head_office[:60], 6, align="center", colour=GREY)
    y += 20
    rows = (
        (w.holder_label.upper(), holder_text(spec).upper()),
        ("", f"{spec.street.upper()}"),
        ("", f"{spec.district.upper()} - {f.city.upper()} - {f.state}"),
        ("CEP", spec.cep),
        ("CLASSE", w.class_text.upper()),
        ("FASES", w.connection_text.upper()),
        (w.reference_label.upper(), w.month_text.upper()),
        ("LEITURA ANTERIOR", f"{spec.read_previous.strftime('%d/%m/%Y')}  {spec.meter_previous}"),
        ("LEITURA ATUAL", f"{spec.read_current.strftime('%d/%m/%Y')}  {spec.meter_current}"),
        ("CONSUMO", f"{int(f.kwh)} kWh"),
        ("TARIFA R$/kWh", f"{spec.tariff:.5f}".replace(".", ",")),
        ("ILUM. PUBLICA", brl(_lighting(spec))),
    )
    for k, (label, value) in enumerate(rows):
        yy = y + 5.5 * k
        if label:
            page.text(x0, yy, f"{label}:", 8.5)
        page.text(x1, yy, value, 8.5, align="right")
    y += 5.5 * len(rows) + 6
    page.box(x0, y - 5, x1, y + 14, fill=LIGHT, outline=None)
    page.text(x0 + 2, y + 1, w.due_label.upper(), 9, bold=True)
    page.text(x1 - 2, y + 1, br_date(f.due_date), 9, bold=True, align="right")
    page.text(x0 + 2, y + 9, w.total_label.upper(), 10, bold=True)
    page.text(x1 - 2, y + 9, money(spec, f.total_brl), 11, bold=True, align="right")
    y += 24
    for k, (month, value) in enumerate(spec.history[:3]):
        page.text(x0, y + 4.5 * k, f"{month}  {value} kWh (histórico)", 7, colour=GREY)
    page.ops.append(Bars(x0, y + 18, 10, 0.4, tuple(rng.choice((0, 1)) for _ in range(120))))
    return page


def layout_grid(spec: BillSpec, rng: random.Random) -> Page:
    """Every fact in a bordered grid: a header row of labels over a row of values."""
    page = Page(family="sans")
    w = spec.wording
    f = spec.facts
    y = _header(page, spec, y=6, banner=True)
    y = _customer_block(page, spec, 12, y + 4, labelled=rng.random() < 0.5)
    y += 2
    grid = (
        (("Classe", w.class_text), ("Fornecimento", w.connection_text),
         (w.reference_label, w.month_text)),
        (("Leitura anterior", spec.read_previous.strftime("%d/%m/%Y")),
         ("Leitura atual", spec.read_current.strftime("%d/%m/%Y")),
         (w.due_label, br_date(f.due_date))),
        ((w.kwh_label, str(int(f.kwh))), ("Dias", str((spec.read_current - spec.read_previous).days)),
         (w.total_label, money(spec, f.total_brl))),
    )
    col_w = 62
    for row in grid:
        for k, (head, value) in enumerate(row):
            x = 12 + k * col_w
            page.box(x, y, x + col_w, y + 15, fill=LIGHT if k == 2 and row is grid[-1] else None)
            page.text(x + 2.5, y + 5, head, 8, bold=True)
            page.text(x + 2.5, y + 12, value, 10)
        y += 15
    y += 6
    _codes(page, spec, 12, y)
    y = _line_items(page, spec, 12, y + 14, 186)
    _history(page, spec, 12, y + 4)
    _slip(page, spec, 240, rng)
    return page


LAYOUT_FUNCTIONS = {
    "boxes": layout_boxes,
    "labels": layout_labels,
    "two_column": layout_two_column,
    "slip": layout_slip,
    "grid": layout_grid,
}

# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

_font_cache: dict[tuple[str, bool, int], ImageFont.FreeTypeFont] = {}


def _font(family: str, bold: bool, px: int) -> ImageFont.FreeTypeFont:
    key = (family, bold, px)
    if key not in _font_cache:
        problem = fonts_missing()
        if problem:
            raise RuntimeError(problem)
        _font_cache[key] = ImageFont.truetype(str(FONT_DIR / FONT_FILES[(family, bold)]), px)
    return _font_cache[key]


def render_image(page: Page, dpi: int) -> Image.Image:
    scale = dpi / MM_PER_INCH
    size = (round(PAGE_W_MM * scale), round(PAGE_H_MM * scale))
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    for op in page.ops:
        if isinstance(op, Box):
            width = max(1, round(op.width * scale)) if op.outline else 0
            draw.rectangle(
                [op.x0 * scale, op.y0 * scale, op.x1 * scale, op.y1 * scale],
                fill=op.fill, outline=op.outline, width=width,
            )
        elif isinstance(op, Bars):
            for k, bit in enumerate(op.pattern):
                if bit:
                    x = (op.x + k * op.module) * scale
                    draw.rectangle([x, op.y * scale, x + op.module * scale, (op.y + op.height) * scale], fill=BLACK)
        else:
            font = _font(op.family, op.bold, max(6, round(op.size / PT_PER_INCH * dpi)))
            anchor = {"left": "ls", "right": "rs", "center": "ms"}[op.align]
            draw.text((op.x * scale, op.y * scale), op.text, font=font, fill=op.colour, anchor=anchor)
    return image


def render_pdf(page: Page) -> bytes:
    """A PDF whose text is real text (a text layer), drawn with the same fonts."""
    from fpdf import FPDF

    problem = fonts_missing()
    if problem:
        raise RuntimeError(problem)
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(PDF_DATE)
    pdf.set_auto_page_break(False)
    for (family, bold), name in FONT_FILES.items():
        pdf.add_font(family, "B" if bold else "", str(FONT_DIR / name))
    pdf.add_page()
    for op in page.ops:
        if isinstance(op, Box):
            style = ("F" if op.fill else "") + ("D" if op.outline else "")
            if op.fill:
                pdf.set_fill_color(*op.fill)
            if op.outline:
                pdf.set_draw_color(*op.outline)
                pdf.set_line_width(op.width)
            if op.y1 - op.y0 < 0.01:
                pdf.line(op.x0, op.y0, op.x1, op.y1)
            else:
                pdf.rect(op.x0, op.y0, op.x1 - op.x0, op.y1 - op.y0, style=style or "D")
        elif isinstance(op, Bars):
            pdf.set_fill_color(*BLACK)
            for k, bit in enumerate(op.pattern):
                if bit:
                    pdf.rect(op.x + k * op.module, op.y, op.module, op.height, style="F")
        else:
            pdf.set_font(op.family, "B" if op.bold else "", op.size)
            pdf.set_text_color(*op.colour)
            width = pdf.get_string_width(op.text)
            x = op.x - width if op.align == "right" else op.x - width / 2 if op.align == "center" else op.x
            pdf.text(x, op.y, op.text)
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# Degradations
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Degradations:
    """What happens to a bill between the paper and the chat; all off by default."""

    dpi: int = 150  # capture resolution; ~100 is a small, compressed photo
    blur: float = 0.0  # gaussian radius, pixels
    noise: float = 0.0  # gaussian noise sigma, grey levels
    rotation: float = 0.0  # degrees, counter-clockwise
    shade: float = 0.0  # uneven light: darkening at the far corner, 0..1
    jpeg_quality: Optional[int] = None  # None: PNG
    seed: int = 0

    @property
    def label(self) -> str:
        parts = [f"{self.dpi}dpi"]
        parts += [f"blur{self.blur:.1f}"] if self.blur else []
        parts += [f"noise{self.noise:.0f}"] if self.noise else []
        parts += [f"rot{self.rotation:+.1f}"] if self.rotation else []
        parts += [f"shade{self.shade:.2f}"] if self.shade else []
        parts += [f"jpeg{self.jpeg_quality}"] if self.jpeg_quality else []
        return ",".join(parts)


CLEAN = Degradations()


def degrade(image: Image.Image, d: Degradations) -> Image.Image:
    if d.rotation:
        image = image.rotate(d.rotation, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(250, 250, 250))
    if d.blur:
        image = image.filter(ImageFilter.GaussianBlur(d.blur))
    if d.shade or d.noise:
        pixels = np.asarray(image, dtype=np.float32)
        if d.shade:
            h, w = pixels.shape[:2]
            ramp = np.add.outer(np.linspace(0, 1, h), np.linspace(0, 1, w)) / 2
            pixels = pixels * (1 - d.shade * ramp)[..., None]
        if d.noise:
            rng = np.random.default_rng(d.seed)
            pixels = pixels + rng.normal(0, d.noise, pixels.shape[:2])[..., None]
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image


def encode_image(image: Image.Image, d: Degradations) -> bytes:
    out = io.BytesIO()
    if d.jpeg_quality:
        image.save(out, "JPEG", quality=d.jpeg_quality)
    else:
        image.save(out, "PNG", optimize=False)
    return out.getvalue()


def scanned_pdf(image: Image.Image) -> bytes:
    """An image-only PDF, as scanner apps make: no text layer at all."""
    from fpdf import FPDF

    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=SCAN_JPEG_QUALITY)
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(PDF_DATE)
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=0, y=0, w=PAGE_W_MM, h=PAGE_H_MM)
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def generate_bill(
    spec: BillSpec,
    *,
    layout: str,
    degradations: Degradations = CLEAN,
    kind: Kind = "image",
    layout_seed: int = 0,
) -> bytes:
    """The bill as an image (PNG/JPEG), a PDF with a text layer, or a scanned PDF."""
    page = LAYOUT_FUNCTIONS[layout](spec, random.Random(layout_seed))
    if kind == "pdf_text":
        return render_pdf(page)
    image = degrade(render_image(page, degradations.dpi), degradations)
    if kind == "pdf_scan":
        return scanned_pdf(image)
    return encode_image(image, degradations)


@dataclass(frozen=True)
class Sample:
    data: bytes
    kind: Kind
    expected: BillFacts
    layout: str
    degradations: Degradations

    def __iter__(self):  # unpacks as (bytes, kind, expected), the corpus' documented shape
        return iter((self.data, self.kind, self.expected))


# Share of each kind in a corpus: photos dominate what leads send.
KIND_WEIGHTS: dict[str, float] = {"image": 0.6, "pdf_text": 0.2, "pdf_scan": 0.2}


def random_degradations(rng: random.Random, seed: int) -> Degradations:
    """A phone photo: most are mildly degraded, some badly, a few clean."""
    severity = rng.random()
    if severity < 0.15:
        return Degradations(seed=seed)
    return Degradations(
        dpi=rng.choice((100, 110, 120, 150, 150, 180)),
        blur=rng.choice((0.0, 0.0, 0.5, 0.8, 1.1)),
        noise=rng.choice((0.0, 5.0, 10.0, 16.0)),
        rotation=round(rng.uniform(-3.0, 3.0), 1),
        shade=rng.choice((0.0, 0.0, 0.15, 0.3)),
        jpeg_quality=rng.choice((None, 35, 55, 75, 90)),
        seed=seed,
    )


def sample_corpus(n: int, seed: int) -> list[Sample]:
    """n bills over every layout and utility, as (bytes, kind, expected facts) samples.

    `kind` is "image", "pdf_text" (PDF with a text layer) or "pdf_scan" (image-only PDF).
    """
    rng = random.Random(seed)
    kinds = list(KIND_WEIGHTS)
    samples = []
    for i in range(n):
        spec = random_spec(rng)
        layout = LAYOUTS[i % len(LAYOUTS)]
        kind: Kind = rng.choices(kinds, weights=list(KIND_WEIGHTS.values()))[0]  # type: ignore[assignment]
        degradations = CLEAN if kind == "pdf_text" else random_degradations(rng, seed * 1000 + i)
        if kind == "pdf_scan":
            # Scanners do not rotate much nor shade; they do compress and blur.
            degradations = replace(degradations, rotation=degradations.rotation / 2, shade=0.0)
        data = generate_bill(spec, layout=layout, degradations=degradations, kind=kind, layout_seed=seed + i)
        samples.append(Sample(data, kind, spec.facts, layout, degradations))
    return samples


def not_a_bill_image(seed: int = 0) -> bytes:
    """A photo that is not a bill: a shopping list and a doodle."""
    rng = random.Random(seed)
    page = Page(family="serif")
    page.text(20, 30, "Lista de compras", 20, bold=True)
    for k, item in enumerate(("arroz 5 kg", "feijão", "café", "leite 12 caixas", "pão de queijo", "banana")):
        page.text(25, 50 + 12 * k, f"- {item}", 14)
    page.box(120, 60, 180, 120, outline=(200, 30, 30), width=1.5)
    page.text(125, 140, f"Festa sábado {rng.randint(10, 28)}/06 às 19h", 12)
    image = degrade(render_image(page, 120), Degradations(noise=6, seed=seed))
    return encode_image(image, Degradations(jpeg_quality=80))


def compare(expected: BillFacts, got: BillFacts) -> dict[str, bool]:
    """Field by field: numbers within a cent, text ignoring case and accents."""
    from sdr.text import fold

    out = {}
    for name in expected.__dataclass_fields__:
        want, have = getattr(expected, name), getattr(got, name)
        if isinstance(want, float):
            out[name] = have is not None and abs(float(have) - want) < 0.005
        elif isinstance(want, str):
            out[name] = have is not None and fold(str(have)) == fold(want)
        else:
            out[name] = have == want
    return out


def field_accuracy(results: Sequence[dict[str, bool]]) -> dict[str, float]:
    fields = list(results[0]) if results else []
    return {f: sum(r[f] for r in results) / len(results) for f in fields}
