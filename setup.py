"""Ship the top-level ``templates/`` folder inside the wheel, as ``alerts/templates``.

The layout keeps the templates at the top of the repository, beside ``alerts/`` (LAYOUT.md),
but a wheel carries only packages: ``pip install .`` gave an app whose pages and channel
messages all failed with ``TemplateNotFound``. Declaring ``alerts.templates`` as a package
whose folder is ``templates/`` makes setuptools copy the folder into the wheel as package data
(the glob is in setup.cfg) without moving it; see "Custom discovery" and ``package_dir`` in
https://setuptools.pypa.io/en/latest/userguide/package_discovery.html. setup.cfg cannot say
this itself: ``packages = find:`` only finds folders under ``alerts/``. Everything else is
declared in setup.cfg; ``alerts.config.TEMPLATES_DIR`` picks the packaged copy when there is
one, else the folder of the checkout (``pip install -e .``, or PYTHONPATH).
"""

from setuptools import find_namespace_packages
from setuptools import find_packages
from setuptools import setup

setup(
    packages=[
        *find_packages(include=["alerts", "alerts.*"]),
        # templates/ and each folder in it (account/, channels/, ...): listed so that
        # setuptools does not warn that they "would be ignored".
        *(f"alerts.{p}" for p in find_namespace_packages(include=["templates", "templates.*"])),
    ],
    package_dir={"alerts.templates": "templates"},
)
