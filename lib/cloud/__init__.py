"""Calling Huawei Cloud / Open Telekom Cloud APIs: the signed transport, errors and their classification, the
retry policy, regional endpoints and authentication (``auth/``)."""
