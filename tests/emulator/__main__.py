"""`python -m tests.emulator [PORT] [--forever]`, from the repository's root."""

from .server import main

main()
