"""torch.hub entry points: ``torch.hub.load("<owner>/medusa_zoo", "medusa_efficientnet_lite0")``.

One entry point per published checkpoint of ``checkpoints.json``; each returns the network in
eval mode. ``pretrained=True`` (default) loads the checkpoint's weights (bundled, or from the
Hub at the commit the manifest pins, sha256-checked); ``pretrained=False`` builds the
architecture with random weights, and then takes ``tasks=`` and head options. Other keywords
(``device``, ``dtype``, ``cache_dir``) go to :meth:`medusa_zoo.MultiTaskNet.from_pretrained`.
"""

from __future__ import annotations

from typing import Any as _Any

dependencies = ["torch", "timm", "huggingface_hub", "safetensors"]


def _entry(checkpoint: str, summary: str) -> _Any:
    """The entry point loading ``checkpoint`` (``"arch.tag"``)."""

    def entry(pretrained: bool = True, **kwargs: _Any) -> _Any:
        import medusa_zoo

        if pretrained:
            return medusa_zoo.MultiTaskNet.from_pretrained(checkpoint, **kwargs)
        return medusa_zoo.load(checkpoint.partition(".")[0], pretrained=False, **{"device": "cpu", **kwargs})

    entry.__doc__ = (
        f"{summary}\n\n``pretrained=True``: the published checkpoint ``{checkpoint}``; ``pretrained=False``: "
        "random weights (``tasks=`` and head options allowed). Returns a ``medusa_zoo.MultiTaskNet`` in eval mode."
    )
    return entry


medusa_efficientnet_lite0 = _entry(
    "medusa_efficientnet_lite0.synthrooms",
    "Medusa (SFA + MSA heads) on EfficientNet-Lite0, trained on synthrooms: semseg, depth, normals, edge, "
    "saliency, parts.",
)
medusa_efficientnet_lite0_no_normals = _entry(
    "medusa_efficientnet_lite0.synthrooms-no-normals",
    "Medusa on EfficientNet-Lite0, trained on synthrooms without the normals task.",
)
mtinet_efficientnet_lite0 = _entry(
    "mtinet_efficientnet_lite0.synthrooms",
    "MTI-Net on EfficientNet-Lite0, trained on synthrooms: semseg, depth, normals, edge, saliency, parts.",
)
