"""python .ci/wheel_contents.py WHEEL: list the wheel's files, and fail if it
lacks a module or data file of the tree (`backends/` and `conformance/` ship
as `keras_ct_plugin.backends` and `keras_ct_plugin.conformance`) or the
LICENSE."""

import pathlib
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = {"keras_ct_plugin": "keras_ct_plugin", "backends": "keras_ct_plugin/backends",
            "conformance": "keras_ct_plugin/conformance"}


def expected():
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".csv") and "__pycache__" not in path.parts:
                yield f"{package}/{path.relative_to(ROOT / folder).as_posix()}"


def main(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    print(f"{pathlib.Path(wheel).name}: {len(names)} files")
    for name in names:
        print(f"  {name}")
    missing = sorted(set(expected()) - set(names))
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        missing.append("*.dist-info/licenses/LICENSE")
    if missing:
        sys.exit("the wheel lacks: " + ", ".join(missing))


if __name__ == "__main__":
    main(sys.argv[1])
