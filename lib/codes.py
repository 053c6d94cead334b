"""Every error code of the function's own, with what it means and whether trying again can help.

The codes the API answers (``DBS.*``, ``APIG.*``, ``SMN.<digits>``) are the API's and pass through as it sent them
(``lib/cloud/errors.py`` keeps what is known of them); every other ``error.code`` is one of these. docs/codes.md
lists the same codes for users (with the HTTP status of each route), and a test compares the two lists.

``retryable`` is the code's usual verdict; the one exception is said where it is made (an ``INTERNAL_ERROR`` while
reading an event is not retryable: the same event would fail the same way).
"""

from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    """A str enum whose ``str()`` and format are its value on every Python version (3.11 changed a mixed-in enum's
    format): ``f"{code}"`` writes ``INVALID_REQUEST``, and a code compares equal to its text."""

    retryable: bool
    meaning: str

    def __new__(cls, value: str, retryable: bool, meaning: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.retryable = retryable
        member.meaning = meaning
        return member

    # The text itself (the member is that str): not "ErrorCode.X", whatever the Python version does for enums.
    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)

    # -- the request or the event --------------------------------------------------------------------------------
    INVALID_REQUEST = ("INVALID_REQUEST", False, "not a valid backup request; details lists each field and rule")
    INVALID_JSON = ("INVALID_JSON", False, "not JSON (or not UTF-8)")
    JSON_TOO_DEEP = ("JSON_TOO_DEEP", False, "JSON nested deeper than 32 levels")
    DUPLICATE_KEY = ("DUPLICATE_KEY", False, "a JSON object with a key twice")
    MESSAGE_TOO_LARGE = ("MESSAGE_TOO_LARGE", False, "a message over 256 KiB")
    NO_DEFAULT_REQUEST = ("NO_DEFAULT_REQUEST", False, "a plain-text timer user_event and no DEFAULT_REQUEST")
    INVALID_EVENT = ("INVALID_EVENT", False, "an event of a known kind with a broken envelope")
    UNSUPPORTED_EVENT = ("UNSUPPORTED_EVENT", False, "a trigger the function does not serve")
    NAME_RESERVED = ("NAME_RESERVED", False, "an explicit name the backup name template could render")
    IDEMPOTENCY_KEY_REUSED = ("IDEMPOTENCY_KEY_REUSED", False, "the same key (or delivery) with another request")
    # -- the instances and their backups ---------------------------------------------------------------------------
    INSTANCE_NOT_FOUND = ("INSTANCE_NOT_FOUND", False, "no such instance in the project")
    NO_MATCHING_INSTANCE = ("NO_MATCHING_INSTANCE", False, "a selector that matched no instance")
    INSTANCE_NOT_READY = ("INSTANCE_NOT_READY", True, "not normal, or a backup already running")
    BACKUP_STALE = ("BACKUP_STALE", False, "audit: no completed backup within max_age_hours")
    BACKUP_FAILED = ("BACKUP_FAILED", False, "DDS ran the job and it failed")
    BACKUP_BEING_DELETED = ("BACKUP_BEING_DELETED", True, "the backup of this event's name is being deleted")
    BACKUP_NOT_FOUND = ("BACKUP_NOT_FOUND", False, "GET /backups/{id} of an unknown backup")
    NAME_TAKEN = ("NAME_TAKEN", False, "a backup under the tool's own name that the tool did not make")
    # -- the configuration, the cloud, the time --------------------------------------------------------------------
    INVALID_CONFIG = ("INVALID_CONFIG", False, "a variable is missing or malformed")
    IAM_AUTH_FAILED = ("IAM.AUTH_FAILED", False, "IAM refused the password token")
    IAM_UNREACHABLE = ("IAM.UNREACHABLE", True, "IAM did not answer")
    IAM_BAD_RESPONSE = ("IAM.BAD_RESPONSE", True, "IAM answered something unreadable")
    CONNECTION_ERROR = ("CONNECTION_ERROR", True, "no answer")
    TIMEOUT = ("TIMEOUT", True, "no answer in time")
    DDS_BAD_RESPONSE = ("DDS.BAD_RESPONSE", True, "DDS answered something unreadable")
    SMN_BAD_RESPONSE = ("SMN.BAD_RESPONSE", True, "SMN answered something unreadable")
    SMN_MESSAGE_TOO_LARGE = ("SMN.MESSAGE_TOO_LARGE", False, "a result or a request too large to publish")
    DEADLINE_EXCEEDED = ("DEADLINE_EXCEEDED", True, "the invocation ran out of time")
    INTERNAL_ERROR = ("INTERNAL_ERROR", True, "a bug of ours; the log has the traceback")
    # -- HTTP answers ----------------------------------------------------------------------------------------------
    UNAUTHENTICATED = ("UNAUTHENTICATED", False, "a bad, stale or missing signature or token")
    INVALID_BODY = ("INVALID_BODY", False, "a body that is not UTF-8, base64, a form or a Teams activity")
    INVALID_HEADER = ("INVALID_HEADER", False, "a header whose name or value is not UTF-8 text")
    BODY_TOO_LARGE = ("BODY_TOO_LARGE", False, "a webhook body over 64 KiB")
    NOT_FOUND = ("NOT_FOUND", False, "no such route")
    METHOD_NOT_ALLOWED = ("METHOD_NOT_ALLOWED", False, "a route called with another method")
    # -- dds-backup serve, which plays API Gateway locally ---------------------------------------------------------
    BAD_HTTP_REQUEST = ("BAD_HTTP_REQUEST", False, "serve: malformed HTTP")
    REQUEST_TIMEOUT = ("REQUEST_TIMEOUT", False, "serve: headers or body too slow")
    HANDLER_RAISED = ("HANDLER_RAISED", False, "serve: the handler raised for an HTTP event")
