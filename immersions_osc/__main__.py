import sys

from .cli import main

if __name__ == "__main__":  # not when the audio process (multiprocessing, spawn) imports it
    sys.exit(main())
