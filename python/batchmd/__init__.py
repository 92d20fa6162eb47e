"""batchmd: thousands of structures at once through geometry optimization
and molecular dynamics, batch-first (docs/python.md).

    import batchmd as bmd
    model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
    relax = bmd.FIRE(model, fmax=0.05, max_steps=1000)
    md = bmd.NVTLangevin(model, dt=2.0, temperature=300, friction=0.01, steps=5000)
    result = (relax + md).run(structures, seed=7)   # a list of ase.Atoms
    result.final, result.failed
"""
from . import _core, models
from ._core import BatchmdError
from .calculator import Calculator, evaluate
from .campaign import Campaign, CampaignError
from .dynamics import CLASSES as _CLASSES, Dynamics, FusedStage, Pipeline, Result
from .hooks import (Batch, ConvergedSnapshotHook, EnergyDrift, ForceClamp, Hook, HookStageEnum, LoggingHook,
                    NaNDetector, SnapshotHook)
from .sampler import SizeAwareSampler
from .sinks import H5MD, Chain, ExtXYZ, HostMemory

globals().update(_CLASSES)
__version__ = _core.version()
__all__ = ["models", "BatchmdError", "Calculator", "evaluate", "Campaign", "CampaignError", "Dynamics",
           "FusedStage", "Pipeline", "Result", "Batch", "Hook", "HookStageEnum", "LoggingHook", "SnapshotHook",
           "ConvergedSnapshotHook", "NaNDetector", "ForceClamp", "EnergyDrift", "SizeAwareSampler", "HostMemory",
           "ExtXYZ", "H5MD", "Chain"] + sorted(_CLASSES)
