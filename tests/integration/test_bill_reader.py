"""Bill files in, facts out: type and size checks, OCR and PDF paths, and the CLI."""
from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from actions.bill import DEFAULT_MAX_BYTES, BillError, detect_kind, estimate_skew, read_bill
from actions.bill_text import FIELDS, BillFacts
from tests.bills import (
    CLEAN,
    Degradations,
    fonts_missing,
    generate_bill,
    not_a_bill_image,
    random_spec,
)

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def ocr_ready() -> None:
    """OCR tests need Tesseract with Portuguese and the fonts the bills are drawn with."""
    problems = []
    if shutil.which("tesseract") is None:
        problems.append("Tesseract is not installed: apt-get install -y tesseract-ocr tesseract-ocr-por")
    else:
        langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
        if "por" not in langs:
            problems.append("Tesseract has no Portuguese: apt-get install -y tesseract-ocr-por")
    if fonts_missing():
        problems.append(fonts_missing())
    if problems:
        pytest.fail("; ".join(problems) + " (or run `make setup`)", pytrace=False)


@pytest.fixture(scope="module")
def spec():
    return random_spec(random.Random(11))


def _png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "PNG")
    return out.getvalue()


# --------------------------------------------------------------------------
# Type and size, from the bytes
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image"),
        (b"GIF89a\x01\x00", "image"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image"),
        (b"II*\x00\x08\x00", "image"),
        (b"BM\x36\x00", "image"),
        (b"%PDF-1.7\n%\xe2\xe3", "pdf"),
        (b"\xef\xbb\xbf\r\n%PDF-1.4\n", "pdf"),  # junk before the header is allowed
        (b"<html><body>oi</body></html>", None),
        (b"PK\x03\x04zipfile", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # audio, not an image
        (b"", None),
    ],
)
def test_detect_kind_from_the_signature(data: bytes, kind: str | None) -> None:
    assert detect_kind(data) == kind


def test_detect_kind_ignores_what_the_file_claims_to_be() -> None:
    assert detect_kind(b"%PDF-1.4" + _png()) == "pdf"
    assert detect_kind(_png() + b"%PDF-1.4") == "image"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"just some text, not a bill", "not an image or a PDF"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", "unreadable image"),
        (b"%PDF-1.4\nthis is no pdf at all", "unreadable PDF"),
    ],
)
def test_files_that_cannot_be_read(data: bytes, reason: str) -> None:
    with pytest.raises(BillError) as error:
        read_bill(data)
    assert reason in error.value.reason


def test_the_size_limit_is_checked_before_reading() -> None:
    data = _png()
    with pytest.raises(BillError, match="too big"):
        read_bill(data, max_bytes=len(data) - 1)
    assert DEFAULT_MAX_BYTES >= 5 * 1024 * 1024  # a phone photo fits


def test_an_image_with_absurd_dimensions_is_refused() -> None:
    header = io.BytesIO()
    Image.new("1", (12000, 12000)).save(header, "PNG")  # 144 Mpx in a few kB
    with pytest.raises(BillError, match="too large"):
        read_bill(header.getvalue())


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


@pytest.mark.parametrize("degrees", [-3.0, -1.2, 0.0, 2.5])
def test_deskew_finds_a_slight_rotation(ocr_ready, spec, degrees: float) -> None:
    page = Image.open(io.BytesIO(generate_bill(spec, layout="boxes", degradations=CLEAN))).convert("L")
    tilted = page.rotate(degrees, expand=True, fillcolor=255)
    assert estimate_skew(tilted) == pytest.approx(-degrees, abs=0.3)


def test_a_photo_that_is_not_a_bill_gets_no_numbers(ocr_ready) -> None:
    reading = read_bill(not_a_bill_image(seed=3))
    assert reading.kind == "image"
    assert not reading.is_bill
    assert reading.facts == BillFacts()
    assert "compras" in reading.text.lower()  # it was read, and recognised as something else


def test_a_blank_image_is_not_a_bill(ocr_ready) -> None:
    reading = read_bill(_png((600, 800)))
    assert not reading.is_bill and reading.facts == BillFacts()


def test_a_clean_photo_of_a_bill(ocr_ready, spec) -> None:
    data = generate_bill(spec, layout="boxes", degradations=Degradations(jpeg_quality=85))
    reading = read_bill(data)
    assert reading.is_bill and reading.source == "ocr"
    assert reading.facts == spec.facts


def test_a_sideways_photo_without_exif_is_turned(ocr_ready, spec) -> None:
    upright = Image.open(io.BytesIO(generate_bill(spec, layout="labels", degradations=CLEAN)))
    out = io.BytesIO()
    upright.rotate(90, expand=True).save(out, "JPEG", quality=85)
    assert read_bill(out.getvalue()).facts == spec.facts


def test_exif_orientation_is_applied(ocr_ready, spec) -> None:
    upright = Image.open(io.BytesIO(generate_bill(spec, layout="grid", degradations=CLEAN)))
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90° counter-clockwise to display", as phones write it
    out = io.BytesIO()
    upright.rotate(-90, expand=True).save(out, "JPEG", quality=85, exif=exif)
    assert read_bill(out.getvalue()).facts == spec.facts


def test_a_small_blurred_tilted_photo(ocr_ready, spec) -> None:
    rough = Degradations(dpi=110, blur=0.6, noise=8, rotation=2.5, shade=0.2, jpeg_quality=60, seed=5)
    reading = read_bill(generate_bill(spec, layout="two_column", degradations=rough))
    assert reading.is_bill
    assert reading.facts.total_brl == spec.facts.total_brl
    assert reading.facts.due_date == spec.facts.due_date


def test_a_pdf_with_a_text_layer_is_read_without_ocr(spec) -> None:
    reading = read_bill(generate_bill(spec, layout="two_column", kind="pdf_text"))
    assert reading.kind == "pdf" and reading.source == "text_layer"
    assert reading.facts == spec.facts


def test_a_scanned_pdf_is_read_with_ocr(ocr_ready, spec) -> None:
    reading = read_bill(generate_bill(spec, layout="slip", degradations=Degradations(dpi=150), kind="pdf_scan"))
    assert reading.kind == "pdf" and reading.source == "ocr"
    assert reading.facts == spec.facts


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actions.bill", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
    )


def test_cli_prints_the_contract_json(tmp_path: Path, spec) -> None:
    bill = tmp_path / "conta.pdf"
    bill.write_bytes(generate_bill(spec, layout="labels", kind="pdf_text"))
    result = run_cli(str(bill))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert list(printed) == list(FIELDS)
    assert printed == spec.facts.as_dict()


def test_cli_on_a_photo_that_is_not_a_bill(tmp_path: Path, ocr_ready) -> None:
    photo = tmp_path / "foto.jpg"
    photo.write_bytes(not_a_bill_image(seed=1))
    result = run_cli(str(photo))
    assert result.returncode == 0, result.stderr  # it was read: all facts null
    assert json.loads(result.stdout) == {name: None for name in FIELDS}
    assert "does not look like an electricity bill" in result.stderr


@pytest.mark.parametrize(
    "content, args, message",
    [
        (None, (), "cannot read"),
        (b"name,kwh\nana,350\n", (), "not an image or a PDF"),
        (b"%PDF-1.4\nbroken", (), "unreadable PDF"),
        ("png", ("--max-bytes", "10"), "too big"),
    ],
)
def test_cli_exit_2_with_a_message(tmp_path: Path, content, args, message: str) -> None:
    path = tmp_path / "conta.bin"
    if content == "png":
        path.write_bytes(_png())
    elif content is not None:
        path.write_bytes(content)
    result = run_cli(str(path), *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr and str(path) in result.stderr
