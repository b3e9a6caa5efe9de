"""Networks: the architecture registry, configs, the multi-task network and its files.

Models sit above backbones, heads and tasks, and import nothing from data, hub or training.
"""

from .checkpoints import CheckpointEntry, HubLocation
from .config import ModelConfig, Preprocessing
from .loading import load_folder
from .network import MultiTaskNet
from .outputs import Features, MultiTaskOutput
from .trunk import FreezeSummary
from .zoo import ARCHITECTURES, Architecture

__all__ = [
    "ARCHITECTURES", "Architecture", "CheckpointEntry", "Features", "FreezeSummary", "HubLocation", "ModelConfig",
    "MultiTaskNet", "MultiTaskOutput", "Preprocessing", "load_folder",
]
