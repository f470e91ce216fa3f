pytest_plugins = ["line_emulator.testing"]
