"""Rule-based readers for the lead facts a WhatsApp message may carry.

Customers write Brazilian Portuguese the way people type on a phone: no
accents, "vc", "q", "mto", shouting or all lowercase, emojis. Every function
here therefore works on a *folded* copy of the text (see `fold`) and returns
either a normalised value or "nothing found" (`None` or an empty dataclass).
None of them raises on odd input, touches the network or imports Rasa, so
they are cheap to call on every message and easy to test.

The central design choice is the `requested` / `bare_number_ok` flag. Most
facts are ambiguous out of context: "450" may be a bill, an apartment or a
street number, "Carlos" may be a name, "sim" answers whatever was asked last.
The caller knows which slot the form is currently asking for, so:

* without the flag a reader only fires on explicit evidence: a unit
  ("R$ 450", "380 kWh"), a cue ("minha conta vem 380", "meu nome é Ana",
  "moro em Campinas"), or a phrase that cannot mean anything else;
* with the flag it also accepts a bare answer ("450", "Carlos", "sim"),
  because the bot just asked for exactly that.

False positives are worse than misses: a missed fact is asked again, a wrong
one silently corrupts the lead. When in doubt, the readers return nothing.

Places come from a gazetteer (data/br_cities.yml) scanned longest-match-first,
so "Vitória da Conquista" beats "Vitória" and "Rio Grande do Sul" beats "Rio
Grande". City names that are everyday words ("natal", "serra") need a place
cue, and names shared by two states never get a guessed state.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from sdr.text import fold
from sdr.vocabulary import MAX_MONTHLY_BILL_BRL

GAZETTEER_PATH = Path(__file__).parent / "data" / "br_cities.yml"


def _any_of(*alternatives: str) -> str:
    """One regex alternation; keeps long word lists one item per entry."""
    return "|".join(alternatives)


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

# WhatsApp shorthand expanded before phrase matching (keys are folded words).
ABBREVIATIONS: Mapping[str, str] = {
    "q": "que",
    "vc": "voce",
    "vcs": "voces",
    "tb": "tambem",
    "tbm": "tambem",
    "mto": "muito",
    "mt": "muito",
    "mta": "muita",
    "pq": "porque",
    "n": "nao",
    "naum": "nao",
    "eh": "e",
    "hj": "hoje",
    "agr": "agora",
    "dps": "depois",
    "td": "tudo",
    "tds": "todos",
    "blz": "beleza",
    "obg": "obrigado",
    "vlw": "valeu",
    "msm": "mesmo",
    "pra": "para",
    "pro": "para",
}

GREETINGS: frozenset[str] = frozenset({
    "oi", "ola", "opa", "eai", "e ai", "hello", "hi", "hey", "bom dia", "boa tarde",
    "boa noite", "tudo bem", "tudo bom", "tudo certo", "oi tudo bem", "ola tudo bem",
    "beleza", "ok", "okay", "certo", "obrigado", "obrigada", "valeu", "tchau",
})

YES_PHRASES: frozenset[str] = frozenset({
    "sim", "s", "ss", "claro", "claro que sim", "isso", "isso mesmo", "isso ai",
    "com certeza", "certeza", "certamente", "sou sim", "sim sou", "sou", "e sim",
    "tenho sim", "pode ser", "pode", "exato", "exatamente", "positivo", "afirmativo",
    "uhum", "aham", "ahan", "uhun", "yes", "yep", "correto", "sim senhor",
    "sim senhora", "sim claro", "claro sim", "sim com certeza",
})

NO_PHRASES: frozenset[str] = frozenset({
    "nao", "nn", "nem", "negativo", "nao sou", "de jeito nenhum", "jeito nenhum",
    "ainda nao", "nao e", "claro que nao", "nunca", "nope", "no", "nem pensar",
    "nao obrigado", "nao obrigada", "nao tenho", "nao mesmo", "de forma alguma",
    "nao senhor", "nao senhora", "nao nao", "sou nao", "e nao",
})

# Answers that sound like yes/no but commit to nothing.
UNSURE_PHRASES: frozenset[str] = frozenset({
    "nao sei", "sei la", "talvez", "depende", "nao sei dizer", "nao tenho certeza",
    "nao entendi", "nao lembro", "acho que sim", "acho que nao", "mais ou menos",
})

YES_EMOJIS = ("\U0001F44D", "\U0001F44C", "\u2705", "\u2714")  # thumbs up, OK hand, check marks
NO_EMOJIS = ("\U0001F44E", "\u274C")  # thumbs down, cross mark

# ---- bills ---------------------------------------------------------------

UNITS_BELOW_TEN: Mapping[str, int] = {
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5,
    "seis": 6, "sete": 7, "oito": 8, "nove": 9,
}
TEENS: Mapping[str, int] = {
    "dez": 10, "onze": 11, "doze": 12, "treze": 13, "quatorze": 14, "catorze": 14,
    "quinze": 15, "dezesseis": 16, "dezeseis": 16, "dezessete": 17, "dezesete": 17,
    "dezoito": 18, "dezenove": 19, "dezanove": 19,
}
TENS: Mapping[str, int] = {
    "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "cincoenta": 50,
    "sessenta": 60, "setenta": 70, "oitenta": 80, "noventa": 90,
}
HUNDREDS: Mapping[str, int] = {
    "cem": 100, "cento": 100, "duzentos": 200, "duzentas": 200, "trezentos": 300,
    "trezentas": 300, "quatrocentos": 400, "quatrocentas": 400, "quinhentos": 500,
    "quinhentas": 500, "seiscentos": 600, "seiscentas": 600, "setecentos": 700,
    "setecentas": 700, "oitocentos": 800, "oitocentas": 800, "novecentos": 900,
    "novecentas": 900,
}
THOUSAND_WORDS: frozenset[str] = frozenset({"mil", "k"})

BRL_UNIT_WORDS: frozenset[str] = frozenset({
    "reais", "real", "rs", "conto", "contos", "pila", "pilas", "paus", "mangos",
})
KWH_UNIT_WORDS: frozenset[str] = frozenset({
    "kwh", "kwhs", "kw", "kws", "kilowatt", "kilowatts", "quilowatt", "quilowatts",
    "kilowats", "quilowats", "kilowatthora", "quilowatthora",
})
# Words shortly before a unit-less number that make it a monthly bill in R$.
MONEY_CUE_WORDS: frozenset[str] = frozenset({
    "conta", "contas", "pago", "pagamos", "pagando", "paga", "pagar", "gasto",
    "gastamos", "gasta", "gastando", "vem", "veio", "vindo", "fica", "ficando",
    "valor", "media", "boleto", "fatura",
})
# ... or a monthly consumption in kWh.
KWH_CUE_WORDS: frozenset[str] = frozenset({"consumo", "consumi", "consome", "consumindo", "consumimos"})
# A number right after these is a date, an address or a count, never a bill.
NOT_MONEY_BEFORE: frozenset[str] = frozenset({
    "dia", "dias", "apto", "ap", "apartamento", "casa", "rua", "numero", "lote", "quadra",
    "bloco", "sala", "andar", "cep", "tel", "telefone", "ano", "anos", "as", "hora",
    "horas", "vezes", "nr", "n", "no", "na",
})
NOT_MONEY_AFTER: frozenset[str] = frozenset({
    "dia", "dias", "meses", "ano", "anos", "semana", "semanas", "hora", "horas",
    "h", "min", "minutos", "pessoas", "filho", "filhos", "filha", "filhas", "placa",
    "placas", "painel", "paineis", "modulo", "modulos", "m", "m2", "metros", "quartos",
    "comodos", "vezes", "x", "kwp", "w", "wp", "watts", "andares",
})
# Words that may surround a bare number without making it something else.
BILL_FILLER_WORDS: frozenset[str] = frozenset({
    "uns", "umas", "cerca", "de", "mais", "ou", "menos", "aproximadamente", "aprox",
    "acho", "que", "e", "por", "ai", "mes", "mensal", "mensais", "mensalmente", "em",
    "media", "tipo", "normalmente", "geralmente", "hoje", "atualmente", "quase", "ate",
    "entre", "a", "o", "la", "para", "varia", "todo", "ta", "esta", "da", "deve", "ser",
    "sei", "r", "uma", "um", "isso", "eu", "acredito", "com",
})
MIN_UNITLESS_BILL = 10.0  # "2" or "dois" without a unit is a count, not a monthly bill
RANGE_WORDS: frozenset[str] = frozenset({"a", "ate", "ou"})

# ---- property type -------------------------------------------------------

PROPERTY_PATTERNS: Sequence[tuple[str, str]] = (
    # Checked in order: a shop in a farm is "rural", a house used as an office "comercial".
    ("industrial", _any_of(
        r"industrias?", "industrial", r"fabricas?", "galpao industrial", "metalurgica",
    )),
    ("rural", _any_of(
        r"fazendas?", r"sitios?", r"chacaras?", "propriedade rural", "zona rural", "area rural",
        r"granjas?", "agro", "agronegocio", r"rocas?", "rural", "haras", "aviario", "lavoura",
    )),
    ("comercial", _any_of(
        r"lojas?", "comercio", "comercial", r"empresas?", "escritorio", "padaria", r"restaurantes?",
        "lanchonete", r"mercados?", "supermercado", "mercadinho", "mercearia", r"clinicas?",
        "consultorio", r"hote(l|is)", r"pousadas?", r"oficinas?", "ponto comercial", "academia",
        "farmacia", "salao de beleza", "posto de gasolina", "predio comercial", "sala comercial",
    )),
    ("residencial", _any_of(
        r"casas?", "apartamento", "apto", "ap", "residencia", "residencial", "sobrado",
        "condominio", "kitnet", "moradia",
    )),
)

SELLER_POSSESSIVES: frozenset[str] = frozenset({"sua", "seu", "tua", "vossa", "dessa", "desta"})

# ---- ownership -----------------------------------------------------------

OWNER_PATTERN = _any_of(
    r"propri[oa]", r"proprietari[oa]", r"quitad[oa]", r"financiad[oa]", "financiamento",
    r"sou (o |a )?(dono|dona)", r"e (meu|minha|nosso|nossa)( mesmo| mesma| sim)?$",
    "imovel proprio", "casa propria", "de minha propriedade",
)
TENANT_PATTERN = _any_of(
    "aluguel", r"alugad[oa]s?", "alugo", "alugamos", r"inquilin[oa]s?", r"locatari[oa]",
)
NEGATION_WINDOW = 3  # "nao" this many words before a cue flips it: "nao e alugado"

# ---- decision maker ------------------------------------------------------

PEOPLE_WHO_DECIDE = _any_of(
    "pai", "mae", "marido", "esposa", "esposo", "mulher", "socio", "socia", "socios", "chefe",
    "patrao", "patroa", "gerente", "diretor", "diretora", "dono", "dona", "sogro", "sogra",
    "irmao", "irma", "filho", "filha", "namorado", "namorada", "noivo", "noiva", "familia",
    "proprietario", "proprietaria", "sindico", "sindica",
)
DECIDES_ALONE_PATTERNS: Sequence[str] = (
    r"nao preciso (de )?(falar|conversar|consultar|perguntar)",
    r"nao (depende|dependo) de ninguem",
)
NOT_DECISION_MAKER_PATTERNS: Sequence[str] = (
    r"nao sou eu",
    r"nao (sou|e) (eu )?(que|quem) (decide|resolve)",
    r"nao decido",
    r"nao e comigo",
    (
        r"(preciso|tenho que|vou|teria que|precisaria|preciso de)( antes)? "
        r"(falar|conversar|ver|consultar|perguntar|checar|alinhar)( isso)? com"
    ),
    rf"depende (do|da|de|dos|das) (meu |minha |meus |minhas |o |a )?({PEOPLE_WHO_DECIDE})",
    rf"(meu|minha|o|a) ({PEOPLE_WHO_DECIDE}) (que |quem )?(decide|resolve|manda|ve isso|cuida)",
    r"quem (decide|resolve|manda) (e|eh) (o|a|meu|minha)",
)
DECISION_MAKER_PATTERNS: Sequence[str] = (
    r"(sou )?eu (mesmo|mesma)",
    r"sou eu",
    r"eu (que |quem )?(decido|resolvo|mando)",
    r"(a )?decisao e (minha|nossa)",
    r"(sou|eu sou) (o|a) (responsavel|dono|dona|proprietario|proprietaria)",
    r"decidimos juntos|decidimos juntas|decidimos",
    r"(nos|a gente) (decide|decidimos|resolve|resolvemos)",
    rf"eu e (o |a )?(minha|meu) ({PEOPLE_WHO_DECIDE})",
    r"quem (decide|resolve) (sou|e) eu",
    r"somos nos",
)

# ---- timeline ------------------------------------------------------------

TIMELINE_DAYS_30 = 31
TIMELINE_DAYS_90 = 92
DURATION_UNIT_DAYS: Mapping[str, int] = {
    "dia": 1, "dias": 1, "semana": 7, "semanas": 7, "mes": 30, "meses": 30, "ano": 365, "anos": 365,
}
# Without the flag, "3 meses" only counts as a deadline after one of these.
DURATION_LEAD_WORDS: frozenset[str] = frozenset({
    "em", "daqui", "dentro", "ate", "uns", "umas", "proximos", "proximas", "nos", "nas",
    "de", "a", "prazo", "tipo", "la",
})
PAST_MARKERS: frozenset[str] = frozenset({
    "faz", "fazem", "ha", "desde", "tem", "atras", "passado", "passados",
})

# (answer, pattern, needs_request), first match wins; the last two only make sense
# as an answer to "quando pretende instalar?" ("ja", "nao sei").
TIMELINE_PATTERNS: Sequence[tuple[str, str, bool]] = (
    ("30_dias", _any_of(
        "(esse|este|nesse|neste) mes", "mes que vem", "proximo mes", "(fim|final) do mes",
        "(umas|algumas|poucas) semanas", "dentro do mes",
    ), False),
    ("90_dias", _any_of("trimestre", "(uns|alguns|poucos) meses"), False),
    ("sem_previsao", _any_of(
        "sem pressa", "nao tenho pressa", "sem previsao", "nao tenho previsao",
        "(so|apenas) (estou |to |tou )?(pesquisando|cotando|olhando)", "ano que vem",
        "proximo ano", "mais para frente", "futuramente", "sem data", "nao tenho data",
        "nao e para agora", "ainda nao sei quando",
    ), False),
    ("imediato", _any_of(
        "o quanto antes", "quanto antes", "(o )?mais rapido possivel", "o mais breve",
        r"imediat\w*", "urgente", "urgencia", "(essa|esta|nessa|nesta) semana", "semana que vem",
        "proxima semana", "para ontem", "para ja", "agora mesmo", "tenho pressa",
        "(to|estou) com pressa", "asap",
    ), False),
    ("sem_previsao", _any_of(
        "nao sei", "sei la", "agora nao", "nao agora", "talvez", "depois", "um dia", "quem sabe",
    ), True),
    ("imediato", _any_of("ja", "agora", "hoje", "amanha", "logo"), True),
)

# ---- opt-out -------------------------------------------------------------

OPT_OUT_EXACT: frozenset[str] = frozenset({
    "sair", "parar", "pare", "para", "stop", "cancelar", "descadastrar", "sair da lista",
    "remover", "chega",
})
OPT_OUT_PHRASES: Sequence[str] = (
    r"descadastr",
    r"\bnao quero mais (receber )?(mensage\w*|msg\w*|contato|que me mandem)",
    r"\bparar? de me (mandar|enviar)",
    r"\bpare de (me )?(mandar|enviar)",
    r"\bme tirar? (da|dessa) lista",
    r"\bme tire (da|dessa) lista",
    r"\bremover? meu (numero|contato)",
    r"\bnao me mande mais",
    r"\bnao entre mais em contato",
)

# ---- places and names ----------------------------------------------------

# UF codes that are also everyday words or chat noise ("to", "se", "rs", "ap", "mt").
AMBIGUOUS_STATE_WORDS: frozenset[str] = frozenset({
    "to", "se", "pa", "ma", "pe", "es", "ce", "al", "am", "ac", "ap", "rs", "go", "ba",
    "pi", "ro", "ms", "mt", "para",
})
# Words right before a state that make it a state even when it is also a city ("estado de sp").
STATE_CUE_WORDS: frozenset[str] = frozenset({"estado", "uf", "interior"})
# Words allowed between a city and its UF: "campinas, no interior de sp".
CITY_STATE_LINK_WORDS: frozenset[str] = frozenset({
    "no", "na", "em", "estado", "de", "do", "da", "uf", "interior",
})
CONNECTOR_WORDS: frozenset[str] = frozenset({"de", "da", "do", "das", "dos", "del", "e", "d"})
# (word before the name) or (two words before it) that mark a place: "em natal", "sou de natal".
PLACE_CUE_SINGLE: frozenset[str] = frozenset({"em"})
PLACE_CUE_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("moro", "no"), ("moro", "na"), ("sou", "de"), ("sou", "do"), ("sou", "da"),
    ("cidade", "de"), ("aqui", "de"), ("venho", "de"), ("municipio", "de"), ("daqui", "de"),
})
# Leading words stripped from an answer to "qual sua cidade?".
PLACE_LEADING_PHRASES: Sequence[tuple[str, ...]] = tuple(
    tuple(p.split()) for p in (
        "eu moro em", "eu moro no", "eu moro na", "moro em", "moro no", "moro na",
        "eu sou de", "sou de", "sou do", "sou da", "aqui em", "aqui e", "aqui de",
        "na cidade de", "da cidade de", "cidade de", "cidade", "fico em", "estou em",
        "to em", "em", "de",
    )
)
NON_PLACE_WORDS: frozenset[str] = frozenset({
    "nao", "sei", "sim", "oi", "ola", "ok", "obrigado", "obrigada", "valeu", "quanto", "qual",
    "quais", "como", "onde", "quando", "porque", "custa", "preco", "valor", "reais", "real",
    "kwh", "conta", "luz", "energia", "solar", "placa", "placas", "orcamento", "quero",
    "gostaria", "tenho", "estou", "pode", "voce", "eu", "meu", "minha", "tudo", "bem",
    "beleza", "talvez", "depois", "agora", "hoje", "kkk", "kkkk", "haha", "rsrs", "moro", "sou",
    "casa", "apartamento", "empresa", "aluguel", "proprio", "propria", "interesse",
    "dizer", "prefiro", "informacao", "duvida", "ajuda", "ainda", "tanto", "faz", "nenhum",
    "nenhuma", "qualquer",
})

NAME_CUES: Sequence[tuple[str, ...]] = tuple(
    tuple(p.split()) for p in (
        "o meu nome e", "meu nome e", "meu nome", "eu me chamo", "me chamo",
        "pode me chamar de", "pode chamar de", "me chama de", "me chamam de",
    )
)
# Cues that are ordinary phrases mid-sentence ("o sol aqui e forte"); they only
# introduce a name at the start of the message, after punctuation or a greeting.
CLAUSE_START_NAME_CUES: Sequence[tuple[str, ...]] = tuple(
    tuple(p.split()) for p in (
        "aqui quem fala e o", "aqui quem fala e a", "aqui quem fala e", "quem fala e o",
        "quem fala e a", "quem fala e", "aqui e o", "aqui e a", "aqui e", "eu sou o",
        "eu sou a", "sou o", "sou a",
    )
)
GREETING_WORDS: frozenset[str] = frozenset({
    "oi", "ola", "opa", "bom", "boa", "dia", "tarde", "noite", "tudo", "bem", "e", "ai", "eai",
    "hello", "oie",
})
NAME_MAX_WORDS = 4
BARE_NAME_MAX_WORDS = 3
# Words that end a name in a sentence ("meu nome e Ana e quero saber...").
NAME_STOP_WORDS: frozenset[str] = frozenset({
    "tudo", "bem", "quero", "queria", "gostaria", "aqui", "sou", "eu", "tenho", "moro",
    "com", "que", "mas", "pra", "para", "por", "ok", "obrigado", "obrigada", "prazer",
    "boa", "bom", "oi", "ola", "blz",
})
NON_NAME_WORDS: frozenset[str] = NON_PLACE_WORDS | frozenset({
    "responsavel", "dono", "dona", "proprietario", "proprietaria", "cliente", "interessado",
    "interessada", "casado", "casada", "solteiro", "solteira", "aqui", "isso", "mesmo",
    "teste", "tchau", "opa", "eai", "certo", "claro", "nome", "senhor", "senhora", "sr",
    "sra", "engenheiro", "engenheira", "gerente", "vendedor", "atendente", "robo", "bot",
    "humano", "pessoa", "alguem", "ninguem", "quem", "que", "o", "a", "um", "uma",
    "de", "da", "do", "e", "para", "por", "com", "preciso", "queria", "saber", "mais",
    "menos", "muito", "pouco", "obg", "vlw", "blz", "entendi", "legal", "show", "top",
    "perfeito", "otimo", "ja", "agora", "ai", "hello", "hi", "hey", "s", "n", "ss", "nn",
    "bom", "boa", "dia", "tarde", "noite", "favor", "mae", "pai", "esposa", "marido", "filho",
    "filha", "primeiro", "primeira", "unico", "unica", "titular", "sindico", "sindica",
    "socio", "socia", "morador", "moradora", "inquilino", "inquilina", "brasileiro",
    "brasileira", "aposentado", "aposentada",
})

TOKEN_RE = re.compile(r"[^\W_]+")
NAME_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
PLACE_TEXT_RE = re.compile(r"[^\W\d_]+(?:[\s'’\-]+[^\W\d_]+)*")
SEPARATOR_GAP_RE = re.compile(r"[\s,/\-–—(|]*")  # "Campinas - SP", "campinas/sp", "Campinas, SP"
STRICT_SEPARATOR_RE = re.compile(r"\s*[,/\-–—(|]+\s*")


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Folded alphanumeric words with chat shorthand expanded; punctuation dropped."""
    return [ABBREVIATIONS.get(w, w) for w in re.findall(r"[a-z0-9]+", fold(text))]


def _squeeze(word: str) -> str:
    """Collapse letter runs so "simmm", "naooo" and "oiii" match their dictionary form."""
    return re.sub(r"(.)\1+", r"\1", word)


def _squeezed_phrase(text: str) -> str:
    squeezed = (_squeeze(w) for w in re.findall(r"[a-z0-9]+", fold(text)))
    return " ".join(ABBREVIATIONS.get(w, w) for w in squeezed)


def _squeezed_set(phrases: Iterable[str]) -> frozenset[str]:
    return frozenset(_squeezed_phrase(p) for p in phrases)


def _search(pattern: str, text: str) -> Optional[re.Match]:
    return re.search(rf"\b(?:{pattern})\b", text)


def _is_question(text: str) -> bool:
    return "?" in text


def _title_pt(text: str) -> str:
    """Title-case a place or person name, leaving Portuguese connectors lowercase."""
    words = text.split()
    return " ".join(_title_word(w, first=(i == 0)) for i, w in enumerate(words))


def _title_word(word: str, *, first: bool) -> str:
    parts = re.split(r"(['’\-])", word)
    out = []
    for i, part in enumerate(parts):
        if part in ("'", "’", "-") or not part:
            out.append(part)
            continue
        is_elided_d = part.lower() == "d" and i + 1 < len(parts) and parts[i + 1] in ("'", "’")
        if is_elided_d or (fold(part) in CONNECTOR_WORDS and not (first and i == 0)):
            out.append(part.lower())
        else:
            out.append(part[:1].upper() + part[1:].lower())
    return "".join(out)


# --------------------------------------------------------------------------
# Yes / no
# --------------------------------------------------------------------------

_YES = _squeezed_set(YES_PHRASES)
_NO = _squeezed_set(NO_PHRASES)
_UNSURE = _squeezed_set(UNSURE_PHRASES)
_GREETINGS = _squeezed_set(GREETINGS)


def parse_yes_no(text: str) -> Optional[bool]:
    """True / False when the message is essentially a yes or a no, else None."""
    for emoji in YES_EMOJIS:
        text = text.replace(emoji, " sim ")
    for emoji in NO_EMOJIS:
        text = text.replace(emoji, " nao ")
    whole = _squeezed_phrase(text)
    first_clause = _squeezed_phrase(re.split(r"[,.!?;:\n]|\bmas\b", fold(text), maxsplit=1)[0])
    for phrase in (whole, first_clause):
        if phrase in _UNSURE:
            return None
        if phrase in _YES:
            return True
        if phrase in _NO:
            return False
    return _leading_yes_no(first_clause)


def _leading_yes_no(clause: str) -> Optional[bool]:
    """A clause opening with a plain "sim"/"nao" ("sim tenho", "nao pretendo")."""
    words = clause.split()
    if not words or len(words) > 4:
        return None
    if words[0] == "sim":
        return True
    if words[0] == "nao" and len(words) > 1 and " ".join(words[:3]) not in _UNSURE \
            and " ".join(words[:2]) not in _UNSURE:
        return False
    return None


# --------------------------------------------------------------------------
# Bills
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BillFigure:
    brl: Optional[float] = None  # R$ per month
    kwh: Optional[float] = None  # kWh per month


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num" | "word" | "sym"
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Quantity:
    value: float
    first: int  # token index of the first token
    end: int  # token index after the last token
    scaled: bool  # carried its own "mil"/"k"


@dataclass(frozen=True)
class _Candidate:
    value: float
    slot: Optional[str]  # "brl" | "kwh" | None (unit-less)
    strength: int  # 2 unit, 1 cue, 0 bare
    first: int
    end: int


# Phone numbers and CEPs look like money to a naive reader; they are blanked first.
_NOT_MONEY_RE = re.compile(
    r"(?:\(?\b\d{2}\)?\s*)?\b9?\d{4}-\d{4}\b"  # phone with hyphen
    r"|\b\d{5}-\d{3}\b"  # CEP
    r"|\d{8,}"  # any long run: phone, CEP, document number
)
_BILL_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|\S")


def parse_bill(text: str, *, bare_number_ok: bool) -> BillFigure:
    """Monthly electricity bill in R$ and/or kWh.

    A number counts when it carries a unit ("R$ 450", "450 reais", "380 kWh"),
    follows a cue ("minha conta vem 450"), or - only with `bare_number_ok` -
    is the whole answer ("450", "uns 2 mil").
    """
    tokens = _bill_tokens(text)
    candidates = _bill_candidates(tokens)
    brl = _best(c for c in candidates if c.slot == "brl")
    kwh = _best(c for c in candidates if c.slot == "kwh")
    if brl is None and kwh is None and bare_number_ok:
        brl = _bare_bill(tokens, candidates)
    return BillFigure(brl=brl, kwh=kwh)


def _bill_tokens(text: str) -> list[_Tok]:
    folded = _NOT_MONEY_RE.sub(lambda m: " " * len(m.group()), fold(text))
    tokens = []
    for m in _BILL_TOKEN_RE.finditer(folded):
        raw = m.group()
        kind = "num" if raw[0].isdigit() else "word" if raw[0].isalpha() else "sym"
        tokens.append(_Tok(kind, raw, m.start(), m.end()))
    return tokens


def _best(candidates: Iterable[_Candidate]) -> Optional[float]:
    ranked = sorted(candidates, key=lambda c: (-c.strength, c.first))
    return ranked[0].value if ranked else None


def _bill_candidates(tokens: Sequence[_Tok]) -> list[_Candidate]:
    found = []
    i = 0
    while i < len(tokens):
        quantity = _quantity_at(tokens, i)
        if quantity is None:
            i += 1
            continue
        quantity = _extend_to_range(tokens, quantity)
        candidate = _classify(tokens, quantity)
        if candidate is not None:
            found.append(candidate)
        i = quantity.end
    return found


def _quantity_at(tokens: Sequence[_Tok], i: int) -> Optional[_Quantity]:
    tok = tokens[i]
    if tok.kind == "num":
        return _digit_quantity(tokens, i)
    if tok.kind == "word":
        words = _word_run(tokens, i)
        spelled = _parse_spelled(words, 0)
        if spelled is None:
            return None
        value, used = spelled
        if used == 1 and words[0] in ("um", "uma"):
            return None  # an article, not a number: "pago um absurdo"
        return _Quantity(float(value), i, i + used, scaled="mil" in words[:used])
    return None


def _word_run(tokens: Sequence[_Tok], i: int) -> list[str]:
    """Consecutive word tokens from i (a spelled number never spans punctuation)."""
    run = []
    for tok in tokens[i:]:
        if tok.kind != "word":
            break
        run.append(tok.text)
    return run


def _digit_quantity(tokens: Sequence[_Tok], i: int) -> Optional[_Quantity]:
    value = _parse_digits(tokens[i].text)
    if value is None:
        return None
    end = i + 1
    scaled = end < len(tokens) and tokens[end].text in THOUSAND_WORDS
    if scaled:
        value *= 1000
        end += 1
        if end + 1 < len(tokens) and tokens[end].text == "e":  # "2 mil e 500", "2 mil e quinhentos"
            tail = _digit_or_spelled_below_thousand(tokens, end + 1)
            if tail is not None:
                value += tail[0]
                end = tail[1]
    return _Quantity(value, i, end, scaled)


def _digit_or_spelled_below_thousand(tokens: Sequence[_Tok], i: int) -> Optional[tuple[float, int]]:
    tok = tokens[i]
    if tok.kind == "num":
        value = _parse_digits(tok.text)
        return (value, i + 1) if value is not None and value < 1000 else None
    group = _spelled_below_thousand(_word_run(tokens, i), 0)
    return (float(group[0]), i + group[1]) if group else None


def _parse_digits(raw: str) -> Optional[float]:
    """Brazilian number formats: 1.234,56 / 1.200 / 450,00 / 1,5 (and a stray 1.5)."""
    if len(raw) > 1 and raw[0] == "0" and raw[1].isdigit():
        return None  # codes, not amounts
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d{1,2})?", raw):
        return float(raw.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(,\d{3})+", raw):
        return float(raw.replace(",", ""))
    if re.fullmatch(r"\d+([.,]\d{1,2})?", raw):
        return float(raw.replace(",", "."))
    return None


def _parse_spelled(words: Sequence[str], i: int) -> Optional[tuple[int, int]]:
    """Spelled number at words[i:], e.g. "dois mil e quinhentos" -> (2500, 4)."""
    group = _spelled_below_thousand(words, i)
    j = i + group[1] if group else i
    if j < len(words) and words[j] == "mil":
        total = (group[0] if group else 1) * 1000
        j += 1
        tail_start = j + 1 if j < len(words) and words[j] == "e" else j
        tail = _spelled_below_thousand(words, tail_start)
        if tail:
            return total + tail[0], tail_start + tail[1] - i
        return total, j - i
    return (group[0], group[1]) if group else None


def _spelled_below_thousand(words: Sequence[str], i: int) -> Optional[tuple[int, int]]:
    """(value, words used) for "cento e vinte e cinco" and friends; each part must be smaller."""
    value, used, last_magnitude = 0, 0, 1000
    while i + used < len(words):
        joiner = 1 if used and words[i + used] == "e" else 0
        if used and not joiner:
            break
        part = _spelled_part(words[i + used + joiner]) if i + used + joiner < len(words) else None
        if part is None or part[1] >= last_magnitude:
            break
        value += part[0]
        last_magnitude = part[1]
        used += joiner + 1
    return (value, used) if used else None


def _spelled_part(word: str) -> Optional[tuple[int, int]]:
    """(value, magnitude) of one number word."""
    for table, magnitude in ((HUNDREDS, 100), (TENS, 10), (TEENS, 10), (UNITS_BELOW_TEN, 1)):
        if word in table:
            return table[word], magnitude
    return None


def _extend_to_range(tokens: Sequence[_Tok], low: _Quantity) -> _Quantity:
    """ "entre 300 e 400", "300 a 400", "2 a 3 mil" -> the midpoint."""
    j = low.end
    if j + 1 >= len(tokens):
        return low
    joiner = tokens[j].text
    after_entre = low.first > 0 and tokens[low.first - 1].text == "entre"
    if not (joiner in RANGE_WORDS or joiner in ("-", "~") or (joiner == "e" and after_entre)):
        return low
    high = _quantity_at(tokens, j + 1)
    if high is None:
        return low
    low_value = low.value
    if high.scaled and not low.scaled and low_value * 1000 <= high.value:
        low_value *= 1000  # "2 a 3 mil" shares the "mil"
    if low_value >= high.value:
        return low
    return _Quantity((low_value + high.value) / 2, low.first, high.end, high.scaled)


def _classify(tokens: Sequence[_Tok], q: _Quantity) -> Optional[_Candidate]:
    value = round(q.value, 2)
    if not 0 < value <= MAX_MONTHLY_BILL_BRL:
        return None
    after = tokens[q.end].text if q.end < len(tokens) else ""
    before = tokens[q.first - 1].text if q.first > 0 else ""
    if after in KWH_UNIT_WORDS:
        return _Candidate(value, "kwh", 2, q.first, q.end)
    if after in BRL_UNIT_WORDS or _has_currency_sign(tokens, q.first):
        return _Candidate(value, "brl", 2, q.first, q.end)
    if before in NOT_MONEY_BEFORE or after in NOT_MONEY_AFTER or after == "%":
        return None
    if value < MIN_UNITLESS_BILL:
        return None
    cue = _nearest_cue(tokens, q.first)
    return _Candidate(value, cue, 1 if cue else 0, q.first, q.end)


def _has_currency_sign(tokens: Sequence[_Tok], first: int) -> bool:
    previous = [t.text for t in tokens[max(0, first - 2):first]]
    return previous[-1:] == ["$"] or previous[-1:] == ["rs"] or previous == ["r", "$"]


def _nearest_cue(tokens: Sequence[_Tok], first: int, window: int = 5) -> Optional[str]:
    words = [t.text for t in tokens[max(0, first - window):first] if t.kind == "word"]
    for word in reversed(words):
        if word in MONEY_CUE_WORDS:
            return "brl"
        if word in KWH_CUE_WORDS:
            return "kwh"
    return None


def _bare_bill(tokens: Sequence[_Tok], candidates: Sequence[_Candidate]) -> Optional[float]:
    """The answer is just a number with filler words around it: "uns 450", "2k", "mil e duzentos"."""
    bare = [c for c in candidates if c.slot is None]
    if len(bare) != 1:
        return None
    only = bare[0]
    others = [t for k, t in enumerate(tokens) if not only.first <= k < only.end]
    if any(t.kind == "num" for t in others):
        return None
    if all(t.kind == "sym" or t.text in BILL_FILLER_WORDS for t in others):
        return only.value
    return None


# --------------------------------------------------------------------------
# Property type, ownership, decision maker, timeline
# --------------------------------------------------------------------------


def parse_property_type(text: str) -> Optional[str]:
    """"residencial" | "comercial" | "rural" | "industrial" from words like casa, loja, sitio, fabrica."""
    normalized = " ".join(_words(text))
    for kind, pattern in PROPERTY_PATTERNS:
        for match in re.finditer(rf"\b(?:{pattern})\b", normalized):
            if not _not_about_the_property(normalized, match):
                return kind
    return None


def _not_about_the_property(normalized: str, match: re.Match) -> bool:
    """ "a empresa de voces" is about us; "to em casa" means "at home"."""
    before = normalized[:match.start()].split()[-1:]
    after = normalized[match.end():].split()[:2]
    if before and before[0] in SELLER_POSSESSIVES or after[:1] == ["voces"] or after == ["de", "voces"]:
        return True
    return before == ["em"] and match.group() == "casa"


def parse_ownership(text: str, *, requested: bool) -> Optional[bool]:
    """True if the customer owns the property, False if renting, None if unclear."""
    words = _words(text)
    normalized = " ".join(words)
    owner = _signal(OWNER_PATTERN, normalized)
    tenant = _signal(TENANT_PATTERN, normalized)
    # A negated cue says the opposite: "nao e alugado" is an owner.
    votes = {v for v in (owner, None if tenant is None else not tenant) if v is not None}
    if len(votes) == 1:
        return votes.pop()
    if votes:
        return None
    return parse_yes_no(text) if requested else None


def _signal(pattern: str, normalized: str) -> Optional[bool]:
    """True when the cue is present, False when only negated occurrences are, None when absent."""
    matches = list(re.finditer(rf"\b(?:{pattern})\b", normalized))
    if not matches:
        return None
    return any(not _negated(normalized, m.start()) for m in matches)


def _negated(normalized: str, start: int) -> bool:
    preceding = normalized[:start].split()[-NEGATION_WINDOW:]
    return "nao" in preceding or "nem" in preceding


def parse_decision_maker(text: str, *, requested: bool) -> Optional[bool]:
    """True if the customer decides the purchase (alone or jointly), False if someone else does."""
    normalized = " ".join(_words(text))
    if any(_search(p, normalized) for p in DECIDES_ALONE_PATTERNS):
        return True
    if any(_search(p, normalized) for p in NOT_DECISION_MAKER_PATTERNS):
        return False
    if any(_search(p, normalized) for p in DECISION_MAKER_PATTERNS):
        return True
    return parse_yes_no(text) if requested else None


def parse_timeline(text: str, *, requested: bool) -> Optional[str]:
    """When the customer wants the system: "imediato" | "30_dias" | "90_dias" | "sem_previsao"."""
    words = _words(text)
    normalized = " ".join(words)
    from_duration = _duration_timeline(words, requested)
    if from_duration:
        return from_duration
    for answer, pattern, needs_request in TIMELINE_PATTERNS:
        if needs_request and not requested:
            continue
        if _search(pattern, normalized):
            return answer
    return None


def _duration_timeline(words: Sequence[str], requested: bool) -> Optional[str]:
    """ "em 60 dias", "uns 3 meses", "2 ou 3 meses" -> bucket by the longest figure."""
    for i, word in enumerate(words):
        if word not in DURATION_UNIT_DAYS or i == 0:
            continue
        amount, first = _amount_before(words, i)
        if amount is None:
            continue
        previous = words[first - 1] if first > 0 else ""
        following = words[i + 1] if i + 1 < len(words) else ""
        if previous in PAST_MARKERS or following in PAST_MARKERS:
            continue
        if not requested and previous not in DURATION_LEAD_WORDS:
            continue
        return _bucket(amount * DURATION_UNIT_DAYS[word])
    return None


def _amount_before(words: Sequence[str], unit_index: int) -> tuple[Optional[float], int]:
    """The (largest) number right before words[unit_index], and where it starts."""
    first = unit_index - 1
    amount = _small_number(words[first])
    if amount is None:
        return None, unit_index
    if first >= 2 and words[first - 1] in ("ou", "a", "e"):  # "2 ou 3 meses": keep the larger
        other = _small_number(words[first - 2])
        if other is not None:
            return max(amount, other), first - 2
    return amount, first


def _small_number(word: str) -> Optional[float]:
    if word.isdigit():
        return float(word)
    part = _spelled_part(word)
    return float(part[0]) if part else None


def _bucket(days: float) -> str:
    if days <= TIMELINE_DAYS_30:
        return "30_dias"
    if days <= TIMELINE_DAYS_90:
        return "90_dias"
    return "sem_previsao"


# --------------------------------------------------------------------------
# Opt-out
# --------------------------------------------------------------------------


def is_opt_out(text: str) -> bool:
    """LGPD opt-out request. Strict on purpose: "parar de pagar caro" is sales talk."""
    folded = fold(text)
    bare = " ".join(re.findall(r"[a-z0-9]+", folded))
    if bare in OPT_OUT_EXACT:
        return True
    return any(re.search(p, bare) for p in OPT_OUT_PHRASES)


# --------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    city: Optional[str] = None  # canonical, accented, e.g. "São José dos Campos"
    state: Optional[str] = None  # UF, e.g. "SP"


@dataclass(frozen=True)
class _City:
    name: str
    ufs: tuple[str, ...]  # more than one: the name exists in several states
    weak: bool  # also an everyday word; needs a place cue


@dataclass(frozen=True)
class _Entry:
    city: Optional[_City] = None
    uf: Optional[str] = None  # the phrase (also) names this state


@dataclass(frozen=True)
class _Gazetteer:
    entries: Mapping[tuple[str, ...], _Entry]
    max_words: int


@dataclass(frozen=True)
class _Word:
    text: str  # as typed (NFC)
    key: str  # folded
    start: int
    end: int


@dataclass(frozen=True)
class _Mention:
    first: int
    end: int
    city: Optional[_City] = None
    uf: Optional[str] = None  # set only on state mentions


def _key(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in TOKEN_RE.findall(unicodedata.normalize("NFC", text)))


@lru_cache(maxsize=4)
def _gazetteer(path: Path = GAZETTEER_PATH) -> _Gazetteer:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    states: Mapping[str, str] = raw["states"]
    weak = {_key(name) for name in raw.get("weak_names") or ()}
    entries: dict[tuple[str, ...], _Entry] = {}

    def add(phrase: str, *, city: Optional[_City] = None, uf: Optional[str] = None) -> None:
        key = _key(phrase)
        old = entries.get(key, _Entry())
        if (city and old.city and old.city != city) or (uf and old.uf and old.uf != uf):
            raise ValueError(f"{path.name}: {phrase!r} has two meanings")
        entries[key] = _Entry(city=city or old.city, uf=uf or old.uf)

    cities: dict[str, _City] = {}
    for name, ufs in raw["cities"].items():
        ufs = (ufs,) if isinstance(ufs, str) else tuple(ufs)
        unknown = set(ufs) - set(states)
        if unknown:
            raise ValueError(f"{path.name}: {name!r} has unknown UF {unknown}")
        cities[name] = _City(name, ufs, _key(name) in weak)
        add(name, city=cities[name])
    for alias, target in (raw.get("city_aliases") or {}).items():
        city = cities[target]
        add(alias, city=_City(city.name, city.ufs, _key(alias) in weak))
    for uf, name in states.items():
        add(uf, uf=uf)
        add(name, uf=uf)
    for alias, uf in (raw.get("state_aliases") or {}).items():
        add(alias, uf=uf)
    return _Gazetteer(entries, max(len(k) for k in entries))


def _place_words(text: str) -> list[_Word]:
    text = unicodedata.normalize("NFC", text)
    return [_Word(m.group(), fold(m.group()), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


def parse_location(text: str, *, requested: bool) -> Location:
    """City and/or UF. Known cities are found anywhere; unknown ones only in an answer to the question."""
    text = unicodedata.normalize("NFC", text)
    words = _place_words(text)
    mentions = _scan_places(text, words, requested=requested, states_only=False)
    cities = [m for m in mentions if m.city]
    states = [m for m in mentions if m.uf]
    if cities:
        city = cities[0]
        explicit = next((m.uf for m in states if _binds_to(words, city, m)), None)
        only_uf = city.city.ufs[0] if len(city.city.ufs) == 1 else None
        return Location(city.city.name, explicit or only_uf)
    if requested:
        guessed = _unknown_place(text, words)
        if guessed is not None:
            return guessed
    return Location(None, states[0].uf) if states else Location()


def _binds_to(words: Sequence[_Word], city: _Mention, state: _Mention) -> bool:
    """ "Campinas - SP", "campinas no estado de sp"; not "sou de sp mas moro em bh"."""
    between = [w.key for w in words[city.end:state.first]]
    return state.first >= city.end and len(between) <= 3 and set(between) <= CITY_STATE_LINK_WORDS


def parse_state(text: str) -> Optional[str]:
    """UF named in the text ("MG", "minas", "Minas Gerais", "sao paulo"); cities alone do not count."""
    text = unicodedata.normalize("NFC", text)
    mentions = _scan_places(text, _place_words(text), requested=False, states_only=True)
    return next((m.uf for m in mentions if m.uf), None)


def _scan_places(text: str, words: Sequence[_Word], *, requested: bool, states_only: bool) -> list[_Mention]:
    """Longest-match scan over the gazetteer, left to right, without overlaps."""
    gaz = _gazetteer()
    mentions: list[_Mention] = []
    i = 0
    while i < len(words):
        mention, skip_to = None, i + 1
        for n in range(min(gaz.max_words, len(words) - i), 0, -1):
            entry = gaz.entries.get(tuple(w.key for w in words[i:i + n]))
            if entry is None:
                continue
            if entry.city and not states_only and _continues_as_longer_name(text, words, i + n):
                skip_to = i + n + 2  # "sao jose do rio pardo": neither "São José" nor "Rio"
                break
            mention = _read_entry(text, words, i, n, entry, mentions, requested, states_only)
            if mention is not None:
                break
        if mention is None:
            i = skip_to
            continue
        mentions.append(mention)
        i = mention.end
    return mentions


def _read_entry(
    text: str,
    words: Sequence[_Word],
    i: int,
    n: int,
    entry: _Entry,
    previous: Sequence[_Mention],
    requested: bool,
    states_only: bool,
) -> Optional[_Mention]:
    """Decide whether words[i:i+n] really is this city or state here."""
    after_city = bool(previous) and previous[-1].city is not None and previous[-1].end == i
    state_ok = entry.uf is not None and _state_reading_ok(text, words, i, n, after_city)
    # "Campinas, Sao Paulo" / "estado de sao paulo": the state; "moro em sao paulo": the city.
    both = entry.city is not None and not states_only
    if both and state_ok and (after_city or _has_state_cue(words, i)):
        return _Mention(i, i + n, uf=entry.uf)
    if entry.city and not states_only and _city_reading_ok(text, words, i, n, entry.city, requested):
        return _Mention(i, i + n, city=entry.city)
    if state_ok:
        return _Mention(i, i + n, uf=entry.uf)
    return None


def _city_reading_ok(text: str, words: Sequence[_Word], i: int, n: int, city: _City, requested: bool) -> bool:
    end = i + n
    if not city.weak or requested:
        return True
    return _has_place_cue(words, i) or _state_at(text, words, end, after_city=True) is not None


def _continues_as_longer_name(text: str, words: Sequence[_Word], end: int) -> bool:
    if end + 1 >= len(words) or words[end].key not in CONNECTOR_WORDS - {"e"}:
        return False
    if text[words[end - 1].end:words[end].start].strip():
        return False  # punctuation in between: "Campinas, de onde..."
    return _state_at(text, words, end + 1, after_city=False) is None


def _has_place_cue(words: Sequence[_Word], i: int) -> bool:
    if i >= 1 and words[i - 1].key in PLACE_CUE_SINGLE:
        return True
    return i >= 2 and (words[i - 2].key, words[i - 1].key) in PLACE_CUE_PAIRS


def _has_state_cue(words: Sequence[_Word], i: int) -> bool:
    if i >= 1 and words[i - 1].key in STATE_CUE_WORDS:
        return True
    return i >= 2 and words[i - 1].key in ("de", "do", "da") and words[i - 2].key in STATE_CUE_WORDS


def _state_reading_ok(text: str, words: Sequence[_Word], i: int, n: int, after_city: bool) -> bool:
    """UF codes like "to"/"se"/"rs" and "para" need evidence they are states."""
    if n > 1 or words[i].key not in AMBIGUOUS_STATE_WORDS:
        return True
    word = words[i]
    if len(words) == 1 or _has_state_cue(words, i):
        return True
    if word.key == "para":
        if word.text.lower() != word.key:  # typed with the accent: "Pará"
            return True
    elif word.text.isupper() and any(c.islower() for c in text):
        return True
    if after_city:
        gap = text[words[i - 1].end:word.start]
        is_last = i == len(words) - 1
        return bool(STRICT_SEPARATOR_RE.fullmatch(gap)) or is_last
    return False


def _state_at(text: str, words: Sequence[_Word], j: int, *, after_city: bool) -> Optional[tuple[str, int]]:
    """(UF, words used) if a state is named at words[j:]."""
    gaz = _gazetteer()
    for n in range(min(gaz.max_words, len(words) - j), 0, -1):
        entry = gaz.entries.get(tuple(w.key for w in words[j:j + n]))
        if entry and entry.uf and _state_reading_ok(text, words, j, n, after_city):
            return entry.uf, n
    return None


def _unknown_place(text: str, words: Sequence[_Word]) -> Optional[Location]:
    """An answer to "qual sua cidade?" that is not in the gazetteer: "Xique-Xique - BA"."""
    if not words or _is_question(text) or parse_yes_no(text) is not None:
        return None
    if _squeezed_phrase(text) in _GREETINGS or _squeezed_phrase(text) in _UNSURE:
        return None
    first = _skip_leading(words, PLACE_LEADING_PHRASES)
    end, uf = _trailing_state(text, words, first)
    core = words[first:end]
    if not core:
        return Location(None, uf) if uf else None
    if len(core) > 5 or any(w.key in NON_PLACE_WORDS for w in core):
        return None
    core_text = text[core[0].start:core[-1].end]
    if not PLACE_TEXT_RE.fullmatch(core_text):
        return None
    return Location(_title_pt(" ".join(core_text.split())), uf)


def _skip_leading(words: Sequence[_Word], phrases: Sequence[tuple[str, ...]]) -> int:
    keys = tuple(w.key for w in words)
    for phrase in sorted(phrases, key=len, reverse=True):
        if keys[:len(phrase)] == phrase and len(keys) > len(phrase):
            return len(phrase)
    return 0


def _trailing_state(text: str, words: Sequence[_Word], first: int) -> tuple[int, Optional[str]]:
    """Strip "/SP", "- MG", ", Minas Gerais" or a trailing "ba" off an answer."""
    gaz = _gazetteer()
    for start in range(max(first, len(words) - gaz.max_words), len(words)):
        entry = gaz.entries.get(tuple(w.key for w in words[start:]))
        if entry is None or entry.uf is None:
            continue
        if start == first:
            return start, entry.uf  # the whole answer is a state
        if words[start - 1].key in CONNECTOR_WORDS:
            continue  # "Bom Jesus do Tocantins" is a city, not "Bom Jesus do" + TO
        gap = text[words[start - 1].end:words[start].start]
        if SEPARATOR_GAP_RE.fullmatch(gap):
            return start, entry.uf
    return len(words), None


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------


def parse_name(text: str, *, requested: bool) -> Optional[str]:
    """Person's name after a cue ("meu nome é", "me chamo", "aqui é a"), or a bare answer when asked."""
    text = unicodedata.normalize("NFC", text)
    words = [_Word(m.group(), fold(m.group()), m.start(), m.end()) for m in NAME_TOKEN_RE.finditer(text)]
    from_cue = _name_after_cue(text, words)
    if from_cue:
        return from_cue
    return _bare_name(text, words) if requested else None


_NAME_ENDERS = (NAME_STOP_WORDS | NON_NAME_WORDS) - CONNECTOR_WORDS


def _name_after_cue(text: str, words: Sequence[_Word]) -> Optional[str]:
    keys = [ABBREVIATIONS.get(w.key, w.key) for w in words]
    cues = [(cue, False) for cue in NAME_CUES] + [(cue, True) for cue in CLAUSE_START_NAME_CUES]
    for cue, needs_clause_start in sorted(cues, key=lambda c: len(c[0]), reverse=True):
        for i in range(len(keys) - len(cue) + 1):
            if tuple(keys[i:i + len(cue)]) != cue or i + len(cue) >= len(words):
                continue
            if needs_clause_start and not _at_clause_start(text, words, i):
                continue
            name = _name_from(text, words, i + len(cue))
            if name:
                return name
    return None


def _at_clause_start(text: str, words: Sequence[_Word], i: int) -> bool:
    """Only greetings (or nothing) since the last punctuation mark before words[i]."""
    for word in reversed(words[:i]):
        if re.search(r"[^\w\s]", text[word.end:words[i].start]):
            return True
        if word.key not in GREETING_WORDS:
            return False
    return True


def _name_from(text: str, words: Sequence[_Word], i: int) -> Optional[str]:
    if words[i].key in NON_NAME_WORDS or words[i].key in CONNECTOR_WORDS:
        return None
    picked = [words[i]]
    for word in words[i + 1:]:
        gap = text[picked[-1].end:word.start]
        if gap.strip() or word.key in _NAME_ENDERS:
            break
        if len([w for w in picked if w.key not in CONNECTOR_WORDS]) >= NAME_MAX_WORDS:
            break
        picked.append(word)
    while picked and picked[-1].key in CONNECTOR_WORDS:
        picked.pop()  # "joao da" -> "joao"
    return _title_pt(" ".join(w.text for w in picked)) if picked else None


def _bare_name(text: str, words: Sequence[_Word]) -> Optional[str]:
    if not words or _is_question(text) or parse_yes_no(text) is not None:
        return None
    if _squeezed_phrase(text) in _GREETINGS:
        return None
    core = text[words[0].start:words[-1].end]
    trailing = text[words[-1].end:]
    leading = text[:words[0].start]
    if re.search(r"[^\W_]", leading + trailing) or not PLACE_TEXT_RE.fullmatch(core):
        return None  # digits or other words around: not just a name
    named = [w for w in words if w.key not in CONNECTOR_WORDS]
    if not 1 <= len(named) <= BARE_NAME_MAX_WORDS or words[0].key in CONNECTOR_WORDS:
        return None
    if any(_squeeze(w.key) in NON_NAME_WORDS or w.key in NON_NAME_WORDS for w in named):
        return None
    if any(re.fullmatch(r"(k|ha|rs|he|hu)+", w.key) for w in words):
        return None  # laughter
    return _title_pt(" ".join(core.split()))
