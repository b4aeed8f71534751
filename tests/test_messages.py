"""Kernel messages are student input: BoundedSession drops malformed or oversized ones with a
reason, never raises, and bounds its memory before parsing (see grader/kernel/messages.py)."""

import json
import subprocess
import sys

import pytest

from grader.kernel.messages import DROPPED, BoundedSession

KEY = b"secret"


def session():
    return BoundedSession(key=KEY)


def signed(s, header, parent=b"{}", metadata=b"{}", content=b"{}", extra=()):
    frames = [header, parent, metadata, content]
    return [s.sign(frames), *frames, *extra]


HEADER = json.dumps({"msg_id": "m1", "msg_type": "display_data", "session": "s", "username": "u",
                     "version": "5.3", "date": "2024-01-01T00:00:00Z"}).encode()


def header(msg_type="display_data", **kw):
    h = {"msg_id": "m1", "msg_type": msg_type, "session": "s", "username": "u", "version": "5.3"}
    h.update(kw)
    return json.dumps(h).encode()


def content(obj) -> bytes:
    return json.dumps(obj).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000
CASES = {
    "nested past the recursion limit": signed(session(), header(), content=b'{"data": {"x": ' + DEEP + b'}, "metadata": {}}'),
    "three million items": signed(session(), header(), content=b'{"data": {"x": [' + b"0," * 3_000_000 + b'0]}, "metadata": {}}'),
    "a 5000-digit integer": signed(session(), header(), content=b'{"data": {"x": ' + b"9" * 5000 + b'}, "metadata": {}}'),
    "content not a dict": signed(session(), header(), content=b"[1, 2]"),
    "content not JSON": signed(session(), header(), content=b"{nope"),
    "content not UTF-8": signed(session(), header(), content=b'{"data": "\xff\xfe", "metadata": {}}'),
    "header missing msg_type": signed(session(), json.dumps({"msg_id": "m"}).encode()),
    "header not a dict": signed(session(), b'"header"'),
    "msg_type not text": signed(session(), json.dumps({"msg_id": "m", "msg_type": 5}).encode()),
    "parent_header a list": signed(session(), header(), parent=b"[]"),
    "parent msg_id a dict": signed(session(), header(), parent=b'{"msg_id": {}}'),
    "metadata a number": signed(session(), header(), metadata=b"7"),
    "huge header": signed(session(), header(padding="x" * 100_000)),
    "display data a list": signed(session(), header(), content=content({"data": [], "metadata": {}})),
    "display_id a list": signed(session(), header(), content=content({"data": {}, "metadata": {}, "transient": {"display_id": []}})),
    "stream text a dict": signed(session(), header("stream"), content=content({"name": "stdout", "text": {}})),
    "error traceback an int": signed(session(), header("error"), content=content({"ename": "E", "evalue": "", "traceback": 3})),
    "status state missing": signed(session(), header("status"), content=content({})),
    "execute_reply status a list": signed(session(), header("execute_reply"), content=content({"status": []})),
    "execution_count a dict": signed(session(), header("execute_result"), content=content({"data": {}, "metadata": {}, "execution_count": {}})),
    "a comm message": signed(session(), header("comm_msg"), content=content({"comm_id": 1})),
    "bad signature": [b"0" * 64, header(), b"{}", b"{}", b"{}"],
    "unsigned": [b"", header(), b"{}", b"{}", b"{}"],
    "too few frames": [b"x", header()],
    "too many buffers": signed(session(), header(), content=content({"data": {}, "metadata": {}}), extra=[b""] * 40),
    "frames not bytes": [None, None, None, None, None],
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_messages_are_dropped_with_a_reason_never_raised(name):
    s = session()
    msg = s.deserialize(CASES[name])
    assert msg["msg_type"] == DROPPED and msg["parent_header"] == {}
    count, reasons = s.take_notes()
    assert count == 1 and reasons[0], reasons


def test_a_well_formed_message_passes_and_a_replay_is_dropped():
    s = session()
    frames = signed(s, header(), parent=b'{"msg_id": "p"}', content=content({"data": {"text/plain": "x"}, "metadata": {}}))
    msg = s.deserialize(frames)
    assert msg["msg_type"] == "display_data" and msg["content"]["data"] == {"text/plain": "x"}
    assert msg["parent_header"]["msg_id"] == "p" and msg["itmal_size"] > 0
    assert s.deserialize(frames)["msg_type"] == DROPPED


def test_brackets_inside_strings_do_not_count_as_nesting():
    s = session()
    text = '[' * 1000 + '\\"' + '{' * 1000
    msg = s.deserialize(signed(s, header("stream"), content=content({"name": "stdout", "text": text})))
    assert msg["msg_type"] == "stream" and msg["content"]["text"] == text


PEAK = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from grader.kernel.messages import BoundedSession
s = BoundedSession(key=b"k")
kind = sys.argv[2]
body = {"many": b'{"data": {"x": [' + b"[]," * 26_000_000 + b'[]]}, "metadata": {}}',
        "text": b'{"data": {"text/plain": "' + b"x" * 78_000_000 + b'"}, "metadata": {}}'}[kind]
h = json.dumps({"msg_id": "m", "msg_type": "display_data"}).encode()
frames = [h, b"{}", b"{}", body]
frames.insert(0, s.sign(frames))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
msg = s.deserialize(frames)
print(len(body) // 2**20, msg["msg_type"], (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize("kind", ["many", "text"])
def test_a_78_mb_message_costs_a_small_multiple_of_its_size(kind):
    import grader
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", PEAK, str(Path(grader.__file__).parents[1]), kind],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    size_mb, msg_type, grown_mb = int(out[0]), out[1], int(out[2])
    assert msg_type == (DROPPED if kind == "many" else "display_data")
    assert grown_mb < 4 * size_mb, out  # generous: measured 0 MB over the peak of building it (stock Session: 1.7 GB for "many")
