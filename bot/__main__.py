"""`python -m bot …` runs the dxbot CLI, for an install whose scripts folder is not on PATH."""

from bot.cli import main

if __name__ == "__main__":
    main()
