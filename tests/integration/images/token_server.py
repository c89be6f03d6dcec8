#!/usr/bin/env python3
"""A token server for docker-registry's `auth: token:` mode, for the image tests.

GET /token?service=S&scope=A&scope=B with Basic credentials answers a real JWT (RS256,
signed with `openssl dgst` and the test's key, the test's certificate in the x5c header),
granting for each requested scope the actions the user may have:

  alice (password s3cret): pull and push everywhere
  bob   (password b0b):    pull only
  anonymous:               nothing

Wrong credentials get 401. Every request is logged as one JSON line (the scopes as sent).
While a file LOG.short exists, the next token with a scope is issued to expire about 3 s
later (docker-registry allows 60 s of clock skew past `exp`), and the file is removed.

usage: token_server.py KEY CERT ISSUER LOG PORT_FILE
"""
import base64
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KEY, CERT, ISSUER, LOG, PORT_FILE = sys.argv[1:6]
USERS = {"alice": ("s3cret", {"pull", "push"}), "bob": ("b0b", {"pull"})}
lock = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der():
    out = subprocess.run(["openssl", "x509", "-in", CERT, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(out).decode()


X5C = cert_der()


def sign(payload):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(payload).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY],
                         input=signing_input.encode(), check=True,
                         capture_output=True).stdout
    return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        user, allowed = None, set()
        auth = self.headers.get("Authorization", "")
        entry = {"path": url.path, "service": query.get("service", []),
                 "scopes": query.get("scope", []), "user": None, "ok": True}
        if auth.startswith("Basic "):
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if name not in USERS or USERS[name][0] != password:
                entry["ok"] = False
                entry["user"] = name
                self.log(entry)
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "bad credentials"}]})
            user, allowed = name, USERS[name][1]
        entry["user"] = user
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if a in allowed]
            access.append({"type": kind, "name": name, "actions": granted})
        entry["granted"] = access
        now = int(time.time())
        exp = now + 300
        with lock:
            if query.get("scope") and os.path.exists(LOG + ".short"):
                os.unlink(LOG + ".short")
                exp = now - 57
                entry["short"] = True
        token = sign({"iss": ISSUER, "sub": user or "", "aud": query.get("service", [""])[0],
                      "exp": exp, "nbf": now - 10, "iat": now,
                      "jti": b64url(os.urandom(12)), "access": access})
        self.log(entry)
        self.answer(200, {"token": token, "access_token": token, "expires_in": 300})

    def log(self, entry):
        with lock, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
