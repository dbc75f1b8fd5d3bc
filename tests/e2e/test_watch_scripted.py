"""The list+watch loop against a scripted API server (TLS, verified), for
what a real cluster rarely does on demand: a watch stream that breaks off
mid-line, a watch answered with 410 Gone, and an ERROR event with code 410.
Every change must still reach the consumer exactly once, in order."""
import json
import signal
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from test_cli_run import WASMLET
from test_node import wait_for


def cm(name, rv):
    return {"metadata": {"namespace": "ns", "name": name,
                         "resourceVersion": str(rv)}}


def ev(kind, name, rv):
    return json.dumps({"type": kind, "object": cm(name, rv)}).encode() + b"\n"


class Script:
    """What the fake API server answers, step by step."""

    def __init__(self):
        self.requests = []
        self.lists = [
            {"metadata": {"resourceVersion": "10"},
             "items": [cm("a", 5), cm("b", 6)]},
            # After the 410: b changed, a deleted, c created meanwhile.
            {"metadata": {"resourceVersion": "40"},
             "items": [cm("b", 33), cm("c", 35)]},
        ]
        self.watches = {
            # rv 10: two events, then the connection drops mid-event.
            "10": [ev("ADDED", "x", 11), ev("MODIFIED", "a", 12),
                   b'{"type":"MODIFIED","obj'],
            # rv 12 (resumed): a replay of 12, a new one, then 410 as an
            # ERROR event.
            "12": [ev("MODIFIED", "a", 12), ev("DELETED", "x", 13),
                   json.dumps({"type": "ERROR", "object": {
                       "kind": "Status", "code": 410,
                       "message": "too old resource version"}}).encode()
                   + b"\n"],
            # rv 40 (after the relist): one more change, then stay open.
            "40": [ev("ADDED", "d", 41)],
        }


def make_handler(script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            script.requests.append(self.path)
            if "watch" not in q:
                body = json.dumps(script.lists.pop(0)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            rv = q["resourceVersion"][0]
            assert q["allowWatchBookmarks"] == ["true"]
            chunks = script.watches.pop(rv, None)
            if chunks is None:
                body = json.dumps({"kind": "Status", "code": 410,
                                   "message": "gone"}).encode()
                self.send_response(410)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            for c in chunks:
                self.wfile.write(c)
                self.wfile.flush()
                time.sleep(0.05)
            if rv == "40":
                time.sleep(30)  # an idle, healthy stream
            self.close_connection = True

    return Handler


@pytest.fixture
def fake_apiserver(tmp_path):
    # A serving certificate for 127.0.0.1 from a CA of our own.
    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    key, csr, crt = tmp_path / "s.key", tmp_path / "s.csr", tmp_path / "s.crt"
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "1", "-subj", "/CN=fake-ca")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey",
        ca_key, "-CAcreateserial", "-out", crt, "-days", "1", "-extfile", ext)
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    kc = tmp_path / "fake.kubeconfig"
    port = server.server_address[1]
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {ca_crt}
users:
- name: u
  user:
    token: scripted
contexts:
- name: fake
  context: {{cluster: fake, user: u}}
current-context: fake
""")
    yield kc, script
    server.shutdown()


def test_watch_survives_broken_streams_and_gone(fake_apiserver, tmp_path):
    kc, script = fake_apiserver
    out = tmp_path / "out"
    with open(out, "w") as f, open(tmp_path / "err", "w") as e:
        p = subprocess.Popen([WASMLET, "watch", "--kubeconfig", str(kc),
                              "/api/v1/namespaces/ns/configmaps"],
                             stdout=f, stderr=e)
        try:
            wait_for("all changes", lambda: "ADDED ns/d 41" in out.read_text(),
                     timeout=30)
            time.sleep(0.5)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
    assert p.returncode == 0
    assert out.read_text().splitlines() == [
        "ADDED ns/a 5", "ADDED ns/b 6",        # first list
        "ADDED ns/x 11", "MODIFIED ns/a 12",   # first stream, then it broke
        "DELETED ns/x 13",                     # resumed at 12: replay dropped
        "DELETED ns/a 12", "MODIFIED ns/b 33", "ADDED ns/c 35",  # relist diff
        "ADDED ns/d 41",                       # watch from the relist
    ]
    err = (tmp_path / "err").read_text()
    assert "resuming from resourceVersion 12" in err
    assert "resourceVersion 13 is gone; listing again" in err
    assert script.lists == []
