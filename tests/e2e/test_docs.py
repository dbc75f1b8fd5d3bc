"""The configuration reference cannot drift from the code: every flag and
variable `wasmlet serve --help` prints is in docs/configuration.md and the
man page and nothing else is, and the config file keys documented are
exactly those src/config_file.c reads, each standing for the same flag.
Needs no cluster."""
import pathlib
import re

from test_cli_run import WASMLET, wasmlet

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "configuration.md").read_text()
MAN = (ROOT / "docs" / "wasmlet.1").read_text()


def help_text():
    r = wasmlet("serve", "--help")
    assert r.returncode == 0, r.stderr
    return r.stdout


def help_flags():
    return set(re.findall(r"^\s+(--[a-z][a-z-]*)", help_text(), re.M))


def help_variables():
    return set(re.findall(r"\b(WASMLET_[A-Z_]+)", help_text()))


def table_rows(text, first_cell):
    """The cells of the markdown table rows whose first cell matches."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append([c.strip("`") for c in cells])
    return rows


def doc_flag_rows():
    return table_rows(DOC, r"`--[a-z-]+( [A-Z=.,]+)?`")


def test_every_serve_flag_is_documented_and_nothing_else():
    documented = {row[0].split()[0] for row in doc_flag_rows()}
    assert documented == help_flags()


def test_every_variable_is_documented_and_nothing_else():
    documented = {row[1] for row in doc_flag_rows() if row[1]}
    assert documented == help_variables()


def test_man_page_names_every_serve_flag():
    section = MAN.split(".SH OPTIONS OF SERVE")[1].split(".SH ")[0]
    in_man = {m.replace("\\-", "-")
              for m in re.findall(r"^\\fB((?:\\-){2}[a-z\\-]+)\\fR", section,
                                  re.M)}
    assert in_man == help_flags()


def code_file_keys():
    """{key: flag} from the table in src/config_file.c."""
    src = (ROOT / "src" / "config_file.c").read_text()
    table = src.split("file_keys[] = {")[1].split("};")[0]
    return dict(re.findall(r'\{"([A-Za-z0-9.]+)",\s*"([a-z-]+)",', table))


def test_config_file_keys_are_documented_with_their_flags():
    code = code_file_keys()
    assert len(code) > 20
    keys_table = {row[0]: row[1] for row in table_rows(DOC, r"`[a-zA-Z0-9.]+`")
                  if row[1].startswith("--")}
    assert keys_table == {k: "--" + f for k, f in code.items()}
    # The flags table names the same key for each flag.
    flag_table = {row[2]: row[0].split()[0] for row in doc_flag_rows()
                  if row[2]}
    assert flag_table == keys_table
    assert set(keys_table.values()) <= help_flags()


def test_version_prints_wasmlet_and_wasmtime_versions():
    meson = (ROOT / "meson.build").read_text()
    version = re.search(r"^\s*version: '([^']+)'", meson, re.M).group(1)
    for args in (["--version"], ["version"]):
        r = wasmlet(*args)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == f"wasmlet {version}", (WASMLET, r.stdout)
        assert re.fullmatch(r"wasmtime \d+\.\d+\.\d+", lines[1]), r.stdout
        assert len(lines) == 2
