"""Mutation check: change one thing in a module, run the tests that guard it, see whether they notice.

`mutmut` cannot run here (it matches mutants by `__module__`, and `server/` is installed as
`mosaic_mcp.server`), so this is a small stand-in with no dependencies beyond the project's venv.

For each target module and the test files that guard it:

1. the guarding tests run once unchanged (they must pass; their time sets the per-mutant timeout);
2. every mutation site is found with `ast` (docstrings, annotations and logging calls are skipped):
   comparison swaps (`<`/`<=`, `>`/`>=`, `==`/`!=`, `is`/`is not`, `in`/`not in`), `and`/`or`,
   `not x` -> `x`, a number n -> 0 and n -> n + 1, `True`/`False`, `return <expr>` -> `return None`,
   `raise ...` -> `pass`;
3. up to `--max-per-module` of them are sampled with `--seed` (deterministic), and each one is written
   over the module in place (the strict editable install links the file, so the tests see it), the tests
   run with `-x`, and the original bytes are written back in a `finally` (also on Ctrl-C / SIGTERM) and
   their SHA-256 checked. A failing run is "killed", a run past the timeout "timeout" (counted as killed),
   a passing run "survived".

Prints one Markdown table (mutants, killed, survived, timeout, score) and the surviving mutants per module.
Run by hand, never in CI; pytest does not collect bench/. From the repository root:

    .venv/bin/python bench/mutate.py                       # the default targets, ~15 min on 2 cores
    .venv/bin/python bench/mutate.py --max-per-module 10 server/jobs/policy.py=tests/jobs/test_policy.py

If the process is killed hard (SIGKILL) mid-run, the module may be left mutated: `git diff server/`
shows it and `git checkout -- <file>` undoes it. The runner refuses to start on a target with
uncommitted changes for that reason (`--allow-dirty` to override).
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, table

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TARGETS: dict[str, list[str]] = {
    "server/jobs/policy.py": ["tests/jobs/test_policy.py"],
    "server/local_files.py": [
        "tests/files/test_files.py",
        "tests/files/test_path_safety.py",
        "tests/files/test_open_safely.py",
        "tests/files/test_local_files_rules.py",
    ],
    "server/consent.py": ["tests/toolsets/test_consent.py"],
    "server/api/validation.py": [
        "tests/api/test_validation.py",
        "tests/test_rule_agreement.py",
        "tests/api/test_validation_refusals.py",
    ],
}

COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
LOGGER_NAMES = {"log", "logger", "logging", "_log", "_logger"}


@dataclass(frozen=True)
class Mutation:
    """One change: the `index`-th node of `ast.walk` order gets `variant`."""

    index: int
    variant: str
    line: int
    before: str
    after: str
    context: str = ""


@dataclass
class Outcome:
    """What happened to one module's sample."""

    module: str
    sites: int
    killed: int = 0
    survived: list[Mutation] = field(default_factory=list)
    timeouts: int = 0
    not_run: int = 0
    baseline_s: float = 0.0
    error: str = ""
    interrupted: bool = False

    @property
    def run(self) -> int:
        return self.killed + len(self.survived) + self.timeouts


# --- finding and applying mutations -------------------------------------------------------------


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes that are never mutated: docstrings, annotations, logging calls, `__all__`."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            mark(body[0])
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.arg):
            mark(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:  # @dataclass(frozen=True) and the like
                mark(decorator)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
        if isinstance(node, ast.Call):
            func = node.func
            owner = func.value if isinstance(func, ast.Attribute) else None
            if isinstance(owner, ast.Name) and owner.id in LOGGER_NAMES:
                mark(node)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            mark(node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            mark(node)
    return skip


def _variants(node: ast.AST) -> Iterator[str]:
    """The mutation variants that apply to one node (names understood by `_apply`)."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                yield f"cmp{i}"
    elif isinstance(node, ast.BoolOp):
        yield "boolop"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop-not"
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield "flip-bool"
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        if node.value != 0:
            yield "zero"
        yield "plus-one"
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return-none"
    elif isinstance(node, ast.Raise):
        yield "raise-pass"


def find_mutations(source: str) -> list[Mutation]:
    """Every mutation site of a module, in `ast.walk` order."""
    tree = ast.parse(source)
    skip = _skipped_nodes(tree)
    lines = source.splitlines()
    found: list[Mutation] = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        for variant in _variants(node):
            before, after = _describe(node, variant)
            line = getattr(node, "lineno", 0)
            context = _clip(lines[line - 1].strip()) if 0 < line <= len(lines) else ""
            found.append(Mutation(index, variant, line, before, after, context))
    return found


def _mutated(node: ast.AST, variant: str) -> ast.AST:
    """A mutated copy of `node`."""
    new = copy.deepcopy(node)
    if variant.startswith("cmp") and isinstance(new, ast.Compare):
        i = int(variant[3:])
        new.ops[i] = COMPARE_SWAPS[type(new.ops[i])]()
    elif variant == "boolop" and isinstance(new, ast.BoolOp):
        new.op = ast.Or() if isinstance(new.op, ast.And) else ast.And()
    elif variant == "drop-not" and isinstance(new, ast.UnaryOp):
        return new.operand
    elif variant == "flip-bool" and isinstance(new, ast.Constant):
        new.value = not new.value
    elif variant == "zero" and isinstance(new, ast.Constant):
        new.value = 0
    elif variant == "plus-one" and isinstance(new, ast.Constant) and isinstance(new.value, int | float):
        new.value = new.value + 1
    elif variant == "return-none" and isinstance(new, ast.Return):
        new.value = None
    elif variant == "raise-pass" and isinstance(new, ast.Raise):
        return ast.copy_location(ast.Pass(), new)
    else:
        raise ValueError(f"cannot apply {variant} to {type(node).__name__}")
    return new


def _short(node: ast.AST) -> str:
    if isinstance(node, ast.Return) and node.value is None:
        return "return None"
    return _clip(" ".join(ast.unparse(node).split()))


def _clip(text: str) -> str:
    return text if len(text) <= 70 else text[:67] + "..."


def _describe(node: ast.AST, variant: str) -> tuple[str, str]:
    return _short(node), _short(_mutated(node, variant))


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, variant: str) -> None:
        self.target, self.variant = target, variant

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return _mutated(node, self.variant)
        result: ast.AST = super().visit(node)
        return result


def apply(source: str, mutation: Mutation | None) -> str:
    """The module's source with one mutation (or none), re-written by `ast.unparse` (comments go)."""
    tree = ast.parse(source)
    if mutation is None:
        return ast.unparse(tree) + "\n"
    target = next(n for i, n in enumerate(ast.walk(tree)) if i == mutation.index)
    mutated = ast.fix_missing_locations(_Replace(target, mutation.variant).visit(tree))
    return ast.unparse(mutated) + "\n"


# --- running -------------------------------------------------------------------------------------


def run_tests(tests: list[str], timeout: float) -> str:
    """'passed', 'failed' or 'timeout' for one pytest run of `tests`."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    ) as process:
        try:
            return "passed" if process.wait(timeout=timeout) == 0 else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return "timeout"
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_module(
    module: str, tests: list[str], *, limit: int, seed: int, timeout: float, deadline: float, number: int
) -> Outcome:
    """Mutate one module `limit` times (sampled) and run its tests against each mutant."""
    path = ROOT / module
    original = path.read_bytes()
    digest = _sha(original)
    stat = path.stat()
    source = original.decode()
    sites = find_mutations(source)
    outcome = Outcome(module, len(sites))
    sample = sorted(random.Random(f"{seed}:{module}").sample(sites, min(limit, len(sites))), key=lambda m: m.line)

    def run_with(text: str, slot: int, limit_s: float) -> str:
        """Write `text` over the module, run the tests, and always put the original bytes back."""
        try:
            path.write_bytes(text.encode())  # in place: the editable install's symlink points here
            # A distinct mtime per variant so no stale bytecode of another variant is ever reused.
            fake = stat.st_mtime_ns - (number * 10_000 + slot + 1) * 1_000_000_000
            os.utime(path, ns=(fake, fake))
            return run_tests(tests, timeout=limit_s)
        finally:
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            if _sha(path.read_bytes()) != digest:
                raise SystemExit(f"{module} was not restored; run: git checkout -- {module}")

    # The baseline runs on the unchanged tree as `ast.unparse` writes it (every mutant is written that
    # way, so the rewrite itself must not fail a test), which also tries the restore path once.
    started = time.monotonic()
    if run_with(apply(source, None), 0, max(timeout, 600)) != "passed":
        outcome.error = "the guarding tests fail on the unchanged (re-written) module"
        return outcome
    outcome.baseline_s = time.monotonic() - started
    per_mutant = max(timeout, 3 * outcome.baseline_s)

    for i, mutation in enumerate(sample):
        if time.monotonic() > deadline:
            outcome.not_run = len(sample) - i
            break
        try:
            result = run_with(apply(source, mutation), i + 1, per_mutant)
        except KeyboardInterrupt:
            outcome.interrupted, outcome.not_run = True, len(sample) - i
            break
        if result == "passed":
            outcome.survived.append(mutation)
        elif result == "timeout":
            outcome.timeouts += 1
        else:
            outcome.killed += 1
        print(f"  [{i + 1}/{len(sample)}] {module}:{mutation.line} {mutation.variant}: {result}", file=sys.stderr)
    return outcome


def _dirty(module: str) -> bool:
    result = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", module], cwd=ROOT, check=False)
    return result.returncode != 0


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def report(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    """The Markdown report: one summary table, then the survivors of each module."""
    rows = []
    for o in outcomes:
        caught = o.killed + o.timeouts
        score = f"{100 * caught / o.run:.0f} %" if o.run else "-"
        rows.append([f"`{o.module}`", o.sites, o.run, o.killed, len(o.survived), o.timeouts, score, o.error])
    lines = [
        machine_line(),
        "",
        f"seed {args.seed}, at most {args.max_per_module} mutants per module, timeout >= {args.timeout:.0f} s",
        "",
        table(["module", "sites", "mutants", "killed", "survived", "timeout", "score", "note"], rows),
    ]
    for o in outcomes:
        if o.not_run:
            why = "interrupted" if o.interrupted else "time limit"
            lines += ["", f"`{o.module}`: {o.not_run} sampled mutants not run ({why})."]
        if o.survived:
            lines += ["", f"Surviving in `{o.module}`:", ""]
            lines += [f"- line {m.line}: `{m.before}` -> `{m.after}` in `{m.context}`" for m in o.survived]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "targets", nargs="*", help="module=test[,test...] (default: the four modules in DEFAULT_TARGETS)"
    )
    parser.add_argument("--max-per-module", type=int, default=60, help="sampled mutants per module (default 60)")
    parser.add_argument("--seed", type=int, default=8, help="sampling seed (default 8)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per mutant, at least 3x the baseline (60 s)")
    parser.add_argument("--time-limit", type=float, default=900.0, help="whole run, in seconds (default 900)")
    parser.add_argument("--allow-dirty", action="store_true", help="run on targets with uncommitted changes")
    parser.add_argument("--list", action="store_true", help="only list the mutation sites")
    args = parser.parse_args()

    targets = DEFAULT_TARGETS
    if args.targets:
        targets = {}
        for spec in args.targets:
            module, _, tests = spec.partition("=")
            if not tests:
                parser.error(f"target {spec!r}: expected module=test[,test...]")
            targets[module] = tests.split(",")

    if args.list:
        for module in targets:
            for m in find_mutations((ROOT / module).read_text()):
                print(f"{module}:{m.line} {m.variant}: `{m.before}` -> `{m.after}`")
        return 0

    dirty = [m for m in targets if _dirty(m)]
    if dirty and not args.allow_dirty:
        parser.error(f"uncommitted changes in {', '.join(dirty)} (commit them, or pass --allow-dirty)")

    signal.signal(signal.SIGTERM, _sigterm)
    deadline = time.monotonic() + args.time_limit
    outcomes: list[Outcome] = []
    try:
        for number, (module, tests) in enumerate(targets.items()):
            print(f"{module}: {', '.join(tests)}", file=sys.stderr)
            outcome = run_module(
                module,
                tests,
                limit=args.max_per_module,
                seed=args.seed,
                timeout=args.timeout,
                deadline=deadline,
                number=number,
            )
            outcomes.append(outcome)
            if outcome.interrupted:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        print("interrupted; every module is restored", file=sys.stderr)
    print(report(outcomes, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
