"""Which submissions share code or text, per exercise: evidence for a person to review.

Each submission is fingerprinted once (`fingerprints.py`): its code cells and its text
answers, per exercise. Left out: whatever the stub handed out (every k-gram of the stub's
cells, as MOSS leaves out a base file) and whatever many submissions share (at least
`common_share` of the batch, and at least COMMON_AT_LEAST submissions: the line the
exercise asks everyone to write). An inverted index (fingerprint -> submissions) then gives
the pairs that share anything, and only those pairs are compared; never all pairs in full.

A pair's score for one exercise and kind (code or text) is the share of the smaller side's
fingerprints that the other side has too (1.0: everything the shorter one wrote there is also
in the other), counted only from MIN_MATCHED shared fingerprints up, and the shorter side
counted as having at least MIN_SIZE. The pair's score is its
highest: one copied exercise is enough to look at. Nothing here changes a score.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from grader.judge.outcomes import SubmissionResult
from grader.outputs.fingerprints import (CODE_K, CODE_WINDOW, TEXT_N, Fingerprint, base_hashes, code_fingerprints,
                                         code_tokens, kgrams, text_fingerprints, text_words)
from grader.outputs.inert import label

KINDS = ("code", "text")
MIN_MATCHED = 3  # shared fingerprints below this are chance, not a passage
# The shorter side counts as having at least this many fingerprints, so that three forced
# lines left over of a short answer do not make a "full copy" (measured on generated batches).
MIN_SIZE = 10
COMMON_AT_LEAST = 5  # submissions: in a small batch, two or three alike are never "common"


@dataclass(frozen=True)
class SimilaritySettings:
    threshold: float = 0.5  # a pair is listed from this score up
    common_share: float = 0.1  # fingerprints in at least this share of the batch are left out
    k: int = CODE_K
    window: int = CODE_WINDOW
    text_n: int = TEXT_N

    def common_limit(self, batch: int) -> int:
        """How many submissions must share a fingerprint for it to be common."""
        return max(COMMON_AT_LEAST, math.ceil(self.common_share * batch))


@dataclass(frozen=True)
class Part:
    """One code cell or one text answer of a submission, as plain text."""

    question: str
    kind: str  # "code" or "text"
    text: str


@dataclass
class Entry:
    """A submission as the comparison sees it: its parts, by exercise."""

    name: str
    label: str
    parts: dict[str, list[Part]]


def exercise_of(question_id: str) -> str:
    return question_id.split(".", 1)[0]


def entry_of(result: SubmissionResult) -> Entry:
    parts: dict[str, list[Part]] = defaultdict(list)
    for q in result.questions:
        code = q.code if isinstance(q.code, list) else []  # a grading.json is read back: trust no shape
        parts[exercise_of(q.id)] += [Part(q.id, "code", src) for src in code if isinstance(src, str)]
        if isinstance(q.answer_text, str) and q.answer_text.strip():
            parts[exercise_of(q.id)].append(Part(q.id, "text", q.answer_text))
    return Entry(result.name, label(result.name, result.source), dict(parts))


@dataclass
class Base:
    """The stub's k-gram hashes per exercise, left out of every comparison."""

    code: dict[str, set[int]] = field(default_factory=dict)
    text: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, stubs: dict[str, tuple[list[str], list[str]]], settings: SimilaritySettings) -> "Base":
        """`stubs`: exercise -> (its stub's code cells, its stub's markdown cells)."""
        base = cls()
        for exercise, (code, text) in stubs.items():
            base.code[exercise], base.text[exercise] = base_hashes(code, text, k=settings.k, n=settings.text_n)
        return base

    def hashes(self, exercise: str, kind: str) -> set[int]:
        return (self.code if kind == "code" else self.text).get(exercise, set())


Key = tuple[str, str]  # (exercise, kind)
# Per submission and key: hash -> every (part index, start, end) it was found at.
Prints = dict[Key, dict[int, list[tuple[int, int, int]]]]


def fingerprint(entry: Entry, base: Base, settings: SimilaritySettings) -> Prints:
    prints: Prints = {}
    for exercise, parts in entry.parts.items():
        for index, part in enumerate(parts):
            found = (code_fingerprints(part.text, settings.k, settings.window) if part.kind == "code"
                     else text_fingerprints(part.text, settings.text_n))
            left_out = base.hashes(exercise, part.kind)
            where = prints.setdefault((exercise, part.kind), {})
            for fp in found:
                if fp.hash not in left_out:
                    where.setdefault(fp.hash, []).append((index, fp.start, fp.end))
    return prints


@dataclass
class Match:
    """What two submissions share in one exercise, of one kind."""

    exercise: str
    kind: str
    matched: int  # fingerprints both have
    size_a: int  # fingerprints each has (of its own: neither stub nor common)
    size_b: int

    @property
    def score(self) -> float:
        if self.matched < MIN_MATCHED:
            return 0.0
        return min(1.0, self.matched / max(MIN_SIZE, min(self.size_a, self.size_b)))


@dataclass
class Pair:
    a: int  # indices into Comparison.entries
    b: int
    matches: list[Match]

    @property
    def score(self) -> float:
        return max((m.score for m in self.matches), default=0.0)

    @property
    def matched(self) -> int:
        return sum(m.matched for m in self.matches)


@dataclass
class Comparison:
    entries: list[Entry]
    prints: list[Prints]
    pairs: list[Pair]  # every pair sharing a fingerprint, best first
    settings: SimilaritySettings
    common: dict[Key, set[int]]  # fingerprints left out as common, per exercise and kind
    base: Base

    @property
    def listed(self) -> list[Pair]:
        return [p for p in self.pairs if p.score > 0 and p.score >= self.settings.threshold]

    @property
    def total_pairs(self) -> int:
        return len(self.entries) * (len(self.entries) - 1) // 2


def compare(entries: list[Entry], base: Base | None = None,
            settings: SimilaritySettings = SimilaritySettings()) -> Comparison:
    base = base or Base()
    prints = [fingerprint(e, base, settings) for e in entries]
    index: dict[Key, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(prints):
        for key, hashes in p.items():
            for h in hashes:
                index[key][h].append(i)
    limit = settings.common_limit(len(entries))
    common: dict[Key, set[int]] = defaultdict(set)
    shared: dict[tuple[int, int, Key], int] = defaultdict(int)  # counts only: most pairs are never shown
    for key, postings in index.items():
        for h, who in postings.items():
            if len(who) >= limit:
                common[key].add(h)
                for i in who:
                    del prints[i][key][h]
            elif len(who) > 1:
                for a, b in combinations(who, 2):
                    shared[(a, b, key)] += 1
    by_pair: dict[tuple[int, int], list[Match]] = defaultdict(list)
    for (a, b, (ex, kind)), n in shared.items():
        by_pair[(a, b)].append(Match(ex, kind, n, len(prints[a][(ex, kind)]), len(prints[b][(ex, kind)])))
    pairs = []
    for (a, b), matches in by_pair.items():
        matches.sort(key=lambda m: (-m.score, -m.matched, m.exercise, m.kind))
        pairs.append(Pair(a, b, matches))
    pairs.sort(key=lambda p: (-p.score, -p.matched, entries[p.a].name, entries[p.b].name))
    return Comparison(entries, prints, pairs, settings, dict(common), base)


def _all_kgrams(part: Part, settings: SimilaritySettings) -> list[Fingerprint]:
    if part.kind == "code":
        return kgrams(code_tokens(part.text), settings.k)
    return kgrams(text_words(part.text), settings.text_n)


def passages(comparison: Comparison, pair: Pair, match: Match) -> tuple[dict[int, list[tuple[int, int]]], ...]:
    """For each side of a pair, per part index, the character spans of every k-gram (not only
    the winnowed ones, so whole passages show) that both sides have in this exercise and kind,
    less the stub's and the batch's common ones. Only for pairs shown: it re-reads their parts."""
    key = (match.exercise, match.kind)
    left_out = comparison.base.hashes(*key) | comparison.common.get(key, set())
    grams = []
    for side in (pair.a, pair.b):
        parts = comparison.entries[side].parts.get(match.exercise, [])
        grams.append([(i, g) for i, p in enumerate(parts) if p.kind == match.kind
                      for g in _all_kgrams(p, comparison.settings)])
    both = {g.hash for _, g in grams[0]} & {g.hash for _, g in grams[1]} - left_out
    result = []
    for side_grams in grams:
        found: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for i, g in side_grams:
            if g.hash in both:
                found[i].append((g.start, g.end))
        result.append({i: _merged(s) for i, s in found.items()})
    return tuple(result)


def _merged(spans_: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans_):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def question_counts(comparison: Comparison, side: int, other: int, match: Match) -> dict[str, tuple[int, int]]:
    """Per question of one side: (its fingerprints shared with the other, its fingerprints)."""
    parts = comparison.entries[side].parts.get(match.exercise, [])
    key = (match.exercise, match.kind)
    theirs = comparison.prints[other].get(key, {})
    counts: dict[str, list[int]] = {}
    for h, places in comparison.prints[side].get(key, {}).items():
        for q in {parts[index].question for index, _, _ in places}:
            c = counts.setdefault(q, [0, 0])
            c[1] += 1
            c[0] += h in theirs
    return {q: (c[0], c[1]) for q, c in sorted(counts.items())}
