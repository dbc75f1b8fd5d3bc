#!/usr/bin/env python3
"""Counts test cases for scripts/test.sh, one line per case.

  testcount.py unit LABEL BUILD_DIR   meson's testlog.json: each program's
                                      "ok  NAME" / "FAIL NAME" lines
                                      (tests/unit/test.h) are its cases; a
                                      program that failed without naming a
                                      failed case (a crash, a sanitizer
                                      report at exit, a timeout) is one
                                      failure more, named for the program
  testcount.py junit LABEL FILE.xml   a pytest --junitxml report

Prints "PASS|FAIL|SKIP LABEL CASE [seconds]" per case, then, last, a line
"counts: P F S" (passed, failed, skipped) for test.sh to add up. A SKIP is
never a pass. A report that is missing or unreadable is one failure: a run
that did not happen must never read as zero tests that all passed.
"""
import json
import pathlib
import sys
import xml.etree.ElementTree as ET


def emit(state, label, case, seconds=None, counts=None):
    extra = f" ({seconds:.1f} s)" if seconds is not None else ""
    print(f"{state} {label} {case}{extra}")
    counts[{"PASS": 0, "FAIL": 1, "SKIP": 2}[state]] += 1


def unit(label, build_dir, counts):
    log = pathlib.Path(build_dir) / "meson-logs" / "testlog.json"
    try:
        lines = log.read_text().splitlines()
    except OSError as e:
        emit("FAIL", label, f"(no test log: {e})", counts=counts)
        return
    if not lines:
        emit("FAIL", label, "(empty test log)", counts=counts)
    for line in lines:
        t = json.loads(line)
        out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
        program = t["name"]
        seen_fail = False
        for row in out.splitlines():
            if row.startswith("ok  "):
                emit("PASS", label, f"{program}/{row[4:].strip()}", counts=counts)
            elif row.startswith("FAIL "):
                seen_fail = True
                emit("FAIL", label, f"{program}/{row[5:].strip()}", counts=counts)
        if t.get("result") == "SKIP":
            emit("SKIP", label, program, counts=counts)
        elif t.get("result") != "OK" and not seen_fail:
            emit("FAIL", label, f"{program} ({t.get('result')}, exit "
                 f"{t.get('returncode')})", t.get("duration"), counts)


def junit(label, path, counts):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        emit("FAIL", label, f"(no pytest report: {e})", counts=counts)
        return
    cases = list(root.iter("testcase"))
    if not cases:
        emit("FAIL", label, "(pytest ran no test)", counts=counts)
    for c in cases:
        name = f"{c.get('classname', '').replace('.', '/')}.py::{c.get('name')}"
        name = name.replace("tests/e2e/", "", 1) if name.startswith("tests/e2e/") else name
        secs = float(c.get("time") or 0)
        kinds = {child.tag for child in c}
        if kinds & {"failure", "error"}:
            emit("FAIL", label, name, secs, counts)
        elif "skipped" in kinds:
            emit("SKIP", label, name, secs, counts)
        else:
            emit("PASS", label, name, secs, counts)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("unit", "junit"):
        sys.exit(__doc__)
    counts = [0, 0, 0]
    (unit if argv[1] == "unit" else junit)(argv[2], argv[3], counts)
    print("counts: %d %d %d" % tuple(counts))


if __name__ == "__main__":
    main(sys.argv)
