"""The built wheel carries the schema: installed into a fresh environment, away from the source tree,
``agno-run schema`` still prints it."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_prints_the_schema(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("agno_yaml-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("index.html", "app.js", "style.css"):  # the session viewer ships in the package
        assert f"agno_yaml/server/static/{page}" in names

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    fresh_site = Path(
        subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       check=True, capture_output=True, text=True).stdout.strip()
    )  # fmt: skip
    # Install only our wheel; its dependencies come from this environment's site-packages, added as a
    # plain path (so the editable install of the source tree, a .pth hook there, is not activated).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(fresh_site),
            str(wheel),
        ],
        check=True,
    )
    (fresh_site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = subprocess.run(
        [str(python), "-c", "import agno_yaml; print(agno_yaml.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(fresh_site))

    printed = subprocess.run(
        [str(python), "-m", "agno_yaml", "schema"], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert json.loads(printed.stdout) == json.loads((ROOT / "schemas" / "team.schema.json").read_text())
