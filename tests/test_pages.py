"""feedback.html and summary.html render in a real browser (headless Chromium), figures included."""

from __future__ import annotations

import base64
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from grader.outputs.html import feedback_page, summary_page
from grader.judge.outcomes import CheckResult, Outcome, QuestionResult, SubmissionResult

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def tiny_png(color=(200, 30, 30)) -> str:
    """A real 40x20 PNG, made here, to stand for a student's figure."""
    raw = b"".join(b"\x00" + bytes(color) * 40 for _ in range(20))

    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (40).to_bytes(4, "big") + (20).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00")
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


def result(name: str, omega_ok: bool) -> SubmissionResult:
    qa = QuestionResult("regularizers.qa", "The penalty Omega", 3, [
        CheckResult("Omega(w_a)", Outcome.PASSED if omega_ok else Outcome.WRONG,
                    "" if omega_ok else "Omega(w_a): expected 13, got 14; they differ by 1"),
        CheckResult("Omega(hidden large vector)", Outcome.PASSED if omega_ok else Outcome.WRONG,
                    "secret input 3e10", hidden=True)])
    qb = QuestionResult("perceptron.qb", "Decision boundary", 1, [CheckResult("figure", Outcome.PASSED)],
                        figures=[tiny_png()])
    qc = QuestionResult("perceptron.qc", "The XOR problem", 1, [CheckResult("text answer", Outcome.PASSED)],
                        answer_text="<script>alert('x')</script> A single perceptron draws one line.")
    return SubmissionResult(name, [qa, qb, qc], "sandboxed (bubblewrap)")


def render(page: Path, tmp_path: Path) -> tuple[str, Path]:
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    shot = tmp_path / f"{page.stem}.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri()],
                   capture_output=True, timeout=120)
    return dom.stdout, shot


def test_feedback_page_escapes_student_text_and_hides_hidden_inputs():
    html = feedback_page(result("group01", omega_ok=False))
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "secret input" not in html and "hidden check: wrong answer" in html
    assert "expected 13, got 14" in html


@needs_chromium
def test_pages_render_in_headless_chromium(tmp_path):
    results = [result("group01", omega_ok=True), result("group02", omega_ok=False)]
    feedback = tmp_path / "feedback.html"
    feedback.write_text(feedback_page(results[1]))
    summary = tmp_path / "summary.html"
    summary.write_text(summary_page(results, {"group01": 12.0, "group02": 30.5}))

    dom, shot = render(feedback, tmp_path)
    assert "Feedback: group02" in dom and "expected 13, got 14" in dom
    assert 'alt="figure of perceptron.qb"' in dom
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000

    dom, shot = render(summary, tmp_path)
    assert "2 submissions" in dom and "Commonest failures" in dom and "group02" in dom
    assert shot.is_file() and shot.stat().st_size > 5000
