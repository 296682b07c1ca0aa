"""The import rules of docs/ARCHITECTURE.md, read from the source with `ast`: no cycles, tools
import the server only through its façade, function-level imports only where listed, and the
"where things live" table names every module."""

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"server": "mosaic_mcp.server", "tools": "mosaic_mcp.tools"}
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

FACADE: dict[str, str] = {
    "mosaic_mcp.server.runtime": "the lifespan's Runtime, the tools' one handle on the server",
    "mosaic_mcp.server.config": "Settings and the toolset names",
    "mosaic_mcp.server.consent": "asking the user before spending, publishing or deleting",
    "mosaic_mcp.server.redact": "keys scrubbed from every error text",
    "mosaic_mcp.server.arguments": "unknown-argument messages worded like the server's",
    "mosaic_mcp.server.api.errors": "the errors a tool translates",
    "mosaic_mcp.server.api.models": "typed API answers a tool returns",
    "mosaic_mcp.server.api.requests": "typed API requests a tool builds",
    "mosaic_mcp.server.api.validation": "input rules checked before any HTTP call",
    "mosaic_mcp.server.api.rules": "the one declaration of each enum and limit, used as argument types",
    "mosaic_mcp.server.api.deadline": "one deadline per tool call",
    "mosaic_mcp.server.jobs.snapshot": "the job snapshot a tool returns",
    "mosaic_mcp.server.jobs.intents": "unresolved starts a tool lists",
    "mosaic_mcp.server.jobs.journal": "JobRecord, the journaled job a tool reads",
    "mosaic_mcp.server.jobs.service": "JobError, the job-level errors a tool translates",
    "mosaic_mcp.server.agent_view": "agent and node views (use case: read an agent)",
    "mosaic_mcp.server.tiles": "tile documentation (use case: describe a tile)",
    "mosaic_mcp.server.preflight": "run pre-flight checks (use case: start a run)",
    "mosaic_mcp.server.credits": "credit reports and warnings (use case: check credits)",
    "mosaic_mcp.server.local_files": "the client's roots and allowed folders (use case: local files)",
    "mosaic_mcp.server.transfer": "uploads, downloads, thumbnails: the package's exports only",
    "mosaic_mcp.server.webhooks": "with_callback: a run request pointed at this server's webhook",
}
"""The server modules that tools/ may import, each with what tools take from it."""
FACADE_PACKAGES = ("mosaic_mcp.server.usecases",)
"""Packages whose every module is façade: the use-case functions below the tools."""

LAZY_IMPORTS: dict[tuple[str, str], str] = {
    ("mosaic_mcp.server.cli", "mosaic_mcp.server.demo"): "lazy dispatch to the demo command",
    ("mosaic_mcp.server.cli", "mosaic_mcp.server.doctor"): "lazy dispatch to the doctor command",
    ("mosaic_mcp.server.cli", "mosaic_mcp.server.sandbox"): "lazy dispatch to the sandbox command",
    ("mosaic_mcp.server.cli", "mosaic_mcp.server.app"): "lazy dispatch: only serve builds the MCP server",
    ("mosaic_mcp.server.cli", "mosaic_mcp.server.stdio"): "lazy dispatch to the stdio transport",
    ("mosaic_mcp.server.cli", "mosaic_mcp.server.serve_http"): "lazy dispatch to the HTTP transport",
    ("mosaic_mcp.server.app", "mosaic_mcp.server.sandbox"): "the sandbox is heavy and only for --sandbox",
    **{
        ("mosaic_mcp.tools", f"mosaic_mcp.tools.{module}"): "a toolset's module loads only when it is enabled"
        for module in ("agent_admin", "runs", "assets", "avatars", "triggers", "social", "account_admin")
    },
}
"""The only function-level imports of the project's own modules, each with its reason."""


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module of ours."""

    source: str
    target: str
    line: int
    top_level: bool


def module_name(path: Path) -> str:
    """`server/jobs/poller.py` → `mosaic_mcp.server.jobs.poller`; a package is its `__init__`."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    """Every module of server/ and tools/, by its dotted name."""
    return {module_name(p): p for top in PACKAGES for p in sorted((ROOT / top).rglob("*.py"))}


def imports_of(name: str, path: Path, modules: set[str]) -> Iterator[Import]:
    """The imports of one module that reach our modules (`from x import y` reaches x.y when it is a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    top_level |= {id(n) for node in tree.body if isinstance(node, ast.If) for n in node.body}  # if TYPE_CHECKING:
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                child = f"{origin}.{alias.name}"
                targets.append(child if child in modules else origin)
        else:
            continue
        for target in dict.fromkeys(targets):
            if target.startswith("mosaic_mcp.") and target != name:
                yield Import(name, target, node.lineno, id(node) in top_level)


def import_graph() -> dict[str, list[Import]]:
    """Each module's imports of our modules."""
    files = source_files()
    return {name: list(imports_of(name, path, set(files))) for name, path in files.items()}


def cycles(graph: dict[str, list[Import]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter([i.target for i in graph[root] if i.target in graph]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter([i.target for i in graph[child] if i.target in graph])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def is_facade(target: str) -> bool:
    """Whether tools/ may import this module."""
    return target in FACADE or target.startswith(tuple(p + "." for p in FACADE_PACKAGES)) or target in FACADE_PACKAGES


@pytest.fixture(scope="module")
def graph() -> dict[str, list[Import]]:
    """The import graph of server/ and tools/."""
    return import_graph()


def test_no_import_cycles(graph: dict[str, list[Import]]) -> None:
    """No module of server/ or tools/ imports itself back, directly or through others (TYPE_CHECKING too)."""
    assert cycles(graph) == [], "import cycles (each group imports itself back): see docs/ARCHITECTURE.md"


def test_tools_import_the_server_only_through_its_facade(graph: dict[str, list[Import]]) -> None:
    """tools/ imports from server/ only the modules listed as its façade."""
    outside = [
        f"{i.source}:{i.line} imports {i.target}"
        for name, found in graph.items()
        if name.startswith("mosaic_mcp.tools")
        for i in found
        if i.target.startswith("mosaic_mcp.server") and not is_facade(i.target)
    ]
    assert outside == [], "tools/ reaches past the façade (route it through a façade module or list it in FACADE)"


def test_facade_lists_only_modules_that_exist(graph: dict[str, list[Import]]) -> None:
    """Every façade module exists, so the list cannot go stale."""
    assert sorted(set(FACADE) - set(graph)) == []


def test_function_level_imports_are_only_the_listed_ones(graph: dict[str, list[Import]]) -> None:
    """Our modules are imported at the top of a module, except the listed lazy imports, each commented."""
    found = {(i.source, i.target): i for imports in graph.values() for i in imports if not i.top_level}
    unlisted = sorted(f"{i.source}:{i.line} imports {i.target}" for key, i in found.items() if key not in LAZY_IMPORTS)
    assert unlisted == [], "function-level imports of our modules; move them to the top or list them with a reason"
    files = source_files()
    silent = [
        f"{i.source}:{i.line}"
        for i in found.values()
        if "#" not in files[i.source].read_text().splitlines()[i.line - 1]  # the reason, on the import's line
    ]
    assert silent == [], "say on the import's line why it is lazy"
    assert sorted(set(LAZY_IMPORTS) - set(found)) == [], "LAZY_IMPORTS lists imports that are gone"


def doc_table(heading: str) -> list[list[str]]:
    """The body rows of the first table under `## heading` in docs/ARCHITECTURE.md, cells stripped."""
    section = ARCHITECTURE.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def layer_ranks() -> dict[str, int]:
    """Layer name → its rank from the bottom (the sandbox, outside the order, is -1)."""
    return {name: int(rank) if rank.isdigit() else -1 for rank, name, *_ in doc_table("Layers")}


def listed_modules() -> dict[str, str]:
    """Where-things-live entries: a module path (or a folder ending in /) → its layer."""
    entries: dict[str, str] = {}
    for layer, _, module in doc_table("Where things live"):
        (path,) = re.findall(r"`([^`]+)`", module)
        assert path not in entries, f"docs/ARCHITECTURE.md lists {path} twice"
        entries[path] = layer
    return entries


def layer_of(name: str, files: dict[str, Path], entries: dict[str, str]) -> str | None:
    """The layer the table gives a module, directly or through its folder."""
    path = files[name].relative_to(ROOT).as_posix()
    if path in entries:
        return entries[path]
    return next((layer for entry, layer in entries.items() if entry.endswith("/") and path.startswith(entry)), None)


def test_every_module_is_in_the_table() -> None:
    """Each module of server/ and tools/ has a row (or its folder has one) in "Where things live"."""
    files = source_files()
    entries = listed_modules()
    missing = sorted(files[n].relative_to(ROOT).as_posix() for n in files if layer_of(n, files, entries) is None)
    assert missing == [], f"add these modules to the 'Where things live' table of docs/ARCHITECTURE.md: {missing}"


def test_every_table_entry_exists() -> None:
    """Each module or folder the table names exists, and each layer it names is one of the layers."""
    entries = listed_modules()
    gone = sorted(path for path in entries if not (ROOT / path).exists())
    assert gone == [], f"docs/ARCHITECTURE.md lists modules that do not exist: {gone}"
    unknown = sorted({layer for layer in entries.values()} - set(layer_ranks()))
    assert unknown == [], f"docs/ARCHITECTURE.md's table names layers that are not in its Layers table: {unknown}"


def test_no_module_imports_a_higher_layer(graph: dict[str, list[Import]]) -> None:
    """Imports go down the layers of docs/ARCHITECTURE.md; the sandbox is imported only by assembly and cli."""
    files = source_files()
    entries = listed_modules()
    ranks = layer_ranks()
    wrong = []
    for name, found in graph.items():
        source = layer_of(name, files, entries)
        for i in found:
            target = layer_of(i.target, files, entries) if i.target in files else None
            if source is None or target is None or source == target:
                continue
            if target == "sandbox":
                ok = ranks[source] >= ranks["assembly"]
            elif source == "sandbox":
                ok = False
            else:
                ok = ranks[target] <= ranks[source]
            if not ok:
                wrong.append(f"{name}:{i.line} ({source}) imports {i.target} ({target})")
    assert wrong == [], "imports that go up the layers of docs/ARCHITECTURE.md"


def test_modules_that_define_pydantic_models_evaluate_their_annotations_eagerly() -> None:
    """No module on the stdio path that defines pydantic models postpones its annotations (start-up cost).

    With `from __future__ import annotations` pydantic evaluates every field's annotation from its string
    when the class is created: ~40 % more per model, ~25 ms of a start over the ~140 models it creates.
    """
    postponed = []
    for name, path in source_files().items():
        if ".sandbox" in name:  # the emulator is not on the stdio path
            continue
        module = importlib.import_module(name)
        models = [v for v in vars(module).values() if _defined_model(v, name)]
        tree = ast.parse(path.read_text(), filename=str(path))
        future = any(
            isinstance(node, ast.ImportFrom) and node.module == "__future__" and node.names[0].name == "annotations"
            for node in tree.body
        )
        if models and future:
            postponed.append(name)
    assert postponed == [], "drop `from __future__ import annotations` here (quote forward references instead)"


def _defined_model(value: object, module: str) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module
