"""The contract harness for providers and consumers in any language, as CI runs it
(`just contract-any-language`, after `just clients` and a build of `contract-tests`):

1. A risk provider written in Python (contract-tests/tests/polyglot/risk_provider.py) passes
   `contract-tests verify`, its provider states set up through its state hook; its deliberately
   non-conforming variant fails, and the table says why.
2. The generated Python and TypeScript clients run against the gateway's validating mock
   (`contract-tests mock gateway`): purchase, read, pay and a declared error each, with no
   violation reported. Then a deliberately wrong request must be named in the report, and the
   mock must exit 1 when stopped.
"""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target/debug/contract-tests"
PROVIDER = ROOT / "contract-tests/tests/polyglot/risk_provider.py"
ANSWERS = ROOT / "tools/contract/gateway-answers.json"


def fail(message):
    sys.exit(f"any-language contract check failed: {message}")


def start(command):
    """Starts a server that prints its URL on its first line; returns it and the process."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        fail(f"{command[0]} did not start: {line}{process.stderr.read()}")
    return process, "http://" + line.split("http://", 1)[1].split()[0]


def stop(process):
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    return process.returncode, stderr


def verify(url):
    command = [str(BIN), "verify", "risk", url, "--state-hook", "/__provider-state", "--token", "polyglot"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    print(result.stdout, end="")
    return result.returncode, result.stdout + result.stderr


def expect_lines(output, lines):
    for line in lines:
        if line not in output:
            fail(f"expected {line!r} in:\n{output}")


def providers():
    server, url = start([sys.executable, str(PROVIDER)])
    code, output = verify(url)
    stop(server)
    if code != 0:
        fail(f"the Python risk provider should pass, exit {code}:\n{output}")
    expect_lines(output, ["PASS  get_risk 200", "PASS  get_risk 404", "2 passed, 0 failed"])

    server, url = start([sys.executable, str(PROVIDER), "--nonconforming"])
    code, output = verify(url)
    stop(server)
    if code != 1:
        fail(f"the non-conforming provider should fail with exit 1, not {code}")
    expect_lines(output, [
        "FAIL  get_risk 200",
        '200 body at /risk_score: "0.9" is not of type "number"',
        "the answer's shape differs at /risk_score: recorded a number, the provider answered a string",
        "FAIL  get_risk 404",
        "the provider answered 200, the consumer expects 404",
        "0 passed, 2 failed",
    ])


def report(url):
    with urllib.request.urlopen(f"{url}/__contract/report", timeout=10) as response:
        return json.load(response)


def consumers():
    mock, url = start([str(BIN), "mock", "gateway", "--port", "0", "--answers", str(ANSWERS)])
    env = dict(os.environ, NFIP_GATEWAY_URL=url, PYTHONPATH=str(ROOT / "clients/python"))
    for command in ([sys.executable, str(ROOT / "tools/clients/mock.py")],
                    ["node", str(ROOT / "clients/typescript/mock.mjs")]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        print(result.stdout, end="")
        if result.returncode != 0:
            stop(mock)
            fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    seen = report(url)
    if seen != {"requests": 8, "violations": []}:
        stop(mock)
        fail(f"the clients should send 8 requests that keep to the spec: {seen}")

    wrong = urllib.request.Request(
        f"{url}/purchase",
        method="POST",
        data=json.dumps({"zipcode": "33139", "base_rate": -5, "user": "Eve", "coupon": "FREE"}).encode(),
        headers={"x-api-key": "k", "content-type": "application/json", "x-debug": "1"},
    )
    urllib.request.urlopen(wrong, timeout=10).close()
    found = "\n".join(report(url)["violations"])
    expected = [
        "POST /purchase: gateway purchase (POST /purchase): the header x-debug is not declared",
        "POST /purchase: gateway purchase (POST /purchase): request body at /base_rate: -5 is less than or equal to the minimum of 0",
        "POST /purchase: gateway purchase (POST /purchase): request body at /: Additional properties are not allowed ('coupon' was unexpected)",
    ]
    expect_lines(found, expected)
    code, stderr = stop(mock)
    if code != 1:
        fail(f"the mock should exit 1 after a violation, not {code}")
    expect_lines(stderr, ["9 requests, 3 violations", *expected])
    print("the mock named the wrong request and exited 1 when stopped")


providers()
consumers()
print("any-language contract check passed")
