"""The hostile corpus: one builder per case, each named by the outcome the grader must give.

Every builder writes a submission (a notebook or a zip) into a folder and returns its path.
Notebooks are the reference solution of a small exercise (regularizers: Omega is *called*
by the grader on vectors the student never saw) with one cell replaced or one cell added,
so whatever a case earns, it earns with the rest of the notebook correct. `CASES` maps each
file name to (builder, the most points regularizers.qa may get, what its outcome must say).
The cases at the end (issue 11, part 4) check that nothing a student sends becomes a grader
error: a huge int, numpy scalar types, malformed raw kernel messages, a forged .npy header.
The cases already covered elsewhere (loops, sleep, input, memory/fork bombs, floods, exits,
network, reading secrets, rigged float, malformed JSON, zip traversal) are in
test_sandbox.py, test_grading.py, test_plaindata.py and test_batch.py; links and special files
in a folder submission in test_hostile_files.py.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
SOLUTION = REPO / "solutions" / "journal2" / "regularizers.ipynb"
STUB = REPO / "assignments" / "journal2" / "regularizers.ipynb"
ANSWER_MIME = "application/vnd.itmal.answer+json"

# Omega including the bias: the wrong answer the tampering cases try to pass off as right.
WRONG_OMEGA = "import numpy as np\n\ndef Omega(w):\n    return float(np.sum(np.asarray(w, dtype=float) ** 2))\n"


def _solution():
    return nbformat.read(SOLUTION, as_version=4)


def _qa_index(nb) -> int:
    return max(i for i, c in enumerate(nb.cells) if "regularizers.qa" in c.get("metadata", {}).get("tags", []))


def _with_omega(source: str, extra: str = ""):
    """The solution with the Omega cell replaced by `source`, then `extra` in a cell after it."""
    nb = _solution()
    i = _qa_index(nb)
    nb.cells[i].source = source
    if extra:
        cell = nbformat.v4.new_code_cell(extra)
        cell.metadata["tags"] = ["regularizers.qa"]
        nb.cells.insert(i + 1, cell)
    return nb


def _write(nb, folder: Path, name: str) -> Path:
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


# --- lying values -------------------------------------------------------------------------

NDARRAY_SUBCLASS = WRONG_OMEGA + '''
class Rigged(np.ndarray):
    """Wrong numbers that claim to equal anything they are compared with."""
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool) if np.ndim(other) else True
    def __ne__(self, other): return not self.__eq__(other)
    def __sub__(self, other): return np.zeros_like(np.asarray(other, dtype=float))
    __rsub__ = __sub__
    def __abs__(self): return np.zeros(self.shape)
    def __float__(self): return 0.0
    def __repr__(self): return "exactly right"

_wrong_omega = Omega
def Omega(w):
    return np.asarray(_wrong_omega(w)).view(Rigged)
'''

RIGGED_ARRAY_PROTOCOL = WRONG_OMEGA + '''
class Liar:
    """Claims to be the right answer to every comparison; its __array__ gives the wrong one."""
    def __init__(self, w): self.w = w
    def __array__(self, dtype=None, copy=None):
        return np.array(_wrong_omega(self.w))
    def __eq__(self, other): return True
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __abs__(self): return 0.0
    def __float__(self): return 0.0
    def __lt__(self, other): return True
    __le__ = __lt__

_wrong_omega = Omega
def Omega(w):
    return Liar(w)
'''

BILLION_ELEMENTS = "import numpy as np\n\ndef Omega(w):\n    return np.broadcast_to(np.float64(1.0), (10**9,))\n"

GIGABYTE_STRING = "def Omega(w):\n    return '1' * 10**9\n"


def ndarray_subclass_with_rigged_eq_is_wrong_answer(folder: Path) -> Path:
    return _write(_with_omega(NDARRAY_SUBCLASS), folder, "ndarray-subclass-with-rigged-eq-is-wrong-answer")


def rigged_array_protocol_is_judged_by_its_array_wrong_answer(folder: Path) -> Path:
    return _write(_with_omega(RIGGED_ARRAY_PROTOCOL), folder, "rigged-array-protocol-is-wrong-answer")


def billion_element_array_is_not_a_usable_answer(folder: Path) -> Path:
    return _write(_with_omega(BILLION_ELEMENTS), folder, "billion-element-array-is-not-a-usable-answer")


def gigabyte_string_is_not_a_usable_answer(folder: Path) -> Path:
    return _write(_with_omega(GIGABYTE_STRING), folder, "gigabyte-string-is-not-a-usable-answer")


# --- tampering ----------------------------------------------------------------------------

PATCH_NUMPY_AND_SKLEARN = '''
import numpy as np, numpy.testing, sklearn.metrics
# Make every comparison in this kernel say "equal" and every score perfect.
np.isclose = lambda *a, **k: np.True_
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.linalg.norm = lambda *a, **k: 0.0
sklearn.metrics.accuracy_score = lambda *a, **k: 1.0
sklearn.metrics.mean_squared_error = lambda *a, **k: 0.0
'''

# Given vectors are visible in the notebook, so their right answers are known to a student.
_KNOWN = {"Omega(w_a)": 13.0, "Omega(w_b)": 9e20, "Omega(w_c)": 0.13}

PRE_EMIT_FAKE_ANSWERS = f'''
from IPython.display import publish_display_data
import threading, time
KNOWN = {_KNOWN!r}
def _fake(key, value):
    return {{"{ANSWER_MIME}": {{"status": "ok", "kind": "json", "value": value, "key": key, "nonce": ""}}}}
# 1. answer messages sent by a student cell, before the grader asks
for key, v in KNOWN.items():
    publish_display_data(_fake(key, v))
# 2. a thread that keeps sending them while the grader's requests run
def _spray():
    while True:
        for key, v in KNOWN.items():
            publish_display_data(_fake(key, v))
        time.sleep(0.005)
threading.Thread(target=_spray, daemon=True).start()
# 3. text imitating the grader's report
print("regularizers.qa  passed  3/3\\nregularizers: 6/6 points (full marks)\\nresults.json written")
'''

REPLACE_FETCH_HELPERS = f'''
import IPython.display, json
KNOWN = {_KNOWN!r}
_real_publish = IPython.display.publish_display_data
def _forging_publish(data, *a, **k):
    # The grader's kernel-side fetch code publishes through this: rewrite its answers.
    ans = data.get("{ANSWER_MIME}")
    if isinstance(ans, dict):
        ans.update(status="ok", kind="json", value=KNOWN.get(ans.get("key"), 13.0))
    return _real_publish(data, *a, **k)
IPython.display.publish_display_data = _forging_publish
# and make json/eval lie too, in case the grader leans on them in the kernel
_real_loads = json.loads
'''

FAKE_RESULTS_FILES = '''
import json, os
fake = {"name": "me", "score": 6, "max_score": 6, "questions": [{"id": "regularizers.qa", "points": 3,
        "max_points": 3, "outcome": "passed"}]}
for target in ["results.json", "/tmp/results.json", os.path.expanduser("~/results.json"), "%(out)s/results.json"]:
    try:
        with open(target, "w") as f:
            json.dump(fake, f)
    except OSError as exc:
        print("could not write", target, exc)
print("regularizers.qa  passed  3/3")
'''


def patched_numpy_and_sklearn_is_still_wrong_answer(folder: Path) -> Path:
    return _write(_with_omega(WRONG_OMEGA, PATCH_NUMPY_AND_SKLEARN), folder,
                  "patched-numpy-and-sklearn-is-still-wrong-answer")


def pre_emitted_and_sprayed_fake_answers_are_ignored_wrong_answer(folder: Path) -> Path:
    return _write(_with_omega(WRONG_OMEGA, PRE_EMIT_FAKE_ANSWERS), folder,
                  "fake-answer-messages-are-ignored-wrong-answer")


def replaced_fetch_helper_fails_hidden_checks(folder: Path) -> Path:
    return _write(_with_omega(WRONG_OMEGA, REPLACE_FETCH_HELPERS), folder,
                  "replaced-fetch-helper-fails-hidden-checks")


def fake_results_json_changes_nothing_stub_scores_zero(folder: Path, out: Path | None = None) -> Path:
    nb = nbformat.read(STUB, as_version=4)
    i = _qa_index(nb)
    cell = nbformat.v4.new_code_cell(FAKE_RESULTS_FILES % {"out": str(out or folder)})
    cell.metadata["tags"] = ["regularizers.qa"]
    nb.cells.insert(i + 1, cell)
    return _write(nb, folder, "fake-results-json-stub-scores-zero")


# --- files and resources ------------------------------------------------------------------

DELETE_NOTEBOOK = '''
import os, glob
for target in ["submission.ipynb", %(original)r, *glob.glob("/home/*/*.ipynb"), *glob.glob("*.ipynb")]:
    try:
        os.remove(target)
        print("removed", target)
    except OSError as exc:
        print("could not remove", target, type(exc).__name__)
'''


def deleting_the_input_notebook_is_harmless_full_marks(folder: Path) -> Path:
    path = folder / "deleting-the-input-notebook-is-harmless-full-marks.ipynb"
    nb = _solution()
    cell = nbformat.v4.new_code_cell(DELETE_NOTEBOOK % {"original": str(path)})
    nb.cells.insert(1, cell)
    nbformat.write(nb, path)
    return path


THREAD_BOMB = '''
import threading, time
started = 0
try:
    for _ in range(100_000):
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
        started += 1
finally:
    print("threads started:", started)
'''

FILL_THE_DISK = '''
import errno, os
written, failure = 0, None
chunk = b"x" * 2**20
try:
    for n in range(100_000):
        with open(f"fill-{n}.bin", "wb") as f:
            for _ in range(64):
                f.write(chunk)
                written += len(chunk)
except OSError as exc:
    failure = exc.errno
print("written MB:", written // 2**20, "errno:", failure)
'''


def thread_bomb_fails_its_cell_full_marks_elsewhere(folder: Path) -> Path:
    nb = _solution()
    nb.cells.insert(1, nbformat.v4.new_code_cell(THREAD_BOMB))
    return _write(nb, folder, "thread-bomb-fails-its-cell-full-marks-elsewhere")


def filling_the_scratch_disk_fails_its_cell_full_marks_elsewhere(folder: Path) -> Path:
    nb = _solution()
    nb.cells.insert(1, nbformat.v4.new_code_cell(FILL_THE_DISK))
    return _write(nb, folder, "filling-the-scratch-disk-fails-its-cell-full-marks-elsewhere")


# --- malformed notebooks --------------------------------------------------------------------

def nbformat_v3_is_upgraded_full_marks(folder: Path) -> Path:
    path = folder / "regularizers-nbformat-v3-is-upgraded-full-marks.ipynb"
    nbformat.write(nbformat.convert(_solution(), 3), path)
    return path


def duplicate_cell_ids_are_renumbered_full_marks(folder: Path) -> Path:
    nb = _solution()
    for cell in nb.cells:
        cell["id"] = "same-id"
    path = folder / "regularizers-duplicate-cell-ids-full-marks.ipynb"
    path.write_text(json.dumps(nb))
    return path


def huge_notebook_is_unreadable(folder: Path, size: int = 200 * 2**20) -> Path:
    """A 200 MB notebook: valid JSON, one code cell whose output is 200 MB of text. Written
    sparse-free but cheaply (one big string); the grader must refuse it by its size."""
    nb = _solution()
    head = json.dumps(nb)[:-1]  # without the closing brace
    path = folder / "regularizers-200mb-notebook-is-unreadable.ipynb"
    with open(path, "w") as f:
        f.write(head + ', "padding": "')
        block = "x" * 2**20
        for _ in range(size // 2**20):
            f.write(block)
        f.write('"}')
    return path


def another_assignments_notebook_is_ignored(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["itmal"] = {"exercise": "svm_kernels", "journal": 3}
    nb.cells = [nbformat.v4.new_markdown_cell("# Journal 3: SVM kernels\n\n### Qa) The RBF kernel"),
                nbformat.v4.new_code_cell("def rbf(x, y, gamma=1.0):\n    return 1.0\n")]
    for cell in nb.cells:
        cell.metadata["tags"] = ["svm_kernels.qa"]
    return _write(nb, folder, "journal3-svm-kernels-is-ignored")


# --- zips -----------------------------------------------------------------------------------

def zip_with_symlink_out_is_rejected(folder: Path) -> Path:
    path = folder / "zip-with-symlink-out-is-rejected.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(SOLUTION, "regularizers.ipynb")
        link = zipfile.ZipInfo("solutions-link")
        link.external_attr = (0o120777 << 16)  # a symbolic link ...
        zf.writestr(link, str(REPO / "solutions"))  # ... pointing out of the zip
    return path


def zip_bomb_is_rejected(folder: Path) -> Path:
    path = folder / "zip-bomb-is-rejected.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.write(SOLUTION, "regularizers.ipynb")
        with zf.open("padding.bin", "w", force_zip64=True) as f:  # 1 GB of zeros in ~1 MB
            block = bytes(2**24)
            for _ in range(64):
                f.write(block)
    return path


def zip_bomb_lying_header_is_rejected(folder: Path) -> Path:
    """A zip whose header declares a small size for an entry that inflates to much more."""
    path = folder / "zip-bomb-lying-header-is-rejected.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(SOLUTION, "regularizers.ipynb")
        zf.writestr("data.bin", bytes(50 * 2**20))
    raw = bytearray(path.read_bytes())
    # rewrite the declared uncompressed size of data.bin (local and central headers) to 1 KB
    name = b"data.bin"
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (i := raw.find(sig, start)) >= 0:
            name_len = int.from_bytes(raw[i + (26 if sig == b"PK\x03\x04" else 28): i + (28 if sig == b"PK\x03\x04" else 30)], "little")
            fname_at = i + (30 if sig == b"PK\x03\x04" else 46)
            if raw[fname_at: fname_at + name_len] == name:
                raw[i + offset: i + offset + 4] = (1024).to_bytes(4, "little")
            start = i + 4
    path.write_bytes(bytes(raw))
    return path


# --- the hostile batch ----------------------------------------------------------------------

def _cell_cases(port: int, canary: Path) -> dict[str, str]:
    """Hostile cells, each put before Omega in a notebook whose Omega is wrong: whatever the
    cell does, regularizers.qa must score 0 (and the text questions their earned points)."""
    secrets = [REPO / "solutions" / "journal2" / "regularizers.ipynb", REPO / "hidden" / "journal2" / "regularizers.py",
               canary / "other-submission.ipynb", "/etc/shadow"]
    return {
        "sigint-ignoring-loop-times-out": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n",
        "sleep-forever-times-out": "import time\ntime.sleep(10**6)\n",
        "input-fails": "name = input('your name? ')\n",
        "memory-bomb-fails": "import numpy as np\nx = np.ones(int(8e9 // 8))\n",
        "fork-bomb-fails": ("import os, time\nfor _ in range(5000):\n    if os.fork() == 0:\n"
                            "        time.sleep(300)\n        os._exit(0)\n"),
        "thread-bomb-fails": THREAD_BOMB,
        "print-flood-truncated": "line = 'x' * 1023\nfor _ in range(100_000):\n    print(line)\n",
        "single-huge-message-cut-off": "s = 'x' * (200 * 2**20)\nprint(s)\ndel s\n",
        "image-flood-truncated": ("import base64\nfrom IPython.display import display, Image\n"
                                  "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')\n"
                                  "for _ in range(100):\n    display(Image(data=png + bytes(2**20)))\n"),
        "os-exit-kills-kernel": "import os\nos._exit(0)\n",
        "sys-exit-fails": "import sys\nsys.exit()\n",
        "segfault-kills-kernel": "import ctypes\nctypes.string_at(0)\n",
        "kill-parent-kills-kernel": "import os\nos.kill(os.getppid(), 9)\n",
        "network-blocked": (f"import socket, urllib.request\nfor f in (lambda: socket.create_connection(('127.0.0.1', {port}), timeout=2),\n"
                            f"          lambda: socket.getaddrinfo('pypi.org', 443),\n"
                            f"          lambda: urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)):\n"
                            "    try:\n        f()\n    except OSError as exc:\n        print('blocked', exc)\n"),
        "read-secrets-blocked": (f"for p in {[str(s) for s in secrets]!r}:\n    try:\n        open(p).read()\n"
                                 "    except OSError as exc:\n        print('blocked', p, type(exc).__name__)\n"
                                 "import os\nprint(os.listdir(os.path.dirname(os.environ.get('ITMAL_MNIST_DIR', '/')) or '/'))\n"),
        "write-outside-blocked": (f"import os, shutil\nfor p in [{str(canary / 'planted.txt')!r}, {str(REPO / 'planted.txt')!r}, '/usr/planted']:\n"
                                  "    try:\n        open(p, 'w').write('x')\n    except OSError as exc:\n        print('blocked', p)\n"
                                  f"for p in [{str(canary / 'other-submission.ipynb')!r}, {str(SOLUTION)!r}]:\n"
                                  "    try:\n        os.remove(p)\n    except OSError as exc:\n        print('blocked', p)\n"),
        "delete-input-notebook-harmless": DELETE_NOTEBOOK % {"original": "%(original)s"},
        "fill-scratch-disk-fails": FILL_THE_DISK,
        "patch-numpy-sklearn-no-effect": PATCH_NUMPY_AND_SKLEARN,
        "fake-answers-ignored": PRE_EMIT_FAKE_ANSWERS,
        "fake-results-json-ignored": FAKE_RESULTS_FILES,
        "nan-and-inf-wrong": "def Omega(w):\n    return float('nan') if len(w) % 2 else float('inf')\n",
    }


def hostile_batch(folder: Path, *, port: int, canary: Path, out: Path) -> dict[str, tuple[Path, float]]:
    """Every hostile case as a submission: name -> (path, the most points regularizers.qa may
    get). The cell cases run with a wrong Omega, so any point for qa would be unearned."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, float]] = {}
    for name, cell in _cell_cases(port, canary).items():
        path = folder / f"{name}.ipynb"
        if "%(out)s" in cell:
            cell = cell % {"out": str(out)}
        if "%(original)s" in cell:
            cell = cell % {"original": str(path)}
        nb = _with_omega(WRONG_OMEGA if name != "nan-and-inf-wrong" else cell)
        if name != "nan-and-inf-wrong":
            nb.cells.insert(1, nbformat.v4.new_code_cell(cell))
        nb.metadata["itmal"] = {"exercise": "regularizers"}
        nbformat.write(nb, path)
        cases[name] = (path, 0.0)
    for build in (ndarray_subclass_with_rigged_eq_is_wrong_answer,
                  rigged_array_protocol_is_judged_by_its_array_wrong_answer,
                  billion_element_array_is_not_a_usable_answer, gigabyte_string_is_not_a_usable_answer,
                  patched_numpy_and_sklearn_is_still_wrong_answer,
                  pre_emitted_and_sprayed_fake_answers_are_ignored_wrong_answer):
        path = build(folder)
        cases[path.stem] = (path, 0.0)
    path = replaced_fetch_helper_fails_hidden_checks(folder)
    cases[path.stem] = (path, 1.5)  # the given vectors' known answers can be forged, as hard-coded
    path = fake_results_json_changes_nothing_stub_scores_zero(folder, out)
    cases[path.stem] = (path, 0.0)
    for build in (huge_notebook_is_unreadable, another_assignments_notebook_is_ignored,
                  zip_with_symlink_out_is_rejected, zip_bomb_is_rejected, zip_bomb_lying_header_is_rejected):
        path = build(folder)
        cases[path.stem] = (path, 0.0)
    malformed = {
        "invalid-json": b"{ not json",
        "binary-garbage": bytes(range(256)) * 64,
        "non-utf8": '{"cells": [], "x": "caf\xe9"}'.encode("latin-1"),
        "no-cells": b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
        "cells-missing-fields": b'{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    }
    for name, data in malformed.items():
        path = folder / f"regularizers-{name}-is-unreadable.ipynb"
        path.write_bytes(data)
        cases[path.stem] = (path, 0.0)
    path = folder / "zip-traversal-is-rejected.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../../escaped.ipynb", "{}")
    cases[path.stem] = (path, 0.0)
    return cases


# --- nothing a student sends becomes a grader error (issue 11, part 4) ------------------------
# A grader error is not final and is re-graded for ever, so each of these must end as a student
# outcome with a reason: the Omega answers are wrong or "not a usable answer", never an error.

HUGE_INT = "def Omega(w):\n    return 10**400\n"

# The right Omega, returned as the numpy types a careless student gets: the numbers they are.
NUMPY_SCALAR_TYPES = '''
import numpy as np
_right_omega = Omega
_calls = [0]
def Omega(w):
    _calls[0] += 1
    # a (1, 1) matrix is not among them: the shape of an answer is part of it (issue 12)
    kinds = [np.longdouble, np.float64, lambda x: np.array(x), lambda x: np.array([x])[0]]
    return kinds[_calls[0] % len(kinds)](_right_omega(w))
'''

# The student owns the kernel and its connection key: it can put any bytes on the output
# channel, signed or not, in reply to the grader's own request.
RAW_MESSAGES = r'''
import json
def _send_raw_messages():
    k = get_ipython().kernel
    s = k.session
    parent = json.dumps(k.get_parent("shell").get("header", {}), default=str).encode()
    def header(msg_type, **extra):
        return json.dumps({**s.msg_header(msg_type), **extra}, default=str).encode()
    def send(h, c, p=None, md=b"{}", extra=(), sign=True, frames=None):
        parts = frames if frames is not None else [h, parent if p is None else p, md, c]
        sig = s.sign(parts[:4]) if sign else b"0" * 64
        k.iopub_socket.send_multipart([b"raw", b"<IDS|MSG>", sig, *parts, *extra])
    deep = b"[" * 100000 + b"]" * 100000
    send(header("display_data"), b'{"data": {"text/plain": ' + deep + b'}, "metadata": {}}')
    send(header("display_data"), b'{"data": {"x": [' + b"0," * 3000000 + b'0]}, "metadata": {}}')
    send(header("display_data"), b'{"data": {"x": ' + b"9" * 5000 + b'}, "metadata": {}}')
    send(header("stream"), b"[1, 2]")
    send(header("stream"), b'{"name": "stdout", "text": "\xff\xfe"}')
    send(json.dumps({"msg_id": "x"}).encode(), b"{}")
    send(b"not json", b"{}")
    send(header("stream"), b'{"name": "stdout", "text": "x"}', p=b"[]")
    send(header("stream"), b'{"name": "stdout", "text": "x"}', sign=False)
    send(header("display_data"), b'{"data": {}, "metadata": {}}', extra=[b"b"] * 40)
    send(None, None, frames=[header("stream")])
    send(header("error"), b'{"ename": "E", "evalue": "v", "traceback": 3}')
    send(header("display_data"), b'{"data": [], "metadata": {}}')
    send(header("display_data"), b'{"data": {}, "metadata": {}, "transient": {"display_id": []}}')
    send(header("execute_result"), b'{"data": {}, "metadata": {}, "execution_count": {}}')
    send(header("status"), b'{"execution_state": []}')
    send(header("clear_output"), b'{"wait": "yes"}')
    send(header("comm_open"), b'{"comm_id": 1}')
_send_raw_messages()
'''

MALFORMED_MESSAGES_IN_ANSWER = WRONG_OMEGA + '''
_wrong_omega = Omega
def Omega(w):
    _send_raw_messages()  # while the grader's request runs: raw_execute reads these
    return _wrong_omega(w)
'''

# A forged answer (the student replaces the kernel-side helper) whose .npy header declares a
# terabyte: numpy would allocate it before reading any data.
TERABYTE_NPY_HEADER = f'''
import IPython.display, base64
_real_publish = IPython.display.publish_display_data
def _header(shape):
    text = repr({{"descr": "<f8", "fortran_order": False, "shape": shape}}).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    return b"\\x93NUMPY\\x01\\x00" + (len(text) + pad + 1).to_bytes(2, "little") + text + b" " * pad + b"\\n"
def _forging_publish(data, *a, **k):
    ans = data.get("{ANSWER_MIME}")
    if isinstance(ans, dict):
        ans.update(status="ok", kind="npy", value=base64.b64encode(_header((2**37,)) + b"\\0" * 8).decode())
    return _real_publish(data, *a, **k)
IPython.display.publish_display_data = _forging_publish
'''


def _with_extra_cell(source: str):
    """The solution with `source` in a new regularizers.qa cell after its Omega cell."""
    nb = _solution()
    i = _qa_index(nb)
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["regularizers.qa"]
    nb.cells.insert(i + 1, cell)
    return nb


def huge_int_answer_is_not_a_usable_answer(folder: Path) -> Path:
    return _write(_with_omega(HUGE_INT), folder, "huge-int-answer-is-not-a-usable-answer")


def numpy_scalar_types_are_numbers_full_marks(folder: Path) -> Path:
    return _write(_with_extra_cell(NUMPY_SCALAR_TYPES), folder, "numpy-scalar-types-are-numbers-full-marks")


def malformed_kernel_messages_are_dropped_wrong_answer(folder: Path) -> Path:
    # sent once while a cell runs (nbclient reads them) and again in every answer (raw_execute)
    return _write(_with_omega(WRONG_OMEGA, RAW_MESSAGES + MALFORMED_MESSAGES_IN_ANSWER), folder,
                  "malformed-kernel-messages-are-dropped-wrong-answer")


def terabyte_npy_header_is_not_a_usable_answer(folder: Path) -> Path:
    return _write(_with_omega(WRONG_OMEGA, TERABYTE_NPY_HEADER), folder,
                  "terabyte-npy-header-is-not-a-usable-answer")

# --- links and special files in a folder ------------------------------------------------------
# A folder submission is files, never links: each builder makes one folder that tries to hand
# in what it does not hold; the exercise that file would give must be missing, saying why.

SECRET_MARKER = "SECRET-MARKER-7f3a9c the grader must never show this line"
OTHER_GROUP_MARKER = "OTHER-GROUP-ANSWER-51d2e0"
INVALID_JSON_MARKER = "INVALID-JSON-MARKER-c4b8e1"


def solution_text_answers() -> list[str]:
    """The reference solution's text answers (what a link to it would copy into reports)."""
    nb = _solution()
    return [c.source.strip() for c in nb.cells
            if any(t.endswith(".answer") for t in c.get("metadata", {}).get("tags", [])) and len(c.source.strip()) > 20]


def link_to_the_solution_earns_nothing(folder: Path) -> Path:
    sub = folder / "link-to-the-solution"
    sub.mkdir(parents=True)
    (sub / "regularizers.ipynb").symlink_to(SOLUTION)
    return sub


def link_to_another_groups_notebook_earns_nothing(folder: Path) -> Path:
    """thisgroup/regularizers.ipynb -> ../othergroup/regularizers.ipynb (relative); only
    thisgroup is handed to the grader."""
    other = folder / "othergroup"
    other.mkdir(parents=True)
    nb = _solution()
    for cell in nb.cells:
        if any(t.endswith(".answer") for t in cell.get("metadata", {}).get("tags", [])):
            cell.source = f"{OTHER_GROUP_MARKER}: {cell.source}"
    nbformat.write(nb, other / "regularizers.ipynb")
    sub = folder / "thisgroup"
    sub.mkdir()
    (sub / "regularizers.ipynb").symlink_to(Path("..") / "othergroup" / "regularizers.ipynb")
    return sub


def link_to_a_secret_file_shows_nothing_of_it(folder: Path) -> Path:
    """perceptron.ipynb -> a file outside that is not JSON: parsing it would quote it."""
    secret = folder / "secret-outside" / "shadow.ipynb"
    secret.parent.mkdir(parents=True)
    secret.write_text(f"{SECRET_MARKER}\nroot:$6$abcdefgh$hash:19000:0:99999:7:::\n")
    sub = folder / "link-to-a-secret"
    sub.mkdir()
    (sub / "perceptron.ipynb").symlink_to(secret)
    return sub


def dangling_link_is_missing(folder: Path) -> Path:
    sub = folder / "dangling-link"
    sub.mkdir(parents=True)
    (sub / "regularizers.ipynb").symlink_to(folder / "no-such-dir" / "regularizers.ipynb")
    return sub


def link_to_a_folder_of_solutions_earns_nothing(folder: Path) -> Path:
    sub = folder / "link-to-a-folder"
    sub.mkdir(parents=True)
    (sub / "journal2").symlink_to(SOLUTION.parent, target_is_directory=True)
    return sub


def fifo_notebook_does_not_block_the_rest_is_graded(folder: Path) -> Path:
    """perceptron.ipynb is a FIFO no one writes to (reading it blocks forever); beside it the
    correct regularizers notebook, which must still get full marks."""
    sub = folder / "fifo-notebook"
    sub.mkdir(parents=True)
    os.mkfifo(sub / "perceptron.ipynb")
    nbformat.write(_solution(), sub / "regularizers.ipynb")
    return sub


def invalid_json_is_unreadable_and_never_quoted(folder: Path) -> Path:
    sub = folder / "invalid-json-quoted"
    sub.mkdir(parents=True)
    (sub / "regularizers.ipynb").write_text('{"cells": [\n  ' + INVALID_JSON_MARKER + "\n]}\n")
    return sub
