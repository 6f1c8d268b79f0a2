# The chapter's pattern: boto3 imported and the client built outside the handler.
import boto3

dynamodb = boto3.client("dynamodb")


def handler(event, context):
    return {"client": dynamodb.meta.service_model.service_name}
