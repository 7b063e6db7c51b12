"""``python -m translate`` (also what ``torchrun -m translate`` runs)."""

from .cli import main

raise SystemExit(main())
