"""`wasmlet run POD.yaml`: static pods without an API server, as a user runs
them: the real binary, the test modules from tests/wasm, no cluster. WL_WASMLET
picks the binary, WL_BUILD_DIR the build dir holding tests/wasm."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("WL_BUILD_DIR", ROOT / "build")).resolve()
WASMLET = os.environ.get("WL_WASMLET", str(BUILD / "wasmlet"))
WASM = BUILD / "tests" / "wasm"


def wasmlet(*args, timeout=60, cwd=None):
    return subprocess.run([WASMLET, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def module(name):
    path = WASM / f"{name}.wasm"
    assert path.exists(), f"{path} missing: build with meson first"
    return str(path)


def pod(name, containers, init=None, restart="Never", **spec):
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
         "spec": {"restartPolicy": restart, "containers": containers, **spec}}
    if init:
        p["spec"]["initContainers"] = init
    return p


def ctr(name, mod, *args, **more):
    return {"name": name, "image": module(mod), "args": list(args), **more}


def write(path, text):
    path.write_text(text)
    return str(path)


def to_yaml(obj):
    """JSON is YAML; flow style keeps the helper small."""
    return json.dumps(obj, indent=2) + "\n"


def run_pod(tmp_path, p, *flags, name="pod.yaml", timeout=60):
    f = write(tmp_path / name, to_yaml(p))
    return wasmlet("run", *flags, f, timeout=timeout), f


def check_no_crash(r):
    # A negative status is a signal: a crash, never acceptable.
    assert r.returncode >= 0, r.stderr


# ---- manifests: formats ----

def test_single_yaml_document_runs_with_env_and_field_refs(tmp_path):
    f = write(tmp_path / "hello.yaml", f"""\
apiVersion: v1
kind: Pod
metadata:
  name: hello
  namespace: demo
  labels: {{app: web}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: {module("hello")}
    args: ["$(GREETING)", "$(POD_NAME)", "$$(GREETING)", "$(NOPE)"]
    env:
    - name: GREETING
      value: hi
    - name: POD_NAME
      valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
    - name: NS
      valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}
    - name: UID
      valueFrom: {{fieldRef: {{fieldPath: metadata.uid}}}}
    - name: APP
      valueFrom: {{fieldRef: {{fieldPath: "metadata.labels['app']"}}}}
    - name: NODE
      valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}
    - name: IP
      valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}
    - name: BOTH
      value: "$(GREETING)-$(NS)"
""")
    r = wasmlet("run", f)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # one container: no [pod/container] prefix
    assert lines[0] == "hello from wasm"
    assert lines[2:6] == ["arg[1]=hi", "arg[2]=hello", "arg[3]=$(GREETING)",
                          "arg[4]=$(NOPE)"]
    env = dict(ln[4:].split("=", 1) for ln in lines if ln.startswith("env "))
    assert env["GREETING"] == "hi"
    assert env["POD_NAME"] == "hello"
    assert env["NS"] == "demo"
    assert len(env["UID"]) == 36 and env["UID"][14] == "4"
    assert env["APP"] == "web"
    assert env["NODE"] == os.uname().nodename
    assert env["IP"] == "127.0.0.1"
    assert env["BOTH"] == "hi-demo"


def test_field_refs_to_the_longest_label_and_annotation_keys(tmp_path):
    # A label key may be 317 characters: a 253-character DNS prefix, "/",
    # a 63-character name. The env resolver once copied the key into a
    # 256-byte buffer and gave "" for anything longer than 255.
    prefix = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(prefix) == 253
    key = prefix + "/" + "n" * 63
    p = pod("longkey", [ctr("main", "hello", env=[
        {"name": "LABEL", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.labels['{key}']"}}},
        {"name": "NOTE", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{key}']"}}},
        {"name": "ABSENT", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.labels['{key}x']"}}}])])
    p["metadata"]["labels"] = {key: "v1"}
    p["metadata"]["annotations"] = {key: "note"}
    r, _ = run_pod(tmp_path, p)
    assert r.returncode == 0, r.stderr
    env = dict(ln[4:].split("=", 1) for ln in r.stdout.splitlines()
               if ln.startswith("env "))
    assert env["LABEL"] == "v1"
    assert env["NOTE"] == "note"
    assert env["ABSENT"] == ""


def test_runtime_class_names_a_handler_without_an_api_server(tmp_path):
    # No API server to look a RuntimeClass up: the name must be one of
    # wasmlet's handlers, else the pod cannot start (exit 125).
    for handler in ("wasmtime", "wasmlet"):
        p = pod("ok", [ctr("c", "exit_code", "0")], runtimeClassName=handler)
        r, _ = run_pod(tmp_path, p)
        assert r.returncode == 0, (handler, r.stderr)
        assert r.stdout == "exiting with 0\n"
    p = pod("gv", [ctr("c", "exit_code", "0")], runtimeClassName="gvisor")
    r, _ = run_pod(tmp_path, p)
    check_no_crash(r)
    assert r.returncode == 125, r.stderr
    assert r.stdout == ""
    assert "reason=ContainerCreating" in r.stderr, r.stderr
    assert 'no runtime for "gvisor" is configured (wasmlet\'s handlers ' \
        "are wasmtime and wasmlet)" in r.stderr, r.stderr


def test_json_manifest_runs(tmp_path):
    p = pod("j", [ctr("c", "exit_code", "0")])
    f = write(tmp_path / "pod.json", json.dumps(p))
    r = wasmlet("run", f)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exiting with 0\n"


def test_several_documents_run_at_once_with_prefixes(tmp_path):
    a = to_yaml(pod("a", [ctr("one", "exit_code", "0")]))
    b = to_yaml(pod("b", [ctr("two", "exit_code", "0")]))
    f = write(tmp_path / "two.yaml", "# two pods\n" + a + "---\n" + b + "...\n")
    r = wasmlet("run", f)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["[a/one] exiting with 0",
                                             "[b/two] exiting with 0"]


def test_a_list_of_pods_runs(tmp_path):
    lst = {"apiVersion": "v1", "kind": "List", "items": [
        pod("a", [ctr("c", "exit_code", "0")]),
        pod("b", [ctr("c", "exit_code", "0")])]}
    r, _ = run_pod(tmp_path, lst)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["[a/c] exiting with 0",
                                             "[b/c] exiting with 0"]


def test_a_directory_of_manifests(tmp_path):
    d = tmp_path / "manifests"
    d.mkdir()
    write(d / "a.yaml", to_yaml(pod("a", [ctr("c", "exit_code", "0")])))
    write(d / "b.json", json.dumps(pod("b", [ctr("c", "exit_code", "0")])))
    write(d / "c.yml", to_yaml(pod("c", [ctr("c", "exit_code", "0")])))
    write(d / "notes.txt", "not a manifest")
    write(d / ".hidden.yaml", "garbage: [")
    for args in (["--pod-manifest-path", str(d)], [str(d)]):
        r = wasmlet("run", *args)
        assert r.returncode == 0, r.stderr
        assert sorted(r.stdout.splitlines()) == [
            "[a/c] exiting with 0", "[b/c] exiting with 0",
            "[c/c] exiting with 0"]


def test_an_empty_directory_is_an_error(tmp_path):
    r = wasmlet("run", "--pod-manifest-path", str(tmp_path))
    assert r.returncode == 125
    assert (f"{tmp_path}: no pod manifests (*.yaml, *.yml, *.json) in it"
            in r.stderr)


def test_relative_image_is_relative_to_the_manifest(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(module("exit_code"), d / "ec.wasm")
    f = write(d / "p.yaml", to_yaml(pod("rel", [
        {"name": "a", "image": "ec.wasm", "args": ["0"]},
        {"name": "b", "image": "./ec.wasm", "args": ["0"]}])))
    r = wasmlet("run", f, cwd="/")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["[rel/a] exiting with 0",
                                             "[rel/b] exiting with 0"]


# ---- the examples ----

def example(tmp_path, name):
    """examples/standalone/NAME with its images pointed at this build."""
    text = (ROOT / "examples" / "standalone" / name).read_text()
    text = text.replace("../../build/tests/wasm/", str(WASM) + "/")
    return write(tmp_path / name, text)


def test_example_hello(tmp_path):
    r = wasmlet("run", example(tmp_path, "hello.yaml"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[2:5] == ["arg[1]=hi", "arg[2]=from",
                                          "arg[3]=hello"]


def test_init_container_and_app_share_an_emptydir(tmp_path):
    data = tmp_path / "data"
    r = wasmlet("run", "--data-dir", str(data),
                example(tmp_path, "init-emptydir.yaml"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[shared/read] written by the init container\n"
    # the CRI logs, as serve writes them
    (uid_dir,) = (data / "pods").iterdir()
    log = (uid_dir / "read" / "0.log").read_text()
    assert log.endswith(" stdout F written by the init container\n")
    assert (uid_dir / "write" / "0.log").exists()
    assert (uid_dir / "volumes" / "scratch" / "greeting").read_text() == \
        "written by the init container\n"


def test_ignored_fields_and_emptydir_limits_are_warned_about(tmp_path):
    p = pod("lim", [ctr("c", "files", "write", "/d/f", "x",
                        volumeMounts=[{"name": "d", "mountPath": "/d"}],
                        readinessProbe={"exec": {"command": ["true"]}})],
            volumes=[{"name": "d", "emptyDir": {"sizeLimit": "1Mi",
                                                "medium": "Memory"}}])
    r, f = run_pod(tmp_path, p)
    assert r.returncode == 0, r.stderr
    assert f'{f}: pod "lim": volume "d": emptyDir medium and sizeLimit are ' \
        'ignored by wasmlet run (a plain directory)\n' in r.stderr
    # as serve's UnsupportedField Event says it
    assert f'{f}: pod "lim": spec.containers[0].readinessProbe: not ' \
        'supported by wasmlet, ignored\n' in r.stderr


def test_private_data_dir_is_removed_at_exit(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    f = write(tmp_path / "p.yaml", to_yaml(pod("p", [ctr("c", "exit_code",
                                                         "0")])))
    r = subprocess.run([WASMLET, "run", f], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert [x.name for x in tmp_path.iterdir()] == ["p.yaml"]


def test_init_containers_run_in_order_before_apps(tmp_path):
    d = tmp_path / "host"
    p = pod("order", [ctr("app", "files", "read", "/h/log",
                          volumeMounts=[{"name": "h", "mountPath": "/h"}])],
            init=[ctr(f"i{n}", "files", "append", "/h/log", f"init {n}\n",
                      volumeMounts=[{"name": "h", "mountPath": "/h"}])
                  for n in range(3)],
            volumes=[{"name": "h", "hostPath": {
                "path": str(d), "type": "DirectoryOrCreate"}}])
    r, _ = run_pod(tmp_path, p)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[order/app] init 0\n[order/app] init 1\n" \
        "[order/app] init 2\n"
    assert (d / "log").read_text() == "init 0\ninit 1\ninit 2\n"


def test_hostpath_type_is_checked(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    p = pod("hp", [ctr("c", "files", "ls", "/h",
                       volumeMounts=[{"name": "h", "mountPath": "/h"}])],
            volumes=[{"name": "h", "hostPath": {"path": str(f),
                                                "type": "File"}}])
    r, _ = run_pod(tmp_path, p)
    assert r.returncode == 125
    assert "pod=hp container=c reason=CreateContainerConfigError: " in r.stderr
    assert "WASI can only preopen directories" in r.stderr
    p["spec"]["volumes"][0]["hostPath"] = {"path": str(tmp_path / "no"),
                                           "type": "Directory"}
    r, _ = run_pod(tmp_path, p)
    assert r.returncode == 125
    assert "reason=CreateContainerConfigError: " in r.stderr


# ---- lifecycle and exit status ----

def test_exit_status_is_the_failing_containers(tmp_path):
    r, _ = run_pod(tmp_path, pod("f", [ctr("c", "exit_code", "7")]))
    assert r.returncode == 7
    assert "pod=f container=c exit_code=7 reason=Error" in r.stderr


def test_exit_status_is_the_first_failure_of_several(tmp_path):
    r, _ = run_pod(tmp_path, pod("f", [
        ctr("slow", "sleeper", "1"),   # exits 0 after a second
        ctr("fast", "exit_code", "3"),
        ctr("later", "ticker", "300", "2")]))  # ok, after ~0.6 s
    assert r.returncode == 3, r.stderr


def test_a_trap_is_exit_1_as_in_pod_status(tmp_path):
    r, _ = run_pod(tmp_path, pod("t", [ctr("c", "trap")]))
    assert r.returncode == 1
    assert "pod=t container=c exit_code=1 reason=Error message=" in r.stderr


def test_failed_init_container_fails_the_pod_with_never(tmp_path):
    p = pod("i", [ctr("app", "hello")], init=[ctr("init", "exit_code", "5")])
    r, _ = run_pod(tmp_path, p)
    assert r.returncode == 5
    assert "hello from wasm" not in r.stdout


def test_on_failure_restarts_with_backoff_until_the_deadline(tmp_path):
    # The kubelet never gives up on OnFailure: first restart at once, then
    # 10 s, 20 s... (CrashLoopBackOff). activeDeadlineSeconds bounds it.
    data = tmp_path / "data"
    p = pod("crash", [ctr("c", "exit_code", "3")], restart="OnFailure",
            activeDeadlineSeconds=3)
    t0 = time.monotonic()
    r, _ = run_pod(tmp_path, p, "--data-dir", str(data))
    took = time.monotonic() - t0
    assert r.returncode == 124, r.stderr
    assert 2.5 < took < 15, took
    assert r.stdout == "exiting with 3\nexiting with 3\n"
    assert "pod=crash container=c: back-off 10s restarting failed " \
        "container (CrashLoopBackOff)" in r.stderr
    assert "pod=crash reason=DeadlineExceeded: Pod was active on the node " \
        "longer than the specified deadline" in r.stderr
    (uid_dir,) = (data / "pods").iterdir()
    # each run: its log, its record, its termination-log dir
    assert sorted(x.name for x in (uid_dir / "c").iterdir()) == [
        "0.exit", "0.log", "0.termination", "1.exit", "1.log",
        "1.termination"]


def test_on_failure_does_not_restart_a_success(tmp_path):
    r, _ = run_pod(tmp_path, pod("ok", [ctr("c", "exit_code", "0")],
                                 restart="OnFailure"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exiting with 0\n"


def test_always_runs_until_sigterm_and_stops_cleanly(tmp_path):
    f = write(tmp_path / "p.yaml", to_yaml(pod(
        "forever", [ctr("tick", "ticker", "100", "0"),
                    ctr("sleep", "sleeper", "3600")], restart="Always")))
    proc = subprocess.Popen([WASMLET, "run", f], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("[forever/"), line
        time.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "signal=SIGTERM: stopping every container" in err


def test_a_signal_during_crash_loop_back_off_exits_with_the_failure(tmp_path):
    f = write(tmp_path / "p.yaml", to_yaml(pod(
        "crash", [ctr("c", "exit_code", "3"), ctr("s", "sleeper", "3600")],
        init=[ctr("i", "exit_code", "0")], restart="Always")))
    proc = subprocess.Popen([WASMLET, "run", f], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        # init, then c twice (the first restart is at once), then c waits
        # 10 s (CrashLoopBackOff): the signal comes during that wait
        while seen.count("[crash/c] exiting with 3\n") < 2:
            line = proc.stdout.readline()
            assert line, "wasmlet ended early"
            seen.append(line)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(seen) + out
    assert proc.returncode == 3, err
    assert out.count("[crash/c] exiting with 3\n") == 2
    assert "[crash/i] exiting with 0\n" in out
    assert "signal=SIGINT: stopping every container" in err
    assert "exit_code=137" not in err  # stopped by us: not reported


def test_deadline_stops_a_running_module(tmp_path):
    r, _ = run_pod(tmp_path, pod("d", [ctr("c", "sleeper", "3600")],
                                 activeDeadlineSeconds=1))
    assert r.returncode == 124
    assert "pod=d reason=DeadlineExceeded" in r.stderr


# ---- refused manifests: one clear message naming the field ----

def refused(tmp_path, text, name="bad.yaml", *flags):
    f = write(tmp_path / name, text)
    r = wasmlet("run", *flags, f)
    check_no_crash(r)
    assert r.returncode == 125, (r.stdout, r.stderr)
    assert r.stdout == ""
    return r.stderr, f


def test_unknown_field_is_an_error_with_its_path(tmp_path):
    p = pod("x", [ctr("c", "hello", imagePullPolicyy="Never")])
    err, f = refused(tmp_path, to_yaml(p), "hello.yaml")
    assert f'{f}: pod "x": spec.containers[0].imagePullPolicyy: unknown ' \
        'field\n' in err
    p = pod("x", [ctr("c", "hello")], volumes=[{"name": "v", "emptyDir": {
        "sizeLimitt": "1Mi"}}])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.volumes[0].emptyDir.sizeLimitt: unknown ' \
        'field\n' in err
    p = pod("x", [ctr("c", "hello")])
    p["metadata"]["lables"] = {"a": "b"}
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": metadata.lables: unknown field\n' in err


def test_no_strict_makes_unknown_fields_warnings(tmp_path):
    p = pod("x", [ctr("c", "exit_code", "0", imagePullPolicyy="Never")])
    r, f = run_pod(tmp_path, p, "--no-strict")
    assert r.returncode == 0, r.stderr
    assert f'{f}: pod "x": spec.containers[0].imagePullPolicyy: unknown ' \
        'field, ignored\n' in r.stderr


def test_wrong_types_name_the_path(tmp_path):
    p = pod("x", [ctr("c", "hello")])
    p["spec"]["containers"][0]["args"] = "not a list"
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.containers[0].args: expected an array\n' \
        in err
    p = pod("x", [ctr("c", "hello")], activeDeadlineSeconds="ten")
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.activeDeadlineSeconds: expected an ' \
        'integer\n' in err


def test_not_a_pod_is_refused(tmp_path):
    err, f = refused(tmp_path, "apiVersion: apps/v1\nkind: Deployment\n"
                     "metadata: {name: d}\n")
    assert f"{f}: apps/v1 Deployment is not a Pod: wasmlet run runs v1 " \
        "Pods\n" in err
    err, f = refused(tmp_path, "a: 1\n---\n- 1\n")
    assert f"{f}: document 1: kind and apiVersion missing: expected kind: " \
        "Pod, apiVersion: v1\n" in err
    err, f = refused(tmp_path, "just text\n")
    assert f"{f}: expected a Pod object, found a string\n" in err
    err, f = refused(tmp_path, "# nothing\n")
    assert f"{f}: no pod in it\n" in err


def test_config_map_env_needs_an_api_server(tmp_path):
    p = pod("x", [ctr("c", "hello", env=[{"name": "A", "valueFrom": {
        "configMapKeyRef": {"name": "cm", "key": "k"}}}])])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.containers[0].env[0].valueFrom.' \
        'configMapKeyRef (A): needs an API server, and wasmlet run has ' \
        'none\n' in err
    p = pod("x", [ctr("c", "hello", envFrom=[{"secretRef": {"name": "s"}}])])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.containers[0].envFrom[0].secretRef: needs ' \
        'an API server, and wasmlet run has none\n' in err
    p = pod("x", [ctr("c", "hello")],
            volumes=[{"name": "cfg", "configMap": {"name": "cm"}}])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": volume "cfg": configMap volumes need an API ' \
        'server, and wasmlet run has none\n' in err


def test_unsupported_pod_fields_as_in_serve(tmp_path):
    p = pod("x", [ctr("c", "hello")], hostNetwork=True)
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.hostNetwork: host networking is not ' \
        'supported by wasmlet\n' in err
    p = pod("x", [ctr("c", "hello")],
            volumes=[{"name": "pv", "persistentVolumeClaim": {
                "claimName": "c"}}])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": volume "pv": persistentVolumeClaim volumes are ' \
        'not supported by wasmlet\n' in err


def test_linux_and_non_wasm_images_are_refused(tmp_path):
    elf = tmp_path / "true"
    shutil.copy("/bin/true", elf)
    p = pod("x", [{"name": "c", "image": str(elf)}])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.containers[0].image: {elf} is an ELF ' \
        'executable, not a WebAssembly module: Linux images cannot run on ' \
        'wasmlet\n' in err
    txt = tmp_path / "fake.wasm"
    txt.write_text("hello")
    p = pod("x", [{"name": "c", "image": "fake.wasm"}])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.containers[0].image: {txt} is not a ' \
        'WebAssembly module (no \\0asm magic): wasmlet runs only ' \
        'wasm32-wasi modules\n' in err
    p = pod("x", [{"name": "c", "image": "./missing.wasm"}])
    err, f = refused(tmp_path, to_yaml(p))
    assert f'{f}: pod "x": spec.containers[0].image: ' \
        f'{tmp_path}/./missing.wasm: No such file or directory\n' in err


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    err, f = refused(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata:\n"
                     "  name: [x\nspec: {}\n")
    assert err.count(f"{f}: invalid YAML: line ") == 1
    # libfyaml finds the unclosed "[" at the end of the text
    assert f"{f}: invalid YAML: line 6, column 1: flow sequence without a " \
        "closing bracket\n" in err
    err, f = refused(tmp_path, "apiVersion: v1\nkind: Pod\n\tspec: {}\n")
    assert f"{f}: line 3, column 1: tab characters are not supported (use " \
        "spaces)\n" in err


def test_duplicate_pods_are_refused(tmp_path):
    a = to_yaml(pod("a", [ctr("c", "hello")]))
    err, f = refused(tmp_path, a + "---\n" + a)
    assert f'{f}: pod "a": a pod default/a is in {f} already\n' in err


def test_module_flags_do_not_apply_to_pods(tmp_path):
    f = write(tmp_path / "p.yaml", to_yaml(pod("p", [ctr("c", "hello")])))
    r = wasmlet("run", "--env", "A=1", f)
    assert r.returncode == 125
    assert "--env, --dir, --memory-limit and --timeout are for a module; a " \
        "pod says them in its spec" in r.stderr
    r = wasmlet("run", f, "--", "x")
    assert r.returncode == 125
    assert f"{f} is a pod manifest: arguments go in its containers' args" \
        in r.stderr


# ---- hostile input: an error, never a crash ----

def test_hostile_manifests_fail_cleanly(tmp_path):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))
    cases = {
        "laughs.yaml": (laughs, "more than 1000000 values (aliases "
                        "expanded): refused"),
        "deep.yaml": ("[" * 5000 + "]" * 5000, "invalid YAML: line 1, "),
        "binary.yaml": ("\x01\x02garbage", "control character U+0001"),
        "nul.json": ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":'
                     '"a\\u0000b"},"spec":{"containers":[]}}',
                     "metadata.name: contains a NUL character"),
        "self.yaml": ("a: &a [1, *a]\n", "nested deeper than 64 levels"),
        "huge-int.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"
                          "spec: {activeDeadlineSeconds: 1e999}\n",
                          "number out of range"),
        "list.yaml": ("apiVersion: v1\nkind: List\nitems: [1]\n",
                      "items[0]: not a Pod"),
        "nulls.yaml": ("apiVersion: v1\nkind: Pod\nmetadata: ~\nspec: ~\n",
                       "metadata: missing"),
        "keys.yaml": ("? [a]\n: 1\n", "mapping keys must be scalars"),
    }
    for name, (text, want) in cases.items():
        err, _ = refused(tmp_path, text, name)
        assert want in err, (name, err)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (5 * 1024 * 1024) + "\n")
    r = wasmlet("run", str(big))
    assert r.returncode == 125
    assert "over the limit" in r.stderr or "too large" in r.stderr, r.stderr


# ---- OCI images (the test registry, no cluster) ----

def test_oci_images_are_pulled_and_linux_ones_refused(tmp_path, registry):
    import gzip
    import hashlib
    import io
    import tarfile

    wasm = pathlib.Path(module("exit_code")).read_bytes()
    ref = registry.push_wasm("standalone/exit", "v1", wasm)["reference"]
    p = pod("oci", [{"name": "c", "image": ref, "args": ["0"]}])
    r, _ = run_pod(tmp_path, p, "--insecure-registry", registry.host)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exiting with 0\n"

    # examples/hello.yaml, the cluster's sample pod (nodeSelector,
    # tolerations), passes the strict check and runs as it is but for its
    # registry.
    hello = pathlib.Path(module("hello")).read_bytes()
    ref = registry.push_wasm("demo/hello", "v1", hello)["reference"]
    text = (ROOT / "examples" / "hello.yaml").read_text()
    assert "image: 127.0.0.1:25000/demo/hello:v1\n" in text
    f = write(tmp_path / "hello.yaml",
              text.replace("127.0.0.1:25000/demo/hello:v1", ref))
    r = wasmlet("run", "--insecure-registry", registry.host, f)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:5] == [
        "hello from wasm", f"arg[0]={ref}", "arg[1]=from", "arg[2]=a",
        "arg[3]=pod"]
    assert "env POD_NAME=hello-wasm" in r.stdout.splitlines()

    # A Linux container image: config for linux/amd64, a tar.gz layer.
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("bin/app")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"\x7fELF"))
    tgz = gzip.compress(raw.getvalue())
    layer = registry.push_blob("standalone/linux", tgz)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Entrypoint": ["/bin/app"]},
                      "rootfs": {"type": "layers", "diff_ids": [
                          "sha256:" + hashlib.sha256(raw.getvalue())
                          .hexdigest()]}}).encode()
    cfg_digest = registry.push_blob("standalone/linux", cfg)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cfg_digest, "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer, "size": len(tgz)}]}).encode()
    status, _, body = registry.request(
        "PUT", "/v2/standalone/linux/manifests/v1", data=manifest,
        headers={"Content-Type":
                 "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, body
    p = pod("lin", [{"name": "c", "image": f"{registry.host}/standalone/"
                     "linux:v1"}])
    r, _ = run_pod(tmp_path, p, "--insecure-registry", registry.host)
    assert r.returncode == 125
    assert "pod=lin container=c reason=ErrImagePull: " in r.stderr
    assert "not a WebAssembly image" in r.stderr
    assert "linux/amd64" in r.stderr
