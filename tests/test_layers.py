"""Data flows one way: no module of s2sad imports (even lazily, inside a function) one that imports it back;
and lower.py's dispatch tables name every lowering function."""

import ast
import importlib
import pathlib

import gast

import s2sad
from s2sad import lower

PACKAGE = pathlib.Path(s2sad.__file__).parent


def _relative_imports() -> dict[str, set[str]]:
    """module -> the s2sad modules it imports anywhere in its body (top level or inside functions)."""
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                if node.module:
                    edges.setdefault(module, set()).add(".".join(base + [node.module]))
                else:
                    edges.setdefault(module, set()).update(".".join(base + [a.name]) for a in node.names)
    return edges


def _reaches(edges, start, goal) -> bool:
    stack, seen = [start], set()
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def test_no_two_modules_import_each_other():
    edges = _relative_imports()
    packages = {"s2sad", "s2sad.rules"}  # a package's __init__ gathers its modules; it is not a stage
    for module, targets in edges.items():
        if module in packages:
            continue
        for target in targets - packages:
            assert not _reaches({k: v - packages for k, v in edges.items()}, target, module), \
                f"{module} imports {target}, which imports {module} back"


def test_the_check_sees_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert _reaches(edges, "b", "a")
    assert not _reaches({"a": {"b"}}, "b", "a")


def test_every_lowering_function_is_dispatched():
    """lower.py dispatches on a node's type through two tables: a function ``expr_X``/``stmt_X`` of a
    lowering module that is not in them would never run (X would be refused as unsupported syntax)."""
    tables = {"expr_": lower._EXPRESSIONS, "stmt_": lower._STATEMENTS}
    found = 0
    for path in sorted(PACKAGE.glob("lower_*.py")):
        module = importlib.import_module(f"s2sad.{path.stem}")
        for name, function in vars(module).items():
            prefix = name[:5]
            if prefix in tables and callable(function) and function.__module__ == module.__name__:
                found += 1
                assert tables[prefix].get(getattr(gast, name[5:])) is function, f"{path.stem}.{name} is not dispatched"
    assert found == len(lower._EXPRESSIONS) + len(lower._STATEMENTS) - 1  # GeneratorExp is lowered as ListComp
