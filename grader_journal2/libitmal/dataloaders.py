"""Older name of the course's loaders module; kept so both imports work."""

from .dataloaders_v2 import IRIS_GetDataSet, MNIST_GetDataSet, MOON_GetDataSet

__all__ = ["IRIS_GetDataSet", "MNIST_GetDataSet", "MOON_GetDataSet"]
