"""The DDS API emulator: an aiohttp server on loopback playing DDS v3 and IAM's token endpoint."""

from dds_backup_dev.emulator.app import create_app
from dds_backup_dev.emulator.server import EmulatorServer
from dds_backup_dev.emulator.state import EmulatorState, Fault

__all__ = ["EmulatorServer", "EmulatorState", "Fault", "create_app"]
