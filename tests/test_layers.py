"""The floors of the code base (docs/ARCHITECTURE.md).

`make lint` checks the floors with import-linter (.importlinter). This test keeps the imports
visible to it: an `app.` module imported inside a function body hides an arrow from a reader, so
each one must say why with a comment above it in the same function.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def hidden_imports() -> list[str]:
    found = []
    for path in sorted(ROOT.joinpath("app").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for function in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if not any(name == "app" or name.startswith("app.") for name in names):
                    continue
                above = lines[function.lineno : node.lineno - 1]
                if not any(line.strip().startswith("#") for line in above) and "#" not in lines[node.lineno - 1]:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_no_app_import_hides_in_a_function_without_its_reason() -> None:
    hidden = hidden_imports()
    assert not hidden, "import at the top of the module, or say why not:\n" + "\n".join(hidden)
