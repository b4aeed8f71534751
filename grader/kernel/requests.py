"""What the grader asks the kernel for, and the code it sends to get it.

A request names a value in the student's namespace, a function to call on inputs the
grader chooses, or a model whose `predict` the grader calls on its own features. The
kernel answers with one `display_data` message of MIME type `ANSWER_MIME` holding JSON;
arrays travel as base64 `.npy` bytes. Nothing the kernel sends is trusted: `plaindata.py`
validates it. Inputs go into the kernel, but labels and expected values never do. Array
inputs go as `.npy` bytes in binary buffers of a comm message sent just before the code
(`INPUTS_TARGET`), not inside the code: ipykernel hashes every cell's source in pure Python,
about 1.5 s per 10 MB, and IPython transforms it too (held-out MNIST is 10 MB as base64).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field

import numpy as np

from grader.kernel.plaindata import MAX_INT_BITS, MAX_NPY_BYTES

ANSWER_MIME = "application/vnd.itmal.answer+json"
# the grader's own limit on an array answer, applied in the kernel too, before any copy
MAX_ARRAY_BYTES = MAX_NPY_BYTES

_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _check_name(name: str) -> str:
    if not _DOTTED_NAME.match(name):
        raise ValueError(f"not a dotted Python name: {name!r}")
    return name


# The comm target, registered in every kernel at start (manager.STARTUP_CODE), that receives
# a fetch's array inputs as binary buffers.
INPUTS_TARGET = "itmal.inputs"


def encode_input(value: object) -> dict:
    """An input for the kernel: arrays as .npy bytes ({"npy": bytes}), the rest as JSON."""
    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"npy": buf.getvalue()}
    json.dumps(value)  # raises for anything that is not plain data
    return {"json": value}


def describe_inputs(inputs: list[dict]) -> list[dict]:
    """The inputs as JSON-able data that changes when they do (arrays by their hash)."""
    return [{"npy_sha256": hashlib.sha256(i["npy"]).hexdigest()} if "npy" in i else i for i in inputs]


def _spec_input(item: dict, buffers: list[bytes] | None) -> dict:
    """An input as the kernel's spec holds it: an array inline as base64 (buffers is None), or
    as the index of its buffer, each distinct array sent once per fetch."""
    if "npy" not in item:
        return item
    if buffers is None:
        return {"npy": base64.b64encode(item["npy"]).decode("ascii")}
    for index, sent in enumerate(buffers):
        if sent is item["npy"] or sent == item["npy"]:
            return {"buffer": index}
    buffers.append(item["npy"])
    return {"buffer": len(buffers) - 1}


@dataclass(frozen=True)
class Request:
    """Base class: `key` names the answer; `expression()` is the code that computes it."""

    key: str

    def expression(self) -> str:
        raise NotImplementedError

    def inputs(self) -> list[dict]:
        return []


@dataclass(frozen=True)
class Value(Request):
    """A variable (or attribute path) in the student's namespace after the question's cells."""

    name: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)

    def expression(self) -> str:
        return self.name


def value(name: str) -> Value:
    return Value(key=name, name=name)


@dataclass(frozen=True)
class Call(Request):
    """Call the student's function `function(*args)` with inputs chosen by the grader."""

    function: str = ""
    args: tuple = field(default_factory=tuple)
    # Or, instead of `args`: names in the student's namespace to call it on, e.g. ("X_test",
    # "y_test") to recompute a score the student reports from the objects behind it.
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.function)
        for name in self.names:
            _check_name(name)
        if self.args and self.names:
            raise ValueError("a Call takes either the grader's inputs (args) or the student's names, not both")

    def inputs(self) -> list[dict]:
        return [encode_input(a) for a in self.args]

    def expression(self) -> str:
        if self.names:
            return f"{self.function}({', '.join(self.names)})"
        return f"{self.function}(*__itmal_inputs)"


def recompute(function: str, *names: str) -> Call:
    """`function(*names)` on the student's own objects, e.g. recompute("SGDModel.score",
    "X_test", "y_test"): the number a reported value must agree with."""
    return Call(key=f"{function}({', '.join(names)})", function=function, names=names)


@dataclass(frozen=True, eq=False)
class Predict(Request):
    """`model.predict(X)` on features the grader supplies; the labels stay with the grader."""

    model: str = ""
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_name(self.model)

    def inputs(self) -> list[dict]:
        return [encode_input(np.asarray(self.features))]

    def expression(self) -> str:
        return f"{self.model}.predict(*__itmal_inputs)"


# The code run in the kernel. It is self-contained (imports inside a function) so that a
# student's globals cannot change which helpers it uses; a student *can* still replace
# numpy or json, which is why nothing it sends back is trusted.
# `__itmal_answer` computes the answer (a plain dict); the kernel publishes it (fetch_code),
# the in-notebook self-check calls it in-process (answer_function_code, runners/incell.py).
_ANSWER_FUNCTION = r'''
def __itmal_answer(spec_json, buffers=()):
    import base64, io, json, traceback
    __itmal_spec = json.loads(spec_json)
    MAX_TEXT = 1_000_000
    MAX_ARRAY_BYTES = %(max_array)d
    MAX_INT_BITS = %(max_int_bits)d

    def decode(item):
        if "buffer" in item:
            import numpy
            return numpy.load(io.BytesIO(buffers[item["buffer"]]), allow_pickle=False)
        if "npy" in item:
            import numpy
            return numpy.load(io.BytesIO(base64.b64decode(item["npy"])), allow_pickle=False)
        return item["json"]

    def plain(v, depth=0):
        if depth > 20:
            raise TypeError("nested too deeply")
        if type(v) is int and v.bit_length() > MAX_INT_BITS:
            raise OverflowError(f"an integer of {v.bit_length()} bits, too large for a floating-point number")
        if v is None or type(v) in (bool, int, float):
            return v
        if type(v) is str:
            if len(v) > MAX_TEXT:
                raise TypeError(f"a string of {len(v)} characters is too long")
            return v
        if type(v) in (list, tuple) and all(
            x is None or type(x) in (bool, int, float, str, list, tuple, dict) for x in v
        ):
            return [plain(x, depth + 1) for x in v]
        if type(v) is dict and all(type(k) is str for k in v):
            return {k: plain(x, depth + 1) for k, x in v.items()}
        raise TypeError("not plain data")

    def encode(v):
        # Text (of any str subclass) never goes through numpy: a 1 GB string would become a
        # 4 GB unicode array before being refused.
        if isinstance(v, (str, bytes)):
            if len(v) > MAX_TEXT:
                return {"status": "unsupported", "type": type(v).__name__,
                        "message": f"a text of {len(v)} characters (at most {MAX_TEXT})"}
            if type(v) is not str:
                return {"status": "unsupported", "type": type(v).__name__,
                        "message": f"a {type(v).__name__} object (text or numbers were expected)"}
        if isinstance(v, complex):
            return {"status": "unsupported", "type": type(v).__name__,
                    "message": "a complex number (a real number was expected)"}
        try:
            return {"status": "ok", "kind": "json", "value": plain(v)}
        except OverflowError as exc:
            return {"status": "unsupported", "type": type(v).__name__, "message": str(exc)}
        except TypeError:
            pass
        try:
            import numpy
            arr = numpy.asarray(v)
            if type(arr) is not numpy.ndarray:  # asarray must give a plain array; a rigged __array__ may not
                arr = numpy.array(arr, subok=False)
            if arr.dtype.kind == "c":
                return {"status": "unsupported", "type": type(v).__name__,
                        "message": "complex numbers (real numbers were expected)"}
            if arr.dtype.kind not in "biuf":
                return {"status": "unsupported", "type": type(v).__name__,
                        "message": f"an array of dtype {arr.dtype} (numbers were expected)"}
            if arr.ndim == 0:
                # one number of any numpy type (float16, longdouble, a 0-d array, numpy.bool_)
                # travels as the plain number it is; a longdouble beyond float range is infinite
                x = arr[()]
                if arr.dtype.kind == "b":
                    number = bool(x)
                elif arr.dtype.kind in "iu":
                    number = int(x)
                else:
                    with numpy.errstate(all="ignore"):
                        number = float(x)
                return {"status": "ok", "kind": "json", "value": number}
            if arr.nbytes > MAX_ARRAY_BYTES:  # checked before any copy (broadcast views are free)
                return {"status": "unsupported", "type": type(v).__name__,
                        "message": f"an array of {arr.size} elements ({arr.nbytes / 2**20:.0f} MB; "
                                   f"at most {MAX_ARRAY_BYTES // 2**20} MB)"}
            buf = io.BytesIO()
            numpy.save(buf, numpy.ascontiguousarray(arr), allow_pickle=False)
            return {"status": "ok", "kind": "npy", "value": base64.b64encode(buf.getvalue()).decode("ascii")}
        except Exception as exc:
            return {"status": "unsupported", "type": type(v).__name__, "message": str(exc)[:500]}

    try:
        __itmal_inputs = [decode(item) for item in __itmal_spec["inputs"]]
    except Exception:  # buffers is None: the comm message with them never reached the fetch
        return {"status": "error", "ename": "InputsLost", "key": __itmal_spec["key"], "nonce": __itmal_spec["nonce"],
                "evalue": "the grader's inputs for this request did not reach the code that uses them "
                          "(has a cell replaced the kernel's comm manager?)", "traceback": ""}
    try:
        result = eval(__itmal_spec["expression"], globals(), {"__itmal_inputs": __itmal_inputs})
    except NameError as exc:
        answer = {"status": "missing", "message": str(exc)[:500]}
    except BaseException as exc:
        # the student's frames only: not this function's, nor the one-line eval's
        tb = exc.__traceback__
        for _ in range(2):
            tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        answer = {"status": "error", "ename": type(exc).__name__, "evalue": str(exc)[:2000],
                  "traceback": text[-6000:]}
    else:
        answer = encode(result)
    answer["key"] = __itmal_spec["key"]
    answer["nonce"] = __itmal_spec["nonce"]
    return answer
'''

_FETCH_TEMPLATE = _ANSWER_FUNCTION + r'''
def __itmal_fetch(specs, token):
    from IPython.display import publish_display_data
    buffers = ()
    if token:
        try:
            import comm
            buffers = comm.get_comm_manager().targets["%(target)s"].received.pop(token)
        except Exception:
            buffers = None
    for spec_json in specs:
        publish_display_data({"%(mime)s": __itmal_answer(spec_json, buffers)})

__itmal_fetch(%(specs)r, %(token)r)
del __itmal_fetch, __itmal_answer
'''


def new_nonce() -> str:
    """A fresh, unguessable token for one request: an answer must carry it to count."""
    return secrets.token_hex(16)


def request_spec(request: Request, nonce: str = "", buffers: list[bytes] | None = None) -> str:
    """The request as the JSON text `__itmal_answer` takes; its arrays inline, or appended to
    `buffers` and named by index there."""
    return json.dumps({"key": request.key, "nonce": nonce, "expression": request.expression(),
                       "inputs": [_spec_input(i, buffers) for i in request.inputs()]})


def answer_function_code() -> str:
    """The code that defines `__itmal_answer(spec_json) -> answer dict` (see fetch_code)."""
    return _ANSWER_FUNCTION % {"max_array": MAX_ARRAY_BYTES, "max_int_bits": MAX_INT_BITS}


def fetch_code(requests: Request | list[Request], nonces: str | list[str] = "", *,
               buffers: list[bytes] | None = None, token: str = "") -> str:
    """The code that computes each request in the kernel, in order, and publishes each answer
    as plain data stamped with its nonce (see `execute._Runner.fetch`: only a message in reply
    to this very request, carrying a nonce of it, is taken as an answer). With `buffers` (a
    list), array inputs are appended to it instead of written into the code; the caller sends
    them to `INPUTS_TARGET` under `token` first."""
    if isinstance(requests, Request):
        requests, nonces = [requests], [nonces]
    specs = [request_spec(r, n, buffers) for r, n in zip(requests, nonces, strict=True)]
    return _FETCH_TEMPLATE % {"mime": ANSWER_MIME, "specs": specs, "target": INPUTS_TARGET,
                              "token": token if buffers else "",
                              "max_array": MAX_ARRAY_BYTES, "max_int_bits": MAX_INT_BITS}
