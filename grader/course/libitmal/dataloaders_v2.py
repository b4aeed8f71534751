"""Course data loaders, with the course's names and defaults (fixed for today's libraries)."""

from sklearn.datasets import load_iris, make_moons


def MOON_GetDataSet(n_samples=100, noise=0.1, random_state=0):
    """The two-moons data set: X of shape (n_samples, 2), y in {0, 1}."""
    return make_moons(n_samples=n_samples, noise=noise, random_state=random_state)


def IRIS_GetDataSet():
    """The iris data set: X of shape (150, 4), y in {0, 1, 2}."""
    iris = load_iris()
    return iris.data, iris.target
