import json
import boto3
from datetime import datetime

# Initialized ONCE per container (outside handler)
dynamodb = boto3.resource('dynamodb')
table = dynamodb.Table('orders')

def lambda_handler(event, context):
    """
    Handler function - called for each invocation.

    event: Request data (API Gateway, S3 event, etc.)
    context: Runtime info (request_id, memory_limit, etc.)
    """
    # Parse input
    body = json.loads(event.get('body', '{}'))
    user_id = body.get('user_id')

    # Business logic
    order = {
        'order_id': context.request_id,
        'user_id': user_id,
        'timestamp': datetime.utcnow().isoformat(),
        'items': body.get('items', [])
    }

    # Write to database
    table.put_item(Item=order)

    # Return response (API Gateway format)
    return {
        'statusCode': 200,
        'headers': {'Content-Type': 'application/json'},
        'body': json.dumps({'order_id': order['order_id']})
    }
