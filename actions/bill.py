"""Read an electricity bill a lead sent (photo or PDF) into `BillFacts`.

    python -m actions.bill FILE      # prints the contract's JSON; exit 0 read, 2 not read

I/O only: the facts come from `actions.bill_text`. The steps:

1. the real type from the bytes' signature (WhatsApp's declared mimetype is
   whatever the sender's phone said), and the size against a limit;
2. text:
   * images: Pillow + Tesseract (`por`), after the clean-up phone photos need:
     EXIF orientation, grey, a working size (small photos upscaled), shadows
     and uneven light flattened to a white page (a local white-level threshold),
     contrast, deskew of slight rotations; a sideways photo without EXIF is
     retried at 90/270/180 degrees when the upright reading is no bill;
   * PDFs: the text layer when it holds a bill, else OCR of the rendered pages;
   both laid out as lines with column gaps kept (3+ spaces), which is what the
   label/value readers of `bill_text` use;
3. facts only when the text looks like a bill: an image that is not one gets
   `is_bill=False` and no numbers, never a wrong one.

No network, nothing downloaded: Tesseract's `por` data comes from Debian's
`tesseract-ocr-por`, PDFium ships inside the `pypdfium2` wheel.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Literal, Optional, Sequence

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from actions.bill_text import BillFacts, extract_bill_facts, looks_like_a_bill

Kind = Literal["image", "pdf"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # a phone photo is 1-5 MB, a bill PDF well under 1 MB
MAX_PIXELS = 50_000_000  # larger images are decompression bombs, not photos
OCR_LANG = "por"
OCR_TIMEOUT_S = 40  # per page; Tesseract is killed past it and the file counts as unreadable
# Page segmentation 11 ("sparse text"): find every word, in no particular order.
# The automatic layout analysis (3) drops whole table cells and boxes, which bills
# are made of; rows are rebuilt from the word boxes here instead (`layout_lines`).
OCR_CONFIG = "--oem 1 --psm 11"
OCR_THREADS = "1"

# Working size: about an A4 page at 200 dpi. Tesseract reads best with letters
# 20-30 px tall; smaller photos are upscaled, larger ones reduced (time grows with pixels).
TARGET_PIXELS = 1650 * 2340
MAX_UPSCALE = 3.0
RESCALE_DEADBAND = 0.15  # within +-15% of the target the image is left as it is
AUTOCONTRAST_CUTOFF = 1  # percent of darkest/lightest pixels ignored (specks, glare)
# Light flattening: the paper's brightness is estimated on a 1/8 thumbnail with a
# max filter about 1/25 of the page wide, wider than any letter, narrower than a shadow.
BACKGROUND_SHRINK = 8
BACKGROUND_WINDOWS_PER_WIDTH = 25

# Deskew by projection profile: text lines make sharp peaks in the row sums of a
# page rotated to level. Cheap (no OCR), bounded: a fixed set of angles on a thumbnail.
DESKEW_MAX_DEG = 5.0
DESKEW_COARSE_STEP = 0.5
DESKEW_FINE_STEP = 0.1
DESKEW_THUMB_WIDTH = 700
DESKEW_MIN_DEG = 0.2  # below this rotating costs sharpness for nothing
DESKEW_MIN_INK = 0.002  # share of dark pixels below which a page is blank: nothing to level
UNIFORM_THRESHOLD = 128

# Sideways photos: tried only when the upright reading is no bill.
RETRY_ROTATIONS = (90, 270, 180)
RETRY_THUMB_PIXELS = 1100 * 1560  # a quick look is enough to recognise a bill

PDF_MAX_PAGES = 3  # bills are one or two pages; a 300-page PDF is not a bill
PDF_RENDER_DPI = 200
PDF_POINTS_PER_INCH = 72
PDF_MIN_TEXT_CHARS = 80  # a text layer shorter than this is a scanner's stamp, not the bill

# Layout of words into lines.
SAME_LINE_OVERLAP = 0.5  # share of the smaller height two words must share vertically
COLUMN_GAP_CHARS = 2.5  # a gap wider than this many characters separates columns
MIN_COLUMN_SPACES = 3


class BillError(Exception):
    """The file could not be read as a bill; `reason` says why, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class BillReading:
    kind: Kind
    is_bill: bool
    facts: BillFacts  # all None when is_bill is False
    text: str  # what was read, for logs and review
    source: Literal["ocr", "text_layer"]


# --------------------------------------------------------------------------
# Type and size
# --------------------------------------------------------------------------

IMAGE_SIGNATURES: Sequence[bytes] = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"BM",  # BMP
)
PDF_SIGNATURE = b"%PDF-"
PDF_SIGNATURE_WINDOW = 1024  # the PDF spec lets junk precede the header


def detect_kind(data: bytes) -> Optional[Kind]:
    """"image" or "pdf" from the bytes themselves, else None."""
    if any(data.startswith(sig) for sig in IMAGE_SIGNATURES):
        return "image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image"
    if PDF_SIGNATURE in data[:PDF_SIGNATURE_WINDOW]:
        return "pdf"
    return None


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def read_bill(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> BillReading:
    """Text and facts of a bill sent as image or PDF bytes; raises BillError when it cannot."""
    if not data:
        raise BillError("empty file")
    if len(data) > max_bytes:
        raise BillError(f"file too big ({len(data)} bytes, limit {max_bytes})")
    kind = detect_kind(data)
    if kind is None:
        raise BillError("not an image or a PDF")
    if kind == "image":
        text, source = image_text(_open_image(data)), "ocr"
    else:
        text, source = pdf_text(data)
    is_bill = looks_like_a_bill(text)
    facts = extract_bill_facts(text) if is_bill else BillFacts()
    return BillReading(kind=kind, is_bill=is_bill, facts=facts, text=text, source=source)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def _open_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise BillError("image too large")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BillError("image too large") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BillError("unreadable image") from exc
    return image


def prepare(image: Image.Image) -> Image.Image:
    """Greyscale, evenly lit, level, high-contrast page at Tesseract's preferred size.

    `image` is upright already (EXIF orientation applied by `image_text`).

    No hard black/white threshold at the end: on blurred or JPEG-smeared photos a
    global threshold breaks thin strokes apart (field accuracy fell from 0.93 to
    0.84 on the synthetic corpus). `flatten_light` is the threshold that matters,
    the paper's own white level, found locally; Tesseract's Otsu then binarises an
    evenly lit page.
    """
    grey = _flatten(image).convert("L")
    grey = _to_working_size(grey)
    grey = flatten_light(grey)
    grey = ImageOps.autocontrast(grey, cutoff=AUTOCONTRAST_CUTOFF)
    angle = estimate_skew(grey)
    if abs(angle) >= DESKEW_MIN_DEG:
        grey = grey.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return grey


def flatten_light(grey: Image.Image) -> Image.Image:
    """Divide by the paper's brightness (its local maximum, smoothed): shadows and
    uneven light go, the paper becomes white and text keeps its contrast."""
    width, height = grey.size
    small = grey.resize(
        (max(1, width // BACKGROUND_SHRINK), max(1, height // BACKGROUND_SHRINK)), Image.Resampling.BILINEAR,
    )
    window = max(3, small.width // BACKGROUND_WINDOWS_PER_WIDTH) | 1  # odd, as MaxFilter wants
    paper = small.filter(ImageFilter.MaxFilter(window)).filter(ImageFilter.GaussianBlur(window))
    paper_px = np.asarray(paper.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
    pixels = np.asarray(grey, dtype=np.float32)
    return Image.fromarray(np.clip(pixels / np.maximum(paper_px, 1.0) * 255, 0, 255).astype(np.uint8))


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent PNGs/WebPs onto white (transparent pixels are often black underneath)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image


def _to_working_size(grey: Image.Image, target: int = TARGET_PIXELS) -> Image.Image:
    scale = min(MAX_UPSCALE, math.sqrt(target / max(1, grey.width * grey.height)))
    if abs(scale - 1) <= RESCALE_DEADBAND:
        return grey
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    return grey.resize(size, Image.Resampling.LANCZOS)


def _otsu(pixels: np.ndarray) -> int:
    """Grey level that best splits ink from paper (Otsu); mid-grey for a uniform image."""
    hist = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    weights = np.cumsum(hist)
    means = np.cumsum(hist * np.arange(256))
    total, total_mean = weights[-1], means[-1]
    background = total - weights
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weights - means * total) ** 2 / (weights * background)
    between = np.nan_to_num(between[:-1], nan=-1.0, posinf=-1.0)
    return int(np.argmax(between)) if between.max() > 0 else UNIFORM_THRESHOLD


def estimate_skew(grey: Image.Image) -> float:
    """Counter-clockwise angle in degrees that levels the text lines (0 when unsure)."""
    thumb = grey.resize((DESKEW_THUMB_WIDTH, max(1, round(grey.height * DESKEW_THUMB_WIDTH / grey.width))))
    ink = np.asarray(thumb) < _otsu(np.asarray(thumb))
    if ink.mean() < DESKEW_MIN_INK:
        return 0.0
    ink_image = Image.fromarray((ink * 255).astype(np.uint8))

    def sharpness(angle: float) -> float:
        rows = np.asarray(ink_image.rotate(angle, resample=Image.Resampling.NEAREST)).sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(rows) ** 2))

    coarse = np.arange(-DESKEW_MAX_DEG, DESKEW_MAX_DEG + 1e-9, DESKEW_COARSE_STEP)
    best = max(coarse, key=sharpness)
    fine = np.arange(best - DESKEW_COARSE_STEP, best + DESKEW_COARSE_STEP + 1e-9, DESKEW_FINE_STEP)
    best = max(fine, key=sharpness)
    return round(float(best), 2)


def image_text(image: Image.Image) -> str:
    """OCR of a photo or scan, upright or sideways."""
    upright = ImageOps.exif_transpose(image)
    text = ocr_text(prepare(upright))
    if looks_like_a_bill(text):
        return text
    # Tesseract half-reads a sideways page, so the first turn that "looks like a
    # bill" may be the wrong one: every turn gets a quick look, the one whose text
    # yields the most facts is read in full.
    best_turn, best_score = None, 0
    for degrees in RETRY_ROTATIONS:
        turned = upright.rotate(degrees, expand=True)
        quick = ocr_text(prepare_thumbnail(turned))
        score = _facts_found(quick) if looks_like_a_bill(quick) else 0
        if score > best_score:
            best_turn, best_score = turned, score
    return ocr_text(prepare(best_turn)) if best_turn is not None else text


def _facts_found(text: str) -> int:
    return sum(value is not None for value in extract_bill_facts(text).as_dict().values())


def prepare_thumbnail(image: Image.Image) -> Image.Image:
    grey = _to_working_size(_flatten(image).convert("L"), RETRY_THUMB_PIXELS)
    return ImageOps.autocontrast(flatten_light(grey), cutoff=AUTOCONTRAST_CUTOFF)


# --------------------------------------------------------------------------
# OCR and layout
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


def ocr_text(image: Image.Image) -> str:
    import pytesseract

    # Debian's Tesseract is built with OpenMP; its threads fight each other (and the
    # action server's other work) on small machines: one thread is ~5x faster on
    # 2 cores. pytesseract cannot pass an environment, so the child inherits ours;
    # an operator's own setting wins.
    os.environ.setdefault("OMP_THREAD_LIMIT", OCR_THREADS)
    try:
        data = pytesseract.image_to_data(
            image, lang=OCR_LANG, config=OCR_CONFIG, output_type=pytesseract.Output.DICT,
            timeout=OCR_TIMEOUT_S,
        )
    except RuntimeError as exc:  # pytesseract's timeout
        raise BillError("OCR took too long") from exc
    except pytesseract.TesseractNotFoundError as exc:
        raise BillError("OCR is not installed (tesseract-ocr, tesseract-ocr-por)") from exc
    except pytesseract.TesseractError as exc:
        raise BillError(f"OCR failed: {exc}") from exc
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for k, text in enumerate(data["text"]):
        if not text.strip() or float(data["conf"][k]) < 0:
            continue
        key = (data["block_num"][k], data["par_num"][k], data["line_num"][k])
        left, top = data["left"][k], data["top"][k]
        lines.setdefault(key, []).append(Word(text, left, top, left + data["width"][k], top + data["height"][k]))
    return layout_lines(list(lines.values()))


def layout_lines(groups: Iterable[Sequence[Word]]) -> str:
    """Text lines in reading order, words of one row joined, column gaps kept as 3+ spaces.

    `groups` are words already known to share a line (Tesseract's lines, a PDF's
    text runs); groups side by side on the page (two columns, a label and its
    value in separate boxes) are merged into one row so a header row lines up
    with the row of values under it.
    """
    rows: list[list[Word]] = []
    for group in sorted((g for g in groups if g), key=lambda g: min(w.top for w in g)):
        top, bottom = min(w.top for w in group), max(w.bottom for w in group)
        for row in rows:
            row_top, row_bottom = min(w.top for w in row), max(w.bottom for w in row)
            overlap = min(bottom, row_bottom) - max(top, row_top)
            if overlap >= SAME_LINE_OVERLAP * min(bottom - top, row_bottom - row_top):
                row.extend(group)
                break
        else:
            rows.append(list(group))
    all_words = [w for row in rows for w in row]
    char_width = statistics.median([(w.right - w.left) / max(1, len(w.text)) for w in all_words] or [1.0])
    out = []
    for row in sorted(rows, key=lambda r: statistics.median(w.top for w in r)):
        row.sort(key=lambda w: w.left)
        parts = [row[0].text]
        for before, word in zip(row, row[1:]):
            gap = (word.left - before.right) / max(char_width, 1e-6)
            parts.append(" " * max(MIN_COLUMN_SPACES, round(gap)) if gap > COLUMN_GAP_CHARS else " ")
            parts.append(word.text)
        out.append("".join(parts))
    return "\n".join(out)


# --------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------


def pdf_text(data: bytes) -> tuple[str, Literal["ocr", "text_layer"]]:
    layer, rendered = _pdf_layer_and_pages(data)
    if _enough_text(layer) and looks_like_a_bill(layer):
        return layer, "text_layer"
    scanned = "\n".join(image_text(page) for page in rendered())
    if looks_like_a_bill(scanned) or not _enough_text(layer):
        return scanned, "ocr"
    return layer, "text_layer"


# PDFium is not thread-safe and the action server may read two bills at once:
# every PDFium call goes through this lock (OCR, the slow part, runs outside it).
_PDFIUM_LOCK = threading.Lock()


def _pdf_layer_and_pages(data: bytes) -> tuple[str, Callable[[], list[Image.Image]]]:
    """The text layer of the first pages, and a way to render them for OCR if it is needed."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise BillError("unreadable PDF (damaged or password-protected)") from exc
        try:
            if len(pdf) == 0:
                raise BillError("PDF without pages")
            count = min(len(pdf), PDF_MAX_PAGES)
            layer = "\n".join(_text_layer(pdf[i]) for i in range(count))
        except pdfium.PdfiumError as exc:
            pdf.close()
            raise BillError("unreadable PDF page") from exc
        except BaseException:
            pdf.close()
            raise
        pdf.close()

    def rendered() -> list[Image.Image]:
        scale = PDF_RENDER_DPI / PDF_POINTS_PER_INCH
        with _PDFIUM_LOCK:
            document = pdfium.PdfDocument(data)
            try:
                # copy(): the PIL image would otherwise share the bitmap's PDFium-owned buffer
                return [document[i].render(scale=scale).to_pil().copy() for i in range(count)]
            except pdfium.PdfiumError as exc:
                raise BillError("unreadable PDF page") from exc
            finally:
                document.close()

    return layer, rendered


def _enough_text(text: str) -> bool:
    return sum(not c.isspace() for c in text) >= PDF_MIN_TEXT_CHARS


def _text_layer(page) -> str:
    """The page's text runs laid out like OCR output (PDF y grows upwards, ours downwards)."""
    textpage = page.get_textpage()
    height = page.get_height()
    groups = []
    for k in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(k)
        text = textpage.get_text_bounded(left, bottom, right, top).strip()
        if not text:
            continue
        words = _split_run(text, left, height - top, right, height - bottom)
        groups.append(words)
    return layout_lines(groups)


def _split_run(text: str, left: float, top: float, right: float, bottom: float) -> list[Word]:
    """A text run as words with estimated positions (monospace estimate within the run)."""
    per_char = (right - left) / max(1, len(text))
    words, position = [], 0
    for chunk in text.split(" "):
        if chunk:
            x = left + position * per_char
            words.append(Word(chunk, x, top, x + len(chunk) * per_char, bottom))
        position += len(chunk) + 1
    return words


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

EXIT_READ, EXIT_NOT_READ = 0, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.bill",
        description="Read an electricity bill (image or PDF) and print its facts as JSON.",
    )
    parser.add_argument("file", type=Path, help="photo (JPEG, PNG, WebP, ...) or PDF of the bill")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="size limit in bytes")
    args = parser.parse_args(argv)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_NOT_READ
    try:
        reading = read_bill(data, max_bytes=args.max_bytes)
    except BillError as exc:
        print(f"error: {args.file}: {exc.reason}", file=sys.stderr)
        return EXIT_NOT_READ
    if not reading.is_bill:
        print(f"note: {args.file} does not look like an electricity bill", file=sys.stderr)
    print(json.dumps(reading.facts.as_dict(), ensure_ascii=False))
    return EXIT_READ


if __name__ == "__main__":
    sys.exit(main())
