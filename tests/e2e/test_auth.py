"""SigV4 verification with `nimbus serve --credentials FILE`."""
import pytest
from botocore.exceptions import ClientError

KEY = "AKIDNIMBUSE2ETEST001"
SECRET = "nimbus/e2e/secret/key/0123456789abcdefghij"


@pytest.fixture
def secured(server_factory, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    return server_factory(extra_args=["--credentials", str(creds)])


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_signatures_are_verified(secured):
    # With --credentials, correctly signed calls work and bad signatures get each service's error.
    good_lambda = secured.client("lambda", key=KEY, secret=SECRET)
    good_sts = secured.client("sts", key=KEY, secret=SECRET)
    assert "Functions" in good_lambda.list_functions()
    assert good_sts.get_caller_identity()["Account"] == "000000000000"

    # Wrong secret: Lambda InvalidSignatureException 403, STS SignatureDoesNotMatch 403.
    assert error_of(lambda: secured.client("lambda", key=KEY, secret="wrong").list_functions()) == \
        ("InvalidSignatureException", 403)
    assert error_of(lambda: secured.client("sts", key=KEY, secret="wrong").get_caller_identity()) == \
        ("SignatureDoesNotMatch", 403)
    # Unknown key: Lambda UnrecognizedClientException 403, STS InvalidClientTokenId 403.
    assert error_of(lambda: secured.client("lambda", key="AKIDUNKNOWN000000000", secret=SECRET).list_functions()) == \
        ("UnrecognizedClientException", 403)
    assert error_of(lambda: secured.client("sts", key="AKIDUNKNOWN000000000", secret=SECRET).get_caller_identity()) == \
        ("InvalidClientTokenId", 403)
    # Unsigned requests are rejected too (no anonymous access once credentials are required).
    status, _, _ = secured.http("GET", "/2015-03-31/functions/")
    assert status in (400, 403)


def test_assume_role_credentials_accepted_when_verifying(secured):
    # Session credentials from AssumeRole verify under --credentials (Nimbus knows their secret).
    sts = secured.client("sts", key=KEY, secret=SECRET)
    c = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="e2e-session")["Credentials"]
    lam = secured.client("lambda", key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"])
    assert "Functions" in lam.list_functions()
    bad = secured.client("lambda", key=c["AccessKeyId"], secret="not-the-session-secret", token=c["SessionToken"])
    assert error_of(bad.list_functions)[1] == 403


def test_functions_call_back_under_verification(secured):
    # A function's own boto3 calls are signed with credentials Nimbus accepts, even with --credentials.
    lam = secured.client("lambda", key=KEY, secret=SECRET)
    from e2e_support import ROLE, make_zip
    code = "import boto3\ndef handler(e, c):\n    return boto3.client('sts').get_caller_identity()['Account']\n"
    lam.create_function(FunctionName="auth-cb", Runtime="python3.11", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": make_zip({"app.py": code})}, Timeout=20)
    lam.get_waiter("function_active_v2").wait(FunctionName="auth-cb", WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    r = lam.invoke(FunctionName="auth-cb", Payload=b"{}")
    body = r["Payload"].read()
    assert "FunctionError" not in r, body
    assert body == b'"000000000000"'


def test_nimbus_cli_signs_with_environment_credentials(secured, monkeypatch):
    # The `nimbus` client commands sign like the AWS CLI, with the standard
    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    ok = secured.nimbus_cli("ls")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("NAME")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    bad = secured.nimbus_cli("ls")
    assert bad.returncode != 0 and "InvalidSignatureException" in bad.stderr
