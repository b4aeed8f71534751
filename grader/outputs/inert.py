"""Student text made inert for each output it lands in.

Everything a submission or its kernel produces (file names, answers, exception messages,
numbers turned into text) is hostile. Each output has one way in for such text:

- terminal: `terminal_text` gives a rich `Text` (never parsed as markup) whose control
  characters, escape sequences and bidi controls are shown as visible escapes (`\\x1b`);
  `visible` is the same for plain strings (pytest's terminal, logs).
- CSV: `csv_cell` keeps a spreadsheet from reading a cell as a formula (a leading `=`, `+`,
  `-`, `@`, tab, CR, LF, or their full-width forms, also after leading blanks): such a cell
  gets a leading `'`. `csv_uncell` undoes it exactly, so what the instructor's sheet is read
  back as equals what was written.
- HTML: `html.escape` (quotes included) in `html.py`; names additionally through `visible`.
"""

from __future__ import annotations

import re

from rich.markup import escape as _markup_escape
from rich.text import Text

# C0 and C1 controls (ESC starts ANSI/OSC sequences, 0x9b is a one-byte CSI), DEL, bidi
# embeddings, overrides, isolates and marks, zero-width characters, line and paragraph
# separators, the BOM, interlinear annotations, and lone surrogates (undecodable file names).
_INVISIBLE = ("\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
              "\ud800-\udfff")
_HIDDEN_RE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_HIDDEN_MULTILINE_RE = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]")  # keeps tab and newline


def _escape_char(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, *, multiline: bool = False) -> str:
    """`text` with every control, escape, bidi or invisible character written as a visible
    escape (`\\x1b`, `\\u202e`). Multi-line text keeps its newlines and tabs."""
    s = str(text)
    pattern = _HIDDEN_MULTILINE_RE if multiline else _HIDDEN_RE
    return pattern.sub(_escape_char, s)


def terminal_text(text: object, style: str = "", *, multiline: bool = False) -> Text:
    """Student text for rich: a Text object (no markup, no emoji codes), made `visible`."""
    return Text(visible(text, multiline=multiline), style=style)


def markup(text: object) -> str:
    """For the few rich places that take markup strings only: `visible`, then markup-escaped."""
    return _markup_escape(visible(text))


def label(name: str, source: str = "") -> str:
    """A submission as people know it: its output name, and the file or folder it was handed
    in as when that differs."""
    return name if not source or source == name else f"{name} ({source})"


_FORMULA_START = "=+-@\uff1d\uff0b\uff0d\uff20"  # and their full-width forms
_BLANKS = " \u00a0\u3000"


def _risky(cell: str) -> bool:
    if not cell:
        return False
    if cell[0] in "\t\r\n" or cell[0] == "'":
        return True
    return cell.lstrip(_BLANKS)[:1] in tuple(_FORMULA_START)


def csv_cell(text: object) -> str:
    """A CSV cell no spreadsheet runs as a formula. A cell that could start one (or that
    starts with the `'` this adds) gets a leading `'`; `csv_uncell` removes exactly that."""
    s = "" if text is None else str(text)
    return "'" + s if _risky(s) else s


def csv_uncell(cell: str) -> str:
    """The inverse of `csv_cell`: csv_uncell(csv_cell(x)) == x for every x."""
    return cell[1:] if cell.startswith("'") and _risky(cell[1:]) else cell
