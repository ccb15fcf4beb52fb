"""targetwatch: watches the targets local governments set themselves and flags the units that fall behind.

This package is the core every stage shares: the domain model, periods, settings, the deployment
loader, located errors and the time-series store. The stages are the top-level packages
``collectors`` → ``rules`` → ``exporters`` / ``dashboards``.
"""

__version__ = "0.1.0"
