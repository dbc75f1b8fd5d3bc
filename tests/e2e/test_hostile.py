"""Prove it safe (issue #9): a table of hostile inputs — broken modules,
broken images and registries, pod specs the API accepts but wasmlet must
refuse or report, and bad kubelet API requests. Each one must end in a
clear reason: a container state, a pod status reason, an Event, an HTTP
error; and the daemon keeps serving: control pods created with the table
and after it still run to Succeeded, and wasmlet exits 0 on SIGTERM.

Every pod of the table is created at once by the `table` fixture; each
parametrized test then waits for its own pod's answer."""
import hashlib
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from test_cli_run import module
from test_node import Wasmlet, node_json, ready_status, serve_node, wait_for
from test_pods import TOLERATE, create, events, get, push_images

NODE = "wasm-hostile"
LABELS = {"suite": "hostile"}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
LOG_MAX = 4 * 1024 * 1024
# The log flood: 100 MiB, or 16 MiB (still four rotations' worth) under
# TSan, whose instrumented log writer moved 100 MiB in more than 300 s on
# the loaded 2-core CI machine.
# Under TSan every byte the log writer scans is instrumented: 16 MiB took
# 104 s on an idle machine and over 300 s with the CI's three workers on
# two cores; 10 MiB is still two rotations and more at LOG_MAX.
FLOOD_MIB = 10 if os.environ.get("TSAN_OPTIONS") else 100
ENDLESS_MIB = 10 if os.environ.get("TSAN_OPTIONS") else 20


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def unique(wasm, tag):
    """wasm with a custom section naming tag appended: a module of its own
    digest, so no other test's pull has it in the node's store already."""
    name = tag.encode()
    body = bytes([len(name)]) + name
    return wasm + b"\0" + bytes([len(body)]) + body


def wat(tmp, name, text):
    src, out = tmp / f"{name}.wat", tmp / f"{name}.wasm"
    src.write_text(text)
    subprocess.run(["wat2wasm", "--enable-all", str(src), "-o", str(out)],
                   check=True, capture_output=True, timeout=30)
    return out.read_bytes()


# ------------------------------------------------------------ fake registry


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class FakeRegistry:
    """A registry that answers what a hostile or broken one would, by
    repository name (fake/<case>): bad JSON, lying digests and sizes,
    errors, redirect loops, a stall."""

    def __init__(self, port, wasm):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.release = threading.Event()
        self.requests = []
        blob = wasm
        good = sha(blob)
        cfg = b"{}"
        self.blobs = {good: blob, sha(cfg): cfg}

        def manifest(layers, config=None):
            return json_bytes({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": config or {"mediaType": WASM_CONFIG,
                                     "digest": sha(cfg), "size": len(cfg)},
                "layers": layers})

        def layer(digest=good, size=len(blob)):
            return {"mediaType": "application/wasm", "digest": digest,
                    "size": size}

        # the blob served for a digest that is not its content
        self.lying = sha(b"what the manifest promised")
        self.blobs[self.lying] = blob
        # a blob that goes on far past its declared size
        self.long_digest = sha(b"long")
        self.blobs[self.long_digest] = blob + b"\0" * (8 << 20)
        self.manifests = {
            "notjson": b"this is not JSON {",
            "schema1": json_bytes({"schemaVersion": 1, "name": "x",
                                   "fsLayers": []}),
            "mediatype": json_bytes({"schemaVersion": 2,
                                     "mediaType": "application/x-bogus"}),
            "oversize": json_bytes({"schemaVersion": 2, "mediaType":
                                    OCI_MANIFEST, "pad": "x" * (5 << 20)}),
            "deep": b"[" * 100000 + b"]" * 100000,
            "negsize": manifest([layer(size=-1)]),
            "md5": manifest([layer(digest="md5:" + "0" * 32)]),
            "nolayers": manifest([]),
            "manylayers": manifest([layer()] * 2000),
            "blobmismatch": manifest([layer(digest=self.lying)]),
            "bloblong": manifest([layer(digest=self.long_digest)]),
        }
        # an index whose wasi/wasm entry is another index
        inner = json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX,
                            "manifests": []})
        self.manifests["inner"] = inner
        self.manifests["nested"] = json_bytes({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": sha(inner),
                           "size": len(inner),
                           "platform": {"os": "wasip1",
                                        "architecture": "wasm"}}]})
        self.by_digest = {sha(b): b for b in self.manifests.values()}

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, code, body=b"", ctype="application/json",
                     extra=None, head=False):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-API-Version",
                                 "registry/2.0")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def route(self, head):
                outer.requests.append(self.path)
                parts = self.path.split("/")
                if self.path == "/v2/":
                    return self.send(200, b"{}", head=head)
                # /v2/fake/<case>/manifests/<ref> or .../blobs/<digest>
                if len(parts) != 6 or parts[1] != "v2" or parts[2] != "fake":
                    return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"'
                                          b',"message":"no such repo"}]}',
                                     head=head)
                case, kind, ref = parts[3], parts[4], parts[5]
                if kind == "blobs":
                    data = outer.blobs.get(ref)
                    if data is None:
                        return self.send(404, b"{}", head=head)
                    return self.send(200, data, "application/octet-stream",
                                     head=head)
                if case == "error500":
                    return self.send(500, b"internal trouble", "text/plain",
                                     head=head)
                if case == "redirect":
                    return self.send(302, b"", extra={"Location": self.path},
                                     head=head)
                if case == "stall":
                    self.send_response(200)
                    self.send_header("Content-Type", OCI_MANIFEST)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"schemaVersion":')
                    self.wfile.flush()
                    outer.release.wait(120)
                    self.close_connection = True
                    return None
                if case == "wrongdigest":
                    body = outer.manifests["nolayers"]
                    return self.send(200, body, OCI_MANIFEST, head=head)
                body = outer.by_digest.get(ref) or outer.manifests.get(case)
                if body is None:
                    return self.send(404, b'{"errors":[{"code":'
                                          b'"MANIFEST_UNKNOWN","message":'
                                          b'"manifest unknown"}]}', head=head)
                ctype = OCI_INDEX if b'"manifests"' in body[:100] \
                    else OCI_MANIFEST
                return self.send(200, body, ctype,
                                 extra={"Docker-Content-Digest": sha(body)},
                                 head=head)

            def do_GET(self):
                self.route(False)

            def do_HEAD(self):
                self.route(True)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def hello_wasm():
    with open(module("hello"), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def fake(ports, hello_wasm):
    f = FakeRegistry(ports(1)[0], unique(hello_wasm, "fake")).start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def refused_host(ports):
    """host:port where nothing listens."""
    return f"127.0.0.1:{ports(1)[0]}"


@pytest.fixture(scope="module")
def node(cluster, registry, fake, refused_host, work, ports):
    gen = serve_node(
        cluster, NODE, work, ports(1)[0], "--insecure-registries",
        f"{registry.host},{fake.host},{refused_host}",
        "--container-log-max-size", str(LOG_MAX),
        "--container-log-max-files", "2", selector="suite=hostile")
    w = next(gen)
    try:
        yield w
    finally:
        # A pull may still be stuck in the stalled registry answer: SIGTERM
        # abandons it (test_sigterm_during_a_stalled_pull_exits_promptly).
        try:
            next(gen, None)  # SIGTERM: must exit 0 (asserted there)
        finally:
            if w.proc.poll() is None:  # never leave it behind
                w.proc.kill()
                w.proc.wait()


# ------------------------------------------------------------ images


def push_raw(registry, repo, wasm):
    return registry.push_wasm(repo, "v1", wasm)["reference"]


def push_manifest(registry, repo, tag, body, media_type):
    status, headers, resp = registry.request(
        "PUT", f"/v2/{repo}/manifests/{tag}", data=body,
        headers={"Content-Type": media_type})
    assert status == 201, f"PUT manifest {repo}: {status} {resp!r}"
    return f"{registry.host}/{repo}:{tag}"


@pytest.fixture(scope="module")
def images(registry, hello_wasm, work):
    imgs = push_images(registry, "hostile", ("hello", "exit_code", "trap",
                                             "loop", "memhog", "files",
                                             "flood"))
    r = registry
    raw = {
        "text": b"this is a shell script, not a module\n#!/bin/sh\n",
        "empty": b"",
        "truncated": hello_wasm[:100],
        "component": b"\0asm\x0d\0\x01\0",
        "version2": b"\0asm\x02\0\0\0",
        "hugemem": wat(work, "hugemem",
                       '(module (memory (export "memory") 65536)'
                       ' (func (export "_start")))'),
        "badimport": wat(work, "badimport",
                         '(module (import "env" "missing" (func $x))'
                         ' (memory (export "memory") 1)'
                         ' (func (export "_start") call $x))'),
        "badwasi": wat(work, "badwasi",
                       '(module (import "wasi_snapshot_preview1" "no_such_call"'
                       ' (func $x)) (memory (export "memory") 1)'
                       ' (func (export "_start") call $x))'),
        "reactor": wat(work, "reactor",
                       '(module (memory (export "memory") 1)'
                       ' (func (export "_initialize")))'),
        "starttrap": wat(work, "starttrap",
                         '(module (memory (export "memory") 1)'
                         ' (func $s unreachable) (start $s)'
                         ' (func (export "_start")))'),
        "recurse": wat(work, "recurse",
                       '(module (memory (export "memory") 1)'
                       ' (func $f (param i32) (result i32) local.get 0'
                       ' i32.const 1 i32.add call $f)'
                       ' (func (export "_start") i32.const 0 call $f drop))'),
        "divzero": wat(work, "divzero",
                       '(module (memory (export "memory") 1)'
                       ' (func (export "_start") i32.const 1 i32.const 0'
                       ' i32.div_s drop))'),
        "oob": wat(work, "oob",
                   '(module (memory (export "memory") 1)'
                   ' (func (export "_start") i32.const 0x7fffffff i32.load'
                   ' drop))'),
        "startparams": wat(work, "startparams",
                           '(module (memory (export "memory") 1)'
                           ' (func (export "_start") (param i32)))'),
    }
    for name, data in raw.items():  # each its own content: pulled anew
        imgs["raw-" + name] = push_raw(r, f"hostile/raw-{name}", data)

    # A layer declared at 300 MiB (the limit is 256 MiB).
    wasm = unique(hello_wasm, "sizes")
    layer = r.push_blob("hostile/sizes", wasm)
    cfg = r.push_blob("hostile/sizes", b"{}")

    def man(size, config=None, layers=None):
        return json_bytes({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": config or {"mediaType": WASM_CONFIG, "digest": cfg,
                                 "size": 2},
            "layers": layers or [{"mediaType": "application/wasm",
                                  "digest": layer, "size": size}]})
    imgs["huge-layer"] = push_manifest(r, "hostile/sizes", "huge",
                                       man(300 << 20), OCI_MANIFEST)

    # An index whose only entry is for linux/amd64.
    good = r.push_wasm("hostile/index", "one", unique(hello_wasm, "index"))
    index = json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [{"mediaType": OCI_MANIFEST,
                                       "digest": good["digest"],
                                       "size": len(good["manifest"]),
                                       "platform": {"os": "linux",
                                                    "architecture": "amd64"}}]})
    imgs["index-linux"] = push_manifest(r, "hostile/index", "v1", index,
                                        OCI_INDEX)

    # A Linux container image: OCI config for linux/amd64, a tar.gz layer.
    tgz = subprocess.run(["tar", "-czf", "-", "-C", str(work), "hugemem.wat"],
                         check=True, capture_output=True).stdout
    tdig = r.push_blob("hostile/linux", tgz)
    lcfg = json_bytes({"architecture": "amd64", "os": "linux",
                       "config": {"Entrypoint": ["/bin/sh"]},
                       "rootfs": {"type": "layers", "diff_ids": [sha(tgz)]}})
    ldig = r.push_blob("hostile/linux", lcfg)
    imgs["linux"] = push_manifest(r, "hostile/linux", "v1", man(
        0, config={"mediaType": OCI_CONFIG, "digest": ldig,
                   "size": len(lcfg)},
        layers=[{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                 "digest": tdig, "size": len(tgz)}]), OCI_MANIFEST)
    return imgs


# ------------------------------------------------------------ the table


def ctr(image, args=None, **kw):
    c = {"name": "main", "image": image}
    if args is not None:
        c["args"] = [str(a) for a in args]
    c.update(kw)
    return c


def pod(name, container, **spec):
    s = {"restartPolicy": "Never", "automountServiceAccountToken": False,
         "tolerations": TOLERATE, "nodeName": NODE,
         "terminationGracePeriodSeconds": 2, "containers": [container]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": dict(LABELS)}, "spec": s}


def waiting(reasons, *needles):
    """The container waits with one of reasons, its message holding every
    needle ("{ns}" in one stands for the pod's namespace)."""
    reasons = {reasons} if isinstance(reasons, str) else set(reasons)

    def check(p, env):
        w = state(p).get("waiting") or {}
        msg = w.get("message") or ""
        ns = p["metadata"]["namespace"]
        return w.get("reason") in reasons and all(
            n.replace("{ns}", ns) in msg for n in needles)
    check.what = f"waiting {sorted(reasons)} with {needles}"
    return check


def pull_error(*needles):
    return waiting({"ErrImagePull", "ImagePullBackOff"}, *needles)


def terminated(exit_code, reason, *needles, phase="Failed"):
    def check(p, env):
        t = state(p).get("terminated") or {}
        msg = t.get("message") or ""
        return (p["status"].get("phase") == phase and
                t.get("exitCode") == exit_code and t.get("reason") == reason
                and all(n in msg for n in needles))
    check.what = f"{phase}, terminated {exit_code} {reason} with {needles}"
    return check


def rejected(reason, *needles):
    """The pod itself fails with reason (admission)."""
    def check(p, env):
        st = p["status"]
        return (st.get("phase") == "Failed" and st.get("reason") == reason and
                all(n in (st.get("message") or "") for n in needles))
    check.what = f"pod Failed {reason} with {needles}"
    return check


def event(reason, *needles):
    def check(p, env):
        return any(r == reason and all(n in m for n in needles)
                   for r, m in env.events(p["metadata"]["name"]))
    check.what = f"Event {reason} with {needles}"
    return check


def both(*checks):
    def check(p, env):
        return all(c(p, env) for c in checks)
    check.what = " and ".join(c.what for c in checks)
    return check


def logged(*needles, absent=()):
    """Its log (every file of run 0) holds each needle, none of absent."""
    def check(p, env):
        text = env.log(p)
        return all(n in text for n in needles) and \
            not any(a in text for a in absent)
    check.what = f"log with {needles}, without {absent}"
    return check


def state(p):
    cs = p["status"].get("containerStatuses") or [{}]
    return cs[0].get("state") or {}


class Case:
    def __init__(self, id, make, check, timeout=60):
        self.id, self.make, self.check, self.timeout = id, make, check, timeout


BIG_VALUE = "v" * (1 << 20)
MANY_ARGS = [f"arg-{i:05d}-" + "a" * 90 for i in range(1000)]


def cases():
    H = "hello"
    mem = {"limits": {"memory": "64Mi"}}
    return [
        # ---- modules
        Case("module-not-wasm", lambda i, e: ctr(i["raw-text"]),
             waiting("CreateContainerError",
                     "not a WebAssembly module (no \\0asm header)")),
        Case("module-zero-bytes", lambda i, e: ctr(i["raw-empty"]),
             waiting("CreateContainerError", "not a WebAssembly module")),
        Case("module-truncated", lambda i, e: ctr(i["raw-truncated"]),
             waiting("CreateContainerError", "unexpected end-of-file")),
        Case("module-component", lambda i, e: ctr(i["raw-component"]),
             waiting("CreateContainerError", "expected a WebAssembly module "
                     "but was given a WebAssembly component")),
        Case("module-binary-version-2", lambda i, e: ctr(i["raw-version2"]),
             waiting("CreateContainerError", "unknown binary version")),
        Case("module-huge-min-memory",
             lambda i, e: ctr(i["raw-hugemem"], resources=mem),
             waiting("RunContainerError", "needs 4294967296 bytes of linear "
                     "memory to start, over its memory limit of 67108864")),
        Case("module-memory-limit-below-minimum",
             lambda i, e: ctr(i[H], resources={"limits": {"memory": "1Ki"}}),
             waiting("RunContainerError", "bytes of linear memory to start, "
                     "over its memory limit of 1024 bytes")),
        Case("module-missing-import", lambda i, e: ctr(i["raw-badimport"]),
             waiting("RunContainerError",
                     "unknown import: `env::missing` has not been defined")),
        Case("module-unknown-wasi-call", lambda i, e: ctr(i["raw-badwasi"]),
             waiting("RunContainerError", "unknown import: `wasi_snapshot_"
                     "preview1::no_such_call` has not been defined")),
        Case("module-reactor-without-start",
             lambda i, e: ctr(i["raw-reactor"]),
             waiting("RunContainerError", "exports no _start function")),
        Case("module-start-section-traps",
             lambda i, e: ctr(i["raw-starttrap"]),
             waiting("RunContainerError", "unreachable")),
        Case("module-start-takes-params",
             lambda i, e: ctr(i["raw-startparams"]),
             terminated(1, "Error", "expected 1 arguments, got 0")),
        Case("module-traps-at-once", lambda i, e: ctr(i["trap"]),
             terminated(1, "Error", "unreachable")),
        Case("module-divides-by-zero", lambda i, e: ctr(i["raw-divzero"]),
             terminated(1, "Error", "integer divide by zero")),
        # "memory fault at wasm address 0x7fffffff" with signal-based
        # traps; the TSan build checks bounds explicitly instead and says
        # "out of bounds memory access"
        Case("module-out-of-bounds-load", lambda i, e: ctr(i["raw-oob"]),
             terminated(1, "Error", "memory")),
        Case("module-infinite-recursion", lambda i, e: ctr(i["raw-recurse"]),
             terminated(1, "Error", "call stack exhausted")),
        Case("module-exit-42", lambda i, e: ctr(i["exit_code"], [42]),
             terminated(42, "Error")),
        Case("module-proc-exit-300", lambda i, e: ctr(i["exit_code"], [300]),
             terminated(1, "Error", "invalid exit status")),
        Case("module-memory-hog", lambda i, e: ctr(
            i["memhog"], resources={"limits": {"memory": "16Mi"}}),
            terminated(137, "OOMKilled")),
        Case("module-spins-past-deadline", lambda i, e: ctr(i["loop"]),
             rejected("DeadlineExceeded"),
             ).with_spec(activeDeadlineSeconds=1),
        Case("module-floods-logs",
             lambda i, e: ctr(i["flood"], [FLOOD_MIB]),
             both(terminated(0, "Completed", phase="Succeeded"),
                  logged(f"flood: wrote {FLOOD_MIB} MiB")), timeout=300),
        Case("module-floods-one-endless-line",
             lambda i, e: ctr(i["flood"], [ENDLESS_MIB, "nonl"]),
             both(terminated(0, "Completed", phase="Succeeded"),
                  logged(f"flood: wrote {ENDLESS_MIB} MiB")), timeout=300),
        # ---- images and registries
        Case("image-tag-missing",
             lambda i, e: ctr(f"{e.registry.host}/hostile/hello:nope"),
             pull_error("MANIFEST_UNKNOWN")),
        Case("image-repo-missing",
             lambda i, e: ctr(f"{e.registry.host}/hostile/nothing-here:v1"),
             pull_error("/v2/hostile/nothing-here/manifests/v1: HTTP 404")),
        Case("image-digest-missing",
             lambda i, e: ctr(f"{e.registry.host}/hostile/hello@sha256:"
                              + "0" * 64),
             pull_error("MANIFEST_UNKNOWN")),
        Case("image-registry-refuses-connections",
             lambda i, e: ctr(f"{e.refused}/hostile/hello:v1"),
             pull_error("Couldn't connect to server")),
        Case("image-reference-invalid",
             lambda i, e: ctr("Hostile/UPPER case:v1"),
             pull_error("invalid reference")),
        Case("image-reference-bad-digest",
             lambda i, e: ctr(f"{e.registry.host}/hostile/hello@sha256:xyz"),
             pull_error("invalid reference")),
        Case("image-layer-over-size-limit", lambda i, e: ctr(i["huge-layer"]),
             pull_error("module layer of 314572800 bytes is over the limit")),
        Case("image-index-without-wasm", lambda i, e: ctr(i["index-linux"]),
             pull_error("no wasi/wasm entry in the image index",
                        "linux/amd64")),
        Case("image-linux-container", lambda i, e: ctr(i["linux"]),
             pull_error("not a WebAssembly image", "linux/amd64")),
        Case("image-pull-never-absent",
             lambda i, e: ctr(f"{e.registry.host}/hostile/hello:never",
                              imagePullPolicy="Never"),
             waiting("ErrImageNeverPull",
                     "is not present with pull policy of Never")),
        Case("registry-manifest-not-json",
             lambda i, e: ctr(f"{e.fake.host}/fake/notjson:v1"),
             pull_error("manifest: invalid JSON at line 1 column 4")),
        Case("registry-manifest-schema-1",
             lambda i, e: ctr(f"{e.fake.host}/fake/schema1:v1"),
             pull_error("schemaVersion is not 2")),
        Case("registry-manifest-unknown-media-type",
             lambda i, e: ctr(f"{e.fake.host}/fake/mediatype:v1"),
             pull_error('unsupported manifest media type '
                        '"application/x-bogus"')),
        Case("registry-manifest-5MiB",
             lambda i, e: ctr(f"{e.fake.host}/fake/oversize:v1"),
             pull_error("/v2/fake/oversize/manifests/v1: answer over 4194304 bytes")),
        Case("registry-manifest-nested-100000-deep",
             lambda i, e: ctr(f"{e.fake.host}/fake/deep:v1"),
             pull_error("manifest: JSON nested deeper than 64 levels")),
        Case("registry-layer-negative-size",
             lambda i, e: ctr(f"{e.fake.host}/fake/negsize:v1"),
             pull_error("size missing or negative")),
        Case("registry-layer-md5-digest",
             lambda i, e: ctr(f"{e.fake.host}/fake/md5:v1"),
             pull_error("is not sha256:<hex>")),
        Case("registry-manifest-no-layers",
             lambda i, e: ctr(f"{e.fake.host}/fake/nolayers:v1"),
             pull_error("not a WebAssembly image", "0 layer(s), none of "
                        "type application/wasm")),
        Case("registry-manifest-2000-layers",
             lambda i, e: ctr(f"{e.fake.host}/fake/manylayers:v1"),
             pull_error("more than the limit of 1024")),
        Case("registry-blob-not-its-digest",
             lambda i, e: ctr(f"{e.fake.host}/fake/blobmismatch:v1"),
             pull_error("digest mismatch")),
        Case("registry-blob-longer-than-declared",
             lambda i, e: ctr(f"{e.fake.host}/fake/bloblong:v1"),
             pull_error("is larger than the", "bytes the manifest "
                        "declares; not stored")),
        Case("registry-manifest-not-the-digest-asked",
             lambda i, e: ctr(f"{e.fake.host}/fake/wrongdigest@sha256:"
                              + "a" * 64),
             pull_error("digest mismatch")),
        Case("registry-index-of-indexes",
             lambda i, e: ctr(f"{e.fake.host}/fake/nested:v1"),
             pull_error("expected an image manifest, got an index")),
        Case("registry-answers-500",
             lambda i, e: ctr(f"{e.fake.host}/fake/error500:v1"),
             pull_error("/v2/fake/error500/manifests/v1: HTTP 500")),
        Case("registry-redirect-loop",
             lambda i, e: ctr(f"{e.fake.host}/fake/redirect:v1"),
             pull_error("Number of redirects hit maximum amount")),
        # ---- pod specs the API accepts
        Case("spec-probes-and-lifecycle", lambda i, e: ctr(
            i[H], livenessProbe={"exec": {"command": ["true"]}},
            startupProbe={"httpGet": {"port": 80}},
            lifecycle={"preStop": {"exec": {"command": ["x"]}}},
            tty=True, stdin=True, workingDir="/srv"),
            both(terminated(0, "Completed", phase="Succeeded"),
                 event("UnsupportedField",
                       "spec.containers[0].livenessProbe, spec.containers[0]."
                       "startupProbe, spec.containers[0].lifecycle, "
                       "spec.containers[0].stdin, spec.containers[0].tty, "
                       "spec.containers[0].workingDir: not supported by "
                       "wasmlet, ignored"))),
        Case("spec-host-network", lambda i, e: ctr(i[H]),
             rejected("UnsupportedPodSpec", "spec.hostNetwork: host "
                      "networking is not supported by wasmlet")
             ).with_spec(hostNetwork=True),
        Case("spec-host-pid", lambda i, e: ctr(i[H]),
             rejected("UnsupportedPodSpec", "spec.hostPID")
             ).with_spec(hostPID=True),
        Case("spec-privileged", lambda i, e: ctr(
            i[H], securityContext={"privileged": True}),
            rejected("UnsupportedPodSpec", 'container "main": securityContext'
                     ".privileged is not supported by wasmlet")),
        Case("spec-host-port", lambda i, e: ctr(
            i[H], ports=[{"containerPort": 80, "hostPort": 8080}]),
            rejected("UnsupportedPodSpec", "ports[0].hostPort 8080 is not "
                     "supported by wasmlet")),
        Case("spec-nfs-volume", lambda i, e: ctr(i[H]),
             rejected("UnsupportedPodSpec", 'volume "v": nfs volumes are not '
                      "supported by wasmlet")
             ).with_spec(volumes=[{"name": "v", "nfs": {
                 "server": "10.0.0.1", "path": "/x"}}]),
        Case("spec-csi-volume", lambda i, e: ctr(i[H]),
             rejected("UnsupportedPodSpec", 'volume "v": csi volumes')
             ).with_spec(volumes=[{"name": "v", "csi": {
                 "driver": "x.example.com"}}]),
        Case("spec-hostpath-socket", lambda i, e: ctr(
            i[H], volumeMounts=[{"name": "h", "mountPath": "/h"}]),
            waiting("CreateContainerConfigError", 'volume "h": hostPath type '
                    "Socket is not supported: WASI can only preopen "
                    "directories")
            ).with_spec(volumes=[{"name": "h", "hostPath": {
                "path": "/run/x.sock", "type": "Socket"}}]),
        Case("spec-hostpath-char-device", lambda i, e: ctr(
            i[H], volumeMounts=[{"name": "h", "mountPath": "/h"}]),
            waiting("CreateContainerConfigError", "hostPath type CharDevice "
                    "is not supported")
            ).with_spec(volumes=[{"name": "h", "hostPath": {
                "path": "/dev/null", "type": "CharDevice"}}]),
        Case("spec-hostpath-directory-is-a-file", lambda i, e: ctr(
            i[H], volumeMounts=[{"name": "h", "mountPath": "/h"}]),
            waiting("CreateContainerConfigError", "hostPath type check "
                    "failed: /etc/hostname is not a directory")
            ).with_spec(volumes=[{"name": "h", "hostPath": {
                "path": "/etc/hostname", "type": "Directory"}}]),
        Case("spec-subpath-through-symlink-out", lambda i, e: ctr(
            i["files"], ["ls", "/x"],
            volumeMounts=[{"name": "h", "mountPath": "/x",
                           "subPath": "up/etc"}]),
            waiting("CreateContainerConfigError",
                    "subPath up/etc leads out of the volume"),
            ).with_volume_host(),
        Case("spec-subpath-is-a-file", lambda i, e: ctr(
            i["files"], ["ls", "/x"],
            volumeMounts=[{"name": "h", "mountPath": "/x",
                           "subPath": "afile"}]),
            waiting("CreateContainerConfigError", "subPath afile is not a "
                    "directory: WASI can only preopen directories"),
            ).with_volume_host(),
        Case("spec-subpathexpr-expands-to-dotdot", lambda i, e: ctr(
            i["files"], ["ls", "/x"], env=[{"name": "UP", "value": "../.."}],
            volumeMounts=[{"name": "w", "mountPath": "/x",
                           "subPathExpr": "$(UP)"}]),
            waiting("CreateContainerConfigError", "volumeMount w: subPath")
            ).with_spec(volumes=[{"name": "w", "emptyDir": {}}]),
        Case("spec-env-missing-configmap", lambda i, e: ctr(i[H], env=[
            {"name": "X", "valueFrom": {"configMapKeyRef": {
                "name": "hostile-absent", "key": "k"}}}]),
            waiting("CreateContainerConfigError",
                    "configmap {ns}/hostile-absent not found")),
        Case("spec-env-missing-secret-key", lambda i, e: ctr(i[H], env=[
            {"name": "X", "valueFrom": {"secretKeyRef": {
                "name": "hostile-sec", "key": "nokey"}}}]),
            waiting("CreateContainerConfigError", "couldn't find key nokey "
                    "in secret {ns}/hostile-sec")),
        Case("spec-envfrom-missing-secret", lambda i, e: ctr(
            i[H], envFrom=[{"secretRef": {"name": "hostile-nosecret"}}]),
            waiting("CreateContainerConfigError",
                    "secret {ns}/hostile-nosecret not found")),
        Case("spec-env-expansion-loops", lambda i, e: ctr(i[H], env=[
            {"name": "A", "value": "$(A)$(A)"},
            {"name": "B", "value": "$(C)"},
            {"name": "C", "value": "$(B)$(B)$(B)"}]),
            both(terminated(0, "Completed", phase="Succeeded"),
                 logged("env A=$(A)$(A)\n", "env B=$(C)\n",
                        "env C=$(C)$(C)$(C)\n"))),
        Case("spec-env-1000-variables", lambda i, e: ctr(i[H], env=[
            {"name": f"V{n:04d}", "value": f"value-{n}"}
            for n in range(1000)]),
            rejected("UnsupportedPodSpec", "spec.containers[0].env: 1000 "
                     "items, more than the limit of 256")),
        Case("spec-env-1MiB-value", lambda i, e: ctr(
            i[H], env=[{"name": "BIG", "value": BIG_VALUE}]),
            terminated(0, "Completed", phase="Succeeded")),
        Case("spec-3000-args", lambda i, e: ctr(i[H], MANY_ARGS * 3),
             rejected("UnsupportedPodSpec", "spec.containers[0].args: 3000 "
                      "items, more than the limit of 1024")),
        Case("spec-1000-args-of-100-bytes", lambda i, e: ctr(i[H], MANY_ARGS),
             both(terminated(0, "Completed", phase="Succeeded"),
                  logged(f"arg[1000]={MANY_ARGS[-1]}\n"))),
        Case("spec-projected-missing-configmap", lambda i, e: ctr(
            i[H], volumeMounts=[{"name": "p", "mountPath": "/p"}]),
            both(event("FailedMount", 'MountVolume.SetUp failed for volume '
                       '"p" : configmap "hostile-absent" not found'),
                 waiting("ContainerCreating"))
            ).with_spec(volumes=[{"name": "p", "projected": {"sources": [
                {"configMap": {"name": "hostile-absent"}}]}}]),
        Case("spec-secret-volume-missing-item-key", lambda i, e: ctr(
            i[H], volumeMounts=[{"name": "s", "mountPath": "/s"}]),
            both(event("FailedMount", 'MountVolume.SetUp failed for volume '
                       '"s" : references non-existent secret key: nokey'),
                 waiting("ContainerCreating"))
            ).with_spec(volumes=[{"name": "s", "secret": {
                "secretName": "hostile-sec",
                "items": [{"key": "nokey", "path": "k"}]}}]),
        Case("spec-emptydir-size-limit-0", lambda i, e: ctr(
            i[H], volumeMounts=[{"name": "w", "mountPath": "/w"}]),
            # no limit, as the kubelet reads it (only a positive one counts)
            terminated(0, "Completed", phase="Succeeded"),
            ).with_spec(volumes=[{"name": "w", "emptyDir": {
                "sizeLimit": "0"}}]),
        Case("spec-emptydir-filled-past-size-limit", lambda i, e: ctr(
            i["files"], ["fill", "/w/junk", 3 << 20],
            volumeMounts=[{"name": "w", "mountPath": "/w"}]),
            both(rejected("Evicted", 'Usage of EmptyDir volume "w" exceeds '
                          'the limit "1Mi".'),
                 terminated(137, "Error"))
            ).with_spec(volumes=[{"name": "w", "emptyDir": {
                "sizeLimit": "1Mi"}}]),
        Case("guest-reads-etc-passwd", lambda i, e: ctr(
            i["files"], ["read", "/etc/passwd"]),
            both(terminated(1, "Error"), logged("/etc/passwd: ",
                                                absent=("root:",)))),
        Case("guest-climbs-out-of-its-preopen", lambda i, e: ctr(
            i["files"], ["read", "/data/../../../../etc/passwd"],
            volumeMounts=[{"name": "w", "mountPath": "/data"}]),
            both(terminated(1, "Error"), logged("/etc/passwd: ",
                                                absent=("root:",)))
            ).with_spec(volumes=[{"name": "w", "emptyDir": {}}]),
        Case("guest-follows-symlink-out-of-volume", lambda i, e: ctr(
            i["files"], ["read", "/x/up/etc/passwd"],
            volumeMounts=[{"name": "h", "mountPath": "/x"}]),
            both(terminated(1, "Error"), logged("/x/up/etc/passwd: ",
                                                absent=("root:",))),
            ).with_volume_host(),
        # last: a stalled registry ends in an error only after curl's
        # 60 s low-speed limit
        Case("registry-stalls-mid-manifest",
             lambda i, e: ctr(f"{e.fake.host}/fake/stall:v1"),
             pull_error("/v2/fake/stall/manifests/v1: Timeout was reached"),
             timeout=120),
    ]


def _with_spec(self, **spec):
    self.spec = spec
    return self


def _with_volume_host(self):
    self.volume_host = True
    return self


Case.spec = {}
Case.volume_host = False
Case.with_spec = _with_spec
Case.with_volume_host = _with_volume_host

CASES = cases()
assert len({c.id for c in CASES}) == len(CASES)


class Env:
    """What the checks need: registries, the node, cached Events."""

    def __init__(self, cluster, node, registry, fake, refused):
        self.cluster, self.node = cluster, node
        self.registry, self.fake, self.refused = registry, fake, refused
        self.create_errors = ""

    def events(self, name):
        r = self.cluster.kubectl("get", "events", "--field-selector",
                                 f"involvedObject.name={name}", "-o", "json")
        return [(e["reason"], e["message"])
                for e in json.loads(r.stdout)["items"]]

    def log(self, p):
        d = self.node.data_dir / "pods" / p["metadata"]["uid"] / "main"
        if not d.is_dir():
            return ""
        parts = []
        for f in sorted(d.glob("0.log*"), key=lambda f: -len(f.suffixes)):
            for line in f.read_text(errors="replace").splitlines():
                fields = line.split(" ", 3)
                if len(fields) == 4:
                    parts.append(fields[3] + ("\n" if fields[2] == "F"
                                              else ""))
        return "".join(parts)


def pod_name(case):
    return "h-" + case.id.lower()[:55]


@pytest.fixture(scope="module")
def table(cluster, node, registry, fake, refused_host, images, work):
    """Creates every pod of the table (and a control pod among them) in one
    kubectl call."""
    host = work / "hostdir"
    host.mkdir(exist_ok=True)
    (host / "up").symlink_to("../../../../../../../../")
    (host / "afile").write_text("a file\n")
    env = Env(cluster, node, registry, fake, refused_host)
    objs = [{"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "hostile-sec"},
             "stringData": {"key": "value"}}]
    for c in CASES:
        extra = dict(c.spec)
        if c.volume_host:
            extra["volumes"] = [{"name": "h", "hostPath": {"path": str(host)}}]
        objs.append(pod(pod_name(c), c.make(images, env), **extra))
    mid = len(objs) // 2
    objs.insert(mid, pod("h-control-early", ctr(images["hello"], ["early"])))
    # create, not apply: apply's last-applied annotation would double the
    # big pods. An object the API refuses fails only its own case.
    r = cluster.kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": objs}), timeout=120,
        check=False)
    env.create_errors = r.stderr
    yield env
    cluster.kubectl("delete", "secret", "hostile-sec", "--ignore-not-found")


def wait_check(env, name, check, timeout):
    deadline = time.monotonic() + timeout
    p = None
    while time.monotonic() < deadline:
        p = get(env.cluster, name)
        if p and check(p, env):
            return p
        time.sleep(0.5)
    if p is None:
        pytest.fail(f"pod {name} was not created: {env.create_errors}")
    status = json.dumps(p.get("status"), indent=1)[:3000]
    pytest.fail(f"pod {name}: wanted {getattr(check, 'what', check)}, "
                f"still have after {timeout}s:\n{status}\nevents: "
                f"{env.events(name)}", pytrace=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_pod_gets_a_clear_answer(table, case):
    wait_check(table, pod_name(case), case.check, case.timeout)


def test_log_flood_is_rotated_and_kept_small(table):
    p = get(table.cluster, pod_name(next(
        c for c in CASES if c.id == "module-floods-logs")))
    d = table.node.data_dir / "pods" / p["metadata"]["uid"] / "main"
    files = sorted(f.name for f in d.iterdir() if f.name.startswith("0.log"))
    assert files == ["0.log", "0.log.1"], files
    for f in files:
        assert (d / f).stat().st_size <= LOG_MAX, f
    r = table.cluster.kubectl("logs", pod_name(next(
        c for c in CASES if c.id == "module-floods-one-endless-line")),
        "--tail=2")
    # the stderr line; stdout's unfinished line may be flushed after it
    assert f"flood: wrote {ENDLESS_MIB} MiB\n" in r.stdout, r.stdout[-200:]


def test_control_pod_among_the_table_succeeds(table):
    wait_check(table, "h-control-early",
               terminated(0, "Completed", phase="Succeeded"), 60)


# ------------------------------------------------------------ kubelet API


def raw_request(port, data, cert=None, timeout=10):
    """Sends data over TLS to the kubelet port and returns (status, body)
    of the answer (status 0 when the connection closed without one)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with ctx.wrap_socket(s) as t:
            t.sendall(data)
            got = b""
            try:
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    got += chunk
            except (ssl.SSLError, ConnectionResetError, socket.timeout):
                pass
    head, _, body = got.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].split()
    return (int(line[1]) if len(line) >= 2 else 0), body.decode(
        errors="replace")


def req(target, method="GET", headers=""):
    return (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
            "Connection: close\r\n\r\n").encode()


API_CASES = [
    ("unknown-path", req("/no/such/thing"), 404,
     "could not find the requested resource"),
    ("huge-header", req("/healthz", headers="X-Big: " + "h" * 40000 + "\r\n"),
     431, ""),
    ("10KB-url", req("/pods?" + "u" * 10000), 414, ""),
    ("bad-percent-escape", req("/containerLogs/default/%zz/main"), 400,
     "invalid URL escape"),
    ("nul-in-path", req("/containerLogs/default/a%00b/main"), 404,
     "the path is not valid"),
    ("dotdot-in-path", req("/containerLogs/default/../../etc/passwd"), 404,
     ""),
    ("unknown-method", req("/pods", method="BREW"), 405, ""),
    ("post-to-pods", req("/pods", method="POST",
                         headers="Content-Length: 0\r\n"), 405, ""),
    ("tailLines-negative",
     req("/containerLogs/default/h-control-early/main?tailLines=-1"), 400,
     "tailLines"),
    ("limitBytes-not-a-number",
     req("/containerLogs/default/h-control-early/main?limitBytes=abc"), 400,
     "limitBytes"),
    ("sinceTime-garbage",
     req("/containerLogs/default/h-control-early/main?sinceTime=yesterday"),
     400, "sinceTime"),
    ("exec-not-supported",
     req("/exec/default/h-control-early/main?command=sh"), 400,
     "not supported for WebAssembly pods"),
    ("no-client-certificate", req("/pods"), 401, "Unauthorized"),
]


@pytest.mark.parametrize("data,status,needle",
                         [c[1:] for c in API_CASES],
                         ids=[c[0] for c in API_CASES])
def test_bad_kubelet_request_gets_an_http_error(cluster, node, table, data,
                                                status, needle, request):
    pki = cluster.dir / "pki"
    cert = None if "no-client" in request.node.name else (
        pki / "admin.crt", pki / "admin.key")
    got, body = raw_request(node.port, data, cert)
    assert (got, needle in body) == (status, True), body[:500]


def test_not_tls_to_the_kubelet_port_is_dropped(node):
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        s.sendall(req("/pods"))
        s.settimeout(10)
        try:
            got = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            got = b""
    assert not got.startswith(b"HTTP/1.1 200")


# ------------------------------------------------------------ still serving


def test_daemon_still_serves_after_the_table(cluster, node, table, images):
    assert node.proc.poll() is None, node.output()[-3000:]
    name = "h-control-late"
    cluster.kubectl("create", "-f", "-", input=json.dumps(
        pod(name, ctr(images["hello"], ["late"]))))
    p = wait_check(table, name, terminated(0, "Completed", phase="Succeeded"),
                   60)
    assert "arg[1]=late\n" in table.log(p)
    assert ready_status(node_json(cluster, NODE))["status"] == "True"
    pki = cluster.dir / "pki"
    got, body = raw_request(node.port, req("/healthz"),
                            (pki / "admin.crt", pki / "admin.key"))
    assert (got, body) == (200, "ok")
    assert node.proc.poll() is None


def test_sigterm_during_a_stalled_pull_exits_promptly(cluster, fake, ports,
                                                      tmp_path):
    """A registry that stops sending in the middle of an answer must not
    hold a stopping wasmlet: the transfer is abandoned and the node is
    marked NotReady within seconds, not after curl's 60 s limit."""
    name = "wasm-hostile-stall"
    w = Wasmlet(cluster, name, tmp_path, ports(1)[0],
                "--insecure-registries", fake.host).start()
    try:
        wait_for("node Ready", lambda: (ready_status(node_json(cluster, name))
                                        or {}).get("status") == "True",
                 timeout=15)
        create(cluster, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "hostile-stall-sigterm",
                         "labels": {"suite": "hostile"}},
            "spec": {"nodeName": name, "tolerations": TOLERATE,
                     "restartPolicy": "Never",
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "main",
                                     "image": f"{fake.host}/fake/stall:sig"}]}})
        wait_for("the pull under way", lambda: any(
            e[0] == "Pulling"
            for e in events(cluster, "hostile-stall-sigterm")), timeout=30)
        time.sleep(1)  # inside the stalled answer
        t0 = time.monotonic()
        rc = w.stop(signal.SIGTERM, timeout=30)
        took = time.monotonic() - t0
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
        cluster.kubectl("delete", "pod", "hostile-stall-sigterm", "--force",
                        "--grace-period=0", check=False)
        cluster.kubectl("delete", "node", name, "--ignore-not-found")
    assert rc == 0, w.output()[-2000:]
    assert took < 10, f"SIGTERM took {took:.1f} s"
    assert "node marked NotReady" in w.output()
