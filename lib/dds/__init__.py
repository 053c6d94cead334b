"""The DDS v3 API: typed client and responses (the transport, errors and auth are in ``lib/cloud``)."""
