"""The Python Fluentd logger (PyPI fluent-logger) sending to a forward server, both ways it
offers: FluentSender.emit (EventTime, nanosecond precision) and the logging handler.
Run by python.test.ts against a Sluice forward input.

usage: fluent_logger_send.py HOST PORT
Exits non-zero if a send failed.
"""

import logging
import sys

from fluent import handler, sender

host, port = sys.argv[1], int(sys.argv[2])

s = sender.FluentSender("py", host=host, port=port, nanosecond_precision=True)
for i in range(3):
    if not s.emit("sender", {"i": i, "msg": f"hello {i}", "uni": "é✓", "nested": {"ok": True}}):
        print(f"emit {i} failed: {s.last_error}", file=sys.stderr)
        sys.exit(1)
s.close()

h = handler.FluentHandler("py.handler", host=host, port=port)
h.setFormatter(handler.FluentRecordFormatter({"level": "%(levelname)s", "logger": "%(name)s"}))
log = logging.getLogger("app")
log.setLevel(logging.INFO)
log.addHandler(h)
log.info({"event": "login", "user": "u1"})
h.close()
if h.sender.last_error is not None:
    print(f"handler failed: {h.sender.last_error}", file=sys.stderr)
    sys.exit(1)
