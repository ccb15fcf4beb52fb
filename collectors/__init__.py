"""Sources → observations: CSV, Excel, HTTP, SQL, SDMX and drop folders, validated and quarantined.

Every source produces a raw frame and passes it through :func:`collectors.validate.validate`, so the
checks and the located reasons are the same everywhere; :mod:`collectors.ingest` lands one batch per
file atomically.
"""
