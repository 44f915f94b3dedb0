#!/usr/bin/env python3
"""Writes docs/BAD_INPUT.md: every bad input a test feeds to embcl's API
(TEST_FAILS in tests/*/test_*.c) or to the `embcl` tool (expect_failure /
cli_run exit codes in tests/cli), with the status and the words its message
must contain, and the test that checks it. Rows come from the tests, so
every row has its test by construction; a rejection without a test has no
row, which is what the table is for: to find those.

  scripts/bad_input_table.py          rewrite docs/BAD_INPUT.md
  scripts/bad_input_table.py --check  exit 1 if the file is out of date
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "BAD_INPUT.md")

HEADER = """# Bad input: what embcl rejects, and how

Every row is a bad input that a test hands to embcl, the status it returns
(or the tool's exit code) and words its message must contain; the last
column names the test (`<label>/<file>: <suite>::<test>`, run with
`ctest --test-dir build -L <label>`). Messages start with the public function
that failed and name the argument and the offending value (for an index its
position and value). A call that fails this way changes nothing: tensors,
parameters and optimizer state are as before (validation runs before the
first write).

This file is generated from the tests by `scripts/bad_input_table.py`
(`--check` tells whether it is current); the hand-written part at the end
covers failures that are not bad arguments: a failing device, a killed
process, a full disk.

"""

FOOTER = """
## Failures of the device, the process and the disk

| Situation | Result | Test |
|---|---|---|
| Any OpenCL call while creating a runtime fails | that CL status, message names `embcl_runtime_create` and the CL call; no runtime, nothing leaked | reliability/test_fault_foundation.c: fault::runtime_creation_fails_cleanly_at_every_call |
| Any OpenCL call of a graph training step fails (`CL_OUT_OF_RESOURCES`, `CL_MEM_OBJECT_ALLOCATION_FAILURE`, `CL_DEVICE_NOT_AVAILABLE`) | that CL status, message names `embcl_graph_step` and the call; parameters and optimizer state byte for byte as before; the next step equals an undisturbed one | reliability/test_fault_graph_step.c: fault_step::adagrad_sparse_table_and_dense_linear, fault_step::adam_all_dense |
| A kernel build fails during a step (`CL_BUILD_PROGRAM_FAILURE`) | error naming `embcl_graph_step` and `clBuildProgram`; nothing written; the retry builds and matches | reliability/test_fault_graph_step.c: fault_step::cold_step_with_each_build_failing |
| The compiler breaks at any kernel build of a trainer's first step (`CL_BUILD_PROGRAM_FAILURE`, the fallback from a cached binary to the source failing too) | error naming `embcl_trainer_step` and `clBuildProgram`; the checkpoint unchanged; the retry equals an undisturbed first step | reliability/test_fault_trainer_step.c: fault_trainer::first_step_with_each_build_failing |
| Any OpenCL call of `embcl_trainer_step` fails | that CL status naming `embcl_trainer_step`; a checkpoint saved afterwards is byte for byte the one before the step | reliability/test_fault_trainer_step.c: fault_trainer::every_call_of_a_step_fails_cleanly |
| The process is killed (SIGKILL) while `embcl_trainer_save` writes | the checkpoint path holds the previous complete checkpoint, which `embcl_trainer_load` reads; stray `*.tmp.*` files do not stop the next save | reliability/test_checkpoint_kill.c: checkpoint_kill::trainer_save_killed_at_random_points |
| The process is killed while `embcl_safetensors_save` writes | the path holds the previous complete file; the next successful save of the path removes the `<path>.tmp.<pid>.*` files of writers that are gone (unwritten for 60 s) | reliability/test_checkpoint_kill.c: checkpoint_kill::safetensors_save_killed_at_random_points; io/test_stale_temps.c |
| Any OpenCL call of `embcl_trainer_load` fails | that CL status naming `embcl_trainer_load`; the trainer as before the call (checkpoint bytes); the next load exact | reliability/test_fault_trainer_step.c: fault_trainer::every_call_of_a_load_fails_cleanly |
| The disk is full (file size limit) during `embcl_trainer_save` | `EMBCL_ERR_IO`, "embcl_trainer_save: writing '<path>': File too large"; no temporary file left; the previous checkpoint unchanged and loadable | reliability/test_checkpoint_kill.c: checkpoint_kill::full_disk_keeps_the_previous_checkpoint |
| The disk is full (a filled tmpfs; needs root, else skipped) during `embcl_trainer_save` | `EMBCL_ERR_IO`, "... No space left on device" naming the file; previous checkpoint unchanged and loadable; the next save with room works | reliability/test_checkpoint_kill.c: checkpoint_kill::full_tmpfs_keeps_the_previous_checkpoint |
| A graph step fails inside a transaction the caller opened on its optimizer | the step undoes only itself; the caller's rollback undoes the earlier steps | reliability/test_fault_graph_step.c: fault_step::graph_steps_nest_in_the_callers_transaction |
| A step inside an optimizer transaction fails in any OpenCL call (every optimizer; dense, row-sparse and fused gradients) | that CL status; the optimizer as before the step | reliability/test_optim_transaction.c: optim_tx::a_failing_call_inside_a_transaction_undoes_its_step |
| Random indices, offsets, modes and dtypes to EmbeddingBag forward and backward | a validation status whose message names the function and an argument, or a result equal to the host's | reliability/test_fuzz_offsets_replay.c (and `scripts/fuzz.sh 600 offsets`) |
| Malformed text, corpus, labels, GloVe/word2vec, safetensors, JSON, device selectors | `EMBCL_ERR_FORMAT` (file and line) or `EMBCL_ERR_NO_DEVICE`, never a crash | io/test_fuzz_replay.c (and `scripts/fuzz.sh`) |
"""


def c_strings(text):
    return [bytes(m, "utf-8").decode("unicode_escape") for m in re.findall(r'"((?:[^"\\]|\\.)*)"', text)]


def split_args(s):
    """Top-level comma split of a macro's argument text."""
    out, depth, cur, q = [], 0, "", False
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur += c
            if c == "\\":
                cur += s[i + 1]
                i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q = True
            cur += c
        elif c in "([{":
            depth += 1
            cur += c
        elif c in ")]}":
            depth -= 1
            cur += c
        elif c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def macro_calls(src, name):
    """(offset, argument text) of each name(...) in src."""
    for m in re.finditer(r"\b%s\s*\(" % name, src):
        i, depth, q = m.end(), 1, False
        while i < len(src) and depth:
            c = src[i]
            if q:
                if c == "\\":
                    i += 1
                elif c == '"':
                    q = False
            elif c == '"':
                q = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        yield m.start(), src[m.end():i - 1]


def test_at(src, off):
    last = None
    for m in re.finditer(r"^(?:Test|ParameterizedTest)\(\s*(?:[^,]+,\s*)?(\w+)\s*,\s*(\w+)", src, re.M):
        if m.start() > off:
            break
        last = "%s::%s" % (m.group(1), m.group(2))
    return last or "?"


def md(s):
    return s.replace("|", "\\|").replace("\n", " ")


def api_rows():
    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "*", "test_*.c"))):
        rel = os.path.relpath(path, os.path.join(ROOT, "tests"))
        src = open(path, encoding="utf-8").read()
        for off, args in macro_calls(src, "TEST_FAILS"):
            a = split_args(args)
            if len(a) < 2 or a[0] == "want":
                continue
            call = a[1]
            fn = re.match(r"\s*(embcl_\w+)", call)
            fn = fn.group(1) if fn else call.split("(")[0]
            words = [w for x in a[2:] for w in c_strings(x)]
            rows.append((fn, a[0], words, rel, test_at(src, off), call))
    return rows


def expand(text, src):
    """A C string expression with EMBCL_TOOL_PATH and the file's own string
    macros written out."""
    out = ""
    for tok in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\w+)', text):
        if tok.group(1) is not None:
            out += bytes(tok.group(1), "utf-8").decode("unicode_escape")
        elif tok.group(2) == "EMBCL_TOOL_PATH":
            out += "embcl"
        else:
            d = re.search(r"#define\s+%s\s+(.*)" % tok.group(2), src)
            out += expand(d.group(1), src) if d else tok.group(2)
    return out


def cli_rows():
    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "cli", "test_*.c"))):
        rel = os.path.relpath(path, os.path.join(ROOT, "tests"))
        src = open(path, encoding="utf-8").read()
        for off, args in macro_calls(src, "expect_failure"):
            a = split_args(args)
            if len(a) < 3 or a[0] == "const char *cmd":
                continue
            text = a[0]
            if '"' not in text:  # the command was formatted just above
                fmts = [m for m in re.finditer(r"snprintf\(\s*%s\s*,\s*sizeof\s+%s\s*,(.*?)\);" % (text, text),
                                               src[:off], re.S)]
                text = split_args(fmts[-1].group(1))[0] if fmts else text
            cmd = expand(text, src)
            cmd = re.sub(r"\s+", " ", cmd.replace("%s", "DIR")).strip()
            rows.append((cmd, a[1], c_strings(a[2]), rel, test_at(src, off)))
        # cr_assert_eq(cli_run(CMD, &out), RC) with RC != 0, then strstr checks
        for m in re.finditer(r"cr_assert_eq\(cli_run\((.*?), &out\), ([1-9])\);(.*?)free\(out\);", src, re.S):
            words = [w for x in re.findall(r"strstr\(out, (\"(?:[^\"\\]|\\.)*\")\)", m.group(3)) for w in c_strings(x)]
            rows.append((expand(m.group(1), src).strip(), m.group(2), words, rel, test_at(src, m.start())))
        for m in re.finditer(r"int rc = cli_run\(([^;]*?), &out\);\s*cr_assert_neq\(rc, 0\);(.*?)free\(out\);", src, re.S):
            words = [w for x in re.findall(r"strstr\(out, (\"(?:[^\"\\]|\\.)*\")\)", m.group(2)) for w in c_strings(x)]
            rows.append((expand(m.group(1), src).strip(), "non-zero", words, rel, test_at(src, m.start())))
    return rows


def render():
    out = [HEADER, "## The API\n"]
    by_fn = {}
    for r in api_rows():
        by_fn.setdefault(r[0], []).append(r)
    for fn in sorted(by_fn):
        out.append("\n### `%s`\n\n| Call | Status | Message contains | Test |\n|---|---|---|---|\n" % fn)
        for _, status, words, rel, test, call in by_fn[fn]:
            out.append("| `%s` | %s | %s | %s: %s |\n" % (md(re.sub(r"\s+", " ", call)), status,
                                                        ", ".join("\"%s\"" % md(w) for w in words) or "-", rel, test))
    out.append("\n## The `embcl` tool\n\nExit 2: a usage error (unknown option, a value that does not parse); "
               "exit 1: the run failed (bad file contents, a missing file, an impossible setting).\n\n"
               "| Command | Exit | Output contains | Test |\n|---|---|---|---|\n")
    for cmd, rc, words, rel, test in cli_rows():
        out.append("| `%s` | %s | %s | %s: %s |\n" % (md(cmd), rc, ", ".join("\"%s\"" % md(w) for w in words),
                                                   rel, test))
    out.append(FOOTER)
    return "".join(out)


def main():
    text = render()
    if "--check" in sys.argv:
        cur = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
        if cur != text:
            print("docs/BAD_INPUT.md is out of date: run scripts/bad_input_table.py")
            return 1
        return 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    open(OUT, "w", encoding="utf-8").write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
