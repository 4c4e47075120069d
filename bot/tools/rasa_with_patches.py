"""Rasa's command line with the product's patches to Rasa applied (bot/rasa_patches.py), so that
`make test-stories` checks the conversations as the product's Rasa server runs them."""

from __future__ import annotations

import sys

from bot import rasa_patches


def main() -> None:
    from rasa.__main__ import main as rasa_main

    rasa_patches.apply()
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
