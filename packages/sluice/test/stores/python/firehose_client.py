"""boto3's Firehose client against Sluice's firehose input, pointed at it the way an app
is configured: AWS_ENDPOINT_URL_FIREHOSE (no endpoint_url in the code). Run by
test/plugins/input/firehose-boto3.test.ts.

usage: firehose_client.py calls STREAM     -> one JSON line with what each call answered
       firehose_client.py partial STREAM   -> puts records 3..11, prints the answer, waits
                                              for a line on stdin, resends only the failed
                                              records (as AWS's docs say), prints again
"""

import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

mode, stream = sys.argv[1:3]
firehose = boto3.client("firehose", config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def error_of(call):
    try:
        call()
    except ClientError as e:
        return {
            "code": e.response["Error"]["Code"],
            "message": e.response["Error"].get("Message", ""),
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    return None


def record(n):
    return {"Data": json.dumps({"n": n, "pad": "p" * 200}).encode()}


if mode == "calls":
    out = {}
    r = firehose.put_record_batch(
        DeliveryStreamName=stream,
        Records=[{"Data": json.dumps({"n": n, "app": "boto3"}).encode()} for n in range(3)],
    )
    out["batch"] = {"failed": r["FailedPutCount"], "ids": [x.get("RecordId") for x in r["RequestResponses"]]}
    out["put"] = bool(firehose.put_record(DeliveryStreamName=stream, Record={"Data": b'{"single": true}'})["RecordId"])
    out["list"] = firehose.list_delivery_streams()["DeliveryStreamNames"]
    d = firehose.describe_delivery_stream(DeliveryStreamName=stream)["DeliveryStreamDescription"]
    out["describe"] = {"status": d["DeliveryStreamStatus"], "arn": d["DeliveryStreamARN"]}
    out["unknown"] = error_of(
        lambda: firehose.put_record_batch(DeliveryStreamName="nope", Records=[{"Data": b"{}"}])
    )
    out["too_many"] = error_of(
        lambda: firehose.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": b"{}"}] * 501)
    )
    out["record_too_big"] = error_of(
        lambda: firehose.put_record(DeliveryStreamName=stream, Record={"Data": b"a" * 1_024_001})
    )
    out["call_too_big"] = error_of(
        lambda: firehose.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": b"a" * 1_000_000}] * 5)
    )
    wrong = boto3.client(
        "firehose",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    out["bad_signature"] = error_of(
        lambda: wrong.put_record(DeliveryStreamName=stream, Record={"Data": b"{}"})
    )
    print(json.dumps(out), flush=True)
elif mode == "partial":
    numbers = list(range(3, 12))
    r = firehose.put_record_batch(DeliveryStreamName=stream, Records=[record(n) for n in numbers])
    failed = [n for n, x in zip(numbers, r["RequestResponses"]) if "ErrorCode" in x]
    codes = sorted({x["ErrorCode"] for x in r["RequestResponses"] if "ErrorCode" in x})
    print(json.dumps({"attempt": 1, "failed_count": r["FailedPutCount"], "failed": failed, "codes": codes}), flush=True)
    sys.stdin.readline()
    r = firehose.put_record_batch(DeliveryStreamName=stream, Records=[record(n) for n in failed])
    print(json.dumps({"attempt": 2, "sent": failed, "failed_count": r["FailedPutCount"]}), flush=True)
