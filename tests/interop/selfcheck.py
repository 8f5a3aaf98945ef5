#!/usr/bin/env python3
"""Checks the interop double against itself: sfu_server.py (healthy and with each fault) with
client.py peers, all on loopback. Run through selfcheck.sh; exits non-zero on the first failure.
"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.client import connect

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable


class Server:
    def __init__(self, *args):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, "sfu_server.py"), *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.proc.stdout.readline()  # bounded by selfcheck.sh's timeout
        assert line.startswith("listening "), f"no listening line: {line!r}\n{self.logs()}"
        self.url = line.split()[1]

    def logs(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def clients(url, specs, room="r", stagger=0.7, ca=None):
    """Runs one client.py per (hz, trickle), started `stagger` s apart; returns their JSON."""
    procs = []
    for i, (hz, trickle) in enumerate(specs):
        cmd = [PY, os.path.join(HERE, "client.py"), "--url", url, "--room", room, "--tone", str(hz)]
        cmd += ["--duration", str(4 + stagger * (len(specs) - 1 - i))]
        cmd += ["--trickle"] if trickle else []
        cmd += ["--ca", ca] if ca else []
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(stagger)
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=60)
        assert p.returncode == 0, f"client exit {p.returncode}: {stdout}\n{stderr}"
        out.append(json.loads(stdout))
    return out


def hears(result, hz):
    return any(t["freq_hz"] and abs(t["freq_hz"] - hz) <= 0.02 * hz for t in result["tracks"])


def check(name, ok, *context):
    print(("ok   " if ok else "FAIL ") + name, flush=True)
    if not ok:
        for c in context:
            print(c if isinstance(c, str) else json.dumps(c, indent=1), file=sys.stderr)
        sys.exit(1)


def scenario(faults, specs, **kw):
    srv = Server(*[a for f in faults for a in ("--fault", f)], *kw.pop("server_args", []))
    try:
        return clients(kw.pop("url", srv.url), specs, **kw), srv.logs()
    finally:
        srv.stop()


async def protocol_errors(url):
    async with connect(url, open_timeout=10) as ws:
        replies = []
        for frame in ["{nope", json.dumps({"type": "bogus", "data": {}}), json.dumps({"type": "offer", "data": {}})]:
            await ws.send(frame)
            replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        await ws.send(json.dumps({"type": "join_room", "data": {"room": "x"}}))
        replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        return replies


def main():
    (a, b), logs = scenario([], [(440, False), (660, False)])
    check("healthy: each hears the other", hears(a, 660) and hears(b, 440), a, b, logs)
    check("healthy: connected, no errors, no server offers",
          a["connected"] and b["connected"] and not a["errors"] + b["errors"]
          and a["server_offers_ignored"] == b["server_offers_ignored"] == 0, a, b)
    check("healthy: trickled server candidates and end-of-candidates",
          a["candidates_added"] > 0 and a["end_of_candidates"] and b["end_of_candidates"], a, b)

    (a, b), logs = scenario([], [(440, True), (660, True)])
    check("healthy, trickling clients: each hears the other", hears(a, 660) and hears(b, 440), a, b, logs)
    check("healthy, trickling clients: server added their candidates",
          logs.count("added (host)") >= 2 and logs.count("end-of-candidates from") >= 2, logs)

    (a, b), logs = scenario(["F7"], [(440, False), (660, False)])
    check("F7: the second hears the first", hears(b, 440), b, logs)
    check("F7: the first never hears the second", not hears(a, 660), a, logs)

    for fault, text in [("F3-null", "sdpMid and sdpMLineIndex are both null"),
                        ("F3-prefix", "doubled 'candidate:' prefix"),
                        ("F3-nested", "nesting too deep")]:
        (a,), logs = scenario([fault], [(440, False)])
        check(f"{fault}: the strict client rejects it", any(text in e for e in a["errors"]), a, logs)

    (a, b), logs = scenario(["F1"], [(440, False), (660, False)])
    check("F1: the joiner gets no candidates of its own, the creator gets the joiner's",
          b["candidates_added"] == 0 and not b["end_of_candidates"] and a["candidates_added"] > 0, a, b)

    (a,), logs = scenario(["F2"], [(440, False)])
    check("F2: no candidates in the answer nor trickled",
          a["candidates_added"] == 0 and "ice_candidate" not in a["received"]
          and "(sendrecv, 0 candidates)" in logs, a, logs)

    (a,), logs = scenario(["F4"], [(440, False)])
    check("F4: candidates before the answer force the client to buffer",
          a["buffered_candidates"] > 0 and a["received"].index("ice_candidate") < a["received"].index("answer"), a)

    (a, b), logs = scenario(["F5"], [(440, True), (660, True)])
    check("F5: trickled client candidates never added, forwarded instead",
          "F5: candidate from" in logs and "added (host)" not in logs, logs)

    srv = Server()
    try:
        replies = asyncio.run(protocol_errors(srv.url))
    finally:
        srv.stop()
    codes = [r["data"].get("code") if r["type"] == "error" else r["type"] for r in replies]
    check("errors keep the socket open", codes == ["bad_json", "unknown_type", "not_in_room", "joined_room"], replies)

    with tempfile.TemporaryDirectory() as d:
        sh = lambda cmd: subprocess.run(cmd, shell=True, cwd=d, check=True, capture_output=True, timeout=60)
        sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=interop-ca")
        sh("openssl req -newkey rsa:2048 -nodes -keyout k.pem -out srv.csr -subj /CN=localhost")
        sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf")
        sh("openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out srv.pem")
        (a, b), logs = scenario([], [(440, False), (660, True)], ca=f"{d}/ca.pem",
                                server_args=["--tls-cert", f"{d}/srv.pem", "--tls-key", f"{d}/k.pem"])
        check("wss: each hears the other", hears(a, 660) and hears(b, 440), a, b, logs)
    print("selfcheck passed")


if __name__ == "__main__":
    main()
