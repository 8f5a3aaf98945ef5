#!/usr/bin/env python3
"""Interop test double of a WHIP publisher / WHEP viewer (RFC 9725; WHEP per the IETF draft),
built on aiortc, written from the specifications.

`--whip URL` publishes a sine tone (`--hz`) for `--seconds`; `--whep URL` listens for
`--seconds` and measures the dominant frequency and level heard. `--trickle` POSTs the offer
without candidates, then PATCHes them as an RFC 8840 fragment (with `If-Match`), then a second
fragment with `a=end-of-candidates`. The session is always DELETEd at the end (when the 201 gave
a Location). Once the POST is answered one stderr line says so:
`created {"post_status": 201, "location": "…", "etag": "…"}` (location absolute), so a test can
act on the live session. Prints one JSON object on stdout (see README.md); exit 0 once the
exchange completed (connected or not, whatever the statuses), 2 on usage errors or when the
server could not be reached.
"""

import argparse
import asyncio
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription

from client import Heard, Tone
from double_common import loopback_only_ice, rtc_configuration, sdp_candidates, setup_logging, strip_candidates

SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"
HTTP_TIMEOUT_S = 20.0
log = setup_logging("whip_client")
# Never a proxy from the environment: everything here is loopback.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Unreachable(Exception):
    """The server could not be reached (refused, reset, timed out): not an HTTP answer."""


def _exchange(url, method, body, headers):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=HTTP_TIMEOUT_S) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:  # any non-2xx answer: still an answer
        text = e.read().decode("utf-8", "replace") if e.fp else ""
        return e.code, {k.lower(): v for k, v in (e.headers or {}).items()}, text
    except (urllib.error.URLError, OSError) as e:
        raise Unreachable(f"{method} {url}: {getattr(e, 'reason', e)}") from e


async def http(url, method, body=None, headers=None):
    """One HTTP exchange -> (status, {lower-case name: value}, body text)."""
    status, fields, text = await asyncio.to_thread(_exchange, url, method, body, headers)
    log.info("%s %s -> %s", method, url, status)
    return status, fields, text


def fragments(offer):
    """The RFC 8840 fragments trickling an offer's candidates (its first m-line): the candidates,
    then end-of-candidates alone."""
    ufrag = re.search(r"^a=ice-ufrag:(\S+)", offer, re.M).group(1)
    pwd = re.search(r"^a=ice-pwd:(\S+)", offer, re.M).group(1)
    cands = [(c, mid) for c, mid, mline in sdp_candidates(offer) if mline == 0]
    mid = cands[0][1] if cands else (re.search(r"^a=mid:(\S+)", offer, re.M) or [None, "0"])[1]
    head = [f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}", "m=audio 9 UDP/TLS/RTP/SAVPF 0", f"a=mid:{mid}"]
    first = "\r\n".join(head + [f"a={c}" for c, _ in cands]) + "\r\n"
    last = "\r\n".join(head + ["a=end-of-candidates"]) + "\r\n"
    return first, last


class Session:
    def __init__(self, args):
        self.args = args
        self.publish = args.whip is not None
        self.url = args.whip if self.publish else args.whep
        self.pc = None
        self.heard = []
        self.tasks = []
        self.states = []
        self.report = {
            "post_status": None,
            "location": None,
            "etag": None,
            "patch_status": None,
            "patch_statuses": [],
            "delete_status": None,
            "connected": False,
            "heard_hz": None,
            "rms_dbfs": None,
            "packets": 0,
            "connection_states": self.states,
            "answer_candidates": 0,
            "error": None,
        }

    async def run(self):
        pc = self.pc = RTCPeerConnection(rtc_configuration())

        @pc.on("connectionstatechange")
        async def on_state():
            self.states.append(pc.connectionState)
            if pc.connectionState == "connected":
                self.report["connected"] = True

        @pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                heard = Heard(track)
                self.heard.append(heard)
                self.tasks.append(asyncio.ensure_future(heard.consume()))

        if self.publish:
            pc.addTransceiver(Tone(self.args.hz), direction="sendonly")
        else:
            pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        body = strip_candidates(offer) if self.args.trickle else offer
        status, head, answer = await http(self.url, "POST", body, {"Content-Type": SDP})
        location = urllib.parse.urljoin(self.url, head["location"]) if "location" in head else None
        self.report.update(post_status=status, location=location, etag=head.get("etag"))
        created = {"post_status": status, "location": location, "etag": head.get("etag")}
        print("created " + json.dumps(created), file=sys.stderr, flush=True)
        if status != 201:
            self.report["error"] = f"POST answered {status}: {answer.strip()[:200]}"
            return
        self.report["answer_candidates"] = len(sdp_candidates(answer))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        except Exception as e:  # still DELETE the session below
            self.report["error"] = f"cannot apply the answer: {e}"
        if self.args.trickle and location and self.report["error"] is None:
            headers = {"Content-Type": SDPFRAG}
            if self.report["etag"]:
                headers["If-Match"] = self.report["etag"]
            for frag in fragments(offer):
                self.report["patch_statuses"].append((await http(location, "PATCH", frag, headers))[0])
            self.report["patch_status"] = self.report["patch_statuses"][0]
        await asyncio.sleep(self.args.seconds)
        await self.measure()

    async def measure(self):
        want = ("outbound-rtp", "packetsSent") if self.publish else ("inbound-rtp", "packetsReceived")
        packets = 0
        for part in (self.pc.getSenders() if self.publish else self.pc.getReceivers()):
            try:
                stats = await part.getStats()
            except Exception:
                continue
            packets += sum(getattr(s, want[1], 0) or 0 for s in stats.values() if s.type == want[0])
        self.report["packets"] = packets
        if not self.publish and self.heard:
            loudest = max((h.summary(0) for h in self.heard), key=lambda s: s["rms_dbfs"])
            self.report["rms_dbfs"] = loudest["rms_dbfs"]
            self.report["heard_hz"] = loudest["freq_hz"]

    async def close(self):
        location = self.report["location"]
        if location:
            try:
                self.report["delete_status"] = (await http(location, "DELETE"))[0]
            except Unreachable as e:
                self.report["error"] = self.report["error"] or str(e)
        if self.pc is not None:
            await self.pc.close()
        for t in self.tasks:
            t.cancel()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    side = ap.add_mutually_exclusive_group(required=True)
    side.add_argument("--whip", metavar="URL", help="publish to this WHIP endpoint")
    side.add_argument("--whep", metavar="URL", help="listen at this WHEP endpoint")
    ap.add_argument("--hz", type=float, default=660.0, help="the published tone (with --whip)")
    ap.add_argument("--seconds", type=float, default=8.0, help="how long to publish or listen")
    ap.add_argument("--trickle", action="store_true", help="offer without candidates, PATCH them")
    args = ap.parse_args()
    if not re.match(r"^https?://", args.whip or args.whep):
        ap.error("the URL must be http:// or https://")
    if args.seconds < 0 or args.hz <= 0:
        ap.error("--seconds must be >= 0 and --hz > 0")
    loopback_only_ice()
    session = Session(args)
    code = 0
    try:
        await session.run()
    except Unreachable as e:
        session.report["error"] = str(e)
        code = 2
    finally:
        await session.close()
    print(json.dumps(session.report), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
