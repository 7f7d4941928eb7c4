"""The test servers' base: a threading HTTP server that does not print a client hanging up.

Timeout, interrupt and cancellation tests drop connections on purpose, in the middle of a
request or an answer; the standard server prints each such reset as a traceback, which hides
real ones. Anything else a handler raises is still printed."""

from __future__ import annotations

import ssl
import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)
