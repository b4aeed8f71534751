"""Validating what the kernel sends back: only plain data, of bounded size, gets through.

jupyter_client has already parsed the message as JSON, so no rigged Python object can
arrive; what can arrive is JSON of any shape and size, and `.npy` bytes of any content.
`decode_answer` turns one payload into an `Answer` and never raises on bad input.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_NPY_BYTES = 64 * 2**20
MAX_JSON_ITEMS = 1_000_000
MAX_TEXT = 1_000_000
MAX_DEPTH = 20
# Integers beyond this many bits do not fit a float (10**400 has 1329): not a usable number.
MAX_INT_BITS = 1024

# What an answer's status means. "not_run": the question's cells never ran to the point
# where the grader could ask (kernel died, time limit); the caller says which.
STATUSES = ("ok", "missing", "error", "unsupported", "invalid", "not_run")


@dataclass(frozen=True)
class Answer:
    """One value fetched from the kernel, already validated."""

    status: str
    value: Any = None
    message: str = ""
    traceback: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        """A JSON-able form, for the reference cache."""
        d: dict[str, Any] = {"status": self.status, "message": self.message}
        if isinstance(self.value, np.ndarray):
            d["array"] = {"dtype": self.value.dtype.str, "shape": list(self.value.shape),
                          "data": self.value.ravel().tolist()}
        else:
            d["value"] = self.value
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Answer":
        if "array" in d:
            a = d["array"]
            value: Any = np.array(a["data"], dtype=np.dtype(a["dtype"])).reshape(a["shape"])
        else:
            value = d.get("value")
        return cls(status=d["status"], value=value, message=d.get("message", ""))


def invalid(message: str) -> Answer:
    return Answer("invalid", message=message)


def _check_plain(v: Any, budget: list[int], depth: int = 0) -> str | None:
    """Why `v` is not bounded plain JSON data, or None if it is."""
    budget[0] -= 1
    if budget[0] < 0:
        return f"more than {MAX_JSON_ITEMS} items"
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    if type(v) is int and v.bit_length() > MAX_INT_BITS:
        return f"an integer of {v.bit_length()} bits, too large for a floating-point number"
    if v is None or type(v) in (bool, int, float):
        return None
    if type(v) is str:
        return None if len(v) <= MAX_TEXT else f"a text of {len(v)} characters (at most {MAX_TEXT})"
    if type(v) is list:
        for x in v:
            why = _check_plain(x, budget, depth + 1)
            if why:
                return why
        return None
    if type(v) is dict:
        for k, x in v.items():
            if type(k) is not str:
                return "a mapping with non-text keys"
            why = _check_plain(x, budget, depth + 1)
            if why:
                return why
        return None
    return f"a value of type {type(v).__name__}"


def _npy_header(raw: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int] | str:
    """The header of `.npy` bytes, checked before numpy allocates anything: (dtype, shape,
    fortran_order, offset of the data), or why it is not a plain numeric array whose data is
    all there. A header may declare a terabyte; nothing is allocated from what it declares."""
    from numpy.lib import format as npy

    fp = io.BytesIO(raw)
    try:
        version = npy.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(fp)
        else:
            return f"an .npy file of version {version} (1.0 or 2.0 was expected)"
    except Exception as exc:  # whatever numpy makes of student bytes, it is their bytes
        return f"unreadable array data ({type(exc).__name__}: {str(exc)[:200]})"
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        return f"an array of dtype {str(dtype)[:80]} (numbers were expected)"
    if dtype.kind not in "biuf":
        return f"an array of dtype {dtype} (numbers were expected)"
    if type(fortran) is not bool or type(shape) is not tuple or len(shape) > 32:
        return "an array with a malformed header"
    if not all(type(n) is int and n >= 0 for n in shape):
        return f"an array of shape {str(shape)[:80]}"
    size = 1
    for n in shape:  # exact Python integers: no overflow, nothing allocated
        size *= n
        if size * dtype.itemsize > MAX_NPY_BYTES:
            return f"an array declared as shape {str(shape)[:80]}, over {MAX_NPY_BYTES // 2**20} MB"
    offset = fp.tell()
    if len(raw) - offset != size * dtype.itemsize:
        return (f"an array whose header declares {size * dtype.itemsize} bytes of data "
                f"but {len(raw) - offset} arrived")
    return dtype, shape, fortran, offset


def _decode_npy(text: Any) -> Answer:
    if type(text) is not str:
        return invalid("array payload is not text")
    if len(text) > MAX_NPY_BYTES * 4 // 3 + 4096:
        return invalid(f"an array of more than {MAX_NPY_BYTES // 2**20} MB")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        return invalid(f"unreadable array data ({exc})")
    header = _npy_header(raw)
    if type(header) is str:
        return invalid(header)
    dtype, shape, fortran, offset = header
    size = len(raw) - offset
    flat = np.frombuffer(raw, dtype=dtype, count=size // dtype.itemsize if dtype.itemsize else 0, offset=offset)
    # a plain, native-order, writeable array the grader owns
    arr = np.array(flat.reshape(shape, order="F" if fortran else "C"), dtype=dtype.newbyteorder("="), order="C")
    return Answer("ok", value=arr)


def decode_answer(payload: Any, key: str) -> Answer:
    """Validate one answer payload from the kernel. Never raises."""
    if type(payload) is not dict:
        return invalid("the kernel's answer is not a JSON object")
    if payload.get("key") != key:
        return invalid("the kernel answered a different request")
    status = payload.get("status")
    message = payload.get("message", "")
    if type(message) is not str:
        message = ""
    message = message[:2000]
    if status == "missing":
        return Answer("missing", message=message)
    if status == "unsupported":
        return Answer("unsupported", message=message or f"a {str(payload.get('type'))[:80]} object")
    if status == "error":
        tb = payload.get("traceback", "")
        ename = str(payload.get("ename", "Exception"))[:200]
        evalue = str(payload.get("evalue", ""))[:2000]
        return Answer("error", message=f"{ename}: {evalue}",
                      traceback=tb[-6000:] if type(tb) is str else "")
    if status != "ok":
        return invalid(f"unknown answer status {str(status)[:50]!r}")
    kind = payload.get("kind")
    if kind == "npy":
        return _decode_npy(payload.get("value"))
    if kind == "json":
        v = payload.get("value")
        why = _check_plain(v, [MAX_JSON_ITEMS])
        return invalid(f"the answer is {why}") if why else Answer("ok", value=v)
    return invalid(f"unknown answer kind {str(kind)[:50]!r}")
