"""STS and IAM through the AWS CLI and boto3."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})


def test_cli_get_caller_identity(nimbus):
    # `aws sts get-caller-identity` answers with the emulated account 000000000000.
    out = nimbus.cli("sts", "get-caller-identity")
    assert out["Account"] == "000000000000"
    assert out["Arn"].startswith("arn:aws:") and out["UserId"]


def test_assume_role_credentials_work_for_lambda(nimbus):
    # AssumeRole returns session credentials that Nimbus accepts for later calls.
    role = f"arn:aws:iam::000000000000:role/e2e-{uuid.uuid4().hex[:6]}"
    creds = nimbus.sts.assume_role(RoleArn=role, RoleSessionName="e2e")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SecretAccessKey"] and creds["SessionToken"]
    lam = nimbus.client("lambda", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                        token=creds["SessionToken"])
    assert "Functions" in lam.list_functions()
    sts = nimbus.client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                        token=creds["SessionToken"])
    me = sts.get_caller_identity()
    assert me["Account"] == "000000000000"
    assert ":assumed-role/" in me["Arn"] and me["Arn"].endswith("/e2e")


def test_iam_role_lifecycle_with_cli(nimbus):
    # IAM CreateRole/GetRole/ListRoles/AttachRolePolicy/PutRolePolicy/DeleteRole keep metadata.
    name = f"e2e-role-{uuid.uuid4().hex[:6]}"
    created = nimbus.cli("iam", "create-role", "--role-name", name, "--assume-role-policy-document", TRUST)
    assert created["Role"]["RoleName"] == name
    assert created["Role"]["Arn"] == f"arn:aws:iam::000000000000:role/{name}"
    got = nimbus.cli("iam", "get-role", "--role-name", name)["Role"]
    assert got["RoleId"] == created["Role"]["RoleId"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "lambda.amazonaws.com"
    roles = nimbus.cli("iam", "list-roles")["Roles"]
    assert name in [r["RoleName"] for r in roles]
    policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    nimbus.cli("iam", "attach-role-policy", "--role-name", name, "--policy-arn", policy_arn)
    attached = nimbus.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [policy_arn]
    nimbus.cli("iam", "put-role-policy", "--role-name", name, "--policy-name", "inline",
               "--policy-document", POLICY)
    assert nimbus.iam.list_role_policies(RoleName=name)["PolicyNames"] == ["inline"]
    # A role with attached policies cannot be deleted (DeleteConflict), as on AWS.
    p = nimbus.cli("iam", "delete-role", "--role-name", name, check=False)
    assert p.returncode != 0 and "DeleteConflict" in p.stderr
    nimbus.iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
    nimbus.iam.delete_role_policy(RoleName=name, PolicyName="inline")
    nimbus.cli("iam", "delete-role", "--role-name", name)
    with pytest.raises(ClientError) as e:
        nimbus.iam.get_role(RoleName=name)
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Duplicate create is EntityAlreadyExists (409).
    nimbus.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    with pytest.raises(ClientError) as e:
        nimbus.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
    nimbus.iam.delete_role(RoleName=name)
