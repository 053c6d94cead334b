"""The HTTP fronts behind API Gateway: the APIG adapter (``gateway``), the route table (``app``, ``router``),
the routes (``backups``, ``slack``), their authentication (``auth``, ``signatures``) and the orders they make."""
