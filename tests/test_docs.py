"""The README stays honest: every dependency and every setting is listed there."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from alerts import config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _requirements() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    lines = parser["options"]["install_requires"].split("\n")
    lines += parser["options.extras_require"]["test"].split("\n")
    return [re.split(r"[<>=!~ ]", line.strip())[0] for line in lines if line.strip()]


def test_every_dependency_is_explained_in_the_readme():
    table = {m.lower() for m in re.findall(r"^\| ([A-Za-z0-9_.-]+) (?:\(test\) )?\|", README, re.M)}
    missing = [name for name in _requirements() if name.lower() not in table]
    assert missing == []


def test_every_setting_is_in_the_readme():
    missing = [s.name for s in config.SETTINGS if f"`ALERTS_{s.name}`" not in README]
    assert missing == []


def test_readme_gives_the_two_commands():
    assert "scripts/run" in README and "scripts/test" in README
