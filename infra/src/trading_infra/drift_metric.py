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
#: How often the drift check is expected to run; a period without a data point counts as
#: breaching, so a drift check that stopped running alarms too.
CHECK_PERIOD_SECONDS = 6 * 3600
