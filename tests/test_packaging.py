"""An installed wheel finds its templates: built from a copy of the checkout and installed into
a fresh virtualenv, it runs ``flask --app alerts init-db``, serves a page and renders a message
for every channel (issue 14: ``pip install .`` gave ``TemplateNotFound`` on every page, because
``templates/`` lives beside the package; setup.py now maps it into the wheel).

Building asks the package registry for setuptools (pip's build isolation, as ``pip install .``
does); where there is no registry, deselect with ``-m "not packaging"``. The fresh virtualenv
gets its dependencies from this one through a ``.pth`` line instead of downloading them again:
that line puts this virtualenv's site-packages after the new one's, without running its
``.pth`` files, so the editable install of the checkout stays out of reach and ``alerts`` can
only come from the wheel (asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
# What a fresh clone does not have. Building in the checkout itself would leave build/ and
# alerts.egg-info there, and files left in an old build/ would end up in the wheel.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "instance", ".env", ".*_cache"
)
# Run inside the fresh virtualenv: its output is JSON, so that the assertions stay here.
PROBE = """
import json

import alerts
from alerts import create_app
from alerts.render import RenderSettings
from alerts.render import registry
from render_samples import sample_message

client = create_app().test_client()
pages = {path: client.get(path) for path in ("/", "/healthz", "/static/portal.js")}
renderings = registry.render_all(sample_message(), RenderSettings())
print(json.dumps({
    "alerts": alerts.__file__,
    "pages": {path: [r.status_code, r.get_data(as_text=True)] for path, r in pages.items()},
    "channels": {channel: dict(r.parts) for channel, r in renderings.items()},
}))
"""


def run(args: list, cwd: Path, env: dict | None = None) -> str:
    """Run a command; on failure, fail the test with what it printed."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by pip from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp("build")
    shutil.copytree(ROOT, tmp / "source", ignore=NOT_IN_A_CLONE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--quiet", "--wheel-dir", "dist", "./source"], cwd=tmp)
    (built,) = (tmp / "dist").glob("alerts-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """A fresh virtualenv with the wheel installed, and the environment to run it in: no
    PYTHONPATH (the test run's points at the checkout), no ALERTS_* from this shell."""
    tmp = tmp_path_factory.mktemp("installed")
    run([sys.executable, "-m", "venv", "--without-pip", "venv"], cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    run([*pip, "install", "--no-deps", "--no-index", "--quiet", wheel], cwd=tmp)
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp)
    ours = {sysconfig.get_paths()[kind] for kind in ("purelib", "platlib")}
    (Path(site.strip()) / "dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALERTS_", "FLASK_", "PYTHON")) and k != "VIRTUAL_ENV"
    }
    env["ALERTS_DATABASE"] = str(tmp / "alerts.db")
    return python, env


def test_the_wheel_carries_the_templates_static_files_translations_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())

    def files(folder: Path, inside: str) -> set[str]:
        found = (p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return {f"{inside}/{p.relative_to(folder).as_posix()}" for p in found}

    expected = files(ROOT / "templates", "alerts/templates")
    for folder in ("static", "translations", "data"):
        expected |= files(ROOT / "alerts" / folder, f"alerts/{folder}")
    assert "alerts/templates/portal/home.html" in expected
    assert expected - names == set()
    assert not any(name.startswith("templates/") for name in names)


def test_the_installed_wheel_serves_pages_and_renders_every_channel(installed, tmp_path):
    python, env = installed
    flask = [python, "-m", "flask", "--app", "alerts"]
    assert "Migrations applied: m001" in run([*flask, "init-db"], cwd=tmp_path, env=env)
    (tmp_path / "probe.py").write_text(PROBE)
    shutil.copy(ROOT / "tests" / "render_samples.py", tmp_path)

    found = json.loads(run([python, "probe.py"], cwd=tmp_path, env=env))

    assert Path(found["alerts"]).is_relative_to(python.parent.parent)
    assert found["pages"]["/"][0] == 200
    assert "Cảnh báo của Công an nơi bạn sinh sống" in found["pages"]["/"][1]
    assert "Thành phố Hà Nội" in found["pages"]["/"][1]
    assert found["pages"]["/healthz"][0] == 200
    assert json.loads(found["pages"]["/healthz"][1])["status"] == "ok"
    assert found["pages"]["/static/portal.js"][0] == 200
    channels = found["channels"]
    assert sorted(channels) == sorted(
        ["web", "cap", "atom", "zalo", "facebook", "telegram", "sms", "email", "webhook"]
    )
    headline = "Cảnh báo cuộc gọi giả danh công an yêu cầu cung cấp mã OTP"
    assert headline in channels["web"]["html"]
    assert '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">' in channels["cap"]["xml"]
    assert headline in channels["cap"]["xml"]
    assert headline in channels["email"]["html"]
    assert "OTP" in channels["sms"]["text"]
