"""Fingerprints of code and text, for finding copied passages (`similarity.py`).

Code: Python's own tokenizer; identifiers become one token class (`V`), so renaming a
variable changes nothing, but attribute names after a dot (`.fit`, `.coef_`: library API a
copier cannot rename) and keywords are kept; numbers become `N`, strings `S`; comments,
blank lines and indentation are dropped. Hashes of every k consecutive tokens are then
*winnowed* (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003): in every window of w consecutive hashes the smallest is kept.
That guarantees that any shared run of at least k + w - 1 tokens yields a shared fingerprint,
while a run shorter than k (noise) never does.

Text: words (letters and digits, Danish æøå included) in lower case, punctuation and
whitespace ignored; every n consecutive words are hashed (answers are short, so all are kept).

Each fingerprint keeps where it came from (a character span of its cell), so a report can
highlight the passage. Everything here works on plain strings held in memory: copydetect,
the other implementation of this algorithm on PyPI, reads files from disk and tokenizes with
pygments, while the grader already holds every cell as a string.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

CODE_K = 8  # tokens per k-gram: shorter shared runs are noise (`x = x + 1`)
CODE_WINDOW = 6  # so any shared run of 8 + 6 - 1 = 13 tokens is found
TEXT_N = 3  # words per n-gram


@dataclass(frozen=True)
class Fingerprint:
    hash: int
    start: int  # character span in the cell's text it came from
    end: int


_KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins))
# Python 3.12 splits f-strings into parts; their text is a string literal's, dropped like one.
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING,
         *(getattr(tokenize, n) for n in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n))}
_MAGIC = re.compile(r"^[ \t]*[%!?].*$", re.MULTILINE)  # IPython magics and shell lines: not Python


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def code_tokens(source: str) -> list[tuple[str, int, int]]:
    """The normalised tokens of a cell, each with its character span. Source the tokenizer
    cannot read to the end (a syntax error, an unclosed bracket) keeps the tokens before."""
    text = _MAGIC.sub(lambda m: " " * len(m.group()), source)  # blanked, so offsets stay
    starts = _line_starts(text)
    found: list[tuple[str, int, int]] = []
    after_dot = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, string = tok.type, tok.string
            if kind in _SKIP or not string.strip() and kind != tokenize.NEWLINE:
                continue
            if kind == tokenize.NAME:
                norm = string if after_dot or string in _KEEP_NAMES else "V"
            elif kind == tokenize.NUMBER:
                norm = "N"
            elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", None):
                norm = "S"
            elif kind == tokenize.NEWLINE:
                norm = ";"
            else:
                norm = string
            after_dot = string == "."
            (r0, c0), (r1, c1) = tok.start, tok.end
            if r0 - 1 >= len(starts) or r1 - 1 >= len(starts):
                break
            found.append((norm, starts[r0 - 1] + c0, starts[r1 - 1] + c1))
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # keep what was read: a half-written cell is still someone's code
    while found and found[-1][0] == ";":
        found.pop()
    return found


_WORD = re.compile(r"[^\W_]+")  # Unicode letters and digits: æ, ø, å are letters


def text_words(text: str) -> list[tuple[str, int, int]]:
    """The words of a text answer in lower case, each with its character span."""
    return [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(text)]


@functools.lru_cache(maxsize=2**16)
def _token_id(token: str) -> int:
    """A stable number for a token or word (str's own hash differs from process to process)."""
    data = token.encode("utf-8", "surrogatepass")  # lone surrogates are text too
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 2


def kgrams(tokens: list[tuple[str, int, int]], k: int) -> list[Fingerprint]:
    """A fingerprint for every k consecutive tokens (none for fewer than k tokens). A tuple of
    ints hashes the same in every process (only str hashing is salted), and fast."""
    ids = [_token_id(t[0]) for t in tokens]
    return [Fingerprint(hash(tuple(ids[i:i + k])), tokens[i][1], tokens[i + k - 1][2])
            for i in range(len(tokens) - k + 1)]


def winnow(grams: list[Fingerprint], window: int) -> list[Fingerprint]:
    """Robust winnowing: the smallest hash of every `window` consecutive k-grams (the
    rightmost of equal ones), each position once. Fewer k-grams than a window: their minimum."""
    if not grams:
        return []
    if len(grams) <= window:
        hashes = [g.hash for g in grams]
        return [grams[len(hashes) - 1 - hashes[::-1].index(min(hashes))]]
    hashes = [g.hash for g in grams]
    picked: list[Fingerprint] = []
    last = -1
    for i in range(len(hashes) - window + 1):
        win = hashes[i:i + window]
        pos = i + window - 1 - win[::-1].index(min(win))
        if pos != last:
            picked.append(grams[pos])
            last = pos
    return picked


def code_fingerprints(source: str, k: int = CODE_K, window: int = CODE_WINDOW) -> list[Fingerprint]:
    return winnow(kgrams(code_tokens(source), k), window)


def text_fingerprints(text: str, n: int = TEXT_N) -> list[Fingerprint]:
    return kgrams(text_words(text), n)


def base_hashes(code: list[str], text: list[str], *, k: int = CODE_K, n: int = TEXT_N) -> tuple[set[int], set[int]]:
    """Every k-gram (not only the winnowed ones) of a stub's code cells and of its text, so
    that whatever a student kept of the stub never counts, wherever winnowing picks."""
    return ({g.hash for s in code for g in kgrams(code_tokens(s), k)},
            {g.hash for s in text for g in kgrams(text_words(s), n)})
