"""`wasmlet run` and `wasmlet version`, as a user runs them: the real binary,
real modules from tests/wasm, the real wasmtime. WL_WASMLET picks the binary
(scripts/test.sh runs this file against the plain and the ASan+UBSan build)."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("WL_BUILD_DIR", ROOT / "build"))
WASMLET = os.environ.get("WL_WASMLET", str(BUILD / "wasmlet"))
WASM = BUILD / "tests" / "wasm"


def wasmlet(*args, timeout=60):
    return subprocess.run([WASMLET, *args], capture_output=True, text=True,
                          timeout=timeout)


def module(name):
    path = WASM / f"{name}.wasm"
    assert path.exists(), f"{path} missing: build with meson first"
    return str(path)


def test_hello_prints_args_after_double_dash():
    r = wasmlet("run", module("hello"), "--", "a", "b")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == ["hello from wasm", f"arg[0]={module('hello')}",
                         "arg[1]=a", "arg[2]=b"]


def test_module_sees_only_given_env():
    r = wasmlet("run", "--env", "A=1", "-e", "B=two words", module("hello"))
    assert r.returncode == 0, r.stderr
    env = [line for line in r.stdout.splitlines() if line.startswith("env ")]
    assert env == ["env A=1", "env B=two words"]


def test_exit_code_is_ours():
    for code in ("0", "7", "42", "125"):
        r = wasmlet("run", module("exit_code"), "--", code)
        assert r.returncode == int(code), r.stderr
        assert r.stdout == f"exiting with {code}\n"


def test_exit_code_wasmtime_refuses_is_reported():
    # WASI preview 1 exit statuses are 0..125 in wasmtime; proc_exit(200)
    # ends the module with an error that must reach the user, not a crash.
    r = wasmlet("run", module("exit_code"), "--", "200")
    assert r.returncode == 134
    assert "exit with invalid exit status outside of [0..126)" in r.stderr


def test_trap_exits_134_with_message():
    r = wasmlet("run", module("trap"))
    assert r.returncode == 134
    assert r.stdout == "about to trap\n"
    assert "trapped: wasm trap: wasm `unreachable` instruction executed" \
        in r.stderr
    assert "Stack backtrace" not in r.stderr


def test_timeout_stops_infinite_loop():
    r = wasmlet("run", "--timeout", "0.5", module("loop"), timeout=20)
    assert r.returncode == 124
    assert "ran past --timeout" in r.stderr


def test_memory_limit_makes_allocation_fail():
    r = wasmlet("run", "--memory-limit", "16Mi", module("memhog"), "--", "64")
    assert r.returncode == 1
    assert "memhog: allocation failed after" in r.stderr
    r = wasmlet("run", "--memory-limit", "128Mi", module("memhog"), "--",
                "64")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "memhog: holding 64 MiB\n"


def test_dir_preopen_read_write_and_readonly(tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    r = wasmlet("run", "--dir", f"{vol}:/data", module("files"), "--",
                "write", "/data/out.txt", "hello volume")
    assert r.returncode == 0, r.stderr
    assert (vol / "out.txt").read_text() == "hello volume"

    r = wasmlet("run", "--dir", f"{vol}:/data:ro", module("files"), "--",
                "read", "/data/out.txt")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello volume"

    r = wasmlet("run", "--dir", f"{vol}:/data:ro", module("files"), "--",
                "write", "/data/out.txt", "overwritten")
    assert r.returncode == 1
    assert (vol / "out.txt").read_text() == "hello volume"


def test_host_outside_preopens_is_invisible():
    r = wasmlet("run", module("files"), "--", "read", "/etc/passwd")
    assert r.returncode == 1
    assert r.stdout == ""


def test_not_a_module_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.wasm"
    bogus.write_text("#!/bin/sh\n")
    r = wasmlet("run", str(bogus))
    assert r.returncode == 125
    assert f"run {bogus}: not a WebAssembly module" in r.stderr

    r = wasmlet("run", str(tmp_path / "missing.wasm"))
    assert r.returncode == 125
    assert "No such file or directory" in r.stderr


def test_bad_flags_are_clear_errors():
    r = wasmlet("run", "--env", "NOEQUALS", module("hello"))
    assert (r.returncode, "--env NOEQUALS: expected NAME=VALUE") == \
        (125, r.stderr.split("error: ", 1)[1].strip())
    r = wasmlet("run", "--memory-limit", "12Qi", module("hello"))
    assert r.returncode == 125
    assert 'unknown suffix "Qi"' in r.stderr
    r = wasmlet("run", "--dir", "/tmp", module("hello"))
    assert r.returncode == 125
    assert "expected HOST:GUEST[:ro]" in r.stderr
    r = wasmlet("frobnicate")
    assert r.returncode == 2
    assert 'unknown command "frobnicate"' in r.stderr


def test_version_names_wasmtime():
    r = wasmlet("version")
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["wasmlet 0.1.0", "wasmtime 39.0.0"]
