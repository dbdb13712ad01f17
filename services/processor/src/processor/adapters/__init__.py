"""Adapters: the domain's ports implemented with injected boto3 clients (and in memory).

AWS API actions this service calls -- the complete list; the least-privilege IAM policy of
the function is written from it (resources: the data bucket, the trades table and the
function itself):

    s3:GetObject          arn:aws:s3:::<data bucket>/incoming/*
                          GetObject: stream a trade batch file.
    s3:GetObjectVersion   arn:aws:s3:::<data bucket>/incoming/*
                          The same GetObject call when the event names a versionId (a
                          versioned bucket): the exact version that was uploaded is read.
    s3:PutObject          arn:aws:s3:::<data bucket>/quarantine/*
                          PutObject: write quarantine/<source key>.jsonl.
    dynamodb:BatchGetItem arn:aws:dynamodb:<region>:<account>:table/<trades table>
                          Classify up to 100 trade_ids per call (strongly consistent).
    dynamodb:PutItem      arn:aws:dynamodb:<region>:<account>:table/<trades table>
                          The conditional Put actions of TransactWriteItems. IAM authorises
                          each action inside a transaction by its item-level action; there is
                          no separate IAM action for TransactWriteItems.
    lambda:InvokeFunction arn:aws:lambda:<region>:<account>:function:<this function>
                          Invoke (InvocationType=Event) of the function itself, only its own
                          ARN: hand the rest of a file too large for one invocation to a new
                          invocation, with the checkpoint as its event.

Nothing else (in particular not GetItem, UpdateItem, Query, BatchWriteItem on the table, nor
ListBucket or DeleteObject on the bucket). Without ListBucket, S3 answers a GetObject for a
key that does not exist with AccessDenied instead of NoSuchKey; that invocation then fails
and the event goes to the dead-letter destination after Lambda's retries (visible, nothing
lost). With ListBucket it would be reported in the quarantine object instead.

Permissions implied by resource configuration, not by an API call of this code: with SSE-KMS
on the data bucket, kms:Decrypt (GetObject) and kms:GenerateDataKey (PutObject) on the
bucket's key. Tracing/logging permissions belong to the function's basic execution role.
"""
