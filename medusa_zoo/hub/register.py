"""``python -m medusa_zoo.hub.register``: moved to ``python -m medusa_zoo register`` (:mod:`medusa_zoo.training.register`).

This module only forwards the old command; it holds no code of its own.
"""

if __name__ == "__main__":
    import sys

    from ..cli import main

    sys.exit(main(["register", *sys.argv[1:]], legacy="medusa_zoo.hub.register"))
