"""The Python fork-server (--launch zygote, the default): instances forked from a
pre-initialised interpreter must behave as exec'd ones do."""
import os

import pytest

OWN_BOTO3 = {
    "boto3/__init__.py": "VERSION = 'bundled'\n",
    "app.py": "import boto3\ndef handler(event, context):\n    return {'boto3': getattr(boto3, 'VERSION', 'debian')}\n",
}

WHO_AM_I = r"""
import os, sys
def handler(event, context):
    return {
        "cmdline": open("/proc/1/cmdline", "rb").read().split(b"\0")[:-1] and
                   [a.decode() for a in open("/proc/1/cmdline", "rb").read().split(b"\0")[:-1]],
        "environ_has_nimbus_path": b"/proc/self/fd" in open("/proc/1/environ", "rb").read(),
        "mine": os.environ.get("MINE"),
        "argv": sys.argv,
        "pid": os.getpid(),
    }
"""


def test_bundled_package_shadows_the_preloaded_one(nimbus, fname):
    # Lambda imports a package from the deployment package before the runtime's
    # own copy (the task root leads sys.path): a function that ships its own
    # boto3 gets it, although the fork-server preloaded Debian's.
    nimbus.create_function(fname, OWN_BOTO3)
    r, body = nimbus.invoke(fname, {})
    assert "FunctionError" not in r, body
    assert body == {"boto3": "bundled"}


def test_plain_function_sees_the_debian_boto3(nimbus, fname):
    # Without a bundled copy, `import boto3` resolves to the runtime's (on
    # Lambda: the one in the runtime image).
    files = {"app.py": OWN_BOTO3["app.py"]}
    nimbus.create_function(fname, files)
    assert nimbus.invoke(fname, {})[1] == {"boto3": "debian"}


def test_forked_instance_looks_like_an_exec_one(nimbus, fname):
    # What a function can see of its own process is the runtime's command line
    # and its own environment, never a host path of Nimbus's.
    nimbus.create_function(fname, {"app.py": WHO_AM_I}, Environment={"Variables": {"MINE": "yes"}})
    r, body = nimbus.invoke(fname, {})
    assert "FunctionError" not in r, body
    assert body["mine"] == "yes"
    assert body["argv"] == ["/var/runtime/python/bootstrap.py"]
    if os.geteuid() == 0:  # isolated: the runtime is PID 1 of its namespace
        assert body["pid"] == 1
        assert body["cmdline"] == ["/usr/bin/python3", "-S", "-B", "/var/runtime/python/bootstrap.py"]
        assert not body["environ_has_nimbus_path"]


def zygotes_of(server_pid):
    """Host pids of the server's fork-servers (root children running python)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            uid = int(open(f"/proc/{p}/status").read().split("Uid:")[1].split()[0])
            cmd = open(f"/proc/{p}/cmdline", "rb").read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == server_pid and uid == 0 and cmd.startswith(b"/usr/bin/python3"):
            out.append(int(p))
    return out


def memory_contains(pid, needle):
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms or line.rstrip().endswith(("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except OSError:
                pass
    return False


SECRET_READER = "import os\ndef handler(event, context):\n    return {'secret': os.environ['SECRET']}\n"


def test_zygote_never_holds_a_functions_environment(nimbus, fname):
    # Lambda keeps one function's environment variables (often secrets) from
    # every other function. Every instance forked from the shared zygote
    # inherits the zygote's memory, so the zygote must never have read any
    # function's environment: it travels in a memfd that only the child reads.
    if os.geteuid() != 0:
        pytest.skip("the fork-server runs only with isolation (root)")
    secret = "zygote-secret-" + os.urandom(8).hex()
    nimbus.create_function(fname, {"app.py": SECRET_READER}, Environment={"Variables": {"SECRET": secret}})
    r, body = nimbus.invoke(fname, {})
    assert body == {"secret": secret}, body
    zygotes = zygotes_of(nimbus.proc.pid)
    assert zygotes, "no fork-server found under the server"
    for z in zygotes:
        assert not memory_contains(z, secret.encode()), f"fork-server {z} holds a function's secret"


def test_cold_report_line_names_the_launch_path(nimbus, fname):
    # Lambda's REPORT line carries Init Duration on a cold start; Nimbus adds
    # which launch path started the instance (fork-server when isolated, else
    # exec), and nothing on warm invocations.
    import base64

    nimbus.create_function(fname, {"app.py": SECRET_READER}, Environment={"Variables": {"SECRET": "x"}})
    tails = []
    for _ in range(2):
        r = nimbus.lambda_.invoke(FunctionName=fname, Payload=b"{}", LogType="Tail")
        r["Payload"].read()
        tails.append(base64.b64decode(r["LogResult"]).decode())
    cold = [line for line in tails[0].splitlines() if line.startswith("REPORT")][0]
    warm = [line for line in tails[1].splitlines() if line.startswith("REPORT")][0]
    expected = "fork-server" if os.geteuid() == 0 else "exec"
    assert cold.endswith(f"\tLaunch: {expected}"), cold
    assert "Init Duration" in cold
    assert "Launch" not in warm and "Init Duration" not in warm, warm
