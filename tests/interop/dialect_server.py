#!/usr/bin/env python3
"""Interop test double of "another app": JSON over WebSocket with its own names, where the server
sends the first offer (aiortc), for `join --signal dialects/example-app.toml`.

Not rtc-assist's protocol in any name: a peer `enter`s a `channel`, is `welcome`d with a numeric
id, the server offers (`sdp` with `body.kind = "offer"`, candidates stripped and trickled as
`ice` messages, then `ice-done`), the peer answers (`sdp`, `body.kind = "answer"`) and trickles
its own `ice`/`ice-done`; `ping` is answered `pong`, `bye` leaves. The WebSocket subprotocol
`example-app.v1` is required (400 without it). The server's audio is a sine (`--tone`, default
440 Hz) on a `sendrecv` m-line (`--offer split`: a `sendonly` m-line with the tone and a
`recvonly` one for the peer's audio).

Prints exactly one line to stdout, `listening ws://HOST:PORT`, once it listens; logs one line per
milestone to stderr, and when a peer's session ends (`bye`, socket closed) one line
`report {json}`: what the server heard from that peer (`packets`, `freq_hz`, `rms_dbfs`),
`connected`, `connection_states`, `answer_direction`, `candidates_added`, `end_of_candidates`,
`pings`, `received` (the ops in order) and `errors`.

Wire format (server → peer):
  {"op": "welcome", "you": {"id": 1}, "others": [{"id": 2}]}
  {"op": "arrived", "who": {"id": 3}}      {"op": "departed", "who": {"id": 3}}
  {"op": "sdp", "body": {"kind": "offer", "text": "v=0…"}}
  {"op": "ice", "c": "candidate:…", "mid": "0", "idx": 0}      {"op": "ice-done"}
  {"op": "pong"}      {"op": "oops", "code": "…", "why": "…"}
peer → server: {"op": "enter", "channel": "…", "key": "…"?}, {"op": "sdp", "body": {"kind":
"answer", "text": …}}, {"op": "ice", …} (an empty `c` is the end of candidates too),
{"op": "ice-done"}, {"op": "ping"}, {"op": "bye"}.
"""

import argparse
import asyncio
import itertools
import json
import signal
import sys
from http import HTTPStatus

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from client import Heard, Tone
from double_common import (
    candidate_type,
    loopback_only_ice,
    rtc_configuration,
    sdp_candidates,
    setup_logging,
    strip_candidates,
)

SUBPROTOCOL = "example-app.v1"
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
log = setup_logging("dialect")


class Session:
    def __init__(self, ws, number):
        self.id = number
        self.ws = ws
        self.channel = None
        self.received = []  # every op of the socket, in order
        self.errors = []
        self.pings = 0
        self.reset()

    def reset(self):
        """A new call: after `bye` the socket may `enter` again."""
        self.pc = None
        self.remote_set = False
        self.pending = []  # the peer's candidates that arrived before its answer was applied
        self.heard = None  # Heard: the peer's audio as the server received it
        self.tasks = []
        self.connected = False
        self.connection_states = ["new"]
        self.answer_direction = None
        self.candidates_added = 0
        self.end_of_candidates = False
        self.reported = False


class App:
    def __init__(self, hz, offer_layout):
        self.hz = hz
        self.offer_layout = offer_layout
        self.numbers = itertools.count(1)
        self.channels = {}  # channel -> {id: Session}, in entry order

    # ---- helpers -------------------------------------------------------------------------

    def others(self, s):
        if s.channel is None:
            return []
        return [o for o in self.channels.get(s.channel, {}).values() if o is not s]

    async def send(self, s, msg):
        try:
            await s.ws.send(json.dumps(msg))
        except ConnectionClosed:
            pass

    async def oops(self, s, code, why):
        log.info("oops to %d: %s (%s)", s.id, why, code)
        s.errors.append(f"{code}: {why}")
        await self.send(s, {"op": "oops", "code": code, "why": why})

    # ---- the socket ----------------------------------------------------------------------

    async def handler(self, ws):
        s = Session(ws, next(self.numbers))
        log.info("socket open %d (subprotocol %s)", s.id, ws.subprotocol)
        try:
            async for raw in ws:
                await self.dispatch(s, raw)
        except ConnectionClosed:
            pass
        finally:
            await self.leave(s, "socket closed")

    async def dispatch(self, s, raw):
        try:
            if isinstance(raw, bytes):
                raise ValueError("binary frame")
            msg = json.loads(raw)
        except ValueError as e:
            return await self.oops(s, "bad-json", f"not a JSON text message: {e}")
        if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
            return await self.oops(s, "bad-message", 'expected {"op": …}')
        op = msg["op"]
        s.received.append(op)
        handler = {
            "enter": self.on_enter,
            "sdp": self.on_sdp,
            "ice": self.on_ice,
            "ice-done": self.on_ice_done,
            "ping": self.on_ping,
            "bye": self.on_bye,
        }.get(op)
        if handler is None:
            return await self.oops(s, "unknown-op", f"unknown op {op[:40]!r}")
        if op not in ("enter", "ping") and s.channel is None:
            return await self.oops(s, "not-entered", f"{op} before enter")
        await handler(s, msg)

    async def on_ping(self, s, msg):
        s.pings += 1
        log.info("ping from %d", s.id)
        await self.send(s, {"op": "pong"})

    async def on_enter(self, s, msg):
        channel = msg.get("channel")
        if not isinstance(channel, str) or not channel:
            return await self.oops(s, "bad-channel", "enter needs a channel")
        if s.channel is not None:
            return await self.oops(s, "already-entered", f"already in channel {s.channel}")
        room = self.channels.setdefault(channel, {})
        others = list(room.values())
        room[s.id] = s
        s.channel = channel
        log.info("%d entered channel %s (%d already there)", s.id, channel, len(others))
        await self.send(s, {"op": "welcome", "you": {"id": s.id}, "others": [{"id": o.id} for o in others]})
        for o in others:
            await self.send(o, {"op": "arrived", "who": {"id": s.id}})
        await self.offer(s)

    async def on_bye(self, s, msg):
        await self.leave(s, "bye")

    async def leave(self, s, why):
        if s.channel is not None:
            await self.report(s, why)
            room = self.channels.get(s.channel, {})
            room.pop(s.id, None)
            log.info("%d left channel %s (%s)", s.id, s.channel, why)
            for o in room.values():
                await self.send(o, {"op": "departed", "who": {"id": s.id}})
            if not room:
                self.channels.pop(s.channel, None)
            s.channel = None
        for t in s.tasks:
            t.cancel()
        if s.pc is not None:
            await s.pc.close()
        s.reset()

    # ---- negotiation: the server offers --------------------------------------------------

    async def offer(self, s):
        pc = s.pc = RTCPeerConnection(rtc_configuration())

        @pc.on("connectionstatechange")
        async def on_state():
            s.connection_states.append(pc.connectionState)
            s.connected = s.connected or pc.connectionState == "connected"
            log.info("connection %d: %s", s.id, pc.connectionState)

        @pc.on("iceconnectionstatechange")
        async def on_ice():
            log.info("ice %d: %s", s.id, pc.iceConnectionState)

        @pc.on("track")
        def on_track(track):
            if track.kind != "audio" or s.heard is not None:
                return
            log.info("track from %d (audio, id %s)", s.id, track.id[:8])
            s.heard = Heard(track)
            s.tasks.append(asyncio.ensure_future(s.heard.consume()))

        if self.offer_layout == "split":
            pc.addTransceiver(Tone(self.hz), direction="sendonly")
            pc.addTransceiver("audio", direction="recvonly")
        else:
            pc.addTransceiver(Tone(self.hz), direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        # Like a browser app: the offer at once, its candidates trickled after it.
        await self.send(s, {"op": "sdp", "body": {"kind": "offer", "text": strip_candidates(sdp)}})
        candidates = sdp_candidates(sdp)
        if candidates:
            # One transport (bundle): the candidates of the first m-line carrying any.
            candidates = [c for c in candidates if c[2] == candidates[0][2]]
        for c, mid, idx in candidates:
            await self.send(s, {"op": "ice", "c": c, "mid": mid, "idx": idx})
        await self.send(s, {"op": "ice-done"})
        what = ", ".join(candidate_type(c) for c, _, _ in candidates) or "none"
        n = len(candidates)
        log.info("offer to %d (%s), %d candidates trickled (%s) + ice-done", s.id, self.offer_layout, n, what)

    async def on_sdp(self, s, msg):
        body = msg.get("body")
        if not (isinstance(body, dict) and body.get("kind") == "answer" and isinstance(body.get("text"), str)):
            return await self.oops(s, "bad-sdp", 'a peer\'s sdp must be {"kind": "answer", "text": SDP}')
        if s.pc is None or s.remote_set:
            return await self.oops(s, "unexpected-answer", "no offer is waiting for an answer")
        text = body["text"]
        try:
            await s.pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="answer"))
        except Exception as e:  # aiortc raises several kinds on bad SDP
            return await self.oops(s, "bad-sdp", f"cannot apply the answer: {e}")
        s.answer_direction = [d for line in text.splitlines() for d in DIRECTIONS if line.strip() == f"a={d}"]
        s.remote_set = True
        log.info(
            "answer from %d (%s, %d candidates in its SDP)",
            s.id,
            ", ".join(s.answer_direction) or "?",
            len(sdp_candidates(text)),
        )
        pending, s.pending = s.pending, []
        for candidate in pending:
            await self.add_candidate(s, candidate)

    async def on_ice(self, s, msg):
        value, mid, idx = msg.get("c"), msg.get("mid"), msg.get("idx")
        if not isinstance(value, str):
            return await self.oops(s, "bad-ice", "ice needs c, a string")
        if not value:
            return await self.on_ice_done(s, msg)
        text = value[len("candidate:"):] if value.startswith("candidate:") else value
        try:
            candidate = candidate_from_sdp(text)
        except (AssertionError, ValueError, IndexError) as e:
            return await self.oops(s, "bad-ice", f"cannot parse candidate {value[:80]!r}: {e}")
        if mid is None and idx is None:
            return await self.oops(s, "bad-ice", "ice needs mid or idx")
        candidate.sdpMid, candidate.sdpMLineIndex = mid, idx
        await self.add_or_buffer(s, candidate)

    async def on_ice_done(self, s, msg):
        await self.add_or_buffer(s, None)

    async def add_or_buffer(self, s, candidate):
        if not s.remote_set:
            s.pending.append(candidate)
            log.info("candidate from %d buffered until its answer is applied", s.id)
            return
        await self.add_candidate(s, candidate)

    async def add_candidate(self, s, candidate):
        try:
            await s.pc.addIceCandidate(candidate)
        except Exception as e:
            return await self.oops(s, "bad-ice", f"addIceCandidate failed: {e}")
        if candidate is None:
            s.end_of_candidates = True
            log.info("end of candidates from %d", s.id)
        else:
            s.candidates_added += 1
            log.info("candidate from %d added (%s)", s.id, candidate.type)

    # ---- what the server heard -----------------------------------------------------------

    async def report(self, s, why):
        if s.reported:
            return
        s.reported = True
        packets = 0
        if s.pc is not None:
            for receiver in s.pc.getReceivers():
                try:
                    stats = await receiver.getStats()
                except Exception:
                    continue
                packets += sum(
                    getattr(x, "packetsReceived", 0) or 0 for x in stats.values() if x.type == "inbound-rtp"
                )
        heard = s.heard.summary(packets) if s.heard is not None else {"packets": packets, "freq_hz": None}
        out = {
            "id": s.id,
            "channel": s.channel,
            "ended_by": why,
            "connected": s.connected,
            "connection_states": s.connection_states,
            "answer_direction": s.answer_direction,
            "candidates_added": s.candidates_added,
            "end_of_candidates": s.end_of_candidates,
            "packets": packets,
            "frames": heard.get("frames", 0),
            "freq_hz": heard.get("freq_hz"),
            "rms_dbfs": heard.get("rms_dbfs"),
            "pings": s.pings,
            "received": s.received,
            "errors": s.errors,
        }
        print("report " + json.dumps(out), file=sys.stderr, flush=True)

    async def close(self):
        for room in list(self.channels.values()):
            for s in list(room.values()):
                await self.leave(s, "server stopping")


def require_subprotocol(connection, request):
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if SUBPROTOCOL not in offered:
        log.info("upgrade refused: no subprotocol %s", SUBPROTOCOL)
        return connection.respond(HTTPStatus.BAD_REQUEST, f"subprotocol {SUBPROTOCOL} required\n")
    return None


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tone", type=float, default=440.0, help="Hz of the sine the server sends")
    ap.add_argument(
        "--offer",
        choices=("sendrecv", "split"),
        default="sendrecv",
        help="one sendrecv audio m-line, or a sendonly (tone) and a recvonly one",
    )
    args = ap.parse_args()
    loopback_only_ice()
    app = App(args.tone, args.offer)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        app.handler, args.host, args.port, subprotocols=[SUBPROTOCOL], process_request=require_subprotocol
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening ws://{args.host}:{port}", flush=True)
        await stop.wait()
        await app.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
