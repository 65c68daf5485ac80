"""Repository invariants, in Python for contributors who live in pytest.

Rendered by homelab {{ version }} from platform.toml. `homelab check` covers far more; these
tests keep the basics visible: every YAML file parses, and git never holds a plain Secret.
"""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".git", "charts", ".venv"}


def yaml_files() -> list[Path]:
    return [
        p
        for p in sorted(ROOT.rglob("*.y*ml"))
        if not SKIP.intersection(p.relative_to(ROOT).parts)
    ]


def test_every_yaml_file_parses() -> None:
    for path in yaml_files():
        with path.open(encoding="utf-8") as handle:
            list(yaml.safe_load_all(handle))


def test_no_plain_secret_in_git() -> None:
    for path in yaml_files():
        with path.open(encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if isinstance(doc, dict) and doc.get("kind") == "Secret":
                    raise AssertionError(f"{path}: plain Secret; seal it (docs/secrets.md)")
