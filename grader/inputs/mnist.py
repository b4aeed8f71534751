"""MNIST on the grader's side: the training split for kernels, the held-out test split for checks.

Caches, under the grader's cache folder (`grader.judge.reference.default_cache_dir()`:
$ITMAL_CACHE_DIR, else ~/.cache/itmal-grader):

* ``<cache>/mnist-kernel/`` – ``train-images.npy`` and ``train-labels.npy`` only. Mounted
  read-only into every kernel as $ITMAL_MNIST_DIR; it never holds the test split.
* ``<cache>/mnist/`` – the .npy cache of both splits, for `training` and `held_out`. It is also
  a place `libitmal.mnist.locate` searches, and where `libitmal.mnist.download` saves by default.

Both are built on first use from whatever `libitmal.mnist.locate` finds ($ITMAL_MNIST_DIR, keras'
cache, ...). Nothing here downloads.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from grader.inputs import mnist_files as _mnist
from grader.judge.reference import default_cache_dir

KERNEL_DIR = "mnist-kernel"
CACHE_DIR = "mnist"
_KERNEL_FILES = frozenset(_mnist.cache_names("train"))


def _npy_size(shape: tuple[int, ...]) -> int:
    """Size in bytes of an uint8 .npy file of `shape`, as np.save writes it (format 1.0)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
    n = 1
    for d in shape:
        n *= d
    return buf.tell() + n


def _kernel_dir_complete(target: Path) -> bool:
    """One scandir: exactly the two training files, their sizes consistent with N digits."""
    try:
        with os.scandir(target) as it:
            sizes = {e.name: e.stat(follow_symlinks=False).st_size for e in it}
    except OSError:
        return False
    if set(sizes) != _KERNEL_FILES:
        return False
    images, labels = (sizes[name] for name in _mnist.cache_names("train"))
    n = labels - _npy_size((1,)) + 1
    return n > 0 and labels == _npy_size((n,)) and images == _npy_size((n, _mnist.IMAGE_SIZE))


def kernel_data_dir(cache_dir: Path) -> Path | None:
    """``cache_dir/mnist-kernel/``: the training split only, as .npy files, for the kernel.

    Built the first time from the MNIST files `libitmal.mnist.locate()` finds: written into a
    temporary folder, then renamed into place, so a half-built folder is never seen (several
    graders may race; the first rename wins). Later calls only list the folder. Returns None
    when MNIST cannot be found. Corrupt MNIST files raise `libitmal.mnist.IDXError`.
    """
    target = Path(cache_dir) / KERNEL_DIR
    if _kernel_dir_complete(target):
        return target
    try:
        source = _mnist.locate()
        images, labels = _mnist.load_arrays(source, "train")
    except FileNotFoundError:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{KERNEL_DIR}-"))
    try:
        _mnist.save_cache(tmp, "train", images, labels)
        os.chmod(tmp, 0o755)
        if target.exists() or target.is_symlink():
            if _kernel_dir_complete(target):  # another grader finished first
                return target
            stale = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{KERNEL_DIR}-stale-"))
            os.replace(target, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not _kernel_dir_complete(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _load_split(source: Path, split: str, cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One split from `source`; when it came from IDX or npz files and `cache_dir` is given,
    also write the grader's .npy cache ``cache_dir/mnist`` (so the next cold start is fast)."""
    images, labels = _mnist.load_arrays(source, split)
    if cache_dir is not None:
        cache = Path(cache_dir) / CACHE_DIR
        if source.resolve() != cache.resolve() and split not in _npy_splits(cache):
            try:
                _mnist.save_cache(cache, split, images, labels)
            except OSError:
                pass  # a read-only cache folder only costs speed
    return images, labels


def _npy_splits(folder: Path) -> tuple[str, ...]:
    return tuple(s for s in _mnist.SPLITS if all((folder / n).is_file() for n in _mnist.cache_names(s)))


@functools.lru_cache(maxsize=4)
def _split(cache_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    cache = cache_dir / CACHE_DIR
    if split in _npy_splits(cache):
        images, labels = _mnist.load_arrays(cache, split)
    else:
        images, labels = _load_split(_mnist.locate(splits=(split,)), split, cache_dir)
    images.flags.writeable = False  # shared by every caller of the lru_cache
    labels.flags.writeable = False
    return images, labels


def _first(split: str, n: int | None, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _split(Path(cache_dir) if cache_dir is not None else default_cache_dir(), split)
    if n is None:
        return images, labels
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 0 <= n <= len(labels):
        raise ValueError(f"n must be an int between 0 and {len(labels)}, or None; got {n!r}")
    return images[:n], labels[:n]


def held_out(n: int | None = None, *, cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST test split, which never enters a kernel: images uint8 (n, 784), labels
    uint8 (n,). `n`: the first n digits in the official order (not a random sample; the order
    is not sorted by digit: the first 100 hold every digit), None for all 10000.

    Read-only arrays, cached in memory; loaded from ``<cache>/mnist/test-*.npy`` (`cache_dir`,
    default `grader.judge.reference.default_cache_dir()`), which is built on first use from what
    `libitmal.mnist.locate` finds. FileNotFoundError when MNIST cannot be found.
    """
    return _first("test", n, cache_dir)


def training(n: int | None = None, *, cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The official MNIST training split, as `held_out` (first n of 60000), for the grader's use."""
    return _first("train", n, cache_dir)
