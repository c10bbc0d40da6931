"""Robustness harness: everyday degradations (DeeperForensics-1.0's seven types x five levels, and what
platforms do) applied to media before the whole pipeline runs; see :mod:`.perturbations` and :mod:`.harness`."""

from .harness import Condition, run, scan_perturbed, summary
from .perturbations import DEEPERFORENSICS, PARAMETERS, REAL_WORLD, Perturbation, all_perturbations

__all__ = ["DEEPERFORENSICS", "PARAMETERS", "REAL_WORLD", "Condition", "Perturbation", "all_perturbations", "run",
           "scan_perturbed", "summary"]
