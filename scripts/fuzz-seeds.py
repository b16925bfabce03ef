#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/) from the conformance files, at run time.

usage: fuzz-seeds.py OUT_DIR [--conformance DIR]
Writes OUT_DIR/<target>/<sha1> files, one input each:
  fuzz-scanner        the event lines of visible.json and signals.json (one file per case and one
                      per suite, as a stateful stream), the JSONTestSuite cases embedded in an
                      event as jsontestsuite.py embeds them, and differential.py's generated events
                      (single lines and short streams)
  fuzz-subscriptions  the context.messaging_subscriptions values of those events, and subscription
                      topic records (key, NUL, value)
  fuzz-config         the suites' configurations, differential.py's, and the YAML files of the repo
  fuzz-admin          admin API requests in HTTP/1.1 text form (see Fuzz/Sources/fuzz-admin)
The conformance directory defaults to ../shared/conformance; without it only the repo's own
seeds are written.
"""
import hashlib, json, os, sys

args = sys.argv[1:]
if not args:
    sys.exit(__doc__)
out = args[0]
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
conformance = args[args.index("--conformance") + 1] if "--conformance" in args else os.path.join(repo, "..", "shared", "conformance")
counts = {}


def seed(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1


def subscriptions_of(line):
    """The raw messaging_subscriptions value of an event line, when it parses."""
    try:
        event = json.loads(line)
        value = event["context"]["messaging_subscriptions"]
    except (ValueError, KeyError, TypeError):
        return None
    return json.dumps(value, ensure_ascii=False)


def conformance_seeds():
    for name in ("visible.json", "signals.json"):
        path = os.path.join(conformance, name)
        if not os.path.exists(path):
            continue
        for suite in json.load(open(path))["suites"]:
            seed("fuzz-config", json.dumps(suite["config"], ensure_ascii=False, indent=1))
            lines = []
            for case in suite["cases"]:
                line = case["line"] if "line" in case else json.dumps(case["event"], ensure_ascii=False)
                lines.append(line)
                seed("fuzz-scanner", line)
                value = subscriptions_of(line)
                if value is not None:
                    seed("fuzz-subscriptions", value)
            seed("fuzz-scanner", "\n".join(lines))

    cases = os.path.join(conformance, "jsontestsuite", "test_parsing")
    if os.path.isdir(cases):
        for name in sorted(os.listdir(cases)):
            body = open(os.path.join(cases, name), "rb").read().rstrip(b"\n")
            if b"\n" in body or b"\r" in body or len(body) > 4096:
                continue
            seed("fuzz-scanner", b'{"type":"track","event":"e","messageId":"' + name.encode() + b'","userId":"u","properties":{"x":' + body + b"}}")

    if os.path.exists(os.path.join(conformance, "differential.py")):
        sys.path.insert(0, conformance)
        import differential  # noqa: E402  (the generator of the differential test)

        seed("fuzz-config", json.dumps(differential.CONFIG, ensure_ascii=False, indent=1))
        seed("fuzz-config", json.dumps(differential.SIGNALS_CONFIG, ensure_ascii=False, indent=1))
        # The list FuzzPolicies.swift compiles in is Gen(1)'s. With signals, events carry TC, GPP
        # and US Privacy strings (valid and broken, made with signals.py), Consent Mode states and
        # consentManagement.
        for signals in (False, True):
            generator = differential.Gen(1, signals=signals)
            for i in range(300):
                line = generator.event(i)
                seed("fuzz-scanner", line)
                value = subscriptions_of(line)
                if value is not None:
                    seed("fuzz-subscriptions", value)
            for stream in range(20):
                seed("fuzz-scanner", "\n".join(generator.event(1000 + stream * 8 + i) for i in range(8)))
            for _ in range(30):
                seed("fuzz-subscriptions", generator.subscriptions())


def repository_seeds():
    for path in ("examples/policy.yaml", "Tests/Examples/full-policy.yaml", "deploy/kubernetes/base/policy.yaml"):
        full = os.path.join(repo, path)
        if os.path.exists(full):
            seed("fuzz-config", open(full, "rb").read())
    for key, value in ((b"email/-/p1@example.com", b"SUBSCRIBED 42"), (b"sms/10/Newsletter+15550001", b"UNSUBSCRIBED 0"),
                       (b"whatsapp/0/+1555", b"DID_NOT_SUBSCRIBE 7"), (b"email/3/a/b/c@d", b"subscribed 9223372036854775807")):
        seed("fuzz-subscriptions", key + b"\0" + value)

    token = "fuzz-admin-token-0123456789abcdef"  # the token fuzz-admin configures
    auth = "Authorization: Bearer " + token + "\n"
    json_type = "Content-Type: application/json\n"
    bodies = [
        {"regulationType": "SUPPRESS_ONLY", "subjectType": "USER_ID", "subjectIds": ["u-1", "u-2"]},
        {"regulationType": "SUPPRESS_WITH_DELETE", "subjectType": "EMAIL", "subjectIds": ["P1@Example.com"]},
        {"regulationType": "UNSUPPRESS", "subjectType": "USER_ID", "subjectIds": ["u-1"]},
        {"regulationType": "DELETE_ONLY", "subjectType": "ANONYMOUS_ID", "subjectIds": ["a-1"]},
        {"regulationType": "SUPPRESS_ONLY", "subjectType": "ANONYMOUS_ID", "subjectIds": ["a-1"]},
        {"regulationType": "SUPPRESS_ONLY", "subjectType": "USER_ID", "subjectIds": []},
        {"regulationType": "SUPPRESS_ONLY", "subjectType": "USER_ID", "subjectIds": [""]},
        {"regulationType": "SUPPRESS_ONLY", "subjectType": "USER_ID", "subjectIds": "u-1"},
        {"regulationType": "FORGET", "subjectType": "USER_ID", "subjectIds": ["u-1"]},
        {"regulationType": 1, "subjectType": "PHONE", "subjectIds": [1, None]},
        {"subjectType": "USER_ID"},
    ]
    for body in bodies:
        seed("fuzz-admin", "POST /v1/regulations\n" + auth + json_type + "\n" + json.dumps(body))
    for head, body in (
        ("POST /v1/regulations\n" + auth + json_type, '{"regulationType": "SUPPRESS_ONLY", "subjectType"'),
        ("POST /v1/regulations\n" + auth + "Content-Type: text/plain\n", json.dumps(bodies[0])),
        ("POST /v1/regulations\n" + json_type, json.dumps(bodies[0])),
        ("POST /v1/regulations\nAuthorization: Bearer wrong\n" + json_type, json.dumps(bodies[0])),
        ("POST /v1/regulations\nauthorization: bearer  " + token + "\ncontent-type: Application/JSON; charset=utf-8\n", json.dumps(bodies[1])),
        ("GET /v1/regulations/00000000-0000-0000-0000-000000000000\n" + auth, ""),
        ("GET /v1/suppressions/USER_ID/u%2D1\n" + auth, ""),
        ("GET /v1/suppressions/EMAIL/p1%40example.com\n" + auth, ""),
        ("GET /v1/suppressions/PHONE/%ZZ\n" + auth, ""),
        ("DELETE /v1/regulations/x\n" + auth, ""),
        ("GET /healthz\n", ""), ("GET /readyz\n", ""), ("GET /metrics\n", ""), ("GET /nowhere?x=1\n", ""),
    ):
        seed("fuzz-admin", head + "\n" + body)


repository_seeds()
conformance_seeds()
print("fuzz seeds: " + ", ".join("%s %d" % (t, n) for t, n in sorted(counts.items())))
