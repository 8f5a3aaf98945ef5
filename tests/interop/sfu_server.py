#!/usr/bin/env python3
"""Interop test double of the guide's backend: JSON-over-WebSocket signaling on /ws and an aiortc
SFU that relays each peer's audio to the other peers of its room (see README.md).

Healthy by default (the "repaired" server); `--fault CODE` (repeatable or comma-separated)
reproduces a bug of the failure-mode catalogue on this design. Prints exactly one line to stdout,
`listening ws://HOST:PORT/ws`, once it listens; logs one line per milestone to stderr.
"""

import argparse
import asyncio
import fractions
import json
import signal
import ssl
import sys
import uuid
from http import HTTPStatus

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from double_common import (
    candidate_type,
    loopback_only_ice,
    rtc_configuration,
    sdp_candidates,
    setup_logging,
    strip_candidates,
)

FAULTS = ("F1", "F2", "F3-prefix", "F3-nested", "F3-null", "F4", "F5", "F7")
RATE = 48000
SAMPLES = 960  # 20 ms
log = setup_logging("sfu")


class Peer:
    def __init__(self, ws):
        self.id = uuid.uuid4().hex
        self.short = self.id[:8]
        self.ws = ws
        self.room = None
        self.reset()

    def reset(self):
        self.pc = None
        self.remote_set = False
        self.pending = []  # client candidates that arrived before the offer was applied
        self.track = None  # the client's audio as aiortc received it
        self.tap = None
        self.downlink = None


class DownlinkTrack(MediaStreamTrack):
    """Healthy mode: the audio a client hears on its own transceiver.

    Relays the first other peer of the room whose audio is present and switches when that
    changes; silence (with continuous pts, paced in real time) while there is none.
    """

    kind = "audio"

    def __init__(self, sfu, peer):
        super().__init__()
        self.sfu, self.peer = sfu, peer
        self.source = None  # (peer, remote track) being relayed
        self.proxy = None
        self.pts = 0
        self.next_due = None

    def _select(self):
        other = self.sfu.first_other_audio(self.peer)
        want = (other, other.track) if other else None
        if want == self.source:
            return
        if self.proxy is not None:
            self.proxy.stop()
        self.source = want
        self.proxy = self.sfu.relay.subscribe(other.track, buffered=False) if other else None
        log.info("downlink %s <- %s", self.peer.short, other.short if other else "silence")

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self.next_due is None:
            self.next_due = loop.time()
        self._select()
        frame = None
        if self.proxy is not None:
            # Wait for the source until this frame is due (20 ms of grace), else send silence.
            timeout = max(0.005, self.next_due + 0.02 - loop.time())
            try:
                frame = await asyncio.wait_for(self.proxy.recv(), timeout)
            except asyncio.TimeoutError:
                pass
            except MediaStreamError:  # that peer left
                self.proxy, self.source = None, None
                log.info("downlink %s <- silence (source ended)", self.peer.short)
        if frame is not None:
            # The relayed frame is shared with other consumers: copy it with our own pts.
            out = av.AudioFrame.from_ndarray(
                frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
            )
            out.sample_rate = frame.sample_rate
            self.next_due = loop.time() + frame.samples / frame.sample_rate
        else:
            wait = self.next_due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.2:
                self.next_due = loop.time()
            self.next_due += SAMPLES / RATE
            out = av.AudioFrame(format="s16", layout="stereo", samples=SAMPLES)
            for p in out.planes:
                p.update(bytes(p.buffer_size))
            out.sample_rate = RATE
        out.pts = self.pts
        out.time_base = fractions.Fraction(1, out.sample_rate)
        self.pts += out.samples
        return out

    def stop(self):
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        super().stop()


class Sfu:
    def __init__(self, faults):
        self.faults = set(faults)
        self.rooms = {}  # room name -> {peer id: Peer}, in join order
        self.relay = MediaRelay()

    # ---- helpers -------------------------------------------------------------------------

    def others(self, peer):
        if peer.room is None:
            return []
        return [p for p in self.rooms.get(peer.room, {}).values() if p is not peer]

    def first_other_audio(self, peer):
        for p in self.others(peer):
            if p.track is not None and p.track.readyState == "live":
                return p
        return None

    async def send(self, peer, kind, data):
        try:
            await peer.ws.send(json.dumps({"type": kind, "data": data}))
        except ConnectionClosed:
            pass

    async def error(self, peer, code, message):
        log.info("error to %s: %s (%s)", peer.short, message, code)
        await self.send(peer, "error", {"message": message, "code": code})

    # ---- the socket ----------------------------------------------------------------------

    async def handler(self, ws):
        peer = Peer(ws)
        log.info("socket open %s", peer.short)
        try:
            async for raw in ws:
                await self.dispatch(peer, raw)
        except ConnectionClosed:
            pass
        finally:
            await self.leave(peer)
            log.info("socket closed %s", peer.short)

    async def dispatch(self, peer, raw):
        try:
            if isinstance(raw, bytes):
                raise ValueError("binary frame")
            msg = json.loads(raw)
        except ValueError as e:
            return await self.error(peer, "bad_json", f"not a JSON text message: {e}")
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            return await self.error(peer, "bad_message", "expected {\"type\": T, \"data\": D}")
        data = msg.get("data")
        data = {} if data is None else data
        if not isinstance(data, dict):
            return await self.error(peer, "bad_message", "data must be an object")
        handler = {
            "join_room": self.on_join,
            "offer": self.on_offer,
            "answer": self.on_answer,
            "ice_candidate": self.on_candidate,
            "leave_room": self.on_leave,
        }.get(msg["type"])
        if handler is None:
            return await self.error(peer, "unknown_type", f"unknown message type {msg['type']!r}")
        if msg["type"] != "join_room" and peer.room is None:
            return await self.error(peer, "not_in_room", f"{msg['type']} before join_room")
        await handler(peer, data)

    async def on_join(self, peer, data):
        name = data.get("room_name", data.get("room", data.get("roomName")))
        if not isinstance(name, str) or not name:
            return await self.error(peer, "bad_request", "join_room needs room_name")
        if peer.room is not None:
            await self.leave(peer)
        room = self.rooms.setdefault(name, {})
        existing = list(room)
        room[peer.id] = peer
        peer.room = name
        log.info("%s joined room %s (%d already there)", peer.short, name, len(existing))
        await self.send(peer, "joined_room", {"room_name": name, "peer_id": peer.id, "peers": existing})
        for other in self.others(peer):
            await self.send(other, "peer_joined", {"peer_id": peer.id})

    async def on_leave(self, peer, data):
        await self.leave(peer)

    async def leave(self, peer):
        if peer.room is None:
            return
        room = self.rooms.get(peer.room, {})
        room.pop(peer.id, None)
        log.info("%s left room %s", peer.short, peer.room)
        for other in room.values():
            await self.send(other, "peer_left", {"peer_id": peer.id})
        if not room:
            self.rooms.pop(peer.room, None)
        peer.room = None
        if peer.tap is not None:
            peer.tap.cancel()
        if peer.downlink is not None:
            peer.downlink.stop()
        if peer.pc is not None:
            await peer.pc.close()
        peer.reset()

    async def on_answer(self, peer, data):
        log.info("answer from %s ignored: this server never sends offers", peer.short)

    # ---- negotiation ---------------------------------------------------------------------

    def new_pc(self, peer):
        pc = RTCPeerConnection(rtc_configuration())

        @pc.on("connectionstatechange")
        async def on_state():
            log.info("connection %s: %s", peer.short, pc.connectionState)

        @pc.on("iceconnectionstatechange")
        async def on_ice():
            log.info("ice %s: %s", peer.short, pc.iceConnectionState)

        @pc.on("track")
        def on_track(track):
            if track.kind != "audio":
                return
            peer.track = track
            log.info("track from %s (audio, id %s)", peer.short, track.id[:8])
            peer.tap = asyncio.ensure_future(self.tap(peer, self.relay.subscribe(track)))
            if "F7" in self.faults:
                for other in self.others(peer):
                    if other.pc is not None and other.remote_set:
                        other.pc.addTrack(self.relay.subscribe(track))
                        log.info(
                            "F7: audio of %s added to the negotiated connection of %s, no offer sent",
                            peer.short,
                            other.short,
                        )

        return pc

    async def tap(self, peer, proxy):
        """Consumes a client's audio (the guide's speech-to-text tap) and logs when it flows."""
        frames = 0
        try:
            while True:
                await proxy.recv()
                frames += 1
                if frames == 1:
                    log.info("audio from %s arriving", peer.short)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        finally:
            proxy.stop()
            log.info("audio from %s ended after %d frames", peer.short, frames)

    async def on_offer(self, peer, data):
        sdp = data.get("sdp")
        if not isinstance(sdp, str) or data.get("type", "offer") != "offer":
            return await self.error(peer, "bad_sdp", "offer needs {sdp, type: \"offer\"}")
        first = peer.pc is None
        if first:
            peer.pc = self.new_pc(peer)
            if "F7" in self.faults:
                for other in self.others(peer):
                    if other.track is not None:
                        peer.pc.addTrack(self.relay.subscribe(other.track))
                        log.info("audio of %s added for %s before its offer", other.short, peer.short)
            else:
                peer.downlink = DownlinkTrack(self, peer)
                peer.pc.addTrack(peer.downlink)
        pc = peer.pc
        log.info("offer from %s (%d candidates in its SDP)", peer.short, len(sdp_candidates(sdp)))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as e:  # aiortc raises several kinds on bad SDP
            return await self.error(peer, "bad_sdp", f"cannot apply offer: {e}")
        peer.remote_set = True
        pending, peer.pending = peer.pending, []
        for candidate in pending:
            await self.add_candidate(peer, candidate)
        await pc.setLocalDescription(await pc.createAnswer())
        answer = pc.localDescription.sdp
        candidates = sdp_candidates(answer)
        if candidates:
            # One transport (bundle): the candidates of the first m-line carrying any.
            candidates = [c for c in candidates if c[2] == candidates[0][2]]
        if "F2" in self.faults:
            answer, candidates = strip_candidates(answer), []
            log.info("F2: answer for %s stripped of its candidates", peer.short)
        if "F4" in self.faults:
            await self.trickle(peer, candidates)
        direction = next(
            (d for d in ("sendrecv", "sendonly", "recvonly", "inactive") if f"a={d}" in answer), "?"
        )
        await self.send(peer, "answer", {"sdp": answer, "type": "answer"})
        log.info("answer to %s (%s, %d candidates)", peer.short, direction, len(sdp_candidates(answer)))
        if "F4" not in self.faults:
            await self.trickle(peer, candidates)

    async def trickle(self, peer, candidates):
        """Sends the answer's candidates again as ice_candidate messages, then end-of-candidates."""
        if not candidates and "F2" in self.faults:
            return
        mid = candidates[0][1] if candidates else "0"
        mline = candidates[0][2] if candidates else 0
        messages = [self.candidate_message(c, m, i) for c, m, i in candidates]
        messages.append(self.candidate_message("", mid, mline))
        targets = self.others(peer) if "F1" in self.faults else [peer]
        for target in targets:
            for data in messages:
                await self.send(target, "ice_candidate", data)
        what = ", ".join(candidate_type(c) for c, _, _ in candidates) or "none"
        log.info(
            "trickled %d candidates of %s (%s) + end-of-candidates to %s",
            len(candidates),
            peer.short,
            what,
            ", ".join(t.short for t in targets) or "nobody",
        )

    def candidate_message(self, candidate, mid, mline):
        if "F3-prefix" in self.faults and candidate:
            candidate = "candidate:" + candidate
        if "F3-nested" in self.faults:
            return {"candidate": {"candidate": {"candidate": candidate}}}
        if "F3-null" in self.faults:
            return {"candidate": candidate, "sdpMid": None, "sdpMLineIndex": None}
        return {"candidate": candidate, "sdpMid": mid, "sdpMLineIndex": mline}

    async def on_candidate(self, peer, data):
        value, mid, mline = data.get("candidate"), data.get("sdpMid"), data.get("sdpMLineIndex")
        if isinstance(value, dict):  # the browser's form: one level of nesting
            value, mid, mline = value.get("candidate"), value.get("sdpMid"), value.get("sdpMLineIndex")
        if value is not None and not isinstance(value, str):
            return await self.error(peer, "bad_candidate", "candidate nested too deep or not a string")
        if "F5" in self.faults:
            others = self.others(peer)
            for other in others:
                await self.send(other, "ice_candidate", data)
            log.info(
                "F5: candidate from %s not added, forwarded to %s",
                peer.short,
                ", ".join(o.short for o in others) or "nobody",
            )
            return
        if not value:
            candidate = None  # end of candidates
        else:
            text = value[len("candidate:"):] if value.startswith("candidate:") else value
            try:
                candidate = candidate_from_sdp(text)
            except (AssertionError, ValueError, IndexError) as e:
                return await self.error(peer, "bad_candidate", f"cannot parse candidate {value!r}: {e}")
            if mid is None and mline is None:
                return await self.error(peer, "bad_candidate", "sdpMid and sdpMLineIndex are both null")
            candidate.sdpMid, candidate.sdpMLineIndex = mid, mline
        if not peer.remote_set:
            peer.pending.append(candidate)
            log.info("candidate from %s buffered until its offer is applied", peer.short)
            return
        await self.add_candidate(peer, candidate)

    async def add_candidate(self, peer, candidate):
        try:
            await peer.pc.addIceCandidate(candidate)
        except Exception as e:
            return await self.error(peer, "bad_candidate", f"addIceCandidate failed: {e}")
        if candidate is None:
            log.info("end-of-candidates from %s", peer.short)
        else:
            log.info("candidate from %s added (%s)", peer.short, candidate.type)

    async def close(self):
        for room in list(self.rooms.values()):
            for peer in list(room.values()):
                await self.leave(peer)


def only_ws_path(connection, request):
    if request.path.split("?")[0] != "/ws":
        return connection.respond(HTTPStatus.NOT_FOUND, "not found: the endpoint is /ws\n")
    return None


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fault", action="append", default=[], help=f"one of {', '.join(FAULTS)}")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    faults = [f.strip() for arg in args.fault for f in arg.split(",") if f.strip()]
    for f in faults:
        if f not in FAULTS:
            ap.error(f"unknown fault {f!r} (known: {', '.join(FAULTS)})")
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    loopback_only_ice()
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    sfu = Sfu(faults)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(sfu.handler, args.host, args.port, ssl=ctx, process_request=only_ws_path) as server:
        port = server.sockets[0].getsockname()[1]
        scheme, host = ("wss", "localhost") if ctx else ("ws", args.host)
        log.info("faults: %s", ", ".join(faults) or "none (healthy)")
        print(f"listening {scheme}://{host}:{port}/ws", flush=True)
        await stop.wait()
        await sfu.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
