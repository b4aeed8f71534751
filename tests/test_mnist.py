"""Offline MNIST: the course loader, the grader's caches, and the kernel's training-only folder.

Real data, no network: the four original IDX files are found through $ITMAL_MNIST_DIR (CI sets
it), else <repo>/../shared/data/mnist; the tests that need them are skipped when neither holds
them. Downloads are tested against a server on 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import TEST_LIMITS, mnist_folder
from grader.inputs import mnist as grader_mnist
from grader_journal2.libitmal import dataloaders_v2
from grader_journal2.libitmal import mnist

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_ENV = ("ITMAL_MNIST_DIR", "ITMAL_CACHE_DIR", "XDG_CACHE_HOME", "KERAS_HOME", "SCIKIT_LEARN_DATA",
        "ITMAL_MNIST_BASE_URL")


_found, WHY = mnist_folder()
DATA = Path(_found) if _found else None
needs_mnist = pytest.mark.skipif(DATA is None, reason=WHY or "MNIST not found")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No MNIST anywhere: an empty home, and none of the variables locate() reads."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in _ENV:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="module")
def idx():
    """Both splits read from the IDX files, once."""
    if DATA is None:
        pytest.skip(WHY)
    return {s: mnist.load_arrays(DATA, s) for s in ("train", "test")}


# --- the official data ---------------------------------------------------------------------

@needs_mnist
def test_official_files_match_pinned_checksums():
    for name in IDX_NAMES:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == mnist.SHA256[name], name


@needs_mnist
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_splits_have_the_official_shapes_and_labels(idx, split, n):
    images, labels = idx[split]
    assert images.shape == (n, 784) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0
    assert images.flags.writeable and images.flags.c_contiguous


@needs_mnist
def test_first_labels_are_the_well_known_ones(idx):
    assert idx["train"][1][0] == 5
    assert idx["test"][1][0] == 7


@needs_mnist
def test_read_idx_keeps_the_original_dimensions():
    images = mnist.read_idx(DATA / "t10k-images-idx3-ubyte.gz", expect_magic=mnist.MAGIC_IMAGES)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8


@needs_mnist
def test_unpacked_idx_files_read_the_same(idx, tmp_path):
    for name in IDX_NAMES[2:]:
        (tmp_path / name[:-3]).write_bytes(gzip.decompress((DATA / name).read_bytes()))
    images, labels = mnist.load_arrays(tmp_path, "test")
    np.testing.assert_array_equal(images, idx["test"][0])
    np.testing.assert_array_equal(labels, idx["test"][1])
    assert mnist.available_splits(tmp_path) == ("test",)


@needs_mnist
def test_cached_load_equals_idx_load(idx, tmp_path):
    for split in ("train", "test"):
        mnist.save_cache(tmp_path, split, *idx[split])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "test-images.npy", "test-labels.npy", "train-images.npy", "train-labels.npy"]
    for split in ("train", "test"):
        images, labels = mnist.load_arrays(tmp_path, split)
        np.testing.assert_array_equal(images, idx[split][0])
        np.testing.assert_array_equal(labels, idx[split][1])
        assert images.dtype == np.uint8 and labels.dtype == np.uint8


# --- the course loader ---------------------------------------------------------------------

@needs_mnist
def test_course_loader_on_a_students_machine_returns_train_then_test(idx, isolated, monkeypatch):
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(DATA))
    X, y = dataloaders_v2.MNIST_GetDataSet()
    assert X.shape == (70000, 784) and X.dtype == np.uint8 and y.shape == (70000,)
    assert y[0] == 5 and y[60000] == 7
    np.testing.assert_array_equal(X[60000:], idx["test"][0])
    X3, _ = dataloaders_v2.MNIST_GetDataSet(reshape784=False)
    assert X3.shape == (70000, 28, 28)


@needs_mnist
def test_course_loader_in_the_graders_kernel_returns_the_training_split_only(idx, isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(DATA))
    kernel_dir = grader_mnist.kernel_data_dir(tmp_path / "cache")
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(kernel_dir))
    X, y = dataloaders_v2.MNIST_GetDataSet()
    assert X.shape == (60000, 784) and y.shape == (60000,)
    np.testing.assert_array_equal(y, idx["train"][1])


def test_course_loader_without_data_says_where_it_looked(isolated):
    with pytest.raises(FileNotFoundError, match="ITMAL_MNIST_DIR"):
        dataloaders_v2.MNIST_GetDataSet()


# --- the grader's caches -------------------------------------------------------------------

@needs_mnist
def test_kernel_data_dir_holds_the_training_split_only(idx, isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(DATA))
    cache = tmp_path / "cache"
    found = grader_mnist.kernel_data_dir(cache)
    assert found == cache / "mnist-kernel"
    assert sorted(p.name for p in found.iterdir()) == ["train-images.npy", "train-labels.npy"]
    assert mnist.available_splits(found) == ("train",)
    with pytest.raises(FileNotFoundError):
        mnist.load_arrays(found, "test")
    images, labels = mnist.load_arrays(found, "train")
    np.testing.assert_array_equal(images, idx["train"][0])
    np.testing.assert_array_equal(labels, idx["train"][1])
    # Nothing of the test split anywhere below the kernel folder, by content either.
    test_labels = idx["test"][1].tobytes()
    assert all(test_labels not in p.read_bytes() for p in found.rglob("*") if p.is_file())
    # Later calls reuse the folder, and never leave temporary folders behind.
    inode = (found / "train-images.npy").stat().st_ino
    assert grader_mnist.kernel_data_dir(cache) == found
    assert (found / "train-images.npy").stat().st_ino == inode
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


@needs_mnist
def test_kernel_data_dir_rebuilds_an_incomplete_folder(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(DATA))
    cache = tmp_path / "cache"
    found = grader_mnist.kernel_data_dir(cache)
    with open(found / "train-images.npy", "r+b") as f:
        f.truncate(1000)
    (found / "test-labels.npy").write_bytes(b"")
    assert grader_mnist.kernel_data_dir(cache) == found
    assert sorted(p.name for p in found.iterdir()) == ["train-images.npy", "train-labels.npy"]
    assert mnist.load_arrays(found, "train")[0].shape == (60000, 784)


def test_kernel_data_dir_is_none_without_mnist(isolated, tmp_path):
    assert grader_mnist.kernel_data_dir(tmp_path / "cache") is None


@needs_mnist
def test_held_out_and_training_come_from_the_grader_cache(idx, isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(DATA))
    cache = tmp_path / "cache"
    images, labels = grader_mnist.held_out(100, cache_dir=cache)
    assert images.shape == (100, 784) and images.dtype == np.uint8 and labels.shape == (100,)
    np.testing.assert_array_equal(labels, idx["test"][1][:100])
    assert not images.flags.writeable  # shared through the in-memory cache
    assert (cache / "mnist" / "test-images.npy").is_file()
    assert grader_mnist.held_out(cache_dir=cache)[0].shape == (10000, 784)
    train_images, train_labels = grader_mnist.training(10, cache_dir=cache)
    np.testing.assert_array_equal(train_images, idx["train"][0][:10])
    assert train_labels[0] == 5
    with pytest.raises(ValueError):
        grader_mnist.held_out(10001, cache_dir=cache)


# --- broken and missing data ---------------------------------------------------------------

def _idx_bytes(magic: int, dims: tuple[int, ...], data: bytes) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + data


def test_truncated_gzip_is_a_clear_error(tmp_path):
    blob = gzip.compress(_idx_bytes(2049, (1000,), bytes(1000)))
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(mnist.IDXError, match=r"train-labels-idx1-ubyte\.gz.*truncated"):
        mnist.read_idx(path)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    blob = bytearray(gzip.compress(_idx_bytes(2049, (1000,), bytes(range(10)) * 100)))
    blob[-6] ^= 0xFF  # the CRC-32 at the end
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(mnist.IDXError, match="corrupt gzip"):
        mnist.read_idx(path)


@pytest.mark.parametrize("content,message", [
    (_idx_bytes(2051, (3, 28, 28), bytes(3 * 784 - 1)), r"truncated IDX data.*\(3, 28, 28\) need 2352 bytes.*has 2351"),
    (_idx_bytes(2051, (3, 28, 28), bytes(3 * 784 + 5)), r"5 unexpected bytes"),
    (b"\x00\x00\x08\x03\x00\x00", r"truncated IDX header"),
    (b"\x00\x00", r"only 2 bytes"),
    (b"PK\x03\x04" + bytes(100), r"not an IDX file"),
    (_idx_bytes(2051, (1 << 31, 1 << 20, 1), b""), r"claims dimensions"),
])
def test_bad_idx_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(mnist.IDXError, match=message):
        mnist.read_idx(path)


def test_swapped_files_are_caught_by_their_magic_number(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(2049, (2,), bytes(2)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(2051, (2, 28, 28), bytes(2 * 784)))
    with pytest.raises(mnist.IDXError, match="wrong IDX magic number 2049.*expected 2051"):
        mnist.load_arrays(tmp_path, "test")


def test_labels_out_of_range_are_rejected(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(2051, (2, 28, 28), bytes(2 * 784)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(2049, (2,), bytes([3, 12])))
    with pytest.raises(mnist.IDXError, match="outside 0..9"):
        mnist.load_arrays(tmp_path, "test")


def test_missing_data_lists_every_place_looked_at(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        mnist.locate(empty)
    message = str(info.value)
    places = [empty, tmp_path / "nowhere", isolated / ".keras" / "datasets", isolated / "scikit_learn_data",
              isolated / "scikit_learn_data" / "mnist", isolated / ".cache" / "itmal-grader" / "mnist"]
    for place in places:
        assert str(place) in message
    assert [p for p, _ in mnist.search_path(empty)] == [
        "the folder given", "$ITMAL_MNIST_DIR", "keras' cache", "scikit-learn's data folder",
        "scikit-learn's data folder", "the itmal-grader cache"]
    for name in IDX_NAMES:
        assert name in message
    assert "ITMAL_MNIST_DIR" in message and "download(" in message and "allow=True" in message


def test_load_arrays_from_a_folder_without_mnist(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        mnist.load_arrays(tmp_path, "train")
    with pytest.raises(ValueError, match="split"):
        mnist.load_arrays(tmp_path, "validation")


def test_keras_npz_is_found_and_read(isolated):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_train": np.arange(5, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), "y_test": np.array([7, 2, 1], np.uint8)}
    datasets = isolated / ".keras" / "datasets"
    datasets.mkdir(parents=True)
    np.savez_compressed(datasets / "mnist.npz", **arrays)
    assert mnist.locate(splits=("train", "test")) == datasets
    images, labels = mnist.load_arrays(datasets, "test")
    assert images.shape == (3, 784) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, arrays["x_test"].reshape(3, 784))
    np.testing.assert_array_equal(labels, [7, 2, 1])
    X, y = dataloaders_v2.MNIST_GetDataSet()
    assert X.shape == (8, 784) and list(y) == [0, 1, 2, 3, 4, 7, 2, 1]


def test_environment_variable_comes_before_the_usual_caches(isolated, tmp_path, monkeypatch):
    ones, twos = tmp_path / "ones", tmp_path / "twos"
    mnist.save_cache(ones, "train", np.ones((2, 784), np.uint8), np.ones(2, np.uint8))
    mnist.save_cache(twos, "train", np.full((2, 784), 2, np.uint8), np.full(2, 2, np.uint8))
    monkeypatch.setenv("ITMAL_CACHE_DIR", str(tmp_path))  # <tmp>/mnist: not there
    monkeypatch.setenv("ITMAL_MNIST_DIR", str(twos))
    assert mnist.locate() == twos
    assert mnist.locate(ones) == ones
    with pytest.raises(FileNotFoundError, match="has only the train split"):
        mnist.locate(splits=("test",))


# --- download (127.0.0.1 only) -------------------------------------------------------------

@pytest.fixture
def served(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving the folder it returns (bounded: shut down after)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/mnist/"
    server.shutdown()
    server.server_close()
    thread.join(5)


@needs_mnist
def test_download_from_a_local_server_verifies_checksums(idx, served, tmp_path):
    root, url = served
    shutil.copytree(DATA, root / "mnist", ignore=shutil.ignore_patterns("*.md"))
    dest = mnist.download(tmp_path / "dest", allow=True, base_url=url, timeout=10)
    assert sorted(p.name for p in dest.iterdir()) == sorted(IDX_NAMES)
    for name in IDX_NAMES:
        assert (dest / name).read_bytes() == (DATA / name).read_bytes()
    np.testing.assert_array_equal(mnist.load_arrays(dest, "test")[1], idx["test"][1])
    # A second call keeps the verified files (even with the server gone).
    mnist.download(dest, allow=True, base_url="http://127.0.0.1:9/", timeout=1)


@needs_mnist
def test_download_rejects_a_wrong_checksum(served, tmp_path):
    root, url = served
    shutil.copytree(DATA, root / "mnist", ignore=shutil.ignore_patterns("*.md"))
    tampered = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    blob = gzip.decompress(tampered.read_bytes())
    tampered.write_bytes(gzip.compress(blob[:8] + bytes([(blob[8] + 1) % 10]) + blob[9:]))
    dest = tmp_path / "dest"
    with pytest.raises(mnist.IDXError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 .* does not match"):
        mnist.download(dest, allow=True, base_url=url, timeout=10)
    assert "t10k-labels-idx1-ubyte.gz" not in {p.name for p in dest.iterdir()}
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no partial files left


def test_download_from_a_file_url_rejects_a_wrong_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train-images-idx3-ubyte.gz").write_bytes(b"not mnist")
    with pytest.raises(mnist.IDXError, match="does not match"):
        mnist.download(tmp_path / "dest", allow=True, base_url=src.as_uri() + "/")


def test_download_needs_allow(tmp_path):
    with pytest.raises(mnist.DownloadNotAllowed, match="allow=True"):
        mnist.download(tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    with pytest.raises(ValueError, match="http, https or file"):
        mnist.download(tmp_path / "dest", allow=True, base_url="ftp://127.0.0.1/")


# --- a real kernel -------------------------------------------------------------------------

@needs_mnist
def test_a_graders_kernel_sees_the_training_split_only(isolated, tmp_path, monkeypatch, config):
    """End to end: the kernel's MNIST_GetDataSet gives 60000 digits, and no test split is
    reachable through $ITMAL_MNIST_DIR."""
    from grader.kernel.execute import END, FetchPlan, execute_notebook
    from grader.grade import kernel_data_sets
    from grader_journal2 import SUPPORT_FILES
    from grader.kernel.requests import value
    from grader.kernel.sandbox import KernelOptions

    monkeypatch.setenv("ITMAL_MNIST_DIR", str(DATA))
    options = KernelOptions(profile="quick", data=tuple(kernel_data_sets(tmp_path / "cache").items()))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\n"
        "from libitmal.dataloaders import MNIST_GetDataSet\n"
        "X, y = MNIST_GetDataSet()\n"
        "shape = list(X.shape); first = int(y[0])\n"
        "listing = sorted(os.listdir(os.environ['ITMAL_MNIST_DIR']))\n")]
    plan = FetchPlan()
    for name in ("shape", "first", "listing"):
        plan.add(END, "q", value(name))
    execution = execute_notebook(nb, plan, limits=TEST_LIMITS, sandbox=config.sandbox,
                                 support_files=SUPPORT_FILES, options=options)
    assert execution.cells[0].status == "ok", execution.cells[0]
    got = {key: answer.value for key, answer in execution.answers["q"].items()}
    assert list(got.values()) == [[60000, 784], 5, ["train-images.npy", "train-labels.npy"]], got
