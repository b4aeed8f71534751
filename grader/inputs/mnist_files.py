"""MNIST without a network: read the original IDX files, keras' mnist.npz, or a .npy cache.

Self-contained (numpy and the standard library only): this module runs inside the student's
kernel, where the grader's own package cannot be imported.

Where the data is looked for (`locate`), in order:

1. the folder given to `locate(explicit)`;
2. ``$ITMAL_MNIST_DIR`` (the grader sets it in its kernels: a read-only folder holding the
   training split only);
3. usual caches: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets`` (keras' ``mnist.npz``),
   ``$SCIKIT_LEARN_DATA`` or ``~/scikit_learn_data`` (and its ``mnist/`` subfolder), and the
   grader's cache ``$ITMAL_CACHE_DIR/mnist``, else ``$XDG_CACHE_HOME/itmal-grader/mnist``, else
   ``~/.cache/itmal-grader/mnist`` (where `download` puts the files by default).

A folder holds a split (``"train"`` or ``"test"``) in any of these forms, tried in this order:

* a .npy cache: ``<split>-images.npy`` (uint8, N x 784) and ``<split>-labels.npy`` (uint8, N);
* the original IDX files, gzipped or not: ``train-images-idx3-ubyte.gz``,
  ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``
  (also without ``.gz``, and with the original ``train-images.idx3-ubyte`` style names);
* keras' ``mnist.npz`` (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``).

scikit-learn's OpenML cache (``fetch_openml('mnist_784')``, an ARFF file) is not read.
Nothing here touches the network except `download(..., allow=True)`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "IDXError",
    "DownloadNotAllowed",
    "FILES",
    "SHA256",
    "DEFAULT_BASE_URL",
    "read_idx",
    "load_arrays",
    "available_splits",
    "save_cache",
    "cache_names",
    "locate",
    "search_path",
    "default_download_dir",
    "download",
]

SPLITS = ("train", "test")
IMAGE_SIZE = 28 * 28

# The four original files (yann.lecun.com/exdb/mnist), by (split, kind).
FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}

# Integrity data: SHA-256 and size of each official .gz file (the same values are pinned by
# many public download scripts; checked against the files in shared/data/mnist).
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SIZES = {
    "train-images-idx3-ubyte.gz": 9912422,
    "train-labels-idx1-ubyte.gz": 28881,
    "t10k-images-idx3-ubyte.gz": 1648877,
    "t10k-labels-idx1-ubyte.gz": 4542,
}

# A long-lived public mirror of the four files (the one TensorFlow's tutorials used).
DEFAULT_BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"

KERAS_NPZ = "mnist.npz"
_KERAS_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}

# IDX magic numbers of MNIST: 0x00000803 (unsigned bytes, 3 dims) and 0x00000801 (1 dim).
MAGIC_IMAGES = 2051
MAGIC_LABELS = 2049

# IDX type codes -> big-endian numpy dtypes.
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# Refuse headers that promise absurd sizes before allocating anything.
_MAX_IDX_BYTES = 2**32


class IDXError(ValueError):
    """An IDX file (or another MNIST file) is corrupt, truncated, or not what it should be."""


class DownloadNotAllowed(RuntimeError):
    """`download` was called without ``allow=True``."""


# --------------------------------------------------------------------------------------------
# Reading


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is a gzip file (by content, not by name)."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as e:
        raise IDXError(f"{path}: the gzip file is truncated (it ends before its compressed "
                       f"data does; {len(raw)} bytes on disk). Fetch the file again.") from e
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise IDXError(f"{path}: corrupt gzip file ({e}). Fetch the file again.") from e


def read_idx(path: str | os.PathLike, *, expect_magic: int | None = None) -> np.ndarray:
    """Parse one IDX file (gzipped or plain) into an array of its type and dimensions.

    Header: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a big-endian
    uint32; the data follows, big-endian, and must be exactly as long as the dimensions say.
    `expect_magic` (e.g. 2051 for MNIST images, 2049 for labels) also checks the first four
    bytes. Raises `IDXError` (a ValueError) saying what is wrong and with which file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"{path}: not an IDX file: only {len(data)} bytes, shorter than the 4-byte "
                       "magic number (the file is empty or truncated)")
    magic = int.from_bytes(data[:4], "big")
    if expect_magic is not None and magic != expect_magic:
        raise IDXError(f"{path}: wrong IDX magic number {magic} (0x{magic:08x}); expected "
                       f"{expect_magic} (0x{expect_magic:08x}). Wrong file, or corrupt.")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        raise IDXError(f"{path}: not an IDX file: magic number 0x{magic:08x} is not "
                       "00 00 <type 08/09/0B/0C/0D/0E> <number of dimensions >= 1>")
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{path}: truncated IDX header: {ndim} dimensions need {header} header "
                       f"bytes, the file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = 1
    for d in shape:
        count *= d
    expected = count * dtype.itemsize
    if expected > _MAX_IDX_BYTES:
        raise IDXError(f"{path}: IDX header claims dimensions {shape} ({expected} bytes): corrupt")
    found = len(data) - header
    if found < expected:
        raise IDXError(f"{path}: truncated IDX data: dimensions {shape} need {expected} bytes "
                       f"after the header, the file has {found}")
    if found > expected:
        raise IDXError(f"{path}: {found - expected} unexpected bytes after the IDX data of "
                       f"dimensions {shape}: corrupt, or not an IDX file")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)  # native order, writable, own memory


def cache_names(split: str) -> tuple[str, str]:
    """File names of the .npy cache of one split: (images, labels)."""
    _check_split(split)
    return f"{split}-images.npy", f"{split}-labels.npy"


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")


def _idx_candidates(split: str, kind: str) -> list[str]:
    """Accepted names of one original file: as distributed (.gz), unpacked, and the names
    inside the .gz (``train-images.idx3-ubyte``)."""
    gz = FILES[(split, kind)]
    stem = gz[: -len(".gz")]
    inner = stem.replace("-idx", ".idx", 1)
    return [gz, stem, inner + ".gz", inner]


def _first_existing(directory: Path, names: list[str]) -> Path | None:
    for name in names:
        p = directory / name
        if p.is_file():
            return p
    return None


def _source(directory: Path, split: str):
    """How `directory` holds `split`: ("npy", images, labels), ("idx", images, labels),
    ("npz", path, None), or None."""
    img_name, lab_name = cache_names(split)
    if (directory / img_name).is_file() and (directory / lab_name).is_file():
        return "npy", directory / img_name, directory / lab_name
    images = _first_existing(directory, _idx_candidates(split, "images"))
    labels = _first_existing(directory, _idx_candidates(split, "labels"))
    if images is not None and labels is not None:
        return "idx", images, labels
    npz = directory / KERAS_NPZ
    if npz.is_file() and _npz_has(npz, split):
        return "npz", npz, None
    return None


def _npz_has(path: Path, split: str) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            return all(k in z.files for k in _KERAS_KEYS[split])
    except (OSError, ValueError):
        return False


def available_splits(directory: str | os.PathLike) -> tuple[str, ...]:
    """The splits ("train", "test") that `directory` holds in a readable form (checks file
    names only, not contents)."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        return ()
    return tuple(s for s in SPLITS if _source(directory, s) is not None)


def _validated(images: np.ndarray, labels: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 784) uint8 images and (N,) uint8 labels in 0..9, or IDXError."""
    if images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images.reshape(images.shape[0], IMAGE_SIZE)
    if images.ndim != 2 or images.shape[1] != IMAGE_SIZE:
        raise IDXError(f"{where}: images have shape {images.shape}; expected (N, 28, 28) or (N, 784)")
    if images.dtype != np.uint8:
        raise IDXError(f"{where}: images have dtype {images.dtype}; expected uint8")
    if labels.ndim != 1:
        raise IDXError(f"{where}: labels have shape {labels.shape}; expected (N,)")
    if labels.dtype.kind not in "iu":
        raise IDXError(f"{where}: labels have dtype {labels.dtype}; expected integers")
    if len(images) != len(labels):
        raise IDXError(f"{where}: {len(images)} images but {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise IDXError(f"{where}: labels outside 0..9 (from {labels.min()} to {labels.max()})")
    return np.ascontiguousarray(images), labels.astype(np.uint8, copy=False)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise IDXError(f"{path}: unreadable .npy cache file ({e}); delete it to rebuild it") from e


def load_arrays(directory: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one split from `directory`: (images uint8 of shape (N, 784), labels uint8 (N,)).

    Reads the .npy cache (``<split>-images.npy``, ``<split>-labels.npy``) when present, else the
    IDX files, else keras' ``mnist.npz``. Raises FileNotFoundError when `directory` holds none
    of them for `split`, IDXError (a ValueError) when the files are corrupt.
    """
    _check_split(split)
    directory = Path(directory).expanduser()
    found = _source(directory, split) if directory.is_dir() else None
    if found is None:
        raise FileNotFoundError(
            f"no MNIST {split} split in {directory}: looked for {' + '.join(cache_names(split))}, "
            f"{FILES[(split, 'images')]} + {FILES[(split, 'labels')]} (or unpacked), and "
            f"{KERAS_NPZ}")
    kind, a, b = found
    if kind == "npy":
        return _validated(_load_npy(a), _load_npy(b), f"{a.parent} (.npy cache)")
    if kind == "idx":
        images = read_idx(a, expect_magic=MAGIC_IMAGES)
        labels = read_idx(b, expect_magic=MAGIC_LABELS)
        return _validated(images, labels, f"{a.name} + {b.name} in {directory}")
    x_key, y_key = _KERAS_KEYS[split]
    try:
        with np.load(a, allow_pickle=False) as z:
            images, labels = z[x_key], z[y_key]
    except (ValueError, OSError, EOFError, zlib.error) as e:
        raise IDXError(f"{a}: unreadable keras mnist.npz ({e})") from e
    return _validated(images, labels, f"{a} [{x_key}, {y_key}]")


def _atomic_save(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_cache(directory: str | os.PathLike, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write one split as the .npy cache that `load_arrays` reads first (each file atomically:
    written under a temporary name, then renamed; labels last)."""
    directory = Path(directory).expanduser()
    images, labels = _validated(np.asarray(images), np.asarray(labels), f"save_cache({split!r})")
    directory.mkdir(parents=True, exist_ok=True)
    img_name, lab_name = cache_names(split)
    _atomic_save(directory / img_name, images)
    _atomic_save(directory / lab_name, labels)


# --------------------------------------------------------------------------------------------
# Finding


def default_download_dir() -> Path:
    """The grader's cache folder for MNIST: $ITMAL_CACHE_DIR/mnist, else
    $XDG_CACHE_HOME/itmal-grader/mnist, else ~/.cache/itmal-grader/mnist."""
    if os.environ.get("ITMAL_CACHE_DIR"):
        return Path(os.environ["ITMAL_CACHE_DIR"]).expanduser() / "mnist"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "itmal-grader", "mnist")


def search_path(explicit: str | os.PathLike | None = None) -> list[tuple[str, Path | None]]:
    """The places `locate` looks, in order, as (description, folder or None when unset)."""
    home = Path(os.path.expanduser("~"))
    places: list[tuple[str, Path | None]] = []
    if explicit is not None:
        places.append(("the folder given", Path(explicit).expanduser()))
    env = os.environ.get("ITMAL_MNIST_DIR")
    places.append(("$ITMAL_MNIST_DIR", Path(env).expanduser() if env else None))
    keras_home = Path(os.environ["KERAS_HOME"]).expanduser() if os.environ.get("KERAS_HOME") else home / ".keras"
    places.append(("keras' cache", keras_home / "datasets"))
    sk = (Path(os.environ["SCIKIT_LEARN_DATA"]).expanduser() if os.environ.get("SCIKIT_LEARN_DATA")
          else home / "scikit_learn_data")
    places.append(("scikit-learn's data folder", sk))
    places.append(("scikit-learn's data folder", sk / "mnist"))
    places.append(("the itmal-grader cache", default_download_dir()))
    return places


def locate(explicit: str | os.PathLike | None = None, *, splits: tuple[str, ...] = ("train",)) -> Path:
    """The first folder of `search_path(explicit)` that holds every split in `splits`.

    Raises FileNotFoundError listing every place looked at and how to get the files.
    """
    for s in splits:
        _check_split(s)
    looked: list[str] = []
    for what, folder in search_path(explicit):
        if folder is None:
            looked.append(f"  - {what}: not set")
            continue
        if not folder.is_dir():
            looked.append(f"  - {folder} ({what}): no such folder")
            continue
        have = available_splits(folder)
        if all(s in have for s in splits):
            return folder
        has = f"has only the {' and '.join(have)} split" if have else "holds no MNIST files"
        looked.append(f"  - {folder} ({what}): {has}")
    names = ", ".join(FILES.values())
    target = default_download_dir()
    raise FileNotFoundError(
        f"MNIST ({' and '.join(splits)} split{'s' if len(splits) > 1 else ''}) not found. Looked in:\n"
        + "\n".join(looked)
        + "\nTo get it, do one of these:\n"
        f"  * put the four original files {names} (from http://yann.lecun.com/exdb/mnist/ or a "
        f"mirror such as {DEFAULT_BASE_URL}) in {target}, or in any folder and set "
        "ITMAL_MNIST_DIR to that folder;\n"
        f"  * put keras' {KERAS_NPZ} in ~/.keras/datasets/;\n"
        f"  * or download them (needs the network): from libitmal.mnist import download; "
        f"download({str(target)!r}, allow=True)"
    )


# --------------------------------------------------------------------------------------------
# Downloading


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, dest: Path, *, sha256: str, max_bytes: int, timeout: float) -> None:
    """Stream `url` into a temporary file next to `dest`, check size and SHA-256, rename."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while True:
                block = resp.read(1 << 16)
                if not block:
                    break
                size += len(block)
                if size > max_bytes:
                    raise IDXError(f"{url}: larger than the official file ({max_bytes} bytes); refused")
                h.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha256:
            raise IDXError(f"{url}: SHA-256 {h.hexdigest()} ({size} bytes) does not match the "
                           f"official file's {sha256}; not saved")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(directory: str | os.PathLike | None, *, allow: bool = False,
             base_url: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch the four original MNIST files into `directory` (None: `default_download_dir()`).

    Does nothing unless ``allow=True`` (raises DownloadNotAllowed): nothing downloads by
    accident. The base URL is `base_url`, else $ITMAL_MNIST_BASE_URL, else DEFAULT_BASE_URL
    (http, https or file URLs). Each file is checked against the official SHA-256 (`SHA256`)
    and written atomically; a file already present with the right checksum is kept. Returns
    the folder.
    """
    directory = Path(directory).expanduser() if directory is not None else default_download_dir()
    if not allow:
        raise DownloadNotAllowed(
            f"download({str(directory)!r}) fetches MNIST from the network; call it with "
            "allow=True to do so")
    base = base_url or os.environ.get("ITMAL_MNIST_BASE_URL") or DEFAULT_BASE_URL
    scheme = urllib.parse.urlsplit(base).scheme
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"base_url must be an http, https or file URL, not {base!r}")
    if not base.endswith("/"):
        base += "/"
    directory.mkdir(parents=True, exist_ok=True)
    for name, sha in SHA256.items():
        dest = directory / name
        if dest.is_file() and dest.stat().st_size == SIZES[name] and _sha256(dest) == sha:
            continue
        _fetch(urllib.parse.urljoin(base, name), dest, sha256=sha, max_bytes=SIZES[name], timeout=timeout)
    return directory

