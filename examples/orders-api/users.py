import json
import uuid
from typing import Dict, Any

def lambda_handler(event: Dict[str, Any], context) -> Dict[str, Any]:
    """
    API Gateway Lambda Proxy Integration
    """
    # Extract HTTP details
    http_method = event['httpMethod']
    path = event['path']
    headers = event['headers']
    query_params = event.get('queryStringParameters', {})
    body = json.loads(event.get('body', '{}'))

    # Authentication context (if using API Gateway authorizer)
    user_id = event['requestContext'].get('authorizer', {}).get('user_id')

    # Business logic
    if http_method == 'POST' and path == '/users':
        new_user = {
            'user_id': str(uuid.uuid4()),
            'email': body['email'],
            'name': body['name']
        }
        # Save to database...

        return {
            'statusCode': 201,
            'headers': {
                'Content-Type': 'application/json',
                'Access-Control-Allow-Origin': '*'
            },
            'body': json.dumps(new_user)
        }

    return {
        'statusCode': 404,
        'body': json.dumps({'error': 'Not found'})
    }
