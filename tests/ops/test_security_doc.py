"""SECURITY.md names the test behind each defence: every test it names exists."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`([\w/]+\.py)(?:::(\w+))?`")


def test_every_test_security_md_names_exists():
    references = REFERENCE.findall((REPO / "SECURITY.md").read_text())
    assert len(references) > 30
    missing = []
    for path, function in references:
        test_file = REPO / "tests" / path
        if not test_file.exists():
            if not (REPO / path).exists():  # a module of the service, e.g. workspaces/tenancy.py
                missing.append(path)
            continue
        if function:
            names = {
                node.name for node in ast.walk(ast.parse(test_file.read_text())) if isinstance(node, ast.FunctionDef)
            }
            if function not in names:
                missing.append(f"{path}::{function}")
    assert not missing, missing
