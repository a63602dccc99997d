"""Dependencies flow one way: faces (web, api, cli) -> worker (delivery) -> domain
(residents -> warnings -> staff -> regions; demo at the side) -> adapters (store, render,
channels, inbound, security) -> kernel. Read from every module's imports, so a new module
that breaks the direction fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

ALERTS = Path(__file__).resolve().parent.parent / "alerts"
FLASK = ("flask", "flask_babel", "flask_login", "flask_wtf", "wtforms", "werkzeug")
FACES = {"web", "api", "cli"}
# Each may import those before it.
DOMAIN = ["regions", "staff", "warnings", "residents", "reports", "reach"]
ADAPTERS = {"store", "render", "channels", "inbound", "security"}
KERNEL = {"clock", "errors", "text", "audit", "models", "config", "db", "i18n", "migrations"}
# Known upward edges, each with its reason; the test fails if one disappears (drop it then).
ALLOWED = {
    # A resident's copy carries their own stop link, built from the subscription's HMAC
    # token: the one place render settings are made needs it (issue 12).
    ("warnings.publication", "residents.links"),
}


def _module(path: Path) -> str:
    parts = path.relative_to(ALERTS).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Return the modules a file imports: ``alerts.x.y`` as ``x.y``, others by top name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "alerts" or node.module.startswith("alerts."):
                package = node.module.removeprefix("alerts").removeprefix(".")
                found.update(_target(package, a.name) for a in node.names)
            else:
                found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("alerts.") for a in node.names)
    return found


def _target(package: str, name: str) -> str:
    """Return ``package.name`` when it is a module (``from alerts.x import y``), else the
    package the name is taken from."""
    folder = ALERTS.joinpath(*package.split(".")) if package else ALERTS
    is_module = (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()
    return ".".join(p for p in (package, name if is_module else "") if p)


def _edges() -> list[tuple[str, str]]:
    edges = []
    for path in sorted(ALERTS.rglob("*.py")):
        module = _module(path)
        edges.extend((module, imported) for imported in sorted(_imports(path)))
    return edges


def _group(module: str) -> str:
    return module.split(".")[0]


def _allowed(source: str, target: str) -> bool:
    """Return whether a module of group ``source`` may import one of group ``target``."""
    if source == target or source in ("", "seed"):  # the app factory and the seed wire all
        return True
    if target in FACES:
        return False
    if source in FACES:
        return not (source == "api" and target == "web")
    if source == "delivery":
        return target != "demo"
    if source == "demo":  # at the side of the domain: seeds accounts, users and warnings
        return True
    if source in DOMAIN:
        below = DOMAIN[: DOMAIN.index(source)]
        return target in below or target in ADAPTERS | KERNEL
    if source == "store":
        return target in KERNEL or target in ("warnings",)  # the record types only
    if source in ("render", "channels"):
        return target in KERNEL - {"db", "migrations"} or target in ("render", "warnings")
    if source == "inbound":  # the receivers take the senders' Account and channel list
        return target in KERNEL - {"db", "migrations"} or target == "channels"
    if source == "security":
        return target in KERNEL
    return target in KERNEL  # the kernel imports nothing above it


def _violations() -> list[str]:
    groups = FACES | ADAPTERS | KERNEL | set(DOMAIN) | {"delivery", "demo", "seed"}
    found = []
    for source, target in _edges():
        key = (source, target)
        if _group(target) not in groups or key in ALLOWED:
            continue
        if _group(source) == "web" and _group(target) == "api":
            if target != "api.serialize":  # the portal's JSON keeps the API's shapes
                found.append(f"{source} imports {target}")
            continue
        if not _allowed(_group(source) if source else "", _group(target)):
            found.append(f"{source} imports {target}")
    return found


def test_dependencies_flow_one_way():
    assert _violations() == []


def test_every_allowed_exception_is_still_needed():
    edges = set(_edges())
    assert ALLOWED <= edges, ALLOWED - edges


def test_store_render_and_channels_never_touch_flask():
    for source, target in _edges():
        if _group(source) in ADAPTERS | set(DOMAIN) | {"delivery"}:
            assert target not in FLASK, f"{source} imports {target}"


def test_the_record_types_the_store_may_use_are_only_records():
    for source, target in _edges():
        if _group(source) == "store" and _group(target) == "warnings":
            assert target in ("warnings.models", "warnings.content", "warnings.indicators"), (
                f"{source} imports {target}"
            )
