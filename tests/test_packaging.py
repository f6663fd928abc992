"""pyproject.toml: every folder the wheel ships is a listed package; metadata in current form."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PROJECT["tool"]["setuptools"]


def test_every_shipped_folder_is_a_listed_package():
    """An importable folder under a package (data such as jobs/templates included) that is not
    listed makes setuptools warn that it will be left out of the wheel."""
    listed = set(SETUPTOOLS["packages"])
    for name, folder in SETUPTOOLS["package-dir"].items():
        for sub in (ROOT / folder).rglob("*"):
            if (sub.is_dir() and sub.name.isidentifier() and sub.name != "__pycache__"
                    and any(f.is_file() for f in sub.iterdir())):
                dotted = ".".join([name, *sub.relative_to(ROOT / folder).parts])
                if not any(dotted.startswith(other + ".") for other in SETUPTOOLS["package-dir"]
                           if other != name and other.startswith(name + ".")):
                    assert dotted in listed, f"{sub.relative_to(ROOT)} ships as {dotted}: not in packages"


def test_license_is_an_spdx_expression():
    assert isinstance(PROJECT["project"]["license"], str)
