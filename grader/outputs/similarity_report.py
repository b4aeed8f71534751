"""similarity.csv and similarity.html: the pairs of submissions that share code or text.

Every piece of student text (names, code, answers) is made inert: CSV cells through
`visible` and `csv_cell` (as the gradebook's), HTML through `_h` (escaped, controls made
visible), highlighted passage by passage so an escape never splits a character span.
"""

from __future__ import annotations

import csv
import io

from grader.outputs.html import _h, _name, _page
from grader.outputs.inert import csv_cell, visible
from grader.outputs.similarity import MIN_MATCHED, MIN_SIZE, Comparison, Match, Pair, passages, question_counts

MEANING = ("A match is evidence for a person to review, never an automatic penalty: students may share "
           "code and text honestly (the course's own examples, a study group's discussion, a forced "
           "one-line answer), and nothing in this report changes a score.")
SCORE_IN_WORDS = (
    "How the score is made: for each exercise, the code cells and the text answers of each submission "
    "are cut into fingerprints: hashes of every {k} consecutive code tokens (winnowed: in each run of "
    "{window} hashes the smallest is kept; variable names count as one token, comments and layout not at "
    "all) and of every {n} consecutive words of text (case, punctuation and spacing ignored). Whatever "
    "the stub notebook already holds is left out, and so is whatever at least {limit} submissions share "
    "(the share of the batch given as common, {share:.0%}, and never fewer than five). An exercise's score "
    "is the share of the fingerprints of the shorter of the two submissions that the other one has too: "
    "100% means everything the shorter one wrote there, beyond the stub, also stands in the other. "
    "Fewer than {min_matched} shared fingerprints count as 0, and a side with fewer than {min_size} "
    "fingerprints counts as having {min_size} (a few shared lines of a short answer are not a whole copy). "
    "A pair's score is its highest exercise score. "
    "Highlighted below: every run of {k} code tokens or {n} words the two have in common, beyond the stub "
    "and what is common to the batch.")

CSV_COLUMNS = ["pair_score", "submission_a", "submission_b", "exercise", "kind", "exercise_score", "question",
               "a_shared", "a_fingerprints", "b_shared", "b_fingerprints"]


def _cell(text: str) -> str:
    """As the gradebook's cells: controls made visible, never a formula."""
    return csv_cell(visible(text))


def similarity_csv(comparison: Comparison) -> str:
    """One row per listed pair, exercise, kind and question of either side that shares anything."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for pair in comparison.listed:
        a, b = comparison.entries[pair.a], comparison.entries[pair.b]
        for m in pair.matches:
            qa, qb = question_counts(comparison, pair.a, pair.b, m), question_counts(comparison, pair.b, pair.a, m)
            for q in sorted(set(qa) | set(qb)):
                sa, na = qa.get(q, (0, 0))
                sb, nb = qb.get(q, (0, 0))
                if sa or sb:
                    out.writerow([f"{pair.score:.3f}", _cell(a.label), _cell(b.label), _cell(m.exercise),
                                  m.kind, f"{m.score:.3f}", _cell(q), sa, na, sb, nb])
    return buf.getvalue()


_CSS = """
mark { background: #ffe08a; } .side { vertical-align: top; width: 50%; }
.side pre { margin: .2em 0; } details { margin: .4em 0 1em; } .note { background: #fff4e5; padding: .6em; }
"""


def _highlighted(text: str, marks: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in marks:
        out += [_h(text[at:start]), f"<mark>{_h(text[start:end])}</mark>"]
        at = end
    out.append(_h(text[at:]))
    return "".join(out)


def _side(comparison: Comparison, side: int, match: Match, question: str,
          marks: dict[int, list[tuple[int, int]]]) -> str:
    parts = comparison.entries[side].parts.get(match.exercise, [])
    shown = [f"<pre>{_highlighted(p.text, marks[i])}</pre>" for i, p in enumerate(parts)
             if p.question == question and p.kind == match.kind and marks.get(i)]
    return "".join(shown) or "<p><em>nothing shared here</em></p>"


def _pair_section(comparison: Comparison, rank: int, pair: Pair) -> str:
    a, b = comparison.entries[pair.a], comparison.entries[pair.b]
    rows = "".join(f"<tr><td>{_h(m.exercise)}</td><td>{m.kind}</td><td>{m.score:.0%}</td>"
                   f"<td>{m.matched} of {m.size_a} / {m.size_b}</td></tr>" for m in pair.matches if m.score > 0)
    parts = [f"<h2 id=\"pair-{rank}\">{rank}. {_name(a.label)} and {_name(b.label)}: {pair.score:.0%}</h2>",
             "<table><tr><th>exercise</th><th>kind</th><th>score</th><th>shared fingerprints "
             f"(of {_name(a.label)} / of {_name(b.label)})</th></tr>{rows}</table>"]
    for m in pair.matches:
        if m.score <= 0:
            continue
        qa, qb = question_counts(comparison, pair.a, pair.b, m), question_counts(comparison, pair.b, pair.a, m)
        marks_a, marks_b = passages(comparison, pair, m)
        for q in sorted(set(qa) | set(qb)):
            sa, na = qa.get(q, (0, 0))
            sb, nb = qb.get(q, (0, 0))
            if not (sa or sb):
                continue
            parts.append(
                f"<details open><summary>{_h(q)} ({m.kind}): {sa} of {na} fingerprints of {_name(a.label)}, "
                f"{sb} of {nb} of {_name(b.label)} shared</summary><table><tr>"
                f"<th>{_name(a.label)}</th><th>{_name(b.label)}</th></tr><tr>"
                f"<td class=\"side\">{_side(comparison, pair.a, m, q, marks_a)}</td>"
                f"<td class=\"side\">{_side(comparison, pair.b, m, q, marks_b)}</td></tr></table></details>")
    return "\n".join(parts)


def similarity_page(comparison: Comparison, notes: list[str] = ()) -> str:
    s = comparison.settings
    listed = comparison.listed
    body = ["<h1>Similarity across submissions</h1>",
            f"<p class=\"note\"><strong>What a match means.</strong> {_h(MEANING)}</p>",
            f"<p>{len(comparison.entries)} submissions, {comparison.total_pairs} pairs; "
            f"{len(comparison.pairs)} pairs share any fingerprint; {len(listed)} pairs score "
            f"{s.threshold:.0%} or more and are listed below, best first.</p>",
            "<p>" + _h(SCORE_IN_WORDS.format(k=s.k, window=s.window, n=s.text_n, share=s.common_share,
                                              limit=s.common_limit(len(comparison.entries)),
                                              min_matched=MIN_MATCHED, min_size=MIN_SIZE)) + "</p>"]
    if not (comparison.base.code or comparison.base.text):
        body.append("<p><strong>No stub notebooks were found:</strong> code and text the stub hands out "
                    "count as shared here (only what many submissions share is left out).</p>")
    if comparison.common:
        left = ", ".join(f"{ex} {kind}: {len(n)}" for (ex, kind), n in sorted(comparison.common.items()))
        body.append(f"<p>Fingerprints left out as common to the batch: {_h(left)}.</p>")
    body += [f"<p>{_h(n)}</p>" for n in notes]
    if listed:
        body.append("<table><tr><th>#</th><th>submission</th><th>submission</th><th>score</th></tr>" + "".join(
            f"<tr><td><a href=\"#pair-{i}\">{i}</a></td><td>{_name(comparison.entries[p.a].label)}</td>"
            f"<td>{_name(comparison.entries[p.b].label)}</td><td>{p.score:.0%}</td></tr>"
            for i, p in enumerate(listed, 1)) + "</table>")
        body += [_pair_section(comparison, i, p) for i, p in enumerate(listed, 1)]
    else:
        body.append("<p>No pair reaches the threshold.</p>")
    return _page("Similarity across submissions", "\n".join(body), _CSS)

