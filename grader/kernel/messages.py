"""Reading the kernel's messages: every frame is student input, bounded before it is parsed.

The student owns the kernel, and with it the connection key: a cell can send any bytes on
any channel, signed or not. `BoundedSession.deserialize` (used for every message the grader
receives) therefore never raises: a message that is not a well-formed Jupyter message of
bounded size becomes a *dropped* message (msg_type `DROPPED`, no parent), which nothing
processes; the reason is kept in `session.dropped` for the runner's notes.

Before any JSON is parsed, each frame's size, item count and nesting depth are measured on
its bytes (strings skipped), so parsing costs at most a small constant times the frame's
size plus a bounded number of items, and never recurses deeply. After parsing, the fields the
grader and nbclient read (header, parent_header, content of the message types they handle)
must have the types the protocol says.
"""

from __future__ import annotations

import json
import re
from hmac import compare_digest
from typing import Any

import numpy as np
from jupyter_client.session import Session

DROPPED = "itmal_dropped"
MAX_HEADER_BYTES = 64 * 2**10  # header, parent_header, metadata: a few hundred bytes in practice
MAX_ITEMS = 2_000_000  # values in one frame (an answer may hold 1 M numbers as JSON)
MAX_DEPTH = 64
MAX_BUFFERS = 16
MAX_NOTES = 20

# JSON strings, whatever they hold (escapes included), matched without backtracking
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: linear, no possessive (3.10)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class Refused(Exception):
    """Why a frame or a message is not taken."""


def measure(frame: bytes, max_items: int = MAX_ITEMS, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON bytes with more than `max_items` values or nested deeper than `max_depth`,
    without parsing them. Memory: one copy of the frame at most (strings removed)."""
    skeleton = _JSON_STRING.sub(b'""', frame) if b'"' in frame else frame
    opening = skeleton.count(b"[") + skeleton.count(b"{")
    items = opening + skeleton.count(b",") + skeleton.count(b":")
    if items > max_items:
        raise Refused(f"a message of more than {max_items} values")
    if opening > max_depth:  # else it cannot be deeper than that
        brackets = np.frombuffer(skeleton.translate(None, _NOT_BRACKETS), dtype=np.uint8)
        steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1).astype(np.int32)
        if int(np.cumsum(steps).max()) > max_depth:
            raise Refused(f"a message nested more than {max_depth} levels deep")


def loads(frame: Any, limit: int, what: str) -> Any:
    """One JSON frame, bounded: Refused (never another exception) if it is not."""
    if not isinstance(frame, (bytes, bytearray, memoryview)):
        raise Refused(f"its {what} is not bytes")
    frame = bytes(frame) if not isinstance(frame, bytes) else frame
    if len(frame) > limit:
        raise Refused(f"its {what} is {len(frame)} bytes (at most {limit})")
    measure(frame)
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(f"its {what} is not UTF-8") from None
    try:
        return json.loads(text)
    except Exception as exc:  # ValueError, RecursionError, a 5000-digit integer...
        raise Refused(f"its {what} is not valid JSON ({type(exc).__name__})") from None


def _is_str(v: Any, limit: int | None = None) -> bool:
    return type(v) is str and (limit is None or len(v) <= limit)


def _str_list(v: Any) -> bool:
    return type(v) is list and all(type(x) is str for x in v)


def _count(v: Any) -> bool:
    return v is None or (type(v) is int and abs(v) < 2**63)


def check_content(msg_type: str, content: dict) -> None:
    """The fields nbclient and the runner read, with the types they assume."""

    def need(ok: bool, field: str) -> None:
        if not ok:
            raise Refused(f"a {msg_type[:40]} message with a malformed {field!r}")

    if "execution_count" in content:
        need(_count(content["execution_count"]), "execution_count")
    if msg_type == "status":
        need(_is_str(content.get("execution_state"), 100), "execution_state")
    elif msg_type == "stream":
        need(_is_str(content.get("name"), 100), "name")
        need(_is_str(content.get("text")), "text")
    elif msg_type in ("display_data", "update_display_data", "execute_result"):
        data = content.get("data")
        need(type(data) is dict, "data")
        need(type(content.get("metadata")) is dict, "metadata")
        transient = content.get("transient")
        need(transient is None or type(transient) is dict, "transient")
        if transient:
            display_id = transient.get("display_id")
            need(display_id is None or _is_str(display_id, 1000), "display_id")
        if msg_type == "execute_result":
            need("execution_count" in content, "execution_count")
    elif msg_type == "error":
        need(_is_str(content.get("ename")), "ename")
        need(_is_str(content.get("evalue")), "evalue")
        need(_str_list(content.get("traceback")), "traceback")
    elif msg_type == "execute_reply":
        need(_is_str(content.get("status"), 100), "status")
        for field, ok in (("ename", _is_str), ("evalue", _is_str), ("traceback", _str_list)):
            if field in content:
                need(ok(content[field]), field)
    elif msg_type == "execute_input":
        need(_is_str(content.get("code")), "code")
    elif msg_type == "clear_output":
        need(type(content.get("wait", False)) is bool, "wait")
    elif msg_type == "kernel_info_reply":
        info = content.get("language_info", {})
        need(type(info) is dict and all(type(k) is str for k in info), "language_info")
    elif msg_type.startswith("comm"):
        # the grader runs no widgets; nbclient would index these without looking
        raise Refused(f"a {msg_type[:40]} message (widgets are not used in grading)")


class BoundedSession(Session):
    """A Session whose `deserialize` bounds every frame before parsing and never raises."""

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.dropped: list[str] = []  # reasons, the first MAX_NOTES
        self.dropped_count = 0

    def take_notes(self) -> tuple[int, list[str]]:
        """How many messages were dropped since the last call, and the first reasons."""
        count, notes = self.dropped_count, self.dropped
        self.dropped_count, self.dropped = 0, []
        return count, notes

    def _drop(self, reason: str) -> dict[str, Any]:
        self.dropped_count += 1
        if len(self.dropped) < MAX_NOTES:
            self.dropped.append(reason)
        header = {"msg_id": "", "msg_type": DROPPED, "session": "", "username": "", "version": "5.3"}
        return {"header": header, "msg_id": "", "msg_type": DROPPED, "parent_header": {}, "metadata": {},
                "content": {"reason": reason}, "buffers": []}

    def deserialize(self, msg_list: Any, content: bool = True, copy: bool = True) -> dict[str, Any]:
        try:
            return self._deserialize(msg_list, content)
        except Refused as exc:
            return self._drop(str(exc))
        except Exception as exc:  # anything else the bytes provoke: still their bytes
            return self._drop(f"a malformed message ({type(exc).__name__})")

    def _deserialize(self, msg_list: Any, content: bool) -> dict[str, Any]:
        from grader.kernel.manager import MAX_MESSAGE_BYTES

        if type(msg_list) is not list or len(msg_list) < 5:
            raise Refused("a message with fewer than 5 frames")
        frames = [m if isinstance(m, bytes) else bytes(getattr(m, "bytes", m)) for m in msg_list[:5]]
        if self.auth is not None:
            signature = frames[0]
            if not signature:
                raise Refused("an unsigned message")
            if signature in self.digest_history:
                raise Refused("a replayed message (duplicate signature)")
            if not compare_digest(signature, self.sign(frames[1:5])):
                raise Refused("a message with an invalid signature")
            self._add_digest(signature)
        if len(msg_list) - 5 > MAX_BUFFERS:
            raise Refused(f"a message with {len(msg_list) - 5} buffers (at most {MAX_BUFFERS})")
        header = loads(frames[1], MAX_HEADER_BYTES, "header")
        parent = loads(frames[2], MAX_HEADER_BYTES, "parent header")
        metadata = loads(frames[3], MAX_HEADER_BYTES, "metadata")
        if type(header) is not dict or not _is_str(header.get("msg_id"), 200) \
                or not _is_str(header.get("msg_type"), 100):
            raise Refused("a message with a malformed header")
        if type(parent) is not dict or not (parent.get("msg_id") is None or _is_str(parent.get("msg_id"), 200)):
            raise Refused("a message with a malformed parent header")
        if type(metadata) is not dict:
            raise Refused("a message with malformed metadata")
        msg_type = header["msg_type"]
        message: dict[str, Any] = {"header": header, "msg_id": header["msg_id"], "msg_type": msg_type,
                                   "parent_header": parent, "metadata": metadata}
        if content:
            body = loads(frames[4], MAX_MESSAGE_BYTES, "content")
            if type(body) is not dict:
                raise Refused(f"a {msg_type[:40]} message whose content is not a JSON object")
            check_content(msg_type, body)
            message["content"] = body
        else:
            message["content"] = frames[4]
        # what the message cost to receive, for the output limits (never re-measured by str())
        message["itmal_size"] = sum(len(f) for f in frames[1:5])
        message["buffers"] = [memoryview(m if isinstance(m, bytes) else bytes(getattr(m, "bytes", m)))
                              for m in msg_list[5:]]
        return message
