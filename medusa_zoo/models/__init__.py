"""Networks: the architecture registry, configs, the multi-task network and its files."""

from .config import ModelConfig, Preprocessing
from .network import MultiTaskNet
from .outputs import Features, MultiTaskOutput
from .zoo import ARCHITECTURES, Architecture

__all__ = ["ARCHITECTURES", "Architecture", "Features", "ModelConfig", "MultiTaskNet", "MultiTaskOutput", "Preprocessing"]
