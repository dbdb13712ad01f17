"""Lines of Terraform's machine-readable UI (``-json``), recorded verbatim with terraform 1.11.4:
the built-in ``terraform_data`` resource (a ``local-exec`` provisioner that exits 3 for an error
diagnostic with an address, a second run against the held lock, an unknown flag), and the aws
provider 5.100.0 against moto for its "already exists" errors. The interface they follow:
https://developer.hashicorp.com/terraform/internals/machine-readable-ui
"""

from __future__ import annotations

import json
from typing import Any

# terraform_data (no provider)

#: A whole apply that modified ``terraform_data.ok``.
UPDATE_RUN = (
    (
        '{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui",'
        '"@timestamp":"2026-12-05T15:07:47.934451Z","terraform":"1.11.4",'
        '"type":"version","ui":"1.2"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Refreshing state... [id=9d220489-f51'
        '8-0ba5-8ab4-8a2e37dc3f63]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:4'
        '7.942052Z","hook":{"resource":{"addr":"terraform_data.ok",'
        '"module":"","resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"id_key":"id","id_value":"9d220489-f518-0ba5-8ab4-8a2e37dc3f63"},'
        '"type":"refresh_start"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Refresh complete [id=9d220489-f518-0'
        'ba5-8ab4-8a2e37dc3f63]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:47.9'
        '42136Z","hook":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"id_key":"id","id_value":"9d220489-f518-0ba5-8ab4-8a2e37dc3f63"},'
        '"type":"refresh_complete"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Plan to update",'
        '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:47.943325Z",'
        '"change":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"action":"update"},"type":"planned_change"}'
    ),
    (
        '{"@level":"info","@message":"Plan: 0 to add, 1 to change,'
        ' 0 to destroy.","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:47.943368Z",'
        '"changes":{"add":0,"change":1,"import":0,"remove":0,"operation":"plan"},'
        '"type":"change_summary"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Modifying... [id=9d220489-f518-0ba5-'
        '8ab4-8a2e37dc3f63]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:47.95068'
        '9Z","hook":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"action":"update","id_key":"id","id_value":"9d220489-f518-0ba5-8ab4-8a2e37dc3f63"},'
        '"type":"apply_start"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Modifications complete after 0s [id='
        '9d220489-f518-0ba5-8ab4-8a2e37dc3f63]","@module":"terraform.ui",'
        '"@timestamp":"2026-12-05T15:07:47.951124Z","hook":{"resource":{"addr":"terraform_dat'
        'a.ok","module":"","resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"action":"update","id_key":"id","id_value":"9d220489-f518-0ba5-8ab4-8a2e37dc3f63",'
        '"elapsed_seconds":0},"type":"apply_complete"}'
    ),
    (
        '{"@level":"info","@message":"Apply complete! Resources: 0 added,'
        ' 1 changed, 0 destroyed.","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:47'
        '.969961Z","changes":{"add":0,"change":1,"import":0,"remove":0,'
        '"operation":"apply"},"type":"change_summary"}'
    ),
    (
        '{"@level":"info","@message":"Outputs: 0","@module":"terraform.ui",'
        '"@timestamp":"2026-12-05T15:07:47.970023Z","outputs":{},"type":"outputs"}'
    ),
)
#: A whole destroy of ``terraform_data.bad`` and ``terraform_data.ok``.
DESTROY_RUN = (
    (
        '{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui",'
        '"@timestamp":"2026-12-05T15:07:35.336180Z","terraform":"1.11.4",'
        '"type":"version","ui":"1.2"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Refreshing state... [id=dd811498-bc4'
        '0-1f43-85f6-231ff42c414d]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:3'
        '5.356249Z","hook":{"resource":{"addr":"terraform_data.ok",'
        '"module":"","resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"id_key":"id","id_value":"dd811498-bc40-1f43-85f6-231ff42c414d"},'
        '"type":"refresh_start"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Refresh complete [id=dd811498-bc40-1'
        'f43-85f6-231ff42c414d]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.3'
        '56339Z","hook":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"id_key":"id","id_value":"dd811498-bc40-1f43-85f6-231ff42c414d"},'
        '"type":"refresh_complete"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.bad: Refreshing state... [id=6145783d-26'
        '36-0ee1-5b86-225c04809976]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:'
        '35.356866Z","hook":{"resource":{"addr":"terraform_data.bad",'
        '"module":"","resource":"terraform_data.bad","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"bad","resource_key":null},'
        '"id_key":"id","id_value":"6145783d-2636-0ee1-5b86-225c04809976"},'
        '"type":"refresh_start"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.bad: Refresh complete [id=6145783d-2636-'
        '0ee1-5b86-225c04809976]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.'
        '356901Z","hook":{"resource":{"addr":"terraform_data.bad",'
        '"module":"","resource":"terraform_data.bad","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"bad","resource_key":null},'
        '"id_key":"id","id_value":"6145783d-2636-0ee1-5b86-225c04809976"},'
        '"type":"refresh_complete"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.bad: Plan to delete",'
        '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.370688Z",'
        '"change":{"resource":{"addr":"terraform_data.bad","module":"",'
        '"resource":"terraform_data.bad","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"bad","resource_key":null},'
        '"action":"delete"},"type":"planned_change"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Plan to delete",'
        '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.370764Z",'
        '"change":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"action":"delete"},"type":"planned_change"}'
    ),
    (
        '{"@level":"info","@message":"Plan: 0 to add, 0 to change,'
        ' 2 to destroy.","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.370774Z",'
        '"changes":{"add":0,"change":0,"import":0,"remove":2,"operation":"plan"},'
        '"type":"change_summary"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.bad: Destroying... [id=6145783d-2636-0ee'
        '1-5b86-225c04809976]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.377'
        '295Z","hook":{"resource":{"addr":"terraform_data.bad","module":"",'
        '"resource":"terraform_data.bad","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"bad","resource_key":null},'
        '"action":"delete","id_key":"id","id_value":"6145783d-2636-0ee1-5b86-225c04809976"},'
        '"type":"apply_start"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.bad: Destruction complete after 0s",'
        '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.377415Z",'
        '"hook":{"resource":{"addr":"terraform_data.bad","module":"",'
        '"resource":"terraform_data.bad","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"bad","resource_key":null},'
        '"action":"delete","elapsed_seconds":0},"type":"apply_complete"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Destroying... [id=dd811498-bc40-1f43'
        '-85f6-231ff42c414d]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.3901'
        '83Z","hook":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"action":"delete","id_key":"id","id_value":"dd811498-bc40-1f43-85f6-231ff42c414d"},'
        '"type":"apply_start"}'
    ),
    (
        '{"@level":"info","@message":"terraform_data.ok: Destruction complete after 0s",'
        '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.390286Z",'
        '"hook":{"resource":{"addr":"terraform_data.ok","module":"",'
        '"resource":"terraform_data.ok","implied_provider":"terraform",'
        '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
        '"action":"delete","elapsed_seconds":0},"type":"apply_complete"}'
    ),
    (
        '{"@level":"info","@message":"Destroy complete! Resources: 2 destroyed.",'
        '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.422003Z",'
        '"changes":{"add":0,"change":0,"import":0,"remove":2,"operation":"destroy"},'
        '"type":"change_summary"}'
    ),
)
MODIFICATIONS_COMPLETE = UPDATE_RUN[6]
APPLY_SUMMARY = UPDATE_RUN[7]
DESTRUCTION_COMPLETE = DESTROY_RUN[11]
DESTROY_SUMMARY = DESTROY_RUN[12]

VERSION = (
    '{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui",'
    '"@timestamp":"2026-12-05T15:07:35.132252Z","terraform":"1.11.4",'
    '"type":"version","ui":"1.2"}'
)
PLANNED_CREATE = (
    '{"@level":"info","@message":"terraform_data.ok: Plan to create",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.156801Z",'
    '"change":{"resource":{"addr":"terraform_data.ok","module":"",'
    '"resource":"terraform_data.ok","implied_provider":"terraform",'
    '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
    '"action":"create"},"type":"planned_change"}'
)
PLAN_SUMMARY = (
    '{"@level":"info","@message":"Plan: 2 to add, 0 to change, 0 to destroy.",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.156811Z",'
    '"changes":{"add":2,"change":0,"import":0,"remove":0,"operation":"plan"},'
    '"type":"change_summary"}'
)
APPLY_START = (
    '{"@level":"info","@message":"terraform_data.ok: Creating...",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.174644Z",'
    '"hook":{"resource":{"addr":"terraform_data.ok","module":"","resource":"terraform_data.ok'
    '","implied_provider":"terraform","resource_type":"terraform_data",'
    '"resource_name":"ok","resource_key":null},"action":"create"},'
    '"type":"apply_start"}'
)
CREATION_COMPLETE = (
    '{"@level":"info","@message":"terraform_data.ok: Creation complete after 0s [id=dd811498-'
    'bc40-1f43-85f6-231ff42c414d]","@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35'
    '.174894Z","hook":{"resource":{"addr":"terraform_data.ok","module":"",'
    '"resource":"terraform_data.ok","implied_provider":"terraform",'
    '"resource_type":"terraform_data","resource_name":"ok","resource_key":null},'
    '"action":"create","id_key":"id","id_value":"dd811498-bc40-1f43-85f6-231ff42c414d",'
    '"elapsed_seconds":0},"type":"apply_complete"}'
)
PROVISIONER_ERROR = (
    '{"@level":"error","@message":"Error: local-exec provisioner error",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:35.199445Z",'
    '"diagnostic":{"severity":"error","summary":"local-exec provisioner error",'
    '"detail":"Error running command \'exit 3\': exit status 3. Output: ",'
    '"address":"terraform_data.bad","range":{"filename":"main.tf.json",'
    '"start":{"line":1,"column":133,"byte":132},"end":{"line":1,"column":134,'
    '"byte":133}},"snippet":{"context":"resource.terraform_data.bad.provisioner[0].local-exec'
    '","code":"{\\"resource\\": {\\"terraform_data\\": {\\"ok\\": {\\"input\\": \\"hello\\"},'
    ' \\"bad\\": {\\"input\\": \\"x\\", \\"provisioner\\": [{\\"local-exec\\": {\\"command\\"'
    ': \\"exit 3\\"}}]}}}}","start_line":1,"highlight_start_offset":132,'
    '"highlight_end_offset":133,"values":[]}},"type":"diagnostic"}'
)
LOCK_ERROR = (
    '{"@level":"error","@message":"Error: Error acquiring the state lock",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:50.598902Z",'
    '"diagnostic":{"severity":"error","summary":"Error acquiring the state lock",'
    '"detail":"Error message: resource temporarily unavailable\\nLock Info:\\n  ID:        f4'
    "b9c8e1-ac64-47bd-c4ea-f56474bef513\\n  Path:      terraform.tfstate\\n  Operation: Opera"
    "tionTypeApply\\n  Who:       root@vm\\n  Version:   1.11.4\\n  Created:   2026-12-05 15:"
    "07:48.06846025 +0000 UTC\\n  Info:      \\n\\n\\nTerraform acquires a state lock to prot"
    "ect the state from being written\\nby multiple users at the same time. Please resolve th"
    'e issue above and try\\nagain. For most commands, you can disable locking with the \\"-l'
    'ock=false\\"\\nflag, but this is not recommended."},"type":"diagnostic"}'
)
FLAG_ERROR = (
    '{"@level":"error","@message":"Error: Failed to parse command-line flags",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:07:54.699350Z",'
    '"diagnostic":{"severity":"error","summary":"Failed to parse command-line flags",'
    '"detail":"flag provided but not defined: -badflag"},"type":"diagnostic"}'
)

# aws provider 5.100.0 against moto

DATA_SOURCE_READ = (
    '{"@level":"info","@message":"data.aws_caller_identity.CallerIdentity: Refresh complete a'
    'fter 0s [id=123456789012]","@module":"terraform.ui","@timestamp":"2026-12-05T14:55:10.75'
    '5543Z","hook":{"resource":{"addr":"data.aws_caller_identity.CallerIdentity",'
    '"module":"","resource":"data.aws_caller_identity.CallerIdentity",'
    '"implied_provider":"aws","resource_type":"aws_caller_identity",'
    '"resource_name":"CallerIdentity","resource_key":null},"action":"read",'
    '"id_key":"id","id_value":"123456789012","elapsed_seconds":0},'
    '"type":"apply_complete"}'
)
APPLY_SUMMARY_WITH_IMPORT = (
    '{"@level":"info","@message":"Apply complete! Resources: 1 imported,'
    ' 1 added, 0 changed, 0 destroyed.","@module":"terraform.ui","@timestamp":"2026-12-05T15:'
    '06:54.153957Z","changes":{"add":1,"change":0,"import":1,"remove":0,'
    '"operation":"apply"},"type":"change_summary"}'
)
BUCKET_EXISTS = (
    '{"@level":"error","@message":"Error: creating S3 Bucket (tap-adopt-data-dev-eu-west-1-12'
    "3456789012): operation error S3: CreateBucket, https response error StatusCode: 409,"
    " RequestID: WMlBYktKSM89BRWlBbak8CRURzeKckKBl9E2OaMFVdrVbHKqVQDQ,"
    " HostID: 9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=,"
    ' BucketAlreadyOwnedByYou: ","@module":"terraform.ui","@timestamp":"2026-12-05T14:55:13.6'
    '34309Z","diagnostic":{"severity":"error","summary":"creating S3 Bucket (tap-adopt-data-d'
    "ev-eu-west-1-123456789012): operation error S3: CreateBucket,"
    " https response error StatusCode: 409, RequestID: WMlBYktKSM89BRWlBbak8CRURzeKckKBl9E2Oa"
    "MFVdrVbHKqVQDQ, HostID: 9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILV"
    'xhAGI0qyPfg=, BucketAlreadyOwnedByYou: ","detail":"","address":"aws_s3_bucket.Storage_Da'
    'taBucket_ABCD1234","range":{"filename":"cdk.tf.json","start":{"line":45,'
    '"column":7,"byte":1413},"end":{"line":45,"column":8,"byte":1414}},'
    '"snippet":{"context":"resource.aws_s3_bucket.Storage_DataBucket_ABCD1234",'
    '"code":"      }","start_line":45,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
TABLE_EXISTS = (
    '{"@level":"error","@message":"Error: creating AWS DynamoDB Table (tap-adopt-trades-dev):'
    " operation error DynamoDB: CreateTable, https response error StatusCode: 400,"
    " RequestID: nNyp9hSZyQvFUBFZqIJjIZWaVejCHlz8i1jX0KPf2I0At9xpGpLB,"
    ' ResourceInUseException: Table already exists: tap-adopt-trades-dev",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T14:55:13.634875Z",'
    '"diagnostic":{"severity":"error","summary":"creating AWS DynamoDB Table (tap-adopt-trade'
    "s-dev): operation error DynamoDB: CreateTable, https response error StatusCode: 400,"
    " RequestID: nNyp9hSZyQvFUBFZqIJjIZWaVejCHlz8i1jX0KPf2I0At9xpGpLB,"
    ' ResourceInUseException: Table already exists: tap-adopt-trades-dev",'
    '"detail":"","address":"aws_dynamodb_table.Data_Trades_5E6F","range":{"filename":"cdk.tf.'
    'json","start":{"line":66,"column":7,"byte":1935},"end":{"line":66,'
    '"column":8,"byte":1936}},"snippet":{"context":"resource.aws_dynamodb_table.Data_Trades_5'
    'E6F","code":"      }","start_line":66,"highlight_start_offset":6,'
    '"highlight_end_offset":7,"values":[]}},"type":"diagnostic"}'
)
ROLE_EXISTS = (
    '{"@level":"error","@message":"Error: creating IAM Role (tap-adopt-processor-dev): operat'
    "ion error IAM: CreateRole, https response error StatusCode: 409,"
    " RequestID: ACClawXM61s8qLc5jXmo1F0NjwS79BzNjCFdvAsFYFvWS9FTkFWr,"
    ' EntityAlreadyExists: Role with name tap-adopt-processor-dev already exists.",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T14:55:13.635466Z",'
    '"diagnostic":{"severity":"error","summary":"creating IAM Role (tap-adopt-processor-dev):'
    " operation error IAM: CreateRole, https response error StatusCode: 409,"
    " RequestID: ACClawXM61s8qLc5jXmo1F0NjwS79BzNjCFdvAsFYFvWS9FTkFWr,"
    ' EntityAlreadyExists: Role with name tap-adopt-processor-dev already exists.",'
    '"detail":"","address":"aws_iam_role.Compute_Role_9A8B","range":{"filename":"cdk.tf.json"'
    ',"start":{"line":72,"column":7,"byte":2236},"end":{"line":72,'
    '"column":8,"byte":2237}},"snippet":{"context":"resource.aws_iam_role.Compute_Role_9A8B",'
    '"code":"      }","start_line":72,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
QUEUE_EXISTS = (
    '{"@level":"error","@message":"Error: creating SQS Queue (tap-adopt-q): operation error S'
    "QS: CreateQueue, https response error StatusCode: 400, RequestID: iXGOJjsB7QjzJ9O4Iy89yL"
    'TZ2zm2B7oA8aoqhZo5DpCjr4Y2iDm7, QueueAlreadyExists: The specified queue already exists."'
    ',"@module":"terraform.ui","@timestamp":"2026-12-05T14:55:13.636023Z",'
    '"diagnostic":{"severity":"error","summary":"creating SQS Queue (tap-adopt-q): operation '
    "error SQS: CreateQueue, https response error StatusCode: 400,"
    " RequestID: iXGOJjsB7QjzJ9O4Iy89yLTZ2zm2B7oA8aoqhZo5DpCjr4Y2iDm7,"
    ' QueueAlreadyExists: The specified queue already exists.","detail":"",'
    '"address":"aws_sqs_queue.Q","range":{"filename":"cdk.tf.json",'
    '"start":{"line":84,"column":7,"byte":2601},"end":{"line":84,"column":8,'
    '"byte":2602}},"snippet":{"context":"resource.aws_sqs_queue.Q",'
    '"code":"      }","start_line":84,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
LOG_GROUP_EXISTS = (
    '{"@level":"error","@message":"Error: creating CloudWatch Logs Log Group (/aws/lambda/tap'
    "-adopt): operation error CloudWatch Logs: CreateLogGroup, https response error StatusCod"
    "e: 400, RequestID: wZSqpMxbKAixc7zhFC8jGGkdOF7xRQiopRIFhtYmbyUKm3yXfbFu,"
    ' ResourceAlreadyExistsException: The specified log group already exists",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T14:55:13.632963Z",'
    '"diagnostic":{"severity":"error","summary":"creating CloudWatch Logs Log Group (/aws/lam'
    "bda/tap-adopt): operation error CloudWatch Logs: CreateLogGroup,"
    " https response error StatusCode: 400, RequestID: wZSqpMxbKAixc7zhFC8jGGkdOF7xRQiopRIFht"
    'YmbyUKm3yXfbFu, ResourceAlreadyExistsException: The specified log group already exists",'
    '"detail":"","address":"aws_cloudwatch_log_group.L","range":{"filename":"cdk.tf.json",'
    '"start":{"line":89,"column":7,"byte":2703},"end":{"line":89,"column":8,'
    '"byte":2704}},"snippet":{"context":"resource.aws_cloudwatch_log_group.L",'
    '"code":"      }","start_line":89,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
SECRET_EXISTS = (
    '{"@level":"error","@message":"Error: creating Secrets Manager Secret (tap-adopt-secret):'
    " operation error Secrets Manager: CreateSecret, https response error StatusCode: 400,"
    " RequestID: X9wtPS8oixQdWekARIvo7gXP9XGl0pWAPOuyTrzgA7ObZo2m6jnj,"
    " ResourceExistsException: The operation failed because the secret tap-adopt-secret alrea"
    'dy exists.","@module":"terraform.ui","@timestamp":"2026-12-05T14:55:13.633685Z",'
    '"diagnostic":{"severity":"error","summary":"creating Secrets Manager Secret (tap-adopt-s'
    "ecret): operation error Secrets Manager: CreateSecret, https response error StatusCode: "
    "400, RequestID: X9wtPS8oixQdWekARIvo7gXP9XGl0pWAPOuyTrzgA7ObZo2m6jnj,"
    " ResourceExistsException: The operation failed because the secret tap-adopt-secret alrea"
    'dy exists.","detail":"","address":"aws_secretsmanager_secret.S",'
    '"range":{"filename":"cdk.tf.json","start":{"line":94,"column":7,'
    '"byte":2801},"end":{"line":94,"column":8,"byte":2802}},"snippet":{"context":"resource.aw'
    's_secretsmanager_secret.S","code":"      }","start_line":94,"highlight_start_offset":6,'
    '"highlight_end_offset":7,"values":[]}},"type":"diagnostic"}'
)
EGRESS_RULE_DUPLICATE = (
    '{"@level":"error","@message":"Error: creating VPC Security Group Rule",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T14:57:14.223043Z",'
    '"diagnostic":{"severity":"error","summary":"creating VPC Security Group Rule",'
    '"detail":"operation error EC2: AuthorizeSecurityGroupEgress, https response error Status'
    "Code: 400, RequestID: KR5hxEpOzgTaB4n7emzhptC8o4CFT1CHlKyjHZYG8NTjZFOQalPO,"
    ' api error InvalidPermission.Duplicate: The specified rule already exists",'
    '"address":"aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",'
    '"range":{"filename":"cdk.tf.json","start":{"line":73,"column":7,'
    '"byte":2363},"end":{"line":73,"column":8,"byte":2364}},"snippet":{"context":"resource.aw'
    's_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",'
    '"code":"      }","start_line":73,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
INGRESS_RULE_DUPLICATE = (
    '{"@level":"error","@message":"Error: creating VPC Security Group Rule",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T14:57:14.222605Z",'
    '"diagnostic":{"severity":"error","summary":"creating VPC Security Group Rule",'
    '"detail":"operation error EC2: AuthorizeSecurityGroupIngress,'
    " https response error StatusCode: 400, RequestID: 36EuFpn45r9Ul7jQrUIfCjZtXSQjZpsFQ9IBR7"
    "qN0bR55mIBCO1S, api error InvalidPermission.Duplicate: The specified rule already exists"
    '","address":"aws_vpc_security_group_ingress_rule.Network_EndpointFromLambda_9E8F7A6B",'
    '"range":{"filename":"cdk.tf.json","start":{"line":82,"column":7,'
    '"byte":2750},"end":{"line":82,"column":8,"byte":2751}},"snippet":{"context":"resource.aw'
    's_vpc_security_group_ingress_rule.Network_EndpointFromLambda_9E8F7A6B",'
    '"code":"      }","start_line":82,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
SECURITY_GROUP_EXISTS = (
    '{"@level":"error","@message":"Error: creating Security Group (tap-adopt-sg): operation e'
    "rror EC2: CreateSecurityGroup, https response error StatusCode: 400,"
    " RequestID: vnOPhw5MbiMCGswFcuFR7aSKn7W28wXxdQkmuZcxLgQ5N43jh7NL,"
    " api error InvalidGroup.Duplicate: The security group 'tap-adopt-sg' already exists\","
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:02:46.116292Z",'
    '"diagnostic":{"severity":"error","summary":"creating Security Group (tap-adopt-sg): oper'
    "ation error EC2: CreateSecurityGroup, https response error StatusCode: 400,"
    " RequestID: vnOPhw5MbiMCGswFcuFR7aSKn7W28wXxdQkmuZcxLgQ5N43jh7NL,"
    " api error InvalidGroup.Duplicate: The security group 'tap-adopt-sg' already exists\","
    '"detail":"","address":"aws_security_group.Sg","range":{"filename":"cdk.tf.json",'
    '"start":{"line":86,"column":7,"byte":2456},"end":{"line":86,"column":8,'
    '"byte":2457}},"snippet":{"context":"resource.aws_security_group.Sg",'
    '"code":"      }","start_line":86,"highlight_start_offset":6,"highlight_end_offset":7,'
    '"values":[]}},"type":"diagnostic"}'
)
KMS_ALIAS_EXISTS = (
    '{"@level":"error","@message":"Error: creating KMS Alias (alias/tap-adopt): operation err'
    "or KMS: CreateAlias, https response error StatusCode: 400, RequestID: gpAGDVCLlvshGBQ1gw"
    "bAMpOVYw4sakcQyoeyV7tMe8nNvnwlf5o7, AlreadyExistsException: An alias with the name arn:a"
    'ws:kms:eu-west-1:123456789012:alias/tap-adopt already exists",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:02:46.116777Z",'
    '"diagnostic":{"severity":"error","summary":"creating KMS Alias (alias/tap-adopt): operat'
    "ion error KMS: CreateAlias, https response error StatusCode: 400,"
    " RequestID: gpAGDVCLlvshGBQ1gwbAMpOVYw4sakcQyoeyV7tMe8nNvnwlf5o7,"
    " AlreadyExistsException: An alias with the name arn:aws:kms:eu-west-1:123456789012:alias"
    '/tap-adopt already exists","detail":"","address":"aws_kms_alias.A",'
    '"range":{"filename":"cdk.tf.json","start":{"line":74,"column":7,'
    '"byte":2222},"end":{"line":74,"column":8,"byte":2223}},"snippet":{"context":"resource.aw'
    's_kms_alias.A","code":"      }","start_line":74,"highlight_start_offset":6,'
    '"highlight_end_offset":7,"values":[]}},"type":"diagnostic"}'
)
ROUTE_EXISTS = (
    '{"@level":"error","@message":"Error: api error RouteAlreadyExists: Route in Route Table '
    '(rtb-f4dd7a9e22eafb213) with destination (0.0.0.0/0) already exists",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:02:46.117207Z",'
    '"diagnostic":{"severity":"error","summary":"api error RouteAlreadyExists: Route in Route'
    ' Table (rtb-f4dd7a9e22eafb213) with destination (0.0.0.0/0) already exists",'
    '"detail":"","address":"aws_route.Default","range":{"filename":"cdk.tf.json",'
    '"start":{"line":103,"column":7,"byte":2851},"end":{"line":103,'
    '"column":8,"byte":2852}},"snippet":{"context":"resource.aws_route.Default",'
    '"code":"      }","start_line":103,"highlight_start_offset":6,'
    '"highlight_end_offset":7,"values":[]}},"type":"diagnostic"}'
)
CLUSTER_PARAMETER_GROUP_EXISTS = (
    '{"@level":"error","@message":"Error: creating RDS Cluster Parameter Group (tap-cpg): ope'
    "ration error RDS: CreateDBClusterParameterGroup, https response error StatusCode: 400,"
    " RequestID: PwkdVpCFikgwYIsJPR2AayL3Cg1HQzIf5f7e6hoPFHXKOa5QUi47,"
    ' DBParameterGroupAlreadyExists: DB Parameter Group tap-cpg already exists.",'
    '"@module":"terraform.ui","@timestamp":"2026-12-05T15:02:46.117636Z",'
    '"diagnostic":{"severity":"error","summary":"creating RDS Cluster Parameter Group (tap-cp'
    "g): operation error RDS: CreateDBClusterParameterGroup, https response error StatusCode:"
    " 400, RequestID: PwkdVpCFikgwYIsJPR2AayL3Cg1HQzIf5f7e6hoPFHXKOa5QUi47,"
    ' DBParameterGroupAlreadyExists: DB Parameter Group tap-cpg already exists.",'
    '"detail":"","address":"aws_rds_cluster_parameter_group.Cpg","range":{"filename":"cdk.tf.'
    'json","start":{"line":133,"column":7,"byte":3534},"end":{"line":133,'
    '"column":8,"byte":3535}},"snippet":{"context":"resource.aws_rds_cluster_parameter_group.'
    'Cpg","code":"      }","start_line":133,"highlight_start_offset":6,'
    '"highlight_end_offset":7,"values":[]}},"type":"diagnostic"}'
)


def diagnostic(severity: str, summary: str, detail: str, address: str) -> str:
    """A ``diagnostic`` line of the same shape, for a diagnostic text recorded from the human
    view (its summary is the ``Error:`` line, its detail what follows the source context)."""
    body = {"severity": severity, "summary": summary, "detail": detail, "address": address}
    return json.dumps(
        {"@level": severity, "@message": f"Error: {summary}", "@module": "terraform.ui",
         "diagnostic": body, "type": "diagnostic"}
    )  # fmt: skip


#: A CI run's global deploy, when the emulator lost the response to the revoke of the default
#: security group's egress rule and the provider's retry found it gone (recorded from the human
#: view: the whole error on the ``Error:`` line, nothing after the source context).
DEFAULT_SG_RULE_GONE = diagnostic(
    "error",
    "revoking Security Group (sg-934e5fafa130a58b4) Rule (sgr-3fb669213c66dc621): operation "
    "error EC2: RevokeSecurityGroupEgress, https response error StatusCode: 400, RequestID: "
    "NPJQzcHy2upM4Nsm9CzgdsUCl4LNuZcwGoqFXMp3burZNQ9eArM3, api error InvalidPermission.NotFound: "
    "The specified rule does not exist in this security group",
    "",
    "aws_default_security_group.Network_DefaultSecurityGroup_6811E764",
)


#: The planned values of a security group rule whose group and S3 prefix list are in the state
#: (``terraform show -json`` of a saved plan, terraform 1.11.4, aws provider 5.100.0).
RULE_TO_S3_PLANNED: dict[str, Any] = {
    "cidr_ipv4": None,
    "cidr_ipv6": None,
    "description": None,
    "from_port": 443,
    "ip_protocol": "tcp",
    "prefix_list_id": "pl-4f2b99c38388708e9",
    "referenced_security_group_id": None,
    "security_group_id": "sg-6e3a643c25a2d1e92",
    "tags": None,
    "tags_all": {},
    "to_port": 443,
}
