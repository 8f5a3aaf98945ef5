#!/usr/bin/env python3
"""Checks the interop double against itself: sfu_server.py (healthy and with each fault) with
client.py peers, and whip_server.py with an in-process aiortc publisher and viewer, all on
loopback. Run through selfcheck.sh; exits non-zero on the first failure. `selfcheck.py whip`
checks whip_server.py only (a few seconds).
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from aiortc import RTCPeerConnection, RTCSessionDescription
from websockets.asyncio.client import connect

from client import Heard, Tone
from double_common import loopback_only_ice, rtc_configuration, sdp_candidates, strip_candidates

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable


class Server:
    def __init__(self, *args, script="sfu_server.py"):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, script), *args],
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
    if sys.argv[1:] == ["whip"]:
        whip_checks()
        print("selfcheck passed")
        return
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
    whip_checks()
    print("selfcheck passed")


# ---- whip_server.py ------------------------------------------------------------------------


async def http(url, method, body=None, headers=None, raw=None):
    """One HTTP/1.1 exchange on a fresh connection -> (status, {lower-case name: value}, body)."""
    host, port, path = re.match(r"^http://([^/:]+):(\d+)(/.*)?$", url).groups()
    reader, writer = await asyncio.open_connection(host, int(port))
    if raw is None:
        head = {"Host": f"{host}:{port}", **(headers or {})}
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            head["Content-Length"] = str(len(data))
        raw = f"{method} {path} HTTP/1.1\r\n".encode()
        raw += "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode() + b"\r\n" + (data or b"")
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 20)  # the server closes after each answer
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict((k.strip().lower(), v.strip()) for k, _, v in (l.partition(":") for l in lines[1:]))
    return int(lines[0].split()[1]), fields, payload.decode("utf-8", "replace")


async def connected(pc, within=10):
    for _ in range(int(within * 20)):
        if pc.connectionState == "connected":
            return True
        await asyncio.sleep(0.05)
    return False


def fragment(offer):
    """The RFC 8840 fragment trickling an offer's candidates (first m-line) and end-of-candidates."""
    ufrag = re.search(r"^a=ice-ufrag:(\S+)", offer, re.M).group(1)
    pwd = re.search(r"^a=ice-pwd:(\S+)", offer, re.M).group(1)
    cands = [c for c, _, mline in sdp_candidates(offer) if mline == 0]
    lines = [f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}", "m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=mid:0"]
    return "\r\n".join(lines + [f"a={c}" for c in cands] + ["a=end-of-candidates", ""])


async def publisher(base, room, hz, trickle):
    """An aiortc publisher: offer POSTed to /whip/ROOM (without candidates when trickling)."""
    pc = RTCPeerConnection(rtc_configuration())
    pc.addTransceiver(Tone(hz), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    r = await http(f"{base}/whip/{room}", "POST", strip_candidates(offer) if trickle else offer,
                   {"Content-Type": "application/sdp"})
    if r[0] == 201 and r[2].startswith("v=0"):
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r[2], type="answer"))
    return pc, offer, r


async def viewer(base, room):
    """An aiortc WHEP viewer: recvonly audio; returns (pc, response, heard tracks)."""
    pc = RTCPeerConnection(rtc_configuration())
    heard, tasks = [], []

    @pc.on("track")
    def on_track(track):
        heard.append(Heard(track))
        tasks.append(asyncio.ensure_future(heard[-1].consume()))

    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = await http(f"{base}/whep/{room}", "POST", pc.localDescription.sdp, {"Content-Type": "application/sdp"})
    if r[0] == 201:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=r[2], type="answer"))
    return pc, r, heard


async def whip_healthy(base):
    SDP, FRAG = {"Content-Type": "application/sdp"}, {"Content-Type": "application/trickle-ice-sdpfrag"}
    pub, offer, (status, h, answer) = await publisher(base, "r", 440, trickle=True)
    location, etag = h.get("location", ""), h.get("etag", "")
    check("whip: POST answered 201, application/sdp, relative Location, quoted ETag, candidates",
          status == 201 and h.get("content-type") == "application/sdp" and location.startswith("/whip/r/")
          and re.match(r'^"[^"]+"$', etag) and sdp_candidates(answer), status, h, answer)
    frag = fragment(offer)
    codes = [(await http(base + location, "PATCH", frag, FRAG))[0],
             (await http(base + location, "PATCH", frag, {**FRAG, "If-Match": '"stale"'}))[0],
             (await http(base + location, "PATCH", frag, {**FRAG, "If-Match": etag}))[0],
             (await http(base + location, "PATCH", frag, {"Content-Type": "text/plain", "If-Match": etag}))[0],
             (await http(base + location, "PATCH", frag.replace("a=ice-ufrag:", "a=ice-ufrag:new"),
                         {**FRAG, "If-Match": etag}))[0]]
    check("whip: PATCH 428 without If-Match, 412 stale, 204 with the ETag, 415, 501 ICE restart",
          codes == [428, 412, 204, 415, 501], codes)
    check("whip: the publisher connects", await connected(pub), pub.connectionState)
    view, (status, h, _), heard = await viewer(base, "r")
    check("whep: POST answered 201 with /whep/r/ Location", status == 201
          and h.get("location", "").startswith("/whep/r/") and h.get("etag"), status, h)
    check("whep: the viewer connects", await connected(view), view.connectionState)
    await asyncio.sleep(3)
    summary = [t.summary(0) for t in heard]
    check("whep: the viewer hears the publisher's 440 Hz",
          any(t["freq_hz"] and abs(t["freq_hz"] - 440) <= 9 for t in summary), summary)
    check("whep: no publisher, 404", (await viewer(base, "nobody"))[1][0] == 404)
    codes = [(await http(base + h["location"], "DELETE", headers={"If-Match": h["etag"]}))[0],
             (await http(base + location, "DELETE"))[0],
             (await http(base + location, "DELETE"))[0],
             (await viewer(base, "r"))[1][0]]
    check("whip/whep: DELETE 200, again 404, no more publisher 404", codes == [200, 200, 404, 404], codes)
    await pub.close()
    await view.close()
    hostile = [
        (await http(base + "/whip/r", "GET"))[:2],
        (await http(base + "/whip/r", "POST", "v=0\r\n", {"Content-Type": "text/plain"}))[:2],
        (await http(base + "/whip/r", "POST", "hello", SDP))[:2],
        (await http(base + "/whip/r", "POST", "v=0\r\n" + "a=x\r\n" * 20000, SDP))[:2],
        (await http(base + "/nope", "POST", offer, SDP))[:2],
        (await http(base, "", raw=b"\x00\xff garbage\r\n\r\n"))[:2],
        (await http(base + "/whip/r", "OPTIONS"))[:2],
    ]
    codes = [c for c, _ in hostile]
    check("whip: 405 (Allow), 415, 400, 413, 404, 400 on garbage, OPTIONS 204 (Accept-Post)",
          codes == [405, 415, 400, 413, 404, 400, 204] and hostile[0][1].get("allow") == "POST, OPTIONS"
          and hostile[6][1].get("accept-post") == "application/sdp", hostile)


async def whip_faults(base_a, base_b, base_c):
    # A: no-location, wrong-content-type, etag-ignored, no-candidates, ice-servers
    pub, _, (status, h, answer) = await publisher(base_a, "r", 440, trickle=False)
    await pub.close()
    options = await http(base_a + "/whip/r", "OPTIONS")
    link = '<stun:127.0.0.1:3478>; rel="ice-server"'
    check("faults: 201 without Location nor ETag, text/plain, no candidates, Link ice-server",
          status == 201 and "location" not in h and "etag" not in h and h.get("content-type") == "text/plain"
          and answer.startswith("v=0") and not sdp_candidates(answer) and h.get("link") == link
          and options[1].get("link") == link, status, h, answer, options)
    # B: patch-405, no-delete, private-candidates
    pub, offer, (status, h, answer) = await publisher(base_b, "r", 440, trickle=False)
    addresses = {c.split()[4] for c, _, _ in sdp_candidates(answer)}
    check("private-candidates: the answer's candidates are 172.17.0.2", status == 201
          and addresses == {"172.17.0.2"}, status, answer)
    check("private-candidates: the publisher still connects (peer-reflexive)", await connected(pub),
          pub.connectionState)
    patch = await http(base_b + h["location"], "PATCH", fragment(offer),
                       {"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": h["etag"]})
    delete = await http(base_b + h["location"], "DELETE")
    check("patch-405, no-delete: PATCH and DELETE answered 405 with Allow",
          patch[0] == 405 and delete[0] == 405 and patch[1].get("allow") == "OPTIONS", patch, delete)
    await pub.close()
    # C: status-500
    r = await http(base_c + "/whip/r", "POST", "v=0\r\n", {"Content-Type": "application/sdp"})
    check("status-500: POST answered 500, text body", r[0] == 500 and r[2].strip() == "internal error (fault)", r)


def whip_checks():
    loopback_only_ice()
    servers = [Server(script="whip_server.py")]
    try:
        asyncio.run(whip_healthy(servers[0].url))
        logs = servers[0].logs()
        check("whip: the trickled candidate was added, the connections logged",
              "1 candidates added (host), end-of-candidates" in logs and "connected" in logs, logs)
        for faults in ["no-location,wrong-content-type,etag-ignored,no-candidates,ice-servers",
                       "patch-405,no-delete,private-candidates", "status-500"]:
            servers.append(Server("--fault", faults, script="whip_server.py"))
        asyncio.run(whip_faults(*(s.url for s in servers[1:])))
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
