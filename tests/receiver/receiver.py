"""A webhook receiver for the end-to-end tests and the benchmark.

It checks signatures the way a customer's receiver does, with nothing from
this project:

- ``X-Webhook-Signature``: ``hmac.new(secret, payload, sha256).hexdigest()``
  over the raw body;
- the Standard Webhooks headers, with the ``standardwebhooks`` package from
  PyPI, given the secret in the standard's ``whsec_<base64>`` form.

What it answers depends on the path of the request:

    POST /hook/ok                 200 "ok"
    POST /hook/204                204
    POST /hook/500                500 "boom"
    POST /hook/slow/<seconds>     waits, then 200
    POST /hook/stall_first/<s>    the first request waits <s> seconds, later ones 200 at once
    POST /hook/redirect           302 to /hook/redirected (a loopback, i.e. private, address)
    GET  /received                every request so far, as JSON (headers, body, checks, time)
    DELETE /received              forget them
    GET  /health                  200

Usage: python receiver.py --port PORT [--secret SECRET] [--quiet]
"""

import argparse
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

LOCK = threading.Lock()
RECEIVED = []
SEEN_PATHS = {}


def check_hex(secret, body, header):
    if secret is None or header is None:
        return None
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def check_standard(secret, body, headers):
    if secret is None:
        return None
    # The documented key form: the secret itself when it already is a
    # Standard Webhooks secret, else whsec_ + base64 of its UTF-8 bytes.
    if secret.startswith("whsec_"):
        key = secret
    else:
        key = "whsec_" + base64.b64encode(secret.encode()).decode()
    try:
        Webhook(key).verify(body, headers)
        return True
    except Exception:  # noqa: BLE001 - any failure is a failed check
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    secret = None
    record = True

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's
        # algorithm and delayed ACKs add ~40 ms to every keep-alive request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.answer(200, b"ok")
        if self.path == "/received":
            with LOCK:
                body = json.dumps(RECEIVED).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        return self.answer(404, b"no such path")

    def do_DELETE(self):
        with LOCK:
            RECEIVED.clear()
        return self.answer(204)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        with LOCK:
            first = path not in SEEN_PATHS
            SEEN_PATHS[path] = SEEN_PATHS.get(path, 0) + 1
        if Handler.record:
            entry = {
                "path": path,
                "received_at": time.time(),
                "headers": headers,
                "body": body.decode("utf-8", errors="replace"),
                "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "hex_ok": check_hex(Handler.secret, body, headers.get("x-webhook-signature")),
                "std_ok": check_standard(Handler.secret, body, headers),
            }
            with LOCK:
                RECEIVED.append(entry)
        parts = path.strip("/").split("/")
        mode = parts[1] if len(parts) > 1 else "ok"
        arg = float(parts[2]) if len(parts) > 2 else 0.0
        if mode == "ok":
            return self.answer(200, b"ok")
        if mode == "204":
            return self.answer(204)
        if mode == "500":
            return self.answer(500, b"boom")
        if mode == "slow":
            time.sleep(arg)
            return self.answer(200, b"late")
        if mode == "stall_first":
            if first:
                time.sleep(arg)
            return self.answer(200, b"ok")
        if mode == "redirect":
            port = self.server.server_address[1]
            location = f"http://127.0.0.1:{port}/hook/redirected"
            return self.answer(302, b"moved", {"Location": location})
        return self.answer(200, b"ok")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up mid-request (the load tool at its end, a
        # runner killed on purpose) is no error of the receiver.
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret")
    parser.add_argument("--quiet", action="store_true", help="do not record requests (benchmark)")
    args = parser.parse_args()
    Handler.secret = args.secret
    Handler.record = not args.quiet
    server = Server(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
