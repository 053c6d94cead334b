"""Development side of dds-backup: the CLI, the DDS API emulator and the local context. Never in the zip."""
