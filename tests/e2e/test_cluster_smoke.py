"""Smoke tests of the local test environment itself: the control plane from
scripts/cluster.sh (TLS, bootstrap tokens, CSR auto-approval) and the
registries from scripts/registry.sh (OCI push/pull of a wasm artifact, TLS
and basic auth). Everything wasmlet's own e2e tests build on."""

import base64
import hashlib
import json
import re
import shlex
import ssl
import time
import urllib.error
import urllib.request

import pytest

# It kills or restarts the API server or etcd: a control plane of its own
# (conftest.py's cluster fixture).
OWN_CLUSTER = True
# It stops and starts the registry: one of its own too.
OWN_REGISTRY = True

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
WASM_LAYER = "application/wasm"


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")

# ---------------------------------------------------------------- cluster


def test_apiserver_readyz(cluster):
    assert cluster.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_status_reports_every_component(cluster):
    out = cluster.script("status").stdout
    pids = cluster.pids()
    lines = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in out.splitlines())
    for name in cluster.COMPONENTS:
        assert lines[name] == f"running (pid {pids[name]})"
    assert lines["readyz"] == "ok"
    assert lines["apiserver"] == cluster.server
    assert lines["dir"] == str(cluster.dir)


def test_env_exports_the_admin_kubeconfig(cluster, sh):
    out = cluster.script("env").stdout
    assert f"export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}" in out.splitlines()
    # The lines work in a shell: kubectl (first on PATH) reaches this cluster.
    proc = sh(["bash", "-c", out + "\nkubectl get namespace default -o name"], env=cluster.env)
    assert proc.stdout == "namespace/default\n"


def test_default_serviceaccount_exists(cluster):
    out = cluster.kubectl("-n", "default", "get", "serviceaccount", "default", "-o", "name")
    assert out.stdout == "serviceaccount/default\n"


def test_admin_is_cluster_admin(cluster):
    who = json.loads(cluster.kubectl("auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == "wasmlet-admin"
    assert "system:masters" in who["status"]["userInfo"]["groups"]


def test_bootstrap_token_identity(cluster):
    token_id = cluster.bootstrap_token().split(".")[0]
    who = json.loads(
        cluster.kubectl(
            "auth", "whoami", "-o", "json", kubeconfig=cluster.bootstrap_kubeconfig
        ).stdout
    )
    info = who["status"]["userInfo"]
    assert info["username"] == f"system:bootstrap:{token_id}"
    assert sorted(info["groups"]) == [
        "system:authenticated",
        "system:bootstrappers",
        "system:bootstrappers:wasmlet",
    ]


def test_bootstrapper_may_create_csrs_and_nothing_more(cluster):
    def can_i(*args):
        proc = cluster.kubectl(
            "auth", "can-i", *args, kubeconfig=cluster.bootstrap_kubeconfig, check=False
        )
        return proc.stdout.strip()

    assert can_i("create", "certificatesigningrequests.certificates.k8s.io") == "yes"
    assert can_i("get", "certificatesigningrequests.certificates.k8s.io") == "yes"
    assert can_i("list", "secrets", "-n", "kube-system") == "no"
    assert can_i("create", "pods", "-n", "default") == "no"


def test_node_client_csr_is_auto_approved_and_signed(cluster, sh, tmp_path):
    """The TLS bootstrap a kubelet does: a bootstrapper's CSR for
    system:node:<name> is approved by kube-controller-manager, signed by the
    cluster CA, and the certificate authenticates as that node."""
    node = "wasmlet-smoke-node"
    key, csr = tmp_path / "node.key", tmp_path / "node.csr"
    sh(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", key])
    sh(["openssl", "req", "-new", "-key", key, "-subj", f"/O=system:nodes/CN=system:node:{node}",
         "-config", "/dev/null", "-out", csr])
    name = f"node-csr-{node}"
    obj = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": base64.b64encode(csr.read_bytes()).decode(),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        },
    }
    boot = cluster.bootstrap_kubeconfig
    cluster.kubectl("delete", "csr", name, "--ignore-not-found")
    try:
        cluster.kubectl("create", "-f", "-", kubeconfig=boot, input=json.dumps(obj))
        deadline = time.monotonic() + 60
        while True:
            got = json.loads(cluster.kubectl("get", "csr", name, "-o", "json", kubeconfig=boot).stdout)
            if got.get("status", {}).get("certificate"):
                break
            assert time.monotonic() < deadline, f"CSR never signed: {got.get('status')}"
            time.sleep(0.5)
        conditions = {c["type"]: c for c in got["status"]["conditions"]}
        assert conditions["Approved"]["status"] == "True"
        assert conditions["Approved"]["reason"] == "AutoApproved"
        assert got["spec"]["username"].startswith("system:bootstrap:")

        crt = tmp_path / "node.crt"
        crt.write_bytes(base64.b64decode(got["status"]["certificate"]))
        verify = sh(["openssl", "verify", "-CAfile", cluster.ca, crt])
        assert verify.stdout.strip() == f"{crt}: OK"

        kubeconfig = tmp_path / "node.kubeconfig"
        for cmd in (
            ["config", "set-cluster", "c", f"--server={cluster.server}",
             f"--certificate-authority={cluster.ca}"],
            ["config", "set-credentials", "u", f"--client-certificate={crt}",
             f"--client-key={key}"],
            ["config", "set-context", "x", "--cluster=c", "--user=u"],
            ["config", "use-context", "x"],
        ):
            sh([cluster.kubectl_bin, "--kubeconfig", kubeconfig, *cmd])
        who = json.loads(
            cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig).stdout
        )
        assert who["status"]["userInfo"]["username"] == f"system:node:{node}"
        assert sorted(who["status"]["userInfo"]["groups"]) == [
            "system:authenticated",
            "system:nodes",
        ]
    finally:
        cluster.kubectl("delete", "csr", name, "--ignore-not-found")


def test_scheduler_binds_a_pod_to_the_only_node(cluster):
    """kube-scheduler works: a pod lands on a (kubelet-less) Node object."""
    node, pod = "wasmlet-smoke-fake-node", "wasmlet-smoke-scheduled"
    objs = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": node, "labels": {"wasmlet.dev/smoke": "true"}},
                "status": {"capacity": {"cpu": "1", "memory": "1Gi", "pods": "10"}},
            },
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod, "namespace": "default"},
                "spec": {
                    "automountServiceAccountToken": False,
                    "nodeSelector": {"wasmlet.dev/smoke": "true"},
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "c", "image": "example.invalid/none:1"}],
                },
            },
        ],
    }
    try:
        cluster.kubectl("-n", "default", "create", "-f", "-", input=json.dumps(objs))
        deadline = time.monotonic() + 30
        while True:
            got = cluster.kubectl("-n", "default", "get", "pod", pod, "-o",
                                  "jsonpath={.spec.nodeName}").stdout
            if got:
                break
            assert time.monotonic() < deadline, "pod never scheduled"
            time.sleep(0.3)
        assert got == node
    finally:
        cluster.kubectl("-n", "default", "delete", "pod", pod, "--ignore-not-found",
                        "--grace-period=0", "--force")
        cluster.kubectl("delete", "node", node, "--ignore-not-found")


def test_start_again_is_a_noop(cluster):
    before = cluster.pids()
    assert sorted(before) == sorted(cluster.COMPONENTS)
    t0 = time.monotonic()
    proc = cluster.script("start")
    assert time.monotonic() - t0 < 15
    assert "cluster already running" in proc.stderr
    assert "starting" not in proc.stderr
    assert cluster.pids() == before
    assert cluster.kubectl("get", "--raw", "/readyz").stdout == "ok"


# ---------------------------------------------------------------- registries


def check_pull(reg, repo, tag, pushed, wasm, auth=True):
    """Read the manifest back by tag and by digest, then both blobs."""
    accept = {"Accept": OCI_MANIFEST}
    for ref in (tag, pushed["digest"]):
        status, headers, body = reg.request("GET", f"/v2/{repo}/manifests/{ref}",
                                            headers=accept, auth=auth)
        assert status == 200, (ref, status, body)
        assert headers["Docker-Content-Digest"] == pushed["digest"]
        assert headers["Content-Type"] == OCI_MANIFEST
        assert body == pushed["manifest"]
        assert "sha256:" + hashlib.sha256(body).hexdigest() == pushed["digest"]
    manifest = json.loads(body)
    assert manifest["config"]["mediaType"] == WASM_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [WASM_LAYER]

    status, headers, body = reg.request("GET", f"/v2/{repo}/blobs/{pushed['layer_digest']}",
                                        auth=auth)
    assert status == 200
    assert headers["Docker-Content-Digest"] == pushed["layer_digest"]
    assert body == wasm
    status, _, body = reg.request("GET", f"/v2/{repo}/blobs/{pushed['config_digest']}", auth=auth)
    assert (status, body) == (200, b"{}")

    status, _, body = reg.request("GET", f"/v2/{repo}/tags/list", auth=auth)
    assert status == 200
    assert json.loads(body) == {"name": repo, "tags": [tag]}


def test_plain_registry_push_and_pull(registry, wasm_module):
    status, _, body = registry.request("GET", "/v2/")
    assert (status, body) == (200, b"{}")
    pushed = registry.push_wasm("wasmlet/smoke", "v1", wasm_module)
    assert pushed["config_digest"] == (
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    assert pushed["layer_digest"] == "sha256:" + hashlib.sha256(wasm_module).hexdigest()
    check_pull(registry, "wasmlet/smoke", "v1", pushed, wasm_module)


def test_plain_registry_unknown_manifest_and_blob_are_404(registry):
    status, _, body = registry.request("GET", "/v2/wasmlet/smoke/manifests/no-such-tag",
                                       headers={"Accept": OCI_MANIFEST})
    assert status == 404
    assert [e["code"] for e in json.loads(body)["errors"]] == ["MANIFEST_UNKNOWN"]
    status, _, _ = registry.request("GET", "/v2/wasmlet/smoke/blobs/sha256:" + "0" * 64)
    assert status == 404


def test_plain_registry_delete_is_enabled(registry, wasm_module):
    pushed = registry.push_wasm("wasmlet/deleteme", "v1", wasm_module)
    status, _, body = registry.request("DELETE", f"/v2/wasmlet/deleteme/manifests/{pushed['digest']}")
    assert status == 202, body
    status, _, _ = registry.request("GET", f"/v2/wasmlet/deleteme/manifests/{pushed['digest']}",
                                    headers={"Accept": OCI_MANIFEST})
    assert status == 404


def test_tls_registry_requires_credentials(tls_registry, wasm_module):
    status, headers, _ = tls_registry.request("GET", "/v2/", auth=False)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="wasmlet-registry"'

    status, _, _ = tls_registry.request("POST", "/v2/wasmlet/private/blobs/uploads/", auth=False)
    assert status == 401
    status, _, _ = tls_registry.request(
        "POST", "/v2/wasmlet/private/blobs/uploads/", auth=("wasmlet", "wrong-password")
    )
    assert status == 401
    with pytest.raises(AssertionError, match="POST upload: 401"):
        tls_registry.push_wasm("wasmlet/private", "v1", wasm_module, auth=False)


def test_tls_registry_push_with_basic_auth(tls_registry, wasm_module):
    status, _, body = tls_registry.request("GET", "/v2/")
    assert (status, body) == (200, b"{}")
    pushed = tls_registry.push_wasm("wasmlet/private", "v1", wasm_module)
    check_pull(tls_registry, "wasmlet/private", "v1", pushed, wasm_module)
    # Reading needs credentials too.
    status, _, _ = tls_registry.request("GET", "/v2/wasmlet/private/manifests/v1",
                                        headers={"Accept": OCI_MANIFEST}, auth=False)
    assert status == 401


def test_tls_registry_certificate_is_from_its_own_ca(tls_registry):
    # With the system trust store (no generated CA) verification must fail...
    with pytest.raises(urllib.error.URLError) as err:
        tls_registry.request("GET", "/v2/", context=ssl.create_default_context())
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
    # ...and with the generated CA, hostname "localhost" is valid too.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=tls_registry.ssl_context()),
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(f"https://localhost:{tls_registry.port}/v2/", timeout=10)
    assert err.value.code == 401


def test_registry_start_again_is_a_noop(registry, tls_registry):
    for reg in (registry, tls_registry):
        pid = reg.pid()
        proc = reg.script("start")
        assert "registry already running" in proc.stderr
        assert reg.pid() == pid


def test_registry_stop_twice_then_restart_keeps_images(registry, wasm_module):
    pushed = registry.push_wasm("wasmlet/persist", "v1", wasm_module)
    pid = registry.pid()
    registry.script("stop")
    registry.script("stop")
    status = registry.script("status", check=False)
    assert status.returncode == 1
    assert "stopped" in status.stdout
    assert not _alive(pid)
    registry.script("start")
    check_pull(registry, "wasmlet/persist", "v1", pushed, wasm_module)


# ---------------------------------------------------------------- last: stop/restart


def test_cluster_stop_twice_then_restart_keeps_state(cluster):
    """Runs last in this file: stop is idempotent and a restart reuses the
    certificates, the bootstrap token and etcd's data (the cluster is left
    running for any tests after this one)."""
    cluster.kubectl("create", "configmap", "wasmlet-smoke-persist", "--from-literal=k=v")
    ca = cluster.ca.read_bytes()
    bootstrap = cluster.bootstrap_kubeconfig.read_bytes()
    pids = cluster.pids()

    cluster.script("stop")
    # stop returns once every component was signalled and seen exiting; on
    # a loaded machine the kernel can take a moment more to finish them.
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids.values())
    assert cluster.pids() == {}
    second = cluster.script("stop")
    assert "stopping" not in second.stderr
    status = cluster.script("status", check=False)
    assert status.returncode == 1
    for name in cluster.COMPONENTS:
        assert re.search(rf"^{name}\s+stopped$", status.stdout, re.M), status.stdout

    cluster.script("start")
    assert cluster.kubectl("get", "--raw", "/readyz").stdout == "ok"
    assert set(cluster.pids().values()).isdisjoint(pids.values())
    assert cluster.ca.read_bytes() == ca
    assert cluster.bootstrap_kubeconfig.read_bytes() == bootstrap
    got = cluster.kubectl("get", "configmap", "wasmlet-smoke-persist", "-o", "jsonpath={.data.k}")
    assert got.stdout == "v"
    cluster.kubectl("delete", "configmap", "wasmlet-smoke-persist")
