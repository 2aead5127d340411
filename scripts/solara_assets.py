"""Fill Solara's CDN cache from the npm registry, so the web app works without internet.

Solara's server serves its front-end files (Vue/Vuetify app, require.js, fonts, ...) under
``/_solara/cdn/<package>@<version>/<file>``. On a cache miss it downloads the file from
``https://cdn.jsdelivr.net/npm/`` and keeps it in ``<venv>/share/solara/cdn/<package>@<version>/``
(``solara/server/cdn_helper.py``, ``solara/server/settings.py: Assets.proxy_cache_dir``). Without
internet that download fails and the page stays blank. The npm registry is reachable where the
CDN is not, so this script unpacks each package's npm tarball into that cache folder: the
CDN's ``/npm/<pkg>@<ver>/<file>`` is that tarball's ``package/<file>``.

Run it with the venv's Python: ``.venv/bin/python scripts/solara_assets.py`` (``scripts/setup``
does). Packages already in the cache are skipped. ``--check`` only reports what is missing.

Uses ``npm pack`` when npm is installed, otherwise downloads the tarball over HTTPS from the
registry and checks it against the registry's sha512 integrity.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# The packages Solara 1.64.1 asks its CDN for, checked against the server's log and the
# browser's requests for a page with buttons, markdown, a matplotlib figure and a download
# button (see docs/how-to/setup.md). `files` are ones Solara requests: they must be
# in the tarball, and they are how an already-filled cache is recognised. `copies` are files
# the CDN makes up (jsDelivr minifies on request) that are not in the tarball: target <- source.
# Update this list together with the solara pin in pyproject.toml.
VERIFIED_WITH_SOLARA = "1.64.1"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    files: tuple[str, ...]
    copies: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


PACKAGES: tuple[Package, ...] = (
    Package(
        "@widgetti/solara-vuetify-app",
        "10.1.1",
        ("dist/main8.css", "dist/fonts.css", "dist/solara-vuetify-app8.min.js"),
    ),
    Package(
        "requirejs",
        "2.3.6",
        ("require.js",),
        copies={"require.min.js": "require.js"},  # loaded by markdown when requirejs is absent
    ),
    Package("font-awesome", "4.5.0", ("css/font-awesome.min.css",)),
    Package("@widgetti/vue-grid-layout", "2.3.13-alpha.2", ("dist/vue-grid-layout.umd.js",)),
    Package("mermaid", "10.8.0", ("dist/mermaid.min.js",)),
    Package(
        "katex",
        "0.16.9",
        ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js"),
    ),
)

DEFAULT_REGISTRY = "https://registry.npmjs.org/"


def log(msg: str) -> None:
    print(f"solara assets: {msg}", flush=True)


def env_var(name: str) -> str | None:
    """Case-insensitive, like Solara's and npm's own settings."""
    for key, value in os.environ.items():
        if key.upper() == name and value:
            return value
    return None


def cache_dir() -> Path:
    """Where Solara's server looks, without importing solara (which takes seconds).

    Mirrors ``solara.server.settings``: ``SOLARA_ASSETS_PROXY_CACHE_DIR`` if set, else
    ``<prefix>/share/solara/cdn`` with prefix the user base for a ``--user`` install of solara,
    else ``sys.prefix``.
    """
    if override := env_var("SOLARA_ASSETS_PROXY_CACHE_DIR"):
        return Path(override)
    spec = importlib.util.find_spec("solara")
    if spec is None or spec.origin is None:
        sys.exit("solara assets: ERROR: solara is not installed in this Python: " + sys.executable)
    prefix = sys.prefix
    user_base = site.getuserbase()
    if user_base and spec.origin.startswith(user_base):
        prefix = user_base
    return Path(prefix) / "share" / "solara" / "cdn"


def is_complete(dest: Path, pkg: Package) -> bool:
    # package.json: Solara never requests it, so it is only there if the whole tarball was
    # unpacked (not just the few files Solara cached by itself on a machine with internet)
    return all((dest / f).is_file() for f in ("package.json", *pkg.files, *pkg.copies))


def npm_pack(pkg: Package, tmp: Path) -> Path:
    cmd = ["npm", "pack", pkg.spec, "--json", "--pack-destination", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stderr.strip()}")
    filename = json.loads(proc.stdout)[0]["filename"]
    # npm names a scoped package's tarball without the '@' (widgetti-solara-vuetify-app-...)
    tarball = tmp / filename
    if not tarball.exists():
        matches = list(tmp.glob("*.tgz"))
        if len(matches) != 1:
            raise RuntimeError(f"npm pack {pkg.spec} did not leave one tarball in {tmp}")
        tarball = matches[0]
    return tarball


def registry_url() -> str:
    url = env_var("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY
    return url.rstrip("/") + "/"


def http_fetch(pkg: Package, tmp: Path) -> Path:
    """Download the tarball the way npm would, for machines without npm."""
    meta_url = f"{registry_url()}{pkg.name.replace('/', '%2F')}/{pkg.version}"
    with urllib.request.urlopen(meta_url, timeout=60) as resp:
        dist = json.load(resp)["dist"]
    with urllib.request.urlopen(dist["tarball"], timeout=300) as resp:
        data = resp.read()
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integrity.removeprefix("sha512-"):
            raise RuntimeError(f"{pkg.spec}: tarball does not match the registry's sha512")
    elif hashlib.sha1(data).hexdigest() != dist["shasum"]:
        raise RuntimeError(f"{pkg.spec}: tarball does not match the registry's sha1")
    tarball = tmp / "package.tgz"
    tarball.write_bytes(data)
    return tarball


def unpack(tarball: Path, dest: Path) -> None:
    """Unpack the tarball's top folder (``package/`` for almost all packages) as ``dest``."""
    staging = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        members = []
        for m in tar.getmembers():
            parts = Path(m.name).parts
            if len(parts) < 2 or not (m.isfile() or m.isdir()):
                continue
            m.name = str(Path(*parts[1:]))  # strip `package/`
            members.append(m)
        tar.extractall(staging, members=members, filter="data")
    # replace whatever was there: files Solara fetched itself on a machine with internet are
    # the same files, and a half-filled folder from an interrupted run must not count as done
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staging, dest)


def install(pkg: Package, root: Path, use_npm: bool) -> None:
    dest = root / pkg.spec
    with tempfile.TemporaryDirectory(prefix="solara-assets-") as tmpname:
        tmp = Path(tmpname)
        tarball = npm_pack(pkg, tmp) if use_npm else http_fetch(pkg, tmp)
        unpack(tarball, dest)
    for target, source in pkg.copies.items():
        shutil.copyfile(dest / source, dest / target)
    missing = [f for f in pkg.files if not (dest / f).is_file()]
    if missing:
        raise RuntimeError(f"{pkg.spec} has no {', '.join(missing)}: is the version right?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing packages")
    parser.add_argument("--list", action="store_true", help="print the package list and exit")
    args = parser.parse_args(argv)

    if args.list:
        for pkg in PACKAGES:
            print(pkg.spec)
        return 0

    root = cache_dir()
    solara_version = importlib.metadata.version("solara")
    if solara_version != VERIFIED_WITH_SOLARA:
        log(
            f"WARNING: the package list was checked against solara {VERIFIED_WITH_SOLARA}, "
            f"this is solara {solara_version}: check the server log for CDN misses"
        )
    todo = [p for p in PACKAGES if not is_complete(root / p.spec, p)]
    if not todo:
        log(f"all {len(PACKAGES)} packages present in {root}")
        return 0
    if args.check:
        log("missing: " + " ".join(p.spec for p in todo))
        return 1

    use_npm = shutil.which("npm") is not None
    how = "npm pack" if use_npm else f"direct download from {registry_url()}"
    root.mkdir(parents=True, exist_ok=True)
    failed = []
    for pkg in todo:
        log(f"installing {pkg.spec} ({how})")
        try:
            install(pkg, root, use_npm)
        except Exception as exc:  # report every failure, then fail
            failed.append(pkg.spec)
            print(f"solara assets: ERROR: {pkg.spec}: {exc}", file=sys.stderr, flush=True)
    if failed:
        print(
            f"solara assets: ERROR: could not install {', '.join(failed)} into {root}.\n"
            "  Without them the Solara app shows a blank page when the CDN is unreachable.\n"
            "  Needs the npm registry (npm config get registry / NPM_CONFIG_REGISTRY).",
            file=sys.stderr,
        )
        return 1
    log(f"installed {len(todo)} package(s) into {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
