"""``python -m medusa_zoo <command>``: see :mod:`medusa_zoo.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
