"""dds-backup: the code that ships in the FunctionGraph zip (handler.py + this package + runtime deps)."""
