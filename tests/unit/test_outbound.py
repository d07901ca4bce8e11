"""Unit tests for whatsapp/outbound.py: pure helpers, positive and negative cases."""
from __future__ import annotations

from typing import Optional

import pytest

from whatsapp.outbound import (
    DEFAULT_MAX_CHARS,
    build_quoted,
    match_button_reply,
    media_file_name,
    mediatype_for,
    render_buttons,
    split_text,
    typing_delay_ms,
)

YES_NO = [{"title": "Sim", "payload": "/affirm"}, {"title": "Não", "payload": "/deny"}]
THREE = [
    {"title": "Casa", "payload": '/inform{"tipo":"casa"}'},
    {"title": "Empresa", "payload": '/inform{"tipo":"empresa"}'},
    {"title": "Área rural", "payload": '/inform{"tipo":"rural"}'},
]


def _words(text: str) -> list[str]:
    return text.split()


# --------------------------------------------------------------------------- split_text


@pytest.mark.parametrize(
    "text, max_chars, expected",
    [
        ("Olá!", 4096, ["Olá!"]),
        ("  Olá!  \n", 4096, ["Olá!"]),
        ("", 10, []),
        ("   \n\n \t ", 10, []),
        ("abc", 3, ["abc"]),
        # Paragraphs are joined back up to the limit.
        ("aa\n\nbb\n\ncc", 6, ["aa\n\nbb", "cc"]),
        ("aa\n\nbb\n\ncc", 10, ["aa\n\nbb\n\ncc"]),
        # A paragraph break wins over a later sentence end.
        ("Um. Dois.\n\nTrês. Quatro.", 15, ["Um. Dois.", "Três. Quatro."]),
        # Sentence ends, then whitespace, then a hard cut.
        ("Primeira frase. Segunda frase.", 20, ["Primeira frase.", "Segunda frase."]),
        ("Você quer? Sim! Ótimo.", 12, ["Você quer?", "Sim! Ótimo."]),
        ("palavra outra coisa", 8, ["palavra", "outra", "coisa"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        # A single line break is a better cut than a space.
        ("1. Casa\n2. Empresa", 12, ["1. Casa", "2. Empresa"]),
        # Windows line endings behave like \n.
        ("aa\r\n\r\nbb", 3, ["aa", "bb"]),
        # Closing quotes stay with their sentence.
        ('Ele disse "sim." Depois saiu.', 17, ['Ele disse "sim."', "Depois saiu."]),
    ],
)
def test_split_text_cases(text: str, max_chars: int, expected: list[str]) -> None:
    assert split_text(text, max_chars) == expected


@pytest.mark.parametrize("max_chars", [0, -1, -4096])
def test_split_text_rejects_non_positive_limits(max_chars: int) -> None:
    with pytest.raises(ValueError):
        split_text("texto", max_chars)


def test_split_text_default_limit_is_4096() -> None:
    assert DEFAULT_MAX_CHARS == 4096
    assert split_text("a" * 4096) == ["a" * 4096]
    assert [len(chunk) for chunk in split_text("a" * 4097)] == [4096, 1]


@pytest.mark.parametrize("max_chars", [1, 7, 40, 120, 500])
def test_split_text_invariants_on_long_mixed_text(max_chars: int) -> None:
    paragraph = "Energia solar reduz a conta de luz. Quer uma simulação? Responda sim ou não!"
    text = "\n\n".join(f"{index} {paragraph}" for index in range(30))
    chunks = split_text(text, max_chars)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)
    assert all(chunk == chunk.strip() for chunk in chunks)
    # Order and content are preserved (only whitespace at the cuts changes).
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_split_text_keeps_paragraph_order_and_fills_chunks() -> None:
    paragraphs = [f"Parágrafo {index}." for index in range(10)]
    chunks = split_text("\n\n".join(paragraphs), 40)
    assert [p for chunk in chunks for p in chunk.split("\n\n")] == paragraphs
    # Greedy packing: no two neighbours would have fitted together.
    assert all(len(a) + 2 + len(b) > 40 for a, b in zip(chunks, chunks[1:]))


def test_split_text_long_paragraph_is_cut_at_sentences() -> None:
    sentence = "Esta é uma frase de teste."
    text = " ".join([sentence] * 10)
    chunks = split_text(text, 60)
    assert all(chunk.endswith(".") for chunk in chunks)
    assert " ".join(chunks) == text


def test_split_text_hard_cut_keeps_accents_together() -> None:
    decomposed = "e\u0301" * 5  # "é" as e + combining acute accent
    chunks = split_text(decomposed, 3)
    assert all(not chunk.startswith("\u0301") for chunk in chunks)
    assert "".join(chunks) == decomposed


# --------------------------------------------------------------------------- typing_delay_ms


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 500),
        ("oi", 500),
        ("x" * 20, 600),
        ("x" * 100, 3000),
        ("x" * 10_000, 4000),
        ("   oi   ", 500),
    ],
)
def test_typing_delay_defaults(text: str, expected: int) -> None:
    assert typing_delay_ms(text) == expected


def test_typing_delay_grows_with_text_and_is_capped() -> None:
    delays = [typing_delay_ms("x" * length) for length in range(0, 400, 10)]
    assert delays == sorted(delays)
    assert max(delays) == 4000


def test_typing_delay_custom_parameters() -> None:
    assert typing_delay_ms("abcd", per_char_ms=100, min_ms=0, max_ms=1000) == 400
    assert typing_delay_ms("abcd", per_char_ms=0, min_ms=250, max_ms=1000) == 250
    assert typing_delay_ms("a" * 50, per_char_ms=100, min_ms=0, max_ms=1000) == 1000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_char_ms": -1},
        {"min_ms": -1},
        {"min_ms": 1000, "max_ms": 999},
    ],
)
def test_typing_delay_rejects_bad_parameters(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        typing_delay_ms("texto", **kwargs)


# --------------------------------------------------------------------------- render_buttons


@pytest.mark.parametrize(
    "text, buttons, expected",
    [
        ("Podemos agendar?", YES_NO, "Podemos agendar?\n\n1. Sim\n2. Não"),
        ("Tipo de imóvel?", THREE, "Tipo de imóvel?\n\n1. Casa\n2. Empresa\n3. Área rural"),
        ("Só texto", [], "Só texto"),
        ("", YES_NO, "1. Sim\n2. Não"),
        ("  Pergunta?  ", YES_NO[:1], "Pergunta?\n\n1. Sim"),
        ("Sem título?", [{"payload": "/affirm"}], "Sem título?\n\n1. /affirm"),
    ],
)
def test_render_buttons(text: str, buttons: list[dict[str, str]], expected: str) -> None:
    assert render_buttons(text, buttons) == expected


# --------------------------------------------------------------------------- match_button_reply


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("1", "/affirm"),
        ("2", "/deny"),
        (" 2 ", "/deny"),
        ("2.", "/deny"),
        ("2)", "/deny"),
        ("#2", "/deny"),
        ("opção 2", "/deny"),
        ("Opcao 1", "/affirm"),
        ("opção nº 2", "/deny"),
        ("número 1", "/affirm"),
        ("1️⃣", "/affirm"),
        ("Sim", "/affirm"),
        ("sim", "/affirm"),
        ("SIM!", "/affirm"),
        ("Não", "/deny"),
        ("nao", "/deny"),
        ("NÃO.", "/deny"),
        ("  não  ", "/deny"),
        ("2. Não", "/deny"),
        ("2 - nao", "/deny"),
    ],
)
def test_match_button_reply_matches(reply: str, expected: str) -> None:
    assert match_button_reply(reply, YES_NO) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "0",
        "3",
        "1.5",
        "12",
        "",
        "   ",
        "talvez",
        "sim, mas depois",
        "não sei",
        "1 2",
        "opção",
        "1. Não",  # number and title disagree
        "/affirm",  # payloads are not titles
    ],
)
def test_match_button_reply_rejects(reply: str) -> None:
    assert match_button_reply(reply, YES_NO) is None


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("3", '/inform{"tipo":"rural"}'),
        ("area rural", '/inform{"tipo":"rural"}'),
        ("ÁREA RURAL", '/inform{"tipo":"rural"}'),
        ("empresa", '/inform{"tipo":"empresa"}'),
        ("4", None),
        ("rural", None),
    ],
)
def test_match_button_reply_three_options(reply: str, expected: Optional[str]) -> None:
    assert match_button_reply(reply, THREE) == expected


def test_match_button_reply_without_buttons() -> None:
    assert match_button_reply("1", []) is None
    assert match_button_reply("sim", []) is None


def test_match_button_reply_round_trips_render() -> None:
    rendered = render_buttons("Tipo?", THREE)
    for line, button in zip(rendered.split("\n\n", 1)[1].splitlines(), THREE):
        number = line.split(".", 1)[0]
        assert match_button_reply(number, THREE) == button["payload"]
        assert match_button_reply(line, THREE) == button["payload"]


# --------------------------------------------------------------------------- build_quoted


def test_build_quoted_with_text_and_jid() -> None:
    assert build_quoted("ABC", remote_jid="5511987654321@s.whatsapp.net", text="Oi") == {
        "key": {"id": "ABC", "fromMe": False, "remoteJid": "5511987654321@s.whatsapp.net"},
        "message": {"conversation": "Oi"},
    }


def test_build_quoted_minimal() -> None:
    assert build_quoted("ABC") == {"key": {"id": "ABC", "fromMe": False}}


# --------------------------------------------------------------------------- mediatype_for


@pytest.mark.parametrize(
    "mimetype, expected",
    [
        ("image/jpeg", "image"),
        ("image/png", "image"),
        ("IMAGE/WEBP", "image"),
        ("video/mp4", "video"),
        ("audio/mpeg", "audio"),
        ("audio/ogg; codecs=opus", "audio"),
        ("application/pdf", "document"),
        ("text/plain", "document"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document"),
        ("", "document"),
        (None, "document"),
        ("garbage", "document"),
    ],
)
def test_mediatype_for(mimetype: Optional[str], expected: str) -> None:
    assert mediatype_for(mimetype) == expected


# --------------------------------------------------------------------------- media_file_name


@pytest.mark.parametrize(
    "url, mimetype, expected",
    [
        ("https://files.example.com/proposta.pdf", "application/pdf", "proposta.pdf"),
        ("https://files.example.com/a/b/proposta.pdf?token=1#x", "application/pdf", "proposta.pdf"),
        ("https://files.example.com/download.php?id=7", "application/pdf", "download.pdf"),
        ("https://files.example.com/proposta", "application/pdf", "proposta.pdf"),
        ("https://files.example.com/", "application/pdf", "arquivo.pdf"),
        ("https://files.example.com/foto.jpeg", "image/jpeg", "foto.jpeg"),
        ("https://files.example.com/foto.png", "image/jpeg", "foto.jpg"),
        ("https://files.example.com/Relat%C3%B3rio%20final.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Relatório final.docx"),
        ("https://files.example.com/PROPOSTA.PDF", "application/pdf", "PROPOSTA.PDF"),
        ("https://files.example.com/voz", "audio/ogg; codecs=opus", "voz.ogg"),
        ("https://files.example.com/planilha.xlsx", None, "planilha.xlsx"),
        ("https://files.example.com/sem-extensao", None, "sem-extensao.bin"),
        ("https://files.example.com/x", "application/x-unheard-of", "x.bin"),
        ("JVBERi0xLjQKJcfsj6IK", "application/pdf", "arquivo.pdf"),
        ("https://files.example.com/..%2F..%2Fetc%2Fpasswd", "text/plain", "etc_passwd.txt"),
    ],
)
def test_media_file_name(url: str, mimetype: Optional[str], expected: str) -> None:
    assert media_file_name(url, mimetype) == expected


def test_media_file_name_custom_default_stem() -> None:
    assert media_file_name("iVBORw0KGgo=", "image/png", default_stem="grafico") == "grafico.png"
    assert media_file_name("iVBORw0KGgo=", "image/png", default_stem="../") == "arquivo.png"


def test_media_file_name_never_contains_path_separators() -> None:
    name = media_file_name("https://x.example/a%2Fb%5Cc.pdf", "application/pdf")
    assert "/" not in name and "\\" not in name
    assert name.endswith(".pdf")
