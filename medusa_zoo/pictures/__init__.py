"""Pictures people look at: each prediction with a legend of its colours, and a results page of them all.

    from medusa_zoo.pictures import task_picture, write_results_page
    task_picture(model.tasks["depth"], prediction["depth"]).save("depth.png")   # picture + colour bar
    write_results_page("out/", model, images, model.predict(images), model.explain(images))

The colour map of each task kind is listed in :mod:`.legends`. This layer draws what it is given:
it loads no model (the command line, ``medusa-zoo predict``, does and passes it in).
"""

from __future__ import annotations

from .legends import (
    attention_with_legend,
    class_legend,
    colour_bar,
    normals_key,
    probability_bar,
    task_legend,
    task_picture,
)
from .page import PAGE_NAME, safe_name, write_results_page

__all__ = [
    "PAGE_NAME",
    "attention_with_legend",
    "class_legend",
    "colour_bar",
    "normals_key",
    "probability_bar",
    "safe_name",
    "task_legend",
    "task_picture",
    "write_results_page",
]
