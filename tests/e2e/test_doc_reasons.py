"""docs/troubleshooting.md cannot drift from the reasons wasmlet sets.

Every reason string the code can put in front of a user — a pod's
status.reason, a container's waiting or terminated reason, a pod or node
condition's reason, an Event's reason, the reason of a kubelet API error
Status — must have exactly one entry in docs/troubleshooting.md, and the
doc must name no reason the code never sets. Needs no cluster and no build.

How the reasons are found in src/ (every .c and .h file):

1. Each file is reduced to a *skeleton*: comments removed, line
   continuations joined, and every string literal replaced by a placeholder
   `__S<n>__` that remembers its text. So nothing below can match inside a
   log message such as "reason=%s", and argument lists can be split at
   commas without caring about quotes.
2. *Functions that take a reason* are found, not listed: every prototype or
   definition with a parameter `const char *reason` (wl_pod_event,
   wl_pod_writer_eventf, ctr_set_waiting, send_failure, reject, cond_set,
   condition, ...), and every function-like macro whose body passes its
   `...` or one of its parameters on in such a position (owner_event,
   run_event). The argument in that position of every call is a reason.
3. The value after a `"reason"` key in any call (json_pack,
   json_object_set_new: the reason field of a status or Status object).
4. The right-hand side of every assignment or designated initialiser to
   something named `*reason` (`t->reason = "OOMKilled"`,
   `*ret_reason = WL_POD_REASON_UNSUPPORTED`).
5. The `return` values of functions with `reason` in their name (the
   kubelet API's reason_of()).

A reason expression contributes its string literals (ternaries give both
sides) and the string macros it names. An expression with neither must be a
variable: a name with `reason` in it is covered by rules 2-4; any other
name is followed to its assignments (in the same file, or in every file for
a struct member). Anything else fails the test, so a new way of passing
reasons is noticed instead of being missed. Of the literals, those that look
like a Kubernetes reason (UpperCamelCase) are kept.

In the doc, an entry is a markdown heading or the first cell of a table row
holding a reason in backticks (`` `ErrImagePull` ``).
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
DOC_PATH = ROOT / "docs" / "troubleshooting.md"

REASON = re.compile(r"[A-Z][A-Za-z]+")
PLACEHOLDER = re.compile(r"__S(\d+)__")
IDENT_CHAIN = re.compile(r"\s*&?\s*\(?\s*([A-Za-z_]\w*(?:\s*(?:->|\.)\s*\w+)*)\s*\)?\s*")

# A few reasons that must be found whatever happens to the extraction: if
# one is missing, the extractor broke, not the doc.
MUST_FIND = {"ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff",
             "OOMKilled", "Completed", "UnsupportedPodSpec", "FailedMount",
             "Killing", "KubeletReady", "Forbidden", "ContainersNotReady"}


class Source:
    def __init__(self, path):
        self.path = path
        self.literals = []
        self.skel = self._skeleton(path.read_text())

    def _skeleton(self, text):
        text = text.replace("\\\n", " ")
        out, i, n = [], 0, len(text)
        while i < n:
            c = text[i]
            if text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
            elif text.startswith("/*", i):
                j = text.find("*/", i + 2)
                out.append(" ")
                i = n if j < 0 else j + 2
            elif c == '"':
                j, buf = i + 1, []
                while j < n and text[j] != '"':
                    if text[j] == "\\" and j + 1 < n:
                        buf.append(text[j:j + 2])
                        j += 2
                    else:
                        buf.append(text[j])
                        j += 1
                out.append(f"__S{len(self.literals)}__")
                self.literals.append("".join(buf))
                i = j + 1
            elif c == "'":
                j = i + 1
                while j < n and text[j] != "'":
                    j += 2 if text[j] == "\\" else 1
                out.append("' '")
                i = j + 1
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def lits(self, expr):
        return [self.literals[int(k)] for k in PLACEHOLDER.findall(expr)]


def split_args(s, open_paren):
    """The top-level arguments of the call whose '(' is at open_paren, and
    the index after its ')'."""
    depth, args, start = 0, [], open_paren + 1
    for i in range(open_paren, len(s)):
        ch = s[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                args.append(s[start:i])
                return [a.strip() for a in args], i + 1
        elif ch == "," and depth == 1:
            args.append(s[start:i])
            start = i + 1
    return None, len(s)


def expr_end(s, i):
    """End of the expression starting at i: ';', or ',', ')' or '}' at the
    top level."""
    depth = 0
    for j in range(i, len(s)):
        ch = s[j]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return j
            depth -= 1
        elif ch == ";" or (ch == "," and depth == 0):
            return j
    return len(s)


CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
PARAM_REASON = re.compile(r"(?:const\s+)?char\s*\*\s*reason")
# Calls that pass their argument through unchanged.
WRAPPERS = {"json_string", "strdup"}
KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "defined"}


def calls(src):
    """(name, args, start) of every call, declaration and definition."""
    for m in CALL.finditer(src.skel):
        if m.group(1) in KEYWORDS:
            continue
        args, _ = split_args(src.skel, m.end() - 1)
        if args is not None:
            yield m.group(1), args, m.start()


def ternary(expr):
    """The two branches of a top-level `c ? a : b`, or None."""
    depth, q = 0, None
    nested = 0
    for i, ch in enumerate(expr):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch == "?":
            if q is None:
                q = i
            else:
                nested += 1
        elif depth == 0 and ch == ":" and q is not None:
            if nested:
                nested -= 1
            else:
                return [expr[q + 1:i], expr[i + 1:]]
    return None


def extract():
    sources = [Source(p) for p in sorted(SRC.rglob("*.[ch]"))]

    # String macros: #define NAME "Literal"
    macros = {}
    for s in sources:
        for m in re.finditer(r"#\s*define\s+(\w+)\s+(__S\d+__)\s*$",
                             s.skel, re.M):
            macros[m.group(1)] = s.lits(m.group(2))[0]

    # Rule 2: functions with a `const char *reason` parameter ...
    takers = {}
    for s in sources:
        for name, args, _ in calls(s):
            for i, a in enumerate(args):
                if PARAM_REASON.fullmatch(a):
                    takers[name] = i
    # ... and the macros that pass a reason on to one (to a fixed point).
    defines = []
    for s in sources:
        for m in re.finditer(r"#\s*define\s+(\w+)\(([^)]*)\)(.*)$", s.skel,
                             re.M):
            params = [p.strip() for p in m.group(2).split(",")]
            defines.append((m.group(1), params, m.group(3)))
    changed = True
    while changed:
        changed = False
        for mname, params, body in defines:
            if mname in takers:
                continue
            for cm in CALL.finditer(body):
                if cm.group(1) not in takers:
                    continue
                args, _ = split_args(body, cm.end() - 1)
                k = takers[cm.group(1)]
                if not args:
                    continue
                idx = None
                if "__VA_ARGS__" in args and params[-1] == "...":
                    va = args.index("__VA_ARGS__")
                    if k >= va:
                        idx = len(params) - 1 + (k - va)
                if k < len(args) and args[k].strip("() ") in params:
                    idx = params.index(args[k].strip("() "))
                if idx is not None:
                    takers[mname] = idx
                    changed = True
                    break

    found, problems, seen_vars = set(), [], set()

    def take(src, expr, where, pos):
        """Adds the reasons expr (at pos in src) can evaluate to."""
        expr = expr.strip()
        while expr.startswith("(") and split_args(expr, 0)[1] == len(expr):
            expr = expr[1:-1].strip()
        lits = src.lits(expr)
        names = [macros[w] for w in re.findall(r"\b\w+\b", expr)
                 if w in macros]
        if lits or names:
            found.update(v for v in lits + names if REASON.fullmatch(v))
            return
        if expr in ("NULL", "") or PARAM_REASON.fullmatch(expr):
            return
        branches = ternary(expr)
        if branches:
            for b in branches:
                take(src, b, where, pos)
            return
        fn = re.fullmatch(r"(\w+)\s*\((.*)\)", expr, re.S)
        if fn and "reason" in fn.group(1):
            return  # rule 5 reads that function's returns
        if fn and fn.group(1) in WRAPPERS:
            take(src, fn.group(2), where, pos)
            return
        m = IDENT_CHAIN.fullmatch(expr)
        if not m:
            problems.append(f"{src.path.relative_to(ROOT)}: cannot tell "
                            f"which reasons `{expr}` ({where}) passes")
            return
        chain = re.split(r"\s*(?:->|\.)\s*", m.group(1))
        var = chain[-1]
        if "reason" in var.lower():
            return  # its assignments are read by rule 4
        member = len(chain) > 1
        # A local variable is followed within its function (a body runs
        # from a "{" to a "}" at the start of a line); a member everywhere.
        lo = 0 if member else src.skel.rfind("\n{", 0, pos)
        hi = src.skel.find("\n}", pos) % (len(src.skel) + 1)
        key = (src.path, lo, var) if not member else (None, 0, var)
        if key in seen_vars:
            return
        seen_vars.add(key)
        assign = re.compile(
            (r"(?:->|\.)\s*" if member else r"(?<![\w.>])") + re.escape(var)
            + r"\s*=(?!=)")
        for other in (sources if member else [src]):
            text = other.skel
            for am in assign.finditer(text):
                if not member and not (lo <= am.start() <= hi):
                    continue
                rhs = text[am.end():expr_end(text, am.end())]
                take(other, rhs, f"assigned to {var}", am.start())
        # No assignment: a parameter, whose callers are checked where they
        # call.

    for s in sources:
        for name, args, pos in calls(s):
            # Rule 2: calls of reason takers.
            k = takers.get(name)
            if k is not None and k < len(args):
                take(s, args[k], f"argument {k} of {name}", pos)
            # Rule 3: "reason", VALUE
            for i, a in enumerate(args[:-1]):
                if PLACEHOLDER.fullmatch(a) and s.lits(a) == ["reason"]:
                    take(s, args[i + 1], "after a \"reason\" key", pos)
        # Rule 4: assignments and designated initialisers to *reason.
        for m in re.finditer(r"\b(\w*reason)\s*=(?!=)", s.skel,
                             re.I):
            rhs = s.skel[m.end():expr_end(s.skel, m.end())]
            take(s, rhs, f"assigned to {m.group(1)}", m.start())
        # Rule 5: returns of reason functions.
        for m in re.finditer(r"\b(\w*reason\w*)\s*\([^;{}()]*\)\s*\{",
                             s.skel):
            depth, i = 0, m.end() - 1
            for i in range(m.end() - 1, len(s.skel)):
                depth += {"{": 1, "}": -1}.get(s.skel[i], 0)
                if depth == 0:
                    break
            body = s.skel[m.end():i]
            for r in re.finditer(r"\breturn\b([^;]*);", body):
                take(s, r.group(1), f"returned by {m.group(1)}", m.start())
    return found, problems, takers


def doc_entries():
    """reason -> the entries (heading, or table row) that name it, each with
    its text."""
    lines = DOC_PATH.read_text().splitlines()
    entries = {}
    in_code = False
    for n, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        if line.startswith("#"):
            body = []
            for nxt in lines[n + 1:]:
                if nxt.startswith("#"):
                    break
                body.append(nxt)
            names = re.findall(r"`([^`]+)`", line)
            text = "\n".join(body).strip()
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            names = re.findall(r"`([^`]+)`", cells[0])
            text = " ".join(cells[1:]).strip(" -")
        else:
            continue
        for name in names:
            if REASON.fullmatch(name):
                entries.setdefault(name, []).append((n + 1, text))
    return entries


def test_extraction_finds_reasons():
    found, problems, takers = extract()
    assert not problems, "\n".join(problems)
    for name in ("wl_pod_writer_eventf", "ctr_set_waiting", "owner_event",
                 "run_event", "cond_set"):
        assert name in takers, f"{name} no longer found as a reason taker"
    assert MUST_FIND <= found, f"extraction missed {MUST_FIND - found}"


def test_every_reason_has_one_entry():
    found, _, _ = extract()
    entries = doc_entries()
    missing = sorted(found - set(entries))
    assert not missing, (f"reasons set in src/ with no entry in "
                         f"{DOC_PATH.relative_to(ROOT)}: {missing}")
    twice = {r: [ln for ln, _ in e] for r, e in entries.items()
             if len(e) > 1}
    assert not twice, f"reasons with more than one entry (lines): {twice}"
    empty = sorted(r for r, e in entries.items() if not e[0][1])
    assert not empty, f"entries that say nothing: {empty}"


def test_doc_names_no_reason_the_code_does_not_set():
    found, _, _ = extract()
    extra = sorted(set(doc_entries()) - found)
    assert not extra, (f"{DOC_PATH.relative_to(ROOT)} has entries for "
                       f"reasons src/ never sets: {extra}")
