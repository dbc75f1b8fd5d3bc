#!/usr/bin/env python3
"""A tiny Docker registry token service (python3 stdlib + the openssl CLI).

It implements the "token" auth flow of Docker distribution for one user:

  GET /token?service=SERVICE&scope=repository:NAME:ACTIONS[&scope=...]

with HTTP Basic credentials answers {"token", "access_token", "expires_in",
"issued_at"}: an RS256 JWT whose header carries x5c (the signing certificate,
which the registry verifies against its auth.token.rootcertbundle) and whose
claims grant the valid user the pull/push actions asked for. Missing or wrong
credentials get 401 and no token.

  GET /stats    {"requests": N, "issued": N, "denied": N, "log": [...]}
  GET /healthz  200 "ok"

Every /token request is also appended as one JSON line to --request-log, so
tests can check that clients cache tokens. Used by scripts/registry.sh
--token-auth; see docs/local-cluster.md.
"""

import argparse
import base64
import hmac
import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse

ACTIONS = ("pull", "push")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_to_der(pem_text):
    """DER bytes of the first certificate in a PEM file."""
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = pem_text.index(begin) + len(begin)
    stop = pem_text.index(end, start)
    return base64.b64decode("".join(pem_text[start:stop].split()))


class Issuer:
    def __init__(self, key, cert, issuer, service, user, password, ttl):
        self.key = key
        with open(cert, encoding="ascii") as f:
            self.x5c = [base64.b64encode(pem_to_der(f.read())).decode()]
        self.issuer = issuer
        self.service = service
        self.user = user
        self.password = password
        self.ttl = ttl

    def sign(self, signing_input):
        proc = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.key],
            input=signing_input,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0 or not proc.stdout:
            raise RuntimeError("openssl dgst -sign failed: " + proc.stderr.decode(errors="replace"))
        return proc.stdout

    def token(self, subject, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.ttl,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        ).encode()
        return signing_input.decode() + "." + b64url(self.sign(signing_input)), now

    def check_basic(self, header):
        """The user name if header holds this service's credentials."""
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_password = hmac.compare_digest(password.encode(), self.password.encode())
        return user if ok_user and ok_password else None


def parse_scope(scope):
    """{type, name, actions} granted for one scope string (or None)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or kind != "repository" or not name:
        return None
    granted = [a for a in actions.split(",") if a in ACTIONS]
    return {"type": kind, "name": name, "actions": sorted(set(granted))}


class Stats:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.requests = self.issued = self.denied = 0
        self.log = []
        self.log_path = log_path

    def record(self, entry):
        with self.lock:
            self.requests += 1
            if entry["status"] == 200:
                self.issued += 1
            else:
                self.denied += 1
            self.log.append(entry)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "issued": self.issued,
                "denied": self.denied,
                "log": list(self.log),
            }


def make_handler(issuer, stats):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "wasmlet-token-server"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

        def answer(self, status, body, extra=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/healthz":
                return self.answer(200, "ok")
            if url.path == "/stats":
                return self.answer(200, stats.snapshot())
            if url.path != "/token":
                return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
            query = urllib.parse.parse_qs(url.query)
            services = query.get("service", [])
            scopes = query.get("scope", [])
            entry = {"time": time.time(), "services": services, "scopes": scopes,
                     "user": None, "status": 0}
            user = issuer.check_basic(self.headers.get("Authorization"))
            if user is None:
                entry["status"] = 401
                stats.record(entry)
                return self.answer(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED",
                                 "message": "authentication required: valid basic credentials needed"}]},
                    [("WWW-Authenticate", 'Basic realm="wasmlet-token-server"')],
                )
            entry["user"] = user
            if services != [issuer.service] * max(1, len(services)):
                entry["status"] = 400
                stats.record(entry)
                return self.answer(400, {"errors": [{"code": "DENIED",
                                                     "message": f"unknown service {services!r}"}]})
            access = [a for a in (parse_scope(s) for s in scopes) if a and a["actions"]]
            try:
                token, issued_at = issuer.token(user, access)
            except RuntimeError as e:
                entry["status"] = 500
                stats.record(entry)
                return self.answer(500, {"errors": [{"code": "UNKNOWN", "message": str(e)}]})
            entry["status"] = 200
            entry["access"] = access
            stats.record(entry)
            return self.answer(200, {
                "token": token,
                "access_token": token,
                "expires_in": issuer.ttl,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued_at)),
            })

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:25003", help="HOST:PORT")
    p.add_argument("--key", required=True, help="PEM RSA key signing the tokens")
    p.add_argument("--cert", required=True, help="PEM certificate of --key (sent as x5c)")
    p.add_argument("--issuer", required=True, help="the registry's auth.token.issuer")
    p.add_argument("--service", required=True, help="the registry's auth.token.service")
    p.add_argument("--user", required=True)
    pw = p.add_mutually_exclusive_group(required=True)
    pw.add_argument("--password")
    pw.add_argument("--password-file", help="file holding the password (no newline needed)")
    p.add_argument("--ttl", type=int, default=300, help="token lifetime, seconds")
    p.add_argument("--request-log", help="append one JSON line per /token request")
    a = p.parse_args()

    password = a.password
    if a.password_file:
        with open(a.password_file, encoding="utf-8") as f:
            password = f.read().rstrip("\n")
    host, _, port = a.listen.rpartition(":")
    issuer = Issuer(a.key, a.cert, a.issuer, a.service, a.user, password, a.ttl)
    # Fail at start, not on the first request, if the key cannot sign.
    issuer.sign(b"probe")
    server = http.server.ThreadingHTTPServer((host or "127.0.0.1", int(port)),
                                             make_handler(issuer, Stats(a.request_log)))
    server.daemon_threads = True
    sys.stderr.write(f"token server on http://{a.listen}/token (pid {os.getpid()})\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
