"""Lambda layers: PublishLayerVersion and friends with boto3 and the AWS CLI,
functions with Layers (mounted read-only at /opt, merged in order), and SAM
LayerVersion resources deployed by `nimbus deploy`."""
import base64
import hashlib
import re
import subprocess
import urllib.request
import uuid

import pytest

from e2e_support import ACCOUNT, NIMBUS_BIN, ROLE, CliError, make_zip


def unique(prefix="layer"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def publish(nimbus, name, files, **kw):
    return nimbus.lambda_.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(files)}, **kw)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


PY_SHOW = """
import json, os
def handler(event, context):
    out = {"path": os.environ["PATH"], "ld": os.environ.get("LD_LIBRARY_PATH", "")}
    for mod in event.get("modules", []):
        out[mod] = __import__(mod).VALUE
    return out
"""


def test_publish_get_list_and_delete_with_boto3(nimbus):
    # AWS: versions count from 1 under arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N,
    # CodeSha256 / CodeSize describe the uploaded zip, CreatedDate is Lambda's
    # ISO 8601 with milliseconds and +0000, and Content.Location returns the zip.
    lam, name = nimbus.lambda_, unique()
    zip1 = make_zip({"python/m.py": "VALUE = 1\n"})
    v1 = lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip1}, Description="first",
                                   CompatibleRuntimes=["python3.11"], LicenseInfo="MIT")
    layer_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:{name}"
    assert v1["Version"] == 1
    assert v1["LayerArn"] == layer_arn
    assert v1["LayerVersionArn"] == layer_arn + ":1"
    assert v1["Description"] == "first" and v1["LicenseInfo"] == "MIT"
    assert v1["CompatibleRuntimes"] == ["python3.11"]
    assert v1["Content"]["CodeSha256"] == base64.b64encode(hashlib.sha256(zip1).digest()).decode()
    assert v1["Content"]["CodeSize"] == len(zip1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", v1["CreatedDate"])
    with urllib.request.urlopen(v1["Content"]["Location"], timeout=10) as r:
        assert r.read() == zip1
    v2 = publish(nimbus, name, {"nodejs/node_modules/x/index.js": "module.exports = 2;"},
                 CompatibleRuntimes=["nodejs20.x"], CompatibleArchitectures=["arm64"])
    assert v2["Version"] == 2

    got = lam.get_layer_version(LayerName=name, VersionNumber=1)
    assert got["LayerVersionArn"] == v1["LayerVersionArn"]
    assert got["Content"]["CodeSha256"] == v1["Content"]["CodeSha256"]
    by_arn = lam.get_layer_version_by_arn(Arn=v2["LayerVersionArn"])
    assert by_arn["Version"] == 2 and by_arn["CompatibleArchitectures"] == ["arm64"]
    # LayerName may also be the layer's ARN.
    assert lam.get_layer_version(LayerName=layer_arn, VersionNumber=2)["Version"] == 2

    # ListLayerVersions: newest first, filtered by runtime / architecture, paged.
    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert "Content" not in versions[0]
    assert [v["Version"] for v in lam.list_layer_versions(
        LayerName=name, CompatibleRuntime="python3.11")["LayerVersions"]] == [1]
    page = lam.list_layer_versions(LayerName=name, MaxItems=1)
    assert [v["Version"] for v in page["LayerVersions"]] == [2]
    rest = lam.list_layer_versions(LayerName=name, MaxItems=1, Marker=page["NextMarker"])
    assert [v["Version"] for v in rest["LayerVersions"]] == [1] and "NextMarker" not in rest

    # ListLayers: one entry per layer with its newest matching version.
    def listed(**kw):
        layers = [l for p in lam.get_paginator("list_layers").paginate(**kw) for l in p["Layers"]]
        return {l["LayerName"]: l["LatestMatchingVersion"]["Version"] for l in layers}
    assert listed()[name] == 2
    assert listed(CompatibleRuntime="python3.11")[name] == 1
    assert listed(CompatibleArchitecture="arm64")[name] == 2
    assert name not in listed(CompatibleRuntime="python3.12")

    # Deleting is idempotent, and a deleted version's number is never reused.
    lam.delete_layer_version(LayerName=name, VersionNumber=2)
    lam.delete_layer_version(LayerName=name, VersionNumber=2)
    assert publish(nimbus, name, {"a.txt": "a"})["Version"] == 3
    for n in (1, 3):
        lam.delete_layer_version(LayerName=name, VersionNumber=n)
    assert name not in listed()
    assert lam.list_layer_versions(LayerName=name)["LayerVersions"] == []


def test_layer_errors_are_aws_errors(nimbus):
    lam, name = nimbus.lambda_, unique()
    # AWS: a missing layer version is ResourceNotFoundException (404).
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName=name, VersionNumber=1)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_by_arn(Arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:{name}:1")
    # Names outside the LayerName pattern are a ValidationException.
    with pytest.raises(lam.exceptions.ClientError) as e:
        lam.get_layer_version(LayerName="bad.name", VersionNumber=1)
    assert error_code(e) == "ValidationException"
    # Nimbus has no S3 yet: S3 content is refused as an invalid parameter.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.publish_layer_version(LayerName=name, Content={"S3Bucket": "bucket", "S3Key": "k.zip"})
    assert "S3" in str(e.value)
    # Not a zip: the same unzip error as function code.
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.publish_layer_version(LayerName=name, Content={"ZipFile": b"not a zip"})


def test_function_layers_are_validated_as_lambda_does(nimbus, fname):
    lam, name = nimbus.lambda_, unique()
    arn = publish(nimbus, name, {"python/m.py": "VALUE = 1\n"})["LayerVersionArn"]
    code = {"ZipFile": make_zip({"app.py": PY_SHOW})}
    kw = dict(FunctionName=fname, Runtime="python3.11", Handler="app.handler", Role=ROLE, Code=code)
    # AWS: a layer version that does not exist is an InvalidParameterValueException.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(Layers=[arn[:-1] + "9"], **kw)
    assert "does not exist" in str(e.value)
    # AWS: at most 5 layers.
    others = [publish(nimbus, unique(), {"f": "x"})["LayerVersionArn"] for _ in range(5)]
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(Layers=[arn] + others, **kw)
    assert "more than 5 layers" in str(e.value)
    # AWS: the same layer twice (even the same version) is refused.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(Layers=[arn, arn], **kw)
    assert "Two different versions of the same layer" in str(e.value)
    # A malformed ARN fails the model's pattern.
    with pytest.raises(lam.exceptions.ClientError) as e:
        lam.create_function(Layers=["not-an-arn"], **kw)
    assert error_code(e) == "ValidationException"
    # GetFunction shows Configuration.Layers as [{Arn, CodeSize}].
    lam.create_function(Layers=[arn], **kw)
    cfg = lam.get_function(FunctionName=fname)["Configuration"]
    size = lam.get_layer_version_by_arn(Arn=arn)["Content"]["CodeSize"]
    assert cfg["Layers"] == [{"Arn": arn, "CodeSize": size}]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=fname, Layers=[arn[:-1] + "7"])
    assert lam.get_function_configuration(FunctionName=fname)["Layers"][0]["Arn"] == arn


def test_python_function_imports_from_layers_and_later_layers_win(nimbus, fname):
    # AWS: layers are extracted into /opt in order (a later layer overwrites an
    # earlier one's files); Python finds /opt/python and
    # /opt/python/lib/pythonX.Y/site-packages; PATH ends in /opt/bin and
    # LD_LIBRARY_PATH includes /opt/lib.
    lam = nimbus.lambda_
    a = publish(nimbus, unique(), {"python/which.py": "VALUE = 'a'\n", "python/only_a.py": "VALUE = 'only a'\n",
                                   "python/lib/python3.11/site-packages/sitepkg.py": "VALUE = 'site'\n"})
    b = publish(nimbus, unique(), {"python/which.py": "VALUE = 'b'\n"})
    nimbus.create_function(fname, {"app.py": PY_SHOW}, Layers=[a["LayerVersionArn"], b["LayerVersionArn"]])
    modules = {"modules": ["which", "only_a", "sitepkg"]}
    _, out = nimbus.invoke(fname, modules)
    assert (out["which"], out["only_a"], out["sitepkg"]) == ("b", "only a", "site"), out
    assert out["path"].split(":")[-1].endswith("/bin") and "/lib" in out["ld"]
    # Changing the layers replaces warm instances: the next invoke sees the new order.
    lam.update_function_configuration(FunctionName=fname, Layers=[b["LayerVersionArn"], a["LayerVersionArn"]])
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    _, out = nimbus.invoke(fname, {"modules": ["which"]})
    assert out["which"] == "a", out
    # A published version keeps its layers; $LATEST can then drop them.
    version = lam.publish_version(FunctionName=fname)["Version"]
    lam.update_function_configuration(FunctionName=fname, Layers=[])
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    assert "Layers" not in lam.get_function_configuration(FunctionName=fname)
    _, out = nimbus.invoke(fname, {"modules": ["which"]}, Qualifier=version)
    assert out["which"] == "a", out
    resp, out = nimbus.invoke(fname, {"modules": ["which"]})
    assert resp.get("FunctionError") and "which" in str(out), out
    # Deleting a layer version does not break the versions that use it (as on Lambda).
    lam.delete_layer_version(LayerName=a["LayerArn"].rsplit(":", 1)[1], VersionNumber=1)
    _, out = nimbus.invoke(fname, {"modules": ["which"]}, Qualifier=version)
    assert out["which"] == "a", out


def test_node_function_requires_from_layer(nimbus, fname):
    # AWS: NODE_PATH includes /opt/nodejs/node_modules and /opt/nodejs/nodeXX/node_modules.
    files = {"nodejs/node_modules/greeter/index.js": "module.exports = (n) => `hello ${n} from a layer`;"}
    # Only the folder of the running Node's major version is searched.
    for major in range(16, 26):
        files[f"nodejs/node{major}/node_modules/versioned/index.js"] = f"module.exports = '{major}';"
    layer = publish(nimbus, unique(), files)
    app = """
const greet = require('greeter');
exports.handler = async (event) => ({
  greeting: greet(event.name),
  versioned: require('versioned'),
  major: process.versions.node.split('.')[0],
});
"""
    nimbus.create_function(fname, {"index.js": app}, runtime="nodejs20.x", handler="index.handler",
                           Layers=[layer["LayerVersionArn"]])
    _, out = nimbus.invoke(fname, {"name": "you"})
    assert out["greeting"] == "hello you from a layer", out
    assert out["versioned"] == out["major"], out


@pytest.mark.isolation
def test_layer_files_are_read_only_and_other_code_invisible(nimbus, fname):
    # AWS: /opt is read-only to the function; only its own layers are there.
    layer = publish(nimbus, unique(), {"python/data.txt": "layer data\n"})
    probe = """
import errno, os
def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def handler(event, context):
    return {
        "read": open("/opt/python/data.txt").read(),
        "append": attempt(lambda: open("/opt/python/data.txt", "a").write("x")),
        "create": attempt(lambda: open("/opt/python/new.py", "w").write("x")),
        "chmod": attempt(lambda: os.chmod("/opt/python/data.txt", 0o777)),
        "readonly": bool(os.statvfs("/opt").f_flag & os.ST_RDONLY),
        "opt": sorted(os.listdir("/opt")),
    }
"""
    nimbus.create_function(fname, {"app.py": probe}, Layers=[layer["LayerVersionArn"]])
    _, out = nimbus.invoke(fname)
    assert out["read"] == "layer data\n", out
    assert out["append"] != "ok" and out["create"] != "ok" and out["chmod"] != "ok", out
    assert out["readonly"] is True and out["opt"] == ["python"], out


def test_layers_survive_kill9(server_factory, tmp_path):
    # Nimbus: layers are persisted like functions (synced before the answer).
    server = server_factory(data_dir=tmp_path / "data")
    name = unique()
    arn = publish(server, name, {"python/persisted.py": "VALUE = 'kept'\n"})["LayerVersionArn"]
    server.create_function("layered", {"app.py": PY_SHOW}, Layers=[arn])
    server.kill9()
    server.start()
    assert server.lambda_.get_layer_version_by_arn(Arn=arn)["Version"] == 1
    _, out = server.invoke("layered", {"modules": ["persisted"]})
    assert out["persisted"] == "kept", out
    assert publish(server, name, {"x": "y"})["Version"] == 2


def test_layer_operations_with_the_aws_cli(nimbus, tmp_path):
    # The AWS CLI's publish-layer-version / list-layer-versions / get-layer-version /
    # delete-layer-version against Nimbus, as against Lambda.
    name = unique()
    z = tmp_path / "layer.zip"
    z.write_bytes(make_zip({"bin/tool.sh": "#!/bin/sh\necho tool\n"}))
    out = nimbus.cli("lambda", "publish-layer-version", "--layer-name", name, "--zip-file", f"fileb://{z}",
                     "--compatible-runtimes", "python3.11", "nodejs20.x", "--description", "cli layer")
    assert out["Version"] == 1 and out["CompatibleRuntimes"] == ["python3.11", "nodejs20.x"]
    listed = nimbus.cli("lambda", "list-layer-versions", "--layer-name", name)
    assert [v["Version"] for v in listed["LayerVersions"]] == [1]
    got = nimbus.cli("lambda", "get-layer-version", "--layer-name", name, "--version-number", "1")
    assert got["Description"] == "cli layer"
    assert any(l["LayerName"] == name for l in nimbus.cli("lambda", "list-layers")["Layers"])
    nimbus.cli("lambda", "delete-layer-version", "--layer-name", name, "--version-number", "1")
    with pytest.raises(CliError) as e:
        nimbus.cli("lambda", "get-layer-version", "--layer-name", name, "--version-number", "1")
    assert "ResourceNotFoundException" in e.value.stderr


SAM_TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Layers: [!Ref {layer_id}]
Resources:
  {layer_id}:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python3.11]
      Description: shared code
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.11
      CodeUri: fn/
Outputs:
  LayerArn:
    Value: !Ref {layer_id}
"""


def deploy(nimbus, template, stack):
    return subprocess.run([NIMBUS_BIN, "deploy", str(template), "--endpoint", nimbus.endpoint,
                           "--stack-name", stack], capture_output=True, text=True, timeout=120)


def test_sam_layer_version_deploy_and_redeploy(nimbus, tmp_path):
    # SAM: LayerName defaults to the logical id, !Ref gives the layer version
    # ARN, Globals.Function.Layers applies to every function; a redeploy
    # publishes a new version only when the content changed, updates the
    # functions that use it and drops the stack's old version; removing the
    # layer from the template deletes what the stack published.
    lam, stack, layer_id = nimbus.lambda_, unique("st"), unique("Libs")
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "shared.py").write_text("VALUE = 'v1'\n")
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(PY_SHOW)
    template = tmp_path / "template.yaml"
    template.write_text(SAM_TEMPLATE.replace("{layer_id}", layer_id))
    fn_name = None
    try:
        r = deploy(nimbus, template, stack)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "AWS::Serverless::LayerVersion" in r.stdout
        versions = lam.list_layer_versions(LayerName=layer_id)["LayerVersions"]
        assert [v["Version"] for v in versions] == [1]
        assert versions[0]["Description"].startswith("shared code")
        assert "LayerArn" in r.stdout and versions[0]["LayerVersionArn"] in r.stdout
        fn_name = next(f["FunctionName"] for f in lam.list_functions()["Functions"]
                       if f["FunctionName"].startswith(f"{stack}-Fn-"))
        assert lam.get_function_configuration(FunctionName=fn_name)["Layers"][0]["Arn"] == \
            versions[0]["LayerVersionArn"]
        _, out = nimbus.invoke(fn_name, {"modules": ["shared"]})
        assert out["shared"] == "v1", out

        r = deploy(nimbus, template, stack)
        assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
        assert len(lam.list_layer_versions(LayerName=layer_id)["LayerVersions"]) == 1

        (tmp_path / "layer" / "python" / "shared.py").write_text("VALUE = 'v2'\n")
        r = deploy(nimbus, template, stack)
        assert r.returncode == 0, r.stdout + r.stderr
        versions = lam.list_layer_versions(LayerName=layer_id)["LayerVersions"]
        assert [v["Version"] for v in versions] == [2]
        _, out = nimbus.invoke(fn_name, {"modules": ["shared"]})
        assert out["shared"] == "v2", out

        template.write_text("Transform: AWS::Serverless-2016-10-31\nResources:\n" + FN_ONLY)
        r = deploy(nimbus, template, stack)
        assert r.returncode == 0, r.stdout + r.stderr
        assert lam.list_layer_versions(LayerName=layer_id)["LayerVersions"] == []
        assert "Layers" not in lam.get_function_configuration(FunctionName=fn_name)
    finally:
        if fn_name:
            lam.delete_function(FunctionName=fn_name)


FN_ONLY = """  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.11
      CodeUri: fn/
"""


def test_layers_with_isolation_off(server_factory, tmp_path):
    # Nimbus-specific (documented difference): without isolation there is no
    # mount namespace, so the merged layers stay in their host folder, named by
    # NIMBUS_OPT_DIR, and the runtime's search paths point there.
    server = server_factory(data_dir=tmp_path / "data", extra_args=["--isolation", "off"])
    a = publish(server, unique(), {"python/which.py": "VALUE = 'a'\n", "bin/tool": "a"})
    b = publish(server, unique(), {"python/which.py": "VALUE = 'b'\n"})
    app = PY_SHOW.replace('out = {', 'out = {"opt": os.environ["NIMBUS_OPT_DIR"], ')
    server.create_function("layered", {"app.py": app}, Layers=[a["LayerVersionArn"], b["LayerVersionArn"]])
    _, out = server.invoke("layered", {"modules": ["which"]})
    assert out["which"] == "b", out
    assert out["opt"] != "/opt" and out["opt"].startswith(str(tmp_path / "data")), out
    assert out["path"].endswith(out["opt"] + "/bin") and out["opt"] + "/lib" in out["ld"], out
