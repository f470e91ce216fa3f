import sys

from line_emulator.cli import main

sys.exit(main())
