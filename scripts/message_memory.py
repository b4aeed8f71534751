"""Peak memory of deserializing one ~78 MB kernel message: python scripts/message_memory.py stock|bounded many|ints|text"""
import json, resource, sys
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.abspath(__file__))))
from jupyter_client.session import Session
from grader.kernel.messages import BoundedSession
cls = {"stock": Session, "bounded": BoundedSession}[sys.argv[1]]
s = cls(key=b"k")
body = {"many": b'{"data": {"x": [' + b"[]," * 26_000_000 + b'[]]}, "metadata": {}}',
        "ints": b'{"data": {"x": [' + b"0," * 39_000_000 + b'0]}, "metadata": {}}',
        "text": b'{"data": {"text/plain": "' + b"x" * 78_000_000 + b'"}, "metadata": {}}'}[sys.argv[2]]
h = json.dumps({"msg_id": "m", "msg_type": "display_data", "version": "5.3"}).encode()
frames = [h, b"{}", b"{}", body]
frames.insert(0, s.sign(frames))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
msg = s.deserialize(frames)
# the old _LimitedClient.output measured the size with str() of each data value
if sys.argv[1] == "stock":
    size = sum(len(str(v)) for v in msg["content"].get("data", {}).values())
print(sys.argv[1:], len(body) // 2**20, "MB message:", msg["msg_type"], "grader grew by",
      (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, "MB")
