"""Shared fixtures for wasmlet's end-to-end tests.

One real control plane (scripts/cluster.sh) and three registries
(scripts/registry.sh: plain, TLS + basic auth, and token auth with its token
server) per pytest run, each in its own temporary directory on free ports,
so a run never touches a developer's default cluster (or another run's).
Under pytest-xdist the controller starts them before its workers and every
worker shares them; each test module works in a namespace of its own with
nodes of its own (ClusterView, GROUP_LABEL), and a module that kills the API
server or stops the registry gets one of its own (OWN_CLUSTER,
OWN_REGISTRY). They are always stopped and purged at the end, and the run
fails if a process outlives them.

Environment:
  WL_BUILD_DIR   meson build dir (default: <repo>/build); test modules are
                 taken from $WL_BUILD_DIR/tests/wasm/*.wasm
  WL_K8S_BIN     Kubernetes binaries (default: the pinned cache, scripts/lib.sh)
  WL_ETCD        etcd binary (default: the pinned cache, scripts/lib.sh)
"""

import base64
import hashlib
import json
import os
import pathlib
import random
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"

# The smallest valid WebAssembly module: magic and version, no sections.
MINIMAL_WASM = b"\0asm\x01\0\0\0"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
WASM_LAYER = "application/wasm"

# Ports of a developer's default cluster and registries; never hand these out.
_DEFAULT_PORTS = {23790, 23800, 26443, 20257, 20259, 25000, 25001, 25002, 25003}
_handed_out = set()


def run(cmd, *, env=None, timeout=120, check=True, input=None):
    """Run a command; on failure raise with its output in the message."""
    try:
        proc = subprocess.run(
            [str(c) for c in cmd],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(
            f"timed out after {timeout}s: {' '.join(map(str, cmd))}\n"
            f"stdout:\n{e.stdout}\nstderr:\n{e.stderr}"
        ) from None
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}: {' '.join(map(str, cmd))}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def _lib_settings():
    """WL_K8S_BIN and WL_ETCD as scripts/lib.sh resolves them (env wins)."""
    out = run(
        [
            "bash",
            "-c",
            'set -eu; source "$1"; printf "%s\\n%s\\n" "$WL_K8S_BIN" "$WL_ETCD"',
            "lib",
            SCRIPTS / "lib.sh",
        ]
    ).stdout.splitlines()
    return pathlib.Path(out[0]), pathlib.Path(out[1])


def _port_slot():
    """(slot, slots): this process takes only ports p with p % slots == slot,
    so parallel pytest workers (pytest-xdist sets PYTEST_XDIST_WORKER=gwN
    and PYTEST_XDIST_WORKER_COUNT) never hand out the same free port
    between one's probe and its server's bind."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if worker.startswith("gw") and worker[2:].isdigit() and count > 1:
        return int(worker[2:]) % count, count
    return 0, 1


def alloc_ports(n):
    """n distinct free TCP ports on 127.0.0.1, outside the kernel's ephemeral
    range (so an outgoing connection cannot take one before its server binds)
    and never the defaults of a developer's own cluster."""
    try:
        lo, hi = map(
            int, pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        )
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    slot, slots = _port_slot()
    candidates = [
        p
        for p in range(20000, 65000)
        if not lo <= p <= hi
        and p % slots == slot
        and p not in _DEFAULT_PORTS
        and p not in _handed_out
    ]
    random.shuffle(candidates)
    ports = []
    for p in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        ports.append(p)
        _handed_out.add(p)
        if len(ports) == n:
            return ports
    raise AssertionError(f"could not find {n} free ports on 127.0.0.1")


def _require_file(path, what):
    if not pathlib.Path(path).is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"{what} not found at {path}: run scripts/deps.sh "
            "(or point WL_K8S_BIN / WL_ETCD at existing builds)",
            pytrace=False,
        )


def _pid_alive(pid):
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="session")
def sh():
    """run(cmd, env=, timeout=, check=, input=): a CompletedProcess, raising
    with the command's output when it fails."""
    return run


@pytest.fixture(scope="session")
def ports():
    """alloc_ports(n) for tests that need more free ports (a kubelet port...)."""
    return alloc_ports


@pytest.fixture(scope="session")
def build_dir():
    return pathlib.Path(os.environ.get("WL_BUILD_DIR", ROOT / "build"))


@pytest.fixture(scope="session")
def wasm_module(build_dir):
    """Bytes of a small wasm module: the smallest built test module under
    $WL_BUILD_DIR/tests/wasm, else the minimal valid module."""
    built = sorted(
        (p for p in (build_dir / "tests" / "wasm").glob("*.wasm") if p.is_file()),
        key=lambda p: (p.stat().st_size, p.name),
    )
    data = built[0].read_bytes() if built else MINIMAL_WASM
    assert data[:8] == MINIMAL_WASM, f"{built[0]} is not a wasm module (version 1)"
    return data


# ---------------------------------------------------------------- cluster


class Cluster:
    """A control plane started by scripts/cluster.sh."""

    COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")

    def __init__(self, directory, k8s_bin, etcd, ports=None):
        """ports: the five ports of a control plane already started (by
        another process); by default, five free ones."""
        self.dir = pathlib.Path(directory)
        self.k8s_bin = pathlib.Path(k8s_bin)
        self.kubectl_bin = self.k8s_bin / "kubectl"
        self.etcd = pathlib.Path(etcd)
        etcd_port, peer_port, api_port, kcm_port, sched_port = ports or alloc_ports(5)
        self.ports = {
            "WL_ETCD_PORT": etcd_port,
            "WL_ETCD_PEER_PORT": peer_port,
            "WL_APISERVER_PORT": api_port,
            "WL_KCM_PORT": kcm_port,
            "WL_SCHED_PORT": sched_port,
        }
        self.env = dict(os.environ)
        self.env.pop("KUBECONFIG", None)
        self.env.update({k: str(v) for k, v in self.ports.items()})
        self.env.update(
            WL_CLUSTER_DIR=str(self.dir), WL_K8S_BIN=str(k8s_bin), WL_ETCD=str(etcd)
        )
        self.server = f"https://127.0.0.1:{api_port}"
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.bootstrap_kubeconfig = self.dir / "bootstrap.kubeconfig"
        self.ca = self.dir / "pki" / "ca.crt"
        self.logs = self.dir / "logs"

    def script(self, *args, check=True, timeout=300):
        return run([SCRIPTS / "cluster.sh", *args], env=self.env, timeout=timeout, check=check)

    def kubectl(self, *args, kubeconfig=None, check=True, input=None, timeout=60):
        return run(
            [
                self.kubectl_bin,
                "--kubeconfig",
                kubeconfig or self.kubeconfig,
                "--request-timeout=30s",
                *args,
            ],
            env=self.env,
            check=check,
            input=input,
            timeout=timeout,
        )

    def pids(self):
        """Component name -> pid, for every pid file present."""
        out = {}
        for name in self.COMPONENTS:
            f = self.dir / "run" / f"{name}.pid"
            if f.exists():
                out[name] = int(f.read_text().strip())
        return out

    def bootstrap_token(self):
        return (self.dir / "pki" / "bootstrap-token").read_text().strip()


def _cluster_fixture(directory, keep_logs):
    """Starts a control plane in directory, yields it, stops and purges it
    (its logs kept in keep_logs); fails if a component outlives it."""
    k8s_bin, etcd = _lib_settings()
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
        _require_file(k8s_bin / name, name)
    _require_file(etcd, "etcd")

    c = Cluster(directory, k8s_bin, etcd)
    seen = {}
    try:
        t0 = time.monotonic()
        proc = c.script("start", check=False)
        seen.update(c.pids())
        if proc.returncode != 0:
            pytest.fail(
                f"scripts/cluster.sh start failed (exit {proc.returncode}); "
                f"logs will be kept in {keep_logs}\n"
                f"{proc.stderr}",
                pytrace=False,
            )
        sys.stderr.write(f"\ncluster started in {time.monotonic() - t0:.1f}s at {c.server}\n")
        yield c
    finally:
        seen.update(c.pids())
        stop = c.script("stop", check=False)
        # Keep the logs (pytest keeps the last few base temp dirs), then purge.
        if c.logs.is_dir():
            shutil.copytree(c.logs, keep_logs, dirs_exist_ok=True)
            sys.stderr.write(f"\ncluster logs kept in {keep_logs}\n")
        if stop.returncode == 0:
            stop = c.script("stop", "--purge", check=False)
        left = {n: p for n, p in seen.items() if _pid_alive(p)}
        for pid in left.values():
            os.kill(pid, 9)
        if stop.returncode != 0 or left:
            pytest.fail(
                f"cluster teardown: stop exit {stop.returncode}, still running: {left}\n"
                f"{stop.stderr}",
                pytrace=False,
            )


# The group label of a test module's nodes, and what its namespace's
# scheduler.alpha.kubernetes.io/node-selector asks of a node (the API
# server's PodNodeSelector admission plugin, scripts/cluster.sh): a pod
# the scheduler places lands on a node of its own module, never on one of
# a module running beside it.
GROUP_LABEL = "e2e.wasmlet.dev/group"


class ClusterView:
    """A test module's view of a control plane: everything of the Cluster,
    and kubectl() in the module's own namespace (self.namespace) unless
    the call names one (-n, --namespace, -A)."""

    def __init__(self, cluster, namespace):
        self._cluster = cluster
        self.namespace = namespace

    def __getattr__(self, name):
        return getattr(self._cluster, name)

    def kubectl(self, *args, **kwargs):
        flags = [str(a) for a in args]
        if "--" in flags:
            flags = flags[: flags.index("--")]
        named = any(
            f in ("-n", "--namespace", "-A", "--all-namespaces")
            or f.startswith(("--namespace=", "-n="))
            for f in flags
        )
        if not named:
            args = ("-n", self.namespace, *args)
        return self._cluster.kubectl(*args, **kwargs)


def _module_namespace(cluster, module):
    """Creates the namespace of the module named module (test_pods ->
    pods), with the node selector of its group, and waits for what the
    controller-manager puts in every namespace (the default
    ServiceAccount, which pod admission needs, and kube-root-ca.crt);
    yields its view of the cluster, and deletes the namespace after."""
    ns = module.removeprefix("test_").replace("_", "-")
    cluster.kubectl(
        "create",
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "annotations": {
                        "scheduler.alpha.kubernetes.io/node-selector": f"{GROUP_LABEL}={ns}"
                    },
                },
            }
        ),
    )
    deadline = time.monotonic() + 60
    while (
        cluster.kubectl("-n", ns, "get", "serviceaccount/default", "configmap/kube-root-ca.crt",
                        check=False).returncode
        != 0
    ):
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {ns}: no default ServiceAccount after 60 s", pytrace=False)
        time.sleep(0.2)
    yield ClusterView(cluster, ns)
    cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


# xdist's workerinput key for what the controller shares with its workers.
_SHARED = "wl_shared"


def _shared_info(config):
    """What the controller started for the workers (a dict), or None when
    this process starts its own (no xdist, or -n 0)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or _SHARED not in workerinput:
        return None
    info = json.loads(workerinput[_SHARED])
    if "error" in info:
        pytest.fail(f"shared control plane or registries: {info['error']}", pytrace=False)
    return info


class _SharedServices:
    """The control plane and the three registries that every worker of a
    pytest-xdist run shares, started by the controller before the workers
    and stopped after them."""

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.gens = []
        self.info = {}

    def _enter(self, gen):
        value = next(gen)
        self.gens.append(gen)
        return value

    def start(self):
        t0 = time.monotonic()
        c = self._enter(_cluster_fixture(self.base / "cluster", self.base / "cluster-logs"))
        self.info["cluster"] = {
            "dir": str(c.dir),
            "k8s_bin": str(c.k8s_bin),
            "etcd": str(c.etcd),
            "ports": list(c.ports.values()),
        }
        reg_base = self.base / "registry" / "registry"
        reg_base.parent.mkdir(parents=True, exist_ok=True)
        r, t, k = [self._enter(_registry_of(reg_base, kind)) for kind in ("plain", "tls", "token")]
        self.info["registries"] = {
            "base": str(reg_base),
            "plain": r.port,
            "tls": t.port,
            "token": [k.port, k.token_port],
        }
        sys.stderr.write(
            f"shared control plane and registries up in {time.monotonic() - t0:.1f} s "
            f"({self.base})\n"
        )

    def stop(self):
        errors = []
        for gen in reversed(self.gens):
            try:
                next(gen, None)
            except BaseException as e:  # pytest.fail's outcome, among others
                errors.append(str(e))
        self.gens = []
        return errors


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """Under pytest-xdist (-n N, N > 0), the controller starts the shared
    control plane and registries once, for every worker."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    base = pathlib.Path(config._tmp_path_factory.getbasetemp()) / "shared"
    base.mkdir(parents=True, exist_ok=True)
    shared = _SharedServices(base)
    config._wl_shared = shared
    try:
        shared.start()
    except BaseException as e:  # told to every test, which then fails
        shared.info = {"error": str(e)}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: hands the shared services to a worker."""
    shared = getattr(node.config, "_wl_shared", None)
    if shared is not None:
        node.workerinput[_SHARED] = json.dumps(shared.info)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """The controller stops the shared services after its workers are
    done; one that cannot be stopped cleanly (a process left running)
    makes the run fail."""
    shared = getattr(session.config, "_wl_shared", None)
    if shared is None:
        return
    errors = shared.stop()
    for e in errors:
        sys.stderr.write(f"shared services teardown: {e}\n")
    if errors:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def _shared_cluster(request, tmp_path_factory):
    """The control plane the test modules share: the controller's under
    pytest-xdist, else one this process starts when it is first needed."""
    info = _shared_info(request.config)
    if info is None:
        yield from _cluster_fixture(
            tmp_path_factory.mktemp("cluster"), tmp_path_factory.getbasetemp() / "cluster-logs"
        )
        return
    c = info["cluster"]
    yield Cluster(c["dir"], c["k8s_bin"], c["etcd"], ports=c["ports"])


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    """The module's view of the shared control plane, in a namespace of
    its own (ClusterView); or, for a module that sets OWN_CLUSTER = True
    (it kills or restarts the API server or etcd, which would break the
    modules beside it), a control plane of its own, stopped after it."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    if getattr(request.module, "OWN_CLUSTER", False):
        gen = _cluster_fixture(
            tmp_path_factory.mktemp(f"cluster-{name}"),
            tmp_path_factory.getbasetemp() / f"cluster-logs-{name}",
        )
        own = next(gen)
        try:
            yield from _module_namespace(own, name)
        finally:
            next(gen, None)
    else:
        yield from _module_namespace(request.getfixturevalue("_shared_cluster"), name)


# Test files that take longest, first: pytest-xdist hands whole files
# (--dist loadfile) to free workers in collection order, so the long ones
# start at once and the short ones fill the gaps at the end. The rest
# keep their order. Figures: docs/testing.md.
_LONGEST_FIRST = (
    "test_faults.py",
    "test_hostile.py",
    "test_certs.py",
    "test_volumes.py",
    "test_server.py",
    "test_multinode.py",
    "test_node.py",
    "test_reconcile.py",
    "test_pods.py",
    "test_top.py",
    "test_demo.py",
    "test_examples.py",
)


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        return _LONGEST_FIRST.index(name) if name in _LONGEST_FIRST else len(_LONGEST_FIRST)

    items.sort(key=rank)  # stable: a file's own order is kept


# ---------------------------------------------------------------- registries


class Registry:
    """A registry started by scripts/registry.sh, with a small OCI
    distribution client (urllib, TLS always verified)."""

    def __init__(self, base_dir, tls, port=None):
        self.tls = tls
        self.base_dir = pathlib.Path(base_dir)  # WL_REGISTRY_DIR
        self.dir = pathlib.Path(f"{base_dir}-tls") if tls else self.base_dir
        self.port = port or alloc_ports(1)[0]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self.user = "wasmlet"
        self.password = "wasmlet-secret"
        self.ca = self.dir / "ca.crt" if tls else None
        self.flag = ["--tls-auth"] if tls else []
        self.env = dict(os.environ)
        self.env.update(
            WL_REGISTRY_DIR=str(self.base_dir),
            WL_REGISTRY_USER=self.user,
            WL_REGISTRY_PASSWORD=self.password,
        )
        self.env["WL_REGISTRY_TLS_PORT" if tls else "WL_REGISTRY_PORT"] = str(self.port)

    def script(self, command, *args, check=True, timeout=60):
        return run(
            [SCRIPTS / "registry.sh", command, *self.flag, *args],
            env=self.env,
            timeout=timeout,
            check=check,
        )

    def pid(self):
        f = self.dir / "registry.pid"
        return int(f.read_text().strip()) if f.exists() else None

    def pids(self):
        """Pids of this instance's processes (from their pid files)."""
        pid = self.pid()
        return [pid] if pid is not None else []

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=str(self.ca))
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        return ctx

    def request(self, method, path, data=None, headers=None, auth=True, context=None):
        """(status, headers, body) of one request. auth: True for this
        registry's credentials (TLS registry only), False for none, or a
        (user, password) pair. Non-2xx answers are returned, not raised."""
        url = path if path.startswith(("http://", "https://")) else self.url + path
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if auth is True:
            auth = (self.user, self.password) if self.tls else None
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        handlers = [urllib.request.ProxyHandler({})]
        if self.tls:
            handlers.append(urllib.request.HTTPSHandler(context=context or self.ssl_context()))
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()

    def push_blob(self, repo, data, auth=True):
        """Upload a blob (POST then monolithic PUT); returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, body = self.request("POST", f"/v2/{repo}/blobs/uploads/", auth=auth)
        assert status == 202, f"POST upload: {status} {body!r}"
        location = urllib.parse.urljoin(self.url + "/", headers["Location"])
        sep = "&" if "?" in location else "?"
        status, headers, body = self.request(
            "PUT",
            f"{location}{sep}digest={urllib.parse.quote(digest)}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            auth=auth,
        )
        assert status == 201, f"PUT blob: {status} {body!r}"
        assert headers["Docker-Content-Digest"] == digest
        return digest

    def push_wasm(self, repo, tag, wasm, auth=True):
        """Publish wasm as a CNCF wasm artifact (OCI manifest, config
        application/vnd.wasm.config.v0+json, one application/wasm layer).
        Returns the manifest's bytes and digest and the blobs' digests."""
        config = b"{}"
        config_digest = self.push_blob(repo, config, auth=auth)
        layer_digest = self.push_blob(repo, wasm, auth=auth)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": WASM_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [
                    {
                        "mediaType": WASM_LAYER,
                        "digest": layer_digest,
                        "size": len(wasm),
                        "annotations": {"org.opencontainers.image.title": "module.wasm"},
                    }
                ],
            },
            separators=(",", ":"),
        ).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        status, headers, body = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{tag}",
            data=manifest,
            headers={"Content-Type": OCI_MANIFEST},
            auth=auth,
        )
        assert status == 201, f"PUT manifest: {status} {body!r}"
        assert headers["Docker-Content-Digest"] == digest
        return {
            "manifest": manifest,
            "digest": digest,
            "config_digest": config_digest,
            "layer_digest": layer_digest,
            "reference": f"{self.host}/{repo}:{tag}",
        }


class TokenRegistry(Registry):
    """The token-auth registry (plain HTTP) and its token server
    (tests/e2e/token_server.py). request() with auth does the Bearer dance
    itself: on a 401 it asks the token server (Basic credentials) for the
    challenge's scope and retries with the token."""

    def __init__(self, base_dir, port=None, token_port=None):
        super().__init__(base_dir, tls=False, port=port)
        self.dir = pathlib.Path(f"{base_dir}-token")
        self.flag = ["--token-auth"]
        self.env.pop("WL_REGISTRY_PORT", None)
        self.env["WL_REGISTRY_TOKEN_PORT"] = str(self.port)
        self.token_port = token_port or alloc_ports(1)[0]
        self.env["WL_REGISTRY_TOKEN_SERVER_PORT"] = str(self.token_port)
        self.token_url = f"http://127.0.0.1:{self.token_port}"
        self.realm = f"{self.token_url}/token"
        self.service = "wasmlet-registry-token"
        self.issuer = "wasmlet-token-issuer"
        self.signing_ca = self.dir / "token-ca.crt"

    def token_server_pid(self):
        f = self.dir / "token-server.pid"
        return int(f.read_text().strip()) if f.exists() else None

    def pids(self):
        return [p for p in (self.pid(), self.token_server_pid()) if p is not None]

    def _open(self, req):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()

    def token(self, scope, auth=True):
        """(status, json or None) of GET realm?service=..&scope=scope with
        auth: True (this registry's credentials), False or a pair."""
        if auth is True:
            auth = (self.user, self.password)
        query = urllib.parse.urlencode({"service": self.service, "scope": scope})
        req = urllib.request.Request(f"{self.realm}?{query}")
        if auth:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {basic}")
        status, _, body = self._open(req)
        return status, json.loads(body) if status == 200 else None

    def stats(self):
        """The token server's /stats: requests, issued, denied, log."""
        status, _, body = self._open(urllib.request.Request(f"{self.token_url}/stats"))
        assert status == 200, body
        return json.loads(body)

    def request(self, method, path, data=None, headers=None, auth=True, context=None):
        url = path if path.startswith(("http://", "https://")) else self.url + path
        headers = dict(headers or {})
        status, resp_headers, body = self._open(
            urllib.request.Request(url, data=data, method=method, headers=headers)
        )
        challenge = resp_headers.get("WWW-Authenticate", "") if status == 401 else ""
        if not auth or not challenge.startswith("Bearer "):
            return status, resp_headers, body
        params = dict(
            (k.strip(), v.strip('"'))
            for k, _, v in (p.partition("=") for p in challenge[7:].split('",'))
        )
        tstatus, answer = self.token(params.get("scope", ""), auth=auth)
        if tstatus != 200:
            return status, resp_headers, body
        headers["Authorization"] = f"Bearer {answer['token']}"
        return self._open(urllib.request.Request(url, data=data, method=method, headers=headers))


def _registry_fixture(base_dir, tls, make=None):
    r = make(base_dir) if make else Registry(base_dir, tls)
    pids = []
    try:
        proc = r.script("start", check=False)
        pids = r.pids()
        if proc.returncode != 0:
            pytest.fail(
                f"scripts/registry.sh start {' '.join(r.flag)} failed (exit {proc.returncode})\n"
                f"{proc.stderr}",
                pytrace=False,
            )
        yield r
    finally:
        pids = r.pids() or pids
        stop = r.script("stop", "--purge", check=False)
        left = [p for p in pids if _pid_alive(p)]
        for p in left:
            os.kill(p, 9)
        if stop.returncode != 0 or left:
            pytest.fail(
                f"registry teardown: stop exit {stop.returncode}, pids {pids} left running: {left}\n"
                f"{stop.stderr}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def _registry_base(tmp_path_factory):
    return tmp_path_factory.mktemp("registry") / "registry"


def _registry_of(base, kind):
    """_registry_fixture for a registry of kind: plain, tls or token."""
    make = TokenRegistry if kind == "token" else None
    yield from _registry_fixture(base, tls=kind == "tls", make=make)


def _shared_registry(request, kind):
    """The shared registry of kind (plain, tls, token): the controller's
    under pytest-xdist, else one this process starts when first needed."""
    info = _shared_info(request.config)
    if info is None:
        yield from _registry_of(request.getfixturevalue("_registry_base"), kind)
        return
    r = info["registries"]
    if kind == "token":
        yield TokenRegistry(r["base"], port=r["token"][0], token_port=r["token"][1])
    else:
        yield Registry(r["base"], tls=kind == "tls", port=r[kind])


@pytest.fixture(scope="session")
def _shared_plain_registry(request):
    yield from _shared_registry(request, "plain")


@pytest.fixture(scope="session")
def _shared_tls_registry(request):
    yield from _shared_registry(request, "tls")


@pytest.fixture(scope="session")
def _shared_token_registry(request):
    yield from _shared_registry(request, "token")


def _module_registry(request, tmp_path_factory, kind):
    """The shared registry of kind; or, for a module that sets
    OWN_REGISTRY = True (it stops the registry or edits its storage), one of
    its own."""
    if getattr(request.module, "OWN_REGISTRY", False):
        name = request.module.__name__.rsplit(".", 1)[-1]
        base = tmp_path_factory.mktemp(f"registry-{name}") / "registry"
        yield from _registry_of(base, kind)
    else:
        yield request.getfixturevalue(f"_shared_{kind}_registry")


@pytest.fixture(scope="module")
def registry(request, tmp_path_factory):
    """The plain registry: HTTP, anonymous, delete enabled."""
    yield from _module_registry(request, tmp_path_factory, "plain")


@pytest.fixture(scope="module")
def tls_registry(request, tmp_path_factory):
    """The TLS + basic-auth registry (certificate from its own CA, r.ca)."""
    yield from _module_registry(request, tmp_path_factory, "tls")


@pytest.fixture(scope="module")
def token_registry(request, tmp_path_factory):
    """The token-auth registry (HTTP; Bearer tokens from its token server at
    r.realm for r.user/r.password, r.stats() counts the token requests)."""
    yield from _module_registry(request, tmp_path_factory, "token")
