"""Heads: everything between the backbone's feature maps and the per-task logits.

``HEADS`` maps a head type name (``medusa``, ``mtinet``, ``padnet``, ``mtl``, ``stl``) to a builder
that needs only the backbone's :class:`~medusa_zoo.backbones.FeatureInfo`, the tasks'
output sizes and the head's options.
"""

from .decoder import CoupledDecoder, Decoder, DecoderOutput, IndependentHeads, TaskHead
from .head_types import HEADS, HeadType, build_decoder
from .hrnet_head import HRNetHead
from .medusa import MASK_TYPES, MedusaHead
from .mtinet import MTINetDecoder
from .options import OPTION_CHECKS, check_head_options
from .padnet import PADNetDecoder

__all__ = [
    "HEADS",
    "MASK_TYPES",
    "OPTION_CHECKS",
    "CoupledDecoder",
    "Decoder",
    "DecoderOutput",
    "HRNetHead",
    "HeadType",
    "IndependentHeads",
    "MTINetDecoder",
    "MedusaHead",
    "PADNetDecoder",
    "TaskHead",
    "build_decoder",
    "check_head_options",
]
