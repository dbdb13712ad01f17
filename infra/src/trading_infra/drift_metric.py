"""The live-drift metric: the contract between ``invoke drift`` and the drift alarms.

``invoke drift`` plans every stack of a deployment and publishes, per region, the number of
resources a plan would change; each region's application stack alarms on it. Kept free of
heavy imports so the tooling can use it without loading CDKTF.
"""

from __future__ import annotations

NAMESPACE = "TAP/Drift"
METRIC_NAME = "ResourcesToChange"
#: Dimensions: which deployment (environment) and which region the count belongs to.
DEPLOYMENT_DIMENSION = "Deployment"
REGION_DIMENSION = "Region"
#: How often the drift check is expected to run: the alarm's period. A period without a data
#: point leaves the alarm in INSUFFICIENT_DATA (treat_missing_data = "missing"), so a fresh
#: deployment that no drift check has seen yet pages nobody.
CHECK_PERIOD_SECONDS = 6 * 3600
