"""What an app's code does with boto3 (seed 004's handler): write to S3 and put records to
a Firehose delivery stream. Run by python.test.ts against moto's server.

usage: boto3_firehose_s3.py ENDPOINT BUCKET STREAM
Prints one JSON line: what the calls answered.
"""

import json
import sys

import boto3
from botocore.config import Config

endpoint, bucket, stream = sys.argv[1:4]
config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config)
firehose = boto3.client("firehose", endpoint_url=endpoint, region_name="us-east-1", config=config)

s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="from-boto3/hello.json", Body=b'{"message":"hello from boto3"}\n')
firehose.create_delivery_stream(
    DeliveryStreamName=stream,
    DeliveryStreamType="DirectPut",
    ExtendedS3DestinationConfiguration={
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "RoleARN": "arn:aws:iam::123456789012:role/firehose-to-s3",
        "Prefix": "firehose/",
    },
)
records = [{"Data": (json.dumps({"n": n, "app": "boto3"}) + "\n").encode()} for n in range(3)]
answer = firehose.put_record_batch(DeliveryStreamName=stream, Records=records)
print(json.dumps({"FailedPutCount": answer["FailedPutCount"], "responses": len(answer["RequestResponses"])}))
