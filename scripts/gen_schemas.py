"""Regenerate `schemas/*.schema.json` from the models; run it after changing a model.

    python scripts/gen_schemas.py          # write the files
    python scripts/gen_schemas.py --check  # exit 1 if a committed file is stale

The schemas are derived from the attrs models (`replay/_inputs/schemas.py`); the
files are committed so that readers without Python can validate artifacts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout, without installing the package

from replay._inputs.schemas import render_all  # noqa: E402

SCHEMA_DIR = ROOT / "schemas"


def stale(directory: Path) -> list[str]:
    """File names under `directory` that differ from the generated ones (or should not exist)."""
    wanted = render_all()
    present = {p.name for p in directory.glob("*.schema.json")}
    names = sorted(present | wanted.keys())
    return [
        name
        for name in names
        if name not in wanted
        or name not in present
        or (directory / name).read_bytes() != wanted[name]
    ]


def write(directory: Path) -> list[str]:
    """Write every generated schema and remove the ones no longer generated; returns changes."""
    changed = stale(directory)
    wanted = render_all()
    directory.mkdir(parents=True, exist_ok=True)
    for name in changed:
        path = directory / name
        if name in wanted:
            path.write_bytes(wanted[name])
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    """Write the schemas, or with `--check` report the stale ones."""
    parser = argparse.ArgumentParser(
        description="Regenerate schemas/*.schema.json from the models."
    )
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(SCHEMA_DIR)
        for name in names:
            print(f"stale: schemas/{name}")
        return 1 if names else 0
    for name in write(SCHEMA_DIR):
        print(f"updated: schemas/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
