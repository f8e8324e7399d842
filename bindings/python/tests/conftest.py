import os
import pathlib

import pytest


@pytest.fixture
def source_dir() -> pathlib.Path:
    """The libmedshim source tree (MEDSHIM_SOURCE_DIR, else this checkout)."""
    env = os.environ.get("MEDSHIM_SOURCE_DIR")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture
def hangzhou(source_dir: pathlib.Path) -> str:
    return str(source_dir / "examples" / "schedules" / "hangzhou-2022.json")
