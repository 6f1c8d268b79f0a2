import os


def handler(event, context):
    return {"reader": True, "creator": os.environ.get("CREATE_FUNCTION")}
