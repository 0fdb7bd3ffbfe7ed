#!/usr/bin/python3
"""webhook_receiver.py - a real HTTP server (Python's http.server) that receives moat's
webhook POSTs for tests/unit/act/test_output_webhook.c and tools/bench/outputs.c.

usage: webhook_receiver.py --dir DIR [--port N] [--tls CERT KEY]
  Listens on 127.0.0.1 (port N, or any free port), writes the port to DIR/port once it
  listens, and for each POST appends one JSON line to DIR/log:
    {"status": CODE, "body": "<the body as received>", "auth": "<Authorization header>",
     "type": "<Content-Type>"}
  The answer to each request comes from DIR/control, read at each request: its lines are a
  queue of answers; the first line is used and removed unless it is the last (which then
  stays). An answer is an HTTP status ("200", "503") or "hold": wait (re-reading the file
  every 10 ms) until the first line is no longer "hold". No file: 200.
With --tls it speaks HTTPS with that certificate. Stops on SIGTERM. Binds loopback only.
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def next_answer(path):
    """Pop the next answer from the control file (the last line stays)."""
    with LOCK:
        try:
            with open(path) as f:
                lines = [l.strip() for l in f if l.strip()]
        except FileNotFoundError:
            return "200"
        if not lines:
            return "200"
        first = lines[0]
        if first != "hold" and len(lines) > 1:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write("\n".join(lines[1:]) + "\n")
            os.rename(tmp, path)
        return first


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        ans = next_answer(self.server.control)
        while ans == "hold":
            time.sleep(0.01)
            ans = next_answer(self.server.control)
        code = int(ans)
        rec = {"status": code, "body": body,
               "auth": self.headers.get("Authorization", ""),
               "type": self.headers.get("Content-Type", "")}
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.control = os.path.join(a.dir, "control")
    srv.log = os.path.join(a.dir, "log")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    tmp = os.path.join(a.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(a.dir, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
