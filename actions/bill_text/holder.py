"""The account holder's name: after a "Nome"/"Cliente" label, else the line above the address."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from actions.bill_text.lines import Line
from actions.bill_text.patterns import ADDRESS_START, HOLDER_LABELS, LETTER_FIXES
from actions.bill_text.tables import str_list
from actions.bill_text.utilities import find_utility
from sdr.text import fold, fold_same_length

__all__ = ["find_holder"]

NAME_MIN_WORDS, NAME_MAX_WORDS = 2, 8
NAME_CONNECTORS = frozenset(str_list("words.yml", "name_connectors"))

NOT_A_HOLDER = re.compile(
    r"(?<![a-z])(desde|codigo|cod|n[o°º]?|numero|cpf|cnpj|residencial|comercial|rural|industrial"
    r"|ltda|s\s*/?\s*a|distribui\w*|energia|eletricidade)(?![a-z])"
)
# Words that end a name printed on the same line as other fields.
NAME_ENDERS = re.compile(
    r"(?<![a-z])(cpf|cnpj|rg|cep|endereco|unidade|instalacao|classe|codigo|cod|matricula|conta"
    r"|n[°º]|no\.|inscricao|cliente|data|vencimento|total|referencia|ie)(?![a-z])"
)


def find_holder(lines: Sequence[Line]) -> tuple[Optional[str], Optional[int]]:
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


def _name_at(line: Line, start: int, *, whole_line: bool = False) -> Optional[str]:
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
    fixed = [w.translate(LETTER_FIXES) if sum(c.isalpha() for c in w) > len(w) / 2 else w for w in words]
    if not all(re.fullmatch(r"[^\W\d_]+(?:['’.\-][^\W\d_]*)*", w) for w in fixed):
        return None
    if NOT_A_HOLDER.search(fold_same_length(" ".join(fixed))) or find_utility(" ".join(fixed), None):
        return None
    return _title_name(" ".join(fixed))


def _title_name(name: str) -> str:
    words = name.split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        out.append(lower if i and fold(lower) in NAME_CONNECTORS else lower[:1].upper() + lower[1:])
    return " ".join(out)
