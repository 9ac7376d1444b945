"""buildozer.spec stays true to the code: the permissions the app uses, the packages it imports."""

from __future__ import annotations

import ast
import configparser
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# import name -> the python-for-android requirement that provides it
PROVIDER = {"PIL": "pillow", "kivy": "kivy", "plyer": "plyer", "requests": "requests",
            "marshmallow": "marshmallow", "android": "android", "sqlite3": "sqlite3"}  # fmt: skip
# imported where installed, with a fallback: not in the Android build (no recipe for it there)
OPTIONAL = {"orjson"}


def spec() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "buildozer.spec", encoding="utf-8")
    return parser


def imported_top_levels() -> set[str]:
    names: set[str] = set()
    for folder in ("mobile", "sync", "shared_models"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"mobile", "sync", "shared_models"}


def test_every_third_party_import_is_a_requirement() -> None:
    requirements = {r.split("==")[0] for r in spec()["app"]["requirements"].split(",")}
    for name in imported_top_levels() - OPTIONAL:
        assert PROVIDER.get(name, name) in requirements, name
    assert "tzdata" in requirements  # zoneinfo on Android
    assert "sqlite3" in requirements


def test_the_permissions_are_exactly_those_used() -> None:
    raw = spec()["app:android"]["android.permissions"]
    perms = {p.strip() for p in raw.replace("(name=android.permission.", "").replace(
        ";maxSdkVersion=32)", "").split(",")}  # fmt: skip
    assert perms == {"INTERNET", "CAMERA", "ACCESS_FINE_LOCATION", "ACCESS_COARSE_LOCATION",
                     "READ_MEDIA_IMAGES", "READ_EXTERNAL_STORAGE"}  # fmt: skip
    asked = (ROOT / "mobile" / "platform_io.py").read_text()
    for p in perms - {"INTERNET"}:
        assert f'"{p}"' in asked, p  # requested at run time too


def test_the_engine_works_without_its_optional_packages() -> None:
    """What the Android build leaves out (OPTIONAL) must not be needed: block each, sync runs."""
    import subprocess

    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in sorted(OPTIONAL))
        + "from sync import jsoncodec\n"
        "from sync.protocol import PullPage\n"
        "assert not jsoncodec.fast()\n"
        "page = PullPage.from_json(jsoncodec.loads(b'{\"protocol\": 1, \"changes\": [], "
        "\"cursor\": \"x\", \"has_more\": false}'))\n"
        "assert jsoncodec.dumps({'b': 1, 'a': '路'}) == '{\"a\": \"路\", \"b\": 1}'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
