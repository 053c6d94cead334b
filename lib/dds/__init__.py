"""The DDS v3 API: client, typed responses, errors, endpoints and authentication."""
