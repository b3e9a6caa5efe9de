"""The multi-task network: a backbone, a decoder and the task definitions.

``forward`` is for training (normalised tensors in, raw logits out); ``predict`` and
``features`` are for users (any images in, post-processed outputs out).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import FeatureInfo, build_backbone
from ..devices import resolve_device, resolve_dtype
from ..errors import DuplicateNameError, IncompatibleConfigError, InvalidImageError
from ..heads import HEADS, build_decoder
from ..inputs import ImageInput, to_image_list
from ..resize import bilinear
from ..tasks import Task, make_task
from . import data_config, head_files, publish, sources, trunk
from .card import model_card
from .checkpoints import CheckpointEntry
from .config import ModelConfig
from .fitting import fitted_size, resize, target_size
from .inference import check_batch_size, requested_tasks
from .outputs import Features, MultiTaskOutput
from .provenance import PROVENANCE_KEY, Provenance
from .serialization import load_state_strict, read_weights, write_pretrained
from .trunk import FreezeSummary

Prediction = dict[str, torch.Tensor]


class MultiTaskNet(nn.Module):
    """Backbone + decoder + tasks, built from a :class:`ModelConfig` with random weights.

    Load trained weights with :func:`medusa_zoo.load`; build untrained ones with
    :func:`medusa_zoo.load` (``pretrained=False``) or :func:`medusa_zoo.build_model`. The
    backbone comes from the backbone registry (:func:`~medusa_zoo.backbones.build_backbone`),
    the decoder from the head registry; every decoder implements
    :class:`~medusa_zoo.heads.Decoder`, which is all the task methods below rely on.
    """

    def __init__(self, config: ModelConfig, backbone_weights: str | None = None) -> None:
        super().__init__()
        self.backbone = build_backbone(config.backbone, weights=backbone_weights)
        self.config = ModelConfig(
            config.head, self.backbone.spec, config.tasks, config.head_options, config.preprocessing, config.arch
        )
        self.tasks: dict[str, Task] = {t.name: t for t in config.tasks}
        out_channels = {t.name: t.out_channels for t in config.tasks}
        self.decoder = build_decoder(config.head, self.backbone.feature_info, out_channels, config.head_options)
        mean = torch.tensor(config.preprocessing.mean).view(1, 3, 1, 1)
        std = torch.tensor(config.preprocessing.std).view(1, 3, 1, 1)
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_std", std, persistent=False)
        self.source: str | None = None  # the checkpoint it was loaded from, when load() knows it
        self._trainable: tuple[str, ...] | None = None  # set by freeze()
        self._optimized: dict[str, Any] | None = None  # set by optimize_for_inference()

    @property
    def feature_info(self) -> FeatureInfo:
        """Channels and stride of each level the heads read."""
        return self.backbone.feature_info

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Floating point type of the weights."""
        return next(self.parameters()).dtype

    def forward(self, x: torch.Tensor, tasks: Sequence[str] | None = None) -> MultiTaskOutput:
        """Raw outputs for a normalised batch (B, 3, H, W) whose sides are multiples of the max stride.

        ``tasks`` (default: all) selects the outputs; only the modules they need run (every head
        for coupled decoders' jointly trained tasks, one head each for independent heads).
        """
        if self._optimized is not None and self._optimized["channels_last"] and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        logits, deep = self.decoder(self.backbone(x), None if tasks is None else self._task_names(tasks))
        size = x.shape[-2:]
        logits = {t: bilinear(v, size) for t, v in logits.items()}
        return MultiTaskOutput(logits, deep)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> the backbone's input distribution, on the model's device."""
        images = images.to(self.device)
        return ((images - self.pixel_mean) / self.pixel_std).to(self.dtype)

    def optimize_for_inference(self, channels_last: bool = True) -> MultiTaskNet:
        """Rewrite this network for inference and return it (in eval mode).

        Every BatchNorm is folded into the convolution before it (for every architecture: the
        backbone's, the heads' and the decoders' BatchNorms alike), and with ``channels_last``
        weights and inputs use the channels-last memory format, which PyTorch's CPU and CUDA
        convolutions run faster. Outputs stay equal to the eager network's within 1e-4 (relative
        to their scale; checked on a probe input here, and for every registered architecture
        in the tests). The rewrite is one-way: the model can no longer train, change its tasks
        or be saved; load it again for that.
        """
        if self._optimized is not None:
            return self
        from .inference import fold_batchnorm

        self.eval()
        side = 2 * self.feature_info.max_stride
        probe = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
        folded = fold_batchnorm(self, self.normalize(probe))
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self._optimized = {"batchnorm_folded": folded, "channels_last": channels_last}
        return self

    def predict(
        self,
        images: ImageInput | Sequence[ImageInput],
        tasks: Sequence[str] | None = None,
        batch_size: int = 8,
        *,
        size: int | Sequence[int] | None = None,
        native: bool = False,
    ) -> Prediction | list[Prediction]:
        """Post-processed predictions at each image's own size, on the CPU.

        Accepts a path, PIL image, HxWx3 numpy array, CHW / BCHW tensor (uint8, or float in
        [0, 1]) or a list of these. Returns one dict per image (a list for lists and BCHW
        tensors) mapping each requested task to: segmentation (H, W) int64 labels, depth
        (H, W) metres, normals (3, H, W) unit vectors, edge / saliency (H, W) probabilities.

        The network sees each image at its **design size** (``config.preprocessing.input_size``,
        e.g. 192x256): resized with its aspect ratio kept, padded, and the outputs resized
        back to the image's size. A network trained at one scale does much worse on objects
        2-3x larger than it ever saw, which is what a photo at full resolution shows it.
        ``size=(H, W)`` fits into another canvas; ``native=True`` runs at the image's own size.
        Images of one fitted size run together, ``batch_size`` at a time, under
        ``torch.inference_mode``; the returned tensors are ordinary ones (usable as training
        targets), each owning its memory. Any size from 1x1 works; an image over
        ``medusa_zoo.limits`` ``max_image_pixels`` is refused before it is decoded or copied
        (:class:`~medusa_zoo.errors.ImageTooLargeError`), since the outputs come back at its size.
        """
        wanted, batch_size = requested_tasks(tasks, self.tasks), check_batch_size(batch_size)
        canvas = target_size(self.config.preprocessing.input_size, size, native)
        tensors, batched = to_image_list(images, min_size=1)  # any size: padded to the stride, cropped back
        sizes = [tuple(t.shape[-2:]) for t in tensors]
        if canvas is not None:
            tensors = [resize(t, fitted_size(s, canvas)) for t, s in zip(tensors, sizes)]
        results: list[Prediction] = [{} for _ in tensors]
        with self._eval(), torch.inference_mode():
            for indices, batch, (h, w) in self._batches(tensors, batch_size, canvas):
                logits = self(batch, wanted).logits
                for name in wanted:
                    for row, index in enumerate(indices):
                        region = resize(logits[name][row : row + 1, :, :h, :w], sizes[index])
                        results[index][name] = self.tasks[name].postprocess(region)[0].cpu()
        results = [{name: value.clone() for name, value in result.items()} for result in results]
        return results if batched else results[0]

    @torch.no_grad()
    def features(self, images: ImageInput | Sequence[ImageInput]) -> Features:
        """Universal features of one image or a batch of same-size images (see :class:`Features`).

        Computed without gradients but outside inference mode, so the tensors can feed a
        downstream model that is being trained.
        """
        tensors, _ = to_image_list(images, min_size=1)  # any size: padded to the stride, cropped back
        sizes = {tuple(t.shape[-2:]) for t in tensors}
        if len(sizes) > 1:
            raise InvalidImageError(
                f"features() of several images needs them at one size, got {sorted(sizes)}; "
                "resize them to one size or call features() once per image"
            )
        with self._eval():
            [(_, batch, (h, w))] = list(self._batches(tensors, batch_size=len(tensors)))
            maps = self.backbone(batch)
        strides = self.feature_info.strides
        maps = [m[..., : math.ceil(h / s), : math.ceil(w / s)] for m, s in zip(maps, strides)]
        embedding = torch.cat([m.float().mean(dim=(2, 3)) for m in maps], dim=1)
        return Features(maps, strides, embedding)

    def explain(
        self,
        images: ImageInput | Sequence[ImageInput],
        tasks: Sequence[str] | None = None,
        batch_size: int = 8,
        *,
        size: int | Sequence[int] | None = None,
        native: bool = False,
        mask_maps: bool = False,
    ) -> dict[str, dict[str, Any]] | list[dict[str, dict[str, Any]]]:
        """What each task's Medusa head attends to, per image at its own size (:meth:`predict`'s inputs and fitting).

        Per image (a list for lists and BCHW tensors), per task: ``{"scales": strides (S, finest first),
        "scale_weights": (S, H, W) Multi-Scale Attention softmax (in [0, 1], summing to 1 per pixel),
        "mask_energy": (S,) Shared Feature Attention mask averaged over channels and the image's pixels}``;
        ``mask_maps=True`` adds ``"mask_maps"`` (S, H, W), the mask's channel mean. Details, and
        ``attention_picture`` to draw the weights, in :mod:`medusa_zoo.models.explain`. Models without
        these attentions (MTI-Net, PAD-Net, MTL, STL, Medusa ablations) raise ``IncompatibleConfigError``.
        """
        from .explain import explain

        return explain(self, images, tasks, batch_size, size=size, native=native, mask_maps=mask_maps)

    # ------------------------------------------------------------ new tasks on a trained trunk
    def add_task(
        self,
        name: str | Task,
        kind: str | None = None,
        out_channels: int | None = None,
        labels: Sequence[str] | None = None,
    ) -> Task:
        """Attach a freshly initialised head of this model's own type for a new task.

        ``kind`` is a built-in task (``"normals"``, ``"edge"``, ``"semseg"``...; default:
        ``name``) or a registered task kind: ``"dense_classification"`` with ``out_channels=K``
        classes (or ``labels``), ``"dense_regression"`` with ``out_channels=C`` values per
        pixel, or any kind registered with :func:`medusa_zoo.tasks.register_kind`. The loss,
        post-processing, colouring and metric follow from the kind. Medusa gets a new SFA + MSA
        head; MTL an HRNet head; MTI-Net / PAD-Net task-specific modules that read the jointly
        trained tasks (which never read the new one). The other tasks' outputs do not change.
        Seed with ``torch.manual_seed`` for a reproducible initialisation. A
        :class:`~medusa_zoo.tasks.Task` may be passed instead of ``name`` (e.g. a dataset's own
        task definition with its class names); ``kind`` and friends must then be left out.
        """
        self._refuse_if_optimized("add a task")
        if isinstance(name, Task):
            if kind is not None or out_channels is not None or labels is not None:
                raise IncompatibleConfigError("add_task(task) takes a Task alone; kind/out_channels/labels come from it")
            task = name
        else:
            task = make_task(name, kind, out_channels, labels)
        self._check_addable(task)
        self._attach(task)
        return task

    def remove_task(self, name: str) -> None:
        """Remove a task and its head; the other tasks' outputs do not change.

        MTI-Net and PAD-Net can only remove tasks added after training (the jointly trained
        ones read each other).
        """
        self._refuse_if_optimized("remove a task")
        self._task_names([name])
        if len(self.tasks) == 1:
            raise IncompatibleConfigError(f"{name!r} is this model's only task; a model needs at least one")
        self.decoder.remove_task(name)
        del self.tasks[name]
        self._record_tasks([t for t in self.config.tasks if t.name != name])
        if self._trainable is not None:
            remaining = tuple(t for t in self._trainable if t != name)
            if remaining:
                self.freeze(remaining)
            else:
                self.unfreeze()

    def freeze(self, train: Sequence[str]) -> FreezeSummary:
        """Freeze everything but the heads of the tasks in ``train``, BatchNorm statistics included.

        Frozen parameters stop requiring gradients and frozen modules stay in eval mode even
        under ``model.train()``, so their BatchNorm running statistics never move. Returns
        (and ``str()`` describes) how many parameters remain trainable. :meth:`unfreeze` undoes it.
        """
        names = tuple(self._task_names(list(train)))
        if not names:
            raise IncompatibleConfigError("freeze(train=[...]) needs at least one task to train; use unfreeze() to undo")
        self.requires_grad_(False)
        for name in names:
            for module in self.decoder.task_modules(name):
                module.requires_grad_(True)
        self._trainable = names
        self.train(self.training)
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return FreezeSummary(names, trainable, sum(p.numel() for p in self.parameters()) - trainable)

    def unfreeze(self) -> None:
        """Make every parameter trainable again (undoes :meth:`freeze`)."""
        self._trainable = None
        self.requires_grad_(True)
        self.train(self.training)

    def train(self, mode: bool = True) -> MultiTaskNet:
        """Set training mode; after :meth:`freeze`, only the trainable heads enter it."""
        if mode:
            self._refuse_if_optimized("train")
        super().train(mode)
        if mode and self._trainable is not None:
            for module in self.modules():
                module.training = False
            self.training = True
            for name in self._trainable:
                for module in self.decoder.task_modules(name):
                    module.train(True)
        return self

    def head_module_names(self, name: str) -> list[str]:
        """Qualified names of the modules that belong to task ``name`` alone (what fine-tuning it trains)."""
        return trunk.head_module_names(self, self.decoder, name)

    def colorize(self, prediction: Prediction) -> dict[str, np.ndarray]:
        """(H, W, 3) uint8 pictures of one image's predictions, keyed by task."""
        return {name: self.tasks[name].colorize(value) for name, value in prediction.items()}

    # ------------------------------------------------------------ files (the work is in the modules that own it)
    @classmethod
    def from_pretrained(
        cls, path_or_repo_id: str | Path, revision: str | None = None, *, device: str | torch.device = "cpu",
        dtype: str | torch.dtype | None = None, cache_dir: str | Path | None = None,
    ) -> MultiTaskNet:  # fmt: skip
        """The network saved by :meth:`save_pretrained` / :meth:`push_to_hub`, in eval mode; weights load strictly.

        ``path_or_repo_id``: a folder (path or ``"local-dir:PATH"``), a Hub repo ``"org/name"`` at
        ``revision`` (default ``main``), or a published ``"arch.tag"`` / ``"arch"`` (pinned by the manifest).
        """
        found = sources.resolve(path_or_repo_id, revision, cache_dir)
        target = resolve_device(device)
        precision = resolve_dtype(dtype, target)
        model = cls(found.config)
        load_state_strict(model, read_weights(found.weights), f"{found.source} ({found.weights})")
        model.source, model._provenance = found.source, found.provenance
        return model.to(device=target, dtype=precision).eval()

    @property
    def provenance(self) -> Provenance:
        """Name, recipe, licence and metrics of the weights when known (from the manifest or the weights' header)."""
        known = self.__dict__.get("_provenance")
        if known is None and self.source and not self.source.startswith((sources.LOCAL_PREFIX, sources.HUB_PREFIX)):
            known = self.__dict__["_provenance"] = sources.provenance_of(self.source)
        return known or Provenance()

    @property
    def pretrained_cfg(self) -> dict[str, Any]:
        """timm-style data config and provenance (see :func:`~medusa_zoo.models.data_config.pretrained_cfg`)."""
        return data_config.pretrained_cfg(self.config, self.provenance, self.source)

    def transforms(self) -> Any:
        """torchvision v2: image -> normalised (3, H, W) for :meth:`forward`; no resize (:meth:`predict` fits sizes)."""
        return data_config.inference_transforms(self.config)

    def save_pretrained(
        self, directory: str | Path, *, name: str | None = None, metrics: Mapping[str, Any] | None = None,
        recipe: str | None = None, license: str | None = None, load_name: str | None = None,
    ) -> Path:  # fmt: skip
        """Write ``config.json``, ``model.safetensors`` and a ``README.md`` card into ``directory``.

        Card and weights' header keep :attr:`provenance`; the keywords given replace its fields
        (``load_name``: the card's usage snippet). Load it back with :meth:`from_pretrained`.
        """
        self._refuse_if_optimized("be saved")
        kept = self.provenance.updated(name=name, metrics=metrics, recipe=recipe, license=license).for_tasks(self.tasks)
        params = sum(p.numel() for p in self.parameters())
        card = model_card(self.config, params, kept, load_name)
        return write_pretrained(directory, self.config, self.state_dict(), card, {PROVENANCE_KEY: kept.to_json()})

    def push_to_hub(self, repo_id: str, **options: Any) -> CheckpointEntry:
        """Upload to the Hub and return (and print) the pinned ``checkpoints.json`` entry.

        See :func:`medusa_zoo.models.publish.push_to_hub` for the options (``name``,
        ``metrics``, ``recipe``, ``license``, ``private``, ``token``, ``branch``, ``endpoint``).
        """
        return publish.push_to_hub(self, repo_id, **options)

    def save_head(self, name: str, directory: str | Path) -> Path:
        """Write task ``name``'s head alone into ``directory``: ``head.safetensors`` + ``head.json``.

        ``head.json`` records the task, the head type and the sha256 of the trunk it was
        trained on (:meth:`trunk_fingerprint`); :meth:`load_head` refuses any other trunk.
        """
        self._refuse_if_optimized("save a head")
        self._task_names([name])
        trained_on = {"sha256": self.trunk_fingerprint(), "source": self.source,
                      "other_tasks": [t for t in self.tasks if t != name]}  # fmt: skip
        parameters = sum(p.numel() for m in self.decoder.task_modules(name) for p in m.parameters())
        state = trunk.head_state(self, self.decoder, name)
        return head_files.write_head(directory, self.tasks[name], self.config, self._own_options(), state, parameters,
                                     trained_on)

    def load_head(self, directory: str | Path) -> Task:
        """Attach the head saved by :meth:`save_head` in ``directory``; returns its task.

        Raises :class:`~medusa_zoo.errors.HeadMismatchError` when the head was trained on
        another trunk, head type or backbone, and :class:`~medusa_zoo.errors.DuplicateNameError`
        when the model already has a task of that name.
        """
        self._refuse_if_optimized("load a head")
        record, weights = head_files.read_head(directory)
        task = head_files.check_head_fits(record, self.config, self._own_options(), self.trunk_fingerprint(), Path(directory))
        self._check_addable(task)
        self._attach(task)
        try:
            part = trunk.head_state(self, self.decoder, task.name)
            load_state_strict(self, read_weights(weights), str(weights), part=part)
        except Exception:
            self.remove_task(task.name)
            raise
        return task

    # ------------------------------------------------------------ internals
    def _refuse_if_optimized(self, action: str) -> None:
        if self._optimized is not None:
            raise IncompatibleConfigError(
                f"this model was optimized for inference (BatchNorm folded into its convolutions), so it cannot {action}; "
                "load it again (medusa_zoo.load) for that"
            )

    def _check_addable(self, task: Task) -> None:
        """Refuse a task the model cannot take, before anything changes."""
        if task.name in self.tasks:
            raise DuplicateNameError(
                f"this model already has a task {task.name!r}; remove_task({task.name!r}) first or choose another name"
            )
        head = HEADS.get(self.config.head)
        if head.max_tasks is not None and len(self.tasks) >= head.max_tasks:
            raise IncompatibleConfigError(
                f"a {head.name!r} model holds {head.max_tasks} task(s); a new task needs a multi-task head "
                "(e.g. 'mtl' or 'medusa')"
            )

    def _attach(self, task: Task) -> None:
        self.decoder.add_task(task.name, task.out_channels)
        self.decoder.to(device=self.device, dtype=self.dtype)
        self.tasks[task.name] = task
        self._record_tasks([*self.config.tasks, task])
        if self._trainable is not None:
            self.freeze(self._trainable)
        self.train(self.training)

    def _own_options(self) -> dict[str, Any]:
        """The head options that define the head type's modules (without the decoder's task state)."""
        return {k: v for k, v in self.config.head_options.items() if k not in self.decoder.STATE_OPTIONS}

    def _record_tasks(self, tasks: Sequence[Task]) -> None:
        """Keep ``config`` in step with the decoder: its tasks and its task-state options."""
        options = {**self._own_options(), **self.decoder.state_options()}
        self.config = dataclasses.replace(self.config, tasks=tuple(tasks), head_options=options)

    def trunk_fingerprint(self) -> str:
        """sha256 of the trunk: everything but the removable tasks' modules (what a head reads).

        Unchanged by adding, removing or training heads; see :mod:`medusa_zoo.models.trunk`.
        """
        return trunk.trunk_fingerprint(self, self.decoder)

    def _task_names(self, tasks: Sequence[str] | None) -> list[str]:
        if isinstance(tasks, (list, tuple)) and not tasks:
            return []
        return requested_tasks(tasks, self.tasks)

    def _batches(
        self, tensors: list[torch.Tensor], batch_size: int = 8, canvas: tuple[int, int] | None = None
    ) -> Iterator[tuple[list[int], torch.Tensor, tuple[int, int]]]:
        """Group same-size images, normalise and pad them (to ``canvas``, then to the stride; the
        padding is the mean colour); yield (indices, batch, size)."""
        groups: dict[tuple[int, int], list[int]] = {}
        for index, tensor in enumerate(tensors):
            groups.setdefault((tensor.shape[-2], tensor.shape[-1]), []).append(index)
        stride = self.feature_info.max_stride
        for (h, w), indices in groups.items():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                batch = self.normalize(torch.stack([tensors[i] for i in chunk]))
                full_h, full_w = max(h, canvas[0]) if canvas else h, max(w, canvas[1]) if canvas else w
                batch = F.pad(batch, (0, full_w - w + -full_w % stride, 0, full_h - h + -full_h % stride))
                yield chunk, batch, (h, w)

    @contextmanager
    def _eval(self) -> Iterator[None]:
        """Evaluation mode for the duration of a call, restoring the previous mode after."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)
