"""The backup service: the one thing the fronts (event sources, HTTP routes, chat commands) call."""

from lib.service.backups import BackupService, Execution, ServiceError

__all__ = ["BackupService", "Execution", "ServiceError"]
