"""Older name of the course's loaders module; kept so both imports work."""

from .dataloaders_v2 import *  # noqa: F401,F403
from .dataloaders_v2 import IRIS_GetDataSet, MOON_GetDataSet  # noqa: F401
