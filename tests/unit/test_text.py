"""The one text folding (sdr.text) that parsers, bills, buttons and the review UI compare with."""
from __future__ import annotations

import pytest

from sdr.text import fold, fold_same_length, fold_words


@pytest.mark.parametrize(
    "text, folded, words",
    [
        ("  São  Paulo ", "sao paulo", "sao paulo"),
        ("Quanto custa?", "quanto custa?", "quanto custa"),
        ("OPÇÃO 2", "opcao 2", "opcao 2"),
        ("conta_de_luz!!", "conta_de_luz!!", "conta de luz"),
        ("", "", ""),
        ("  AÇÃO  já!", "acao ja!", "acao ja"),
        ("Área-Rural", "area-rural", "area rural"),
        ("!!!", "!!!", ""),
    ],
)
def test_fold_and_fold_words(text: str, folded: str, words: str) -> None:
    assert fold(text) == folded
    assert fold_words(text) == words


def test_fold_same_length_keeps_positions() -> None:
    text = "Consumo (kWh): Ção\tÃ"
    folded = fold_same_length(text)
    assert len(folded) == len(text)
    assert folded == "consumo (kwh): cao\ta"
