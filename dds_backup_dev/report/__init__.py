"""``dds-backup report``: the fleet's backups as one self-contained HTML page and as JSON (dev side, never
deployed). ``build`` lists and judges, ``page`` and ``timeline`` draw, ``who`` tells who made a backup,
``model`` is the data (and the JSON's schema), ``command`` is the CLI command."""
