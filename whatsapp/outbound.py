"""Pure helpers that turn Rasa bot messages into what Evolution API v2 can send.

Nothing here does I/O: the output channel combines these with ``EvolutionClient``.
"""
from __future__ import annotations

import mimetypes
import re
import unicodedata
from typing import Any, Mapping, Optional, Sequence
from urllib.parse import unquote, urlsplit

from sdr.text import fold_words

__all__ = [
    "DEFAULT_MAX_CHARS",
    "build_quoted",
    "match_button_reply",
    "media_file_name",
    "mediatype_for",
    "render_buttons",
    "split_text",
    "typing_delay_ms",
]

# Evolution does no chunking (P11) and WhatsApp's own limit is far higher; this keeps each bubble
# readable on a phone.
DEFAULT_MAX_CHARS = 4096

DEFAULT_PER_CHAR_MS = 30
DEFAULT_MIN_TYPING_MS = 500
DEFAULT_MAX_TYPING_MS = 4000

PARAGRAPH_SEPARATOR = "\n\n"
OPTIONS_SEPARATOR = "\n\n"
DEFAULT_FILE_STEM = "arquivo"
FALLBACK_EXTENSION = ".bin"
MAX_FILE_STEM_CHARS = 100

# Boundaries from the most to the least natural place to cut a long text.
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK = re.compile(r"\n\s*")
# A sentence ends at . ! ? or … (possibly followed by closing quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_WHITESPACE = re.compile(r"\s+")

# Characters that must never be separated from the character before them by a hard cut.
_ZERO_WIDTH_JOINER = "\u200d"

# "2", "2.", "2)", "#2", "opção 2", "opção nº 2", "número 2", "n 2" once folded.
_NUMBERED_REPLY = re.compile(r"^(?:(?:opcao|op|numero|num|no|n)\s*){0,3}(\d{1,3})$")
# "2. Não" / "2 - nao": a user who echoes the whole option line.
_NUMBERED_TITLE_REPLY = re.compile(r"^(\d{1,3})\s+(.+)$")

# Explicit table: ``mimetypes`` depends on the host's /etc/mime.types and differs between images.
_EXTENSION_BY_MIMETYPE: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "video/quicktime": ".mov",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/zip": ".zip",
    "application/json": ".json",
    "text/plain": ".txt",
    "text/csv": ".csv",
}
_EXTRA_EXTENSIONS_BY_MIMETYPE: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({".jpg", ".jpeg", ".jpe"}),
    "image/jpg": frozenset({".jpg", ".jpeg"}),
    "audio/ogg": frozenset({".ogg", ".oga", ".opus"}),
    "audio/mp4": frozenset({".m4a", ".mp4"}),
}
_MEDIATYPE_BY_MAJOR = {"image": "image", "video": "video", "audio": "audio"}
DOCUMENT_MEDIATYPE = "document"
_UNSAFE_FILE_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


# --------------------------------------------------------------------------- text splitting


def split_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Split ``text`` into chunks of at most ``max_chars`` characters, in order.

    Each cut goes at the latest paragraph break that fits, else the latest line break, else the
    latest sentence end, else the latest whitespace, else a hard cut. Because the latest
    boundary that fits is always chosen, small paragraphs stay together up to the limit.
    Chunks are stripped and never empty; a blank text gives ``[]``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    rest = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    chunks: list[str] = []
    while len(rest) > max_chars:
        cut = _best_cut(rest, max_chars)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _best_cut(text: str, max_chars: int) -> int:
    """Index at which to cut ``text`` (longer than ``max_chars``) so the head fits."""
    for boundary in (_PARAGRAPH_BREAK, _LINE_BREAK):
        cut = _last_start_within(boundary, text, max_chars)
        if cut:
            return cut
    cut = _last_end_within(_SENTENCE_END, text, max_chars)
    if cut:
        return cut
    cut = _last_start_within(_WHITESPACE, text, max_chars)
    if cut:
        return cut
    return _hard_cut(text, max_chars)


def _last_start_within(pattern: re.Pattern[str], text: str, limit: int) -> int:
    best = 0
    for match in pattern.finditer(text):
        if match.start() > limit:
            break
        best = match.start()
    return best


def _last_end_within(pattern: re.Pattern[str], text: str, limit: int) -> int:
    best = 0
    for match in pattern.finditer(text):
        if match.end() > limit:
            break
        best = match.end()
    return best


def _hard_cut(text: str, limit: int) -> int:
    # Backing off keeps accents, emoji modifiers and ZWJ sequences in one piece when possible.
    cut = limit
    while cut > 1 and _binds_to_previous(text, cut):
        cut -= 1
    return limit if _binds_to_previous(text, cut) else cut


def _binds_to_previous(text: str, index: int) -> bool:
    char = text[index]
    return (
        unicodedata.category(char).startswith("M")
        or char == _ZERO_WIDTH_JOINER
        or text[index - 1] == _ZERO_WIDTH_JOINER
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin-tone modifiers
    )


# --------------------------------------------------------------------------- typing


def typing_delay_ms(
    text: str,
    *,
    per_char_ms: int = DEFAULT_PER_CHAR_MS,
    min_ms: int = DEFAULT_MIN_TYPING_MS,
    max_ms: int = DEFAULT_MAX_TYPING_MS,
) -> int:
    """How long to show "typing…" before ``text``: grows with its length, within [min_ms, max_ms]."""
    if per_char_ms < 0 or min_ms < 0:
        raise ValueError("per_char_ms and min_ms must not be negative")
    if max_ms < min_ms:
        raise ValueError(f"max_ms ({max_ms}) must not be below min_ms ({min_ms})")
    return max(min_ms, min(max_ms, len(text.strip()) * per_char_ms))


# --------------------------------------------------------------------------- buttons


def render_buttons(text: str, buttons: Sequence[Mapping[str, Any]]) -> str:
    """Append Rasa buttons to ``text`` as numbered options ("1. Sim\\n2. Não").

    WhatsApp-Web clients do not reliably render Evolution's native buttons (§4.6), so numbered
    text is the portable form; ``match_button_reply`` maps the answer back.
    """
    options = "\n".join(f"{number}. {_button_title(button)}" for number, button in enumerate(buttons, 1))
    text = text.strip()
    if not options:
        return text
    return f"{text}{OPTIONS_SEPARATOR}{options}" if text else options


def match_button_reply(reply: str, buttons: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The payload of the button a free-text ``reply`` chooses, or None.

    Accepts the option number ("2", " 2 ", "2.", "opção 2") or the title, ignoring case,
    accents and punctuation ("nao" chooses "Não").
    """
    if not buttons:
        return None
    folded = fold_words(reply)
    if not folded:
        return None
    number_match = _NUMBERED_REPLY.match(folded)
    if number_match and 1 <= int(number_match.group(1)) <= len(buttons):
        return _payload_of(buttons[int(number_match.group(1)) - 1])
    for button in buttons:
        if fold_words(_button_title(button)) == folded:
            return _payload_of(button)
    echo_match = _NUMBERED_TITLE_REPLY.match(folded)
    if echo_match:
        number, title = int(echo_match.group(1)), echo_match.group(2)
        if 1 <= number <= len(buttons) and fold_words(_button_title(buttons[number - 1])) == title:
            return _payload_of(buttons[number - 1])
    return None


def _button_title(button: Mapping[str, Any]) -> str:
    return str(button.get("title") or button.get("payload") or "").strip()


def _payload_of(button: Mapping[str, Any]) -> Optional[str]:
    payload = button.get("payload")
    return str(payload) if payload is not None else None


# --------------------------------------------------------------------------- quoting


def build_quoted(
    message_id: str,
    *,
    remote_jid: Optional[str] = None,
    from_me: bool = False,
    text: Optional[str] = None,
) -> dict[str, Any]:
    """The ``quoted`` option of a send (§4.2) for the message with ``message_id``.

    Passing the quoted ``text`` matters: without ``message`` Evolution looks the id up in its
    database and silently sends unquoted when it is not there (P12).
    """
    key: dict[str, Any] = {"id": message_id, "fromMe": from_me}
    if remote_jid:
        key["remoteJid"] = remote_jid
    quoted: dict[str, Any] = {"key": key}
    if text:
        quoted["message"] = {"conversation": text}
    return quoted


# --------------------------------------------------------------------------- media


def mediatype_for(mimetype: Optional[str]) -> str:
    """Evolution's ``mediatype`` for a MIME type: "image", "video", "audio" or "document"."""
    major = _bare_mimetype(mimetype).partition("/")[0]
    return _MEDIATYPE_BY_MAJOR.get(major, DOCUMENT_MEDIATYPE)


def media_file_name(url: str, mimetype: Optional[str], default_stem: str = DEFAULT_FILE_STEM) -> str:
    """A ``fileName`` for sendMedia whose extension matches ``mimetype``.

    Evolution derives the MIME type from ``fileName``'s extension and ignores ``mimetype`` when a
    name is given; without an extension a document is sent as type "false" (§4.4). The URL's own
    name is kept when its extension fits; otherwise its stem (or ``default_stem``) gets the
    right extension. A base64 ``url`` has no name, so ``default_stem`` is used.
    """
    name = _name_from_url(url)
    stem, extension = _split_extension(name)
    stem = stem or _clean_stem(default_stem) or DEFAULT_FILE_STEM
    bare = _bare_mimetype(mimetype)
    if not bare:
        return f"{stem}{extension or FALLBACK_EXTENSION}"
    if extension and extension.lower() in _extensions_for(bare):
        return f"{stem}{extension}"
    return f"{stem}{_preferred_extension(bare)}"


def _bare_mimetype(mimetype: Optional[str]) -> str:
    return (mimetype or "").split(";", 1)[0].strip().lower()


def _name_from_url(url: str) -> str:
    if not re.match(r"^https?://", url.strip(), re.IGNORECASE):
        return ""
    path = urlsplit(url.strip()).path
    return unquote(path.rsplit("/", 1)[-1])


def _split_extension(name: str) -> tuple[str, str]:
    match = _EXTENSION.search(name)
    if match and match.start() > 0:
        return _clean_stem(name[: match.start()]), match.group(0)
    return _clean_stem(name), ""


def _clean_stem(stem: str) -> str:
    return _UNSAFE_FILE_CHARS.sub("_", stem).strip(" ._")[:MAX_FILE_STEM_CHARS]


def _extensions_for(mimetype: str) -> frozenset[str]:
    known = set(mimetypes.guess_all_extensions(mimetype, strict=False))
    if mimetype in _EXTENSION_BY_MIMETYPE:
        known.add(_EXTENSION_BY_MIMETYPE[mimetype])
    known.update(_EXTRA_EXTENSIONS_BY_MIMETYPE.get(mimetype, ()))
    return frozenset(known)


def _preferred_extension(mimetype: str) -> str:
    return (
        _EXTENSION_BY_MIMETYPE.get(mimetype)
        or mimetypes.guess_extension(mimetype, strict=False)
        or FALLBACK_EXTENSION
    )
