import json
import os


def lambda_handler(event, context):
    body = json.loads(event.get("body") or "{}")
    return {
        "statusCode": 201,
        "body": json.dumps({"table": os.environ["TABLE_NAME"], "order": body, "version": 1}),
    }
