#!/usr/bin/env python3
"""Interop test double of the guide's browser client (webrtc.js), built on aiortc.

Joins a room, sends a sine tone as its microphone in a client-initiated offer, is strict about
incoming candidates the way a browser is, has no handler for server-initiated offers, measures
what it hears, and prints one JSON object on stdout at the end (see README.md). Exit status 0,
or 2 when signaling could not be reached or the room not joined.
"""

import argparse
import asyncio
import collections
import fractions
import json
import math
import re
import ssl
import sys

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.client import connect

from double_common import loopback_only_ice, rtc_configuration, sdp_candidates, setup_logging, strip_candidates

RATE = 48000
SAMPLES = 960  # 20 ms
AMPLITUDE = 0.3  # a full-scale sine is -3 dBFS; this one about -13.5 dBFS
WINDOW_S = 1.5  # level and frequency are measured over the last WINDOW_S seconds heard
SILENT_DBFS = -60.0
log = setup_logging("client")

# RFC 8839 §5.1, the way a browser's parser applies it.
CANDIDATE = re.compile(
    r"^candidate:[A-Za-z0-9+/]{1,32} \d{1,5} (?i:udp|tcp) \d{1,10} \S+ \d{1,5} typ (?:host|srflx|prflx|relay)"
    r"(?: raddr \S+ rport \d{1,5})?(?: tcptype (?:active|passive|so))?(?: \S+ \S+)*$"
)
CONSTRUCT = "Failed to construct 'RTCIceCandidate': "
ADD = "Failed to execute 'addIceCandidate' on 'RTCPeerConnection': "


class Tone(MediaStreamTrack):
    """A microphone that plays a sine: 20 ms mono s16 frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self, hz):
        super().__init__()
        self.hz, self.pts, self.start = hz, 0, None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        else:
            await asyncio.sleep(max(0.0, self.start + self.pts / RATE - loop.time()))
        t = (np.arange(SAMPLES) + self.pts) / RATE
        pcm = (AMPLITUDE * 32767 * np.sin(2 * np.pi * self.hz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, RATE)
        self.pts += SAMPLES
        return frame


class Heard:
    """What arrived on one received track."""

    def __init__(self, track):
        self.track = track
        self.frames = 0
        self.audible_frames = 0
        self.rate = RATE
        self.recent = collections.deque()
        self.recent_samples = 0

    async def consume(self):
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            self.frames += 1
            self.rate = frame.sample_rate
            channels = len(frame.layout.channels)
            mono = frame.to_ndarray().reshape(-1, channels).astype(np.float64).mean(axis=1) / 32768.0
            if dbfs(mono) > SILENT_DBFS:
                self.audible_frames += 1
            self.recent.append(mono)
            self.recent_samples += len(mono)
            while self.recent_samples - len(self.recent[0]) >= WINDOW_S * self.rate:
                self.recent_samples -= len(self.recent.popleft())

    def summary(self, packets):
        x = np.concatenate(self.recent) if self.recent else np.zeros(0)
        level = dbfs(x)
        return {
            "id": self.track.id,
            "packets": packets,
            "frames": self.frames,
            "audible_frames": self.audible_frames,
            "rms_dbfs": round(level, 2),
            "freq_hz": dominant_hz(x, self.rate) if level > SILENT_DBFS else None,
        }


def dbfs(x):
    if len(x) == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(x * x)))
    return max(-120.0, 20 * math.log10(rms)) if rms > 0 else -120.0


def dominant_hz(x, rate):
    if len(x) < 256:
        return None
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[0] = 0
    k = int(np.argmax(spectrum))
    if 0 < k < len(spectrum) - 1:  # parabolic interpolation of the peak
        a, b, c = spectrum[k - 1], spectrum[k], spectrum[k + 1]
        den = a - 2 * b + c
        k = k + (0.5 * (a - c) / den if den else 0.0)
    return round(k * rate / len(x), 1)


class Client:
    def __init__(self, args):
        self.args = args
        self.peer_id = None
        self.pc = None
        self.ws = None
        self.joined = asyncio.Event()
        self.remote_set = False
        self.pending = []
        self.heard = []
        self.tasks = []
        self.connection_states = ["new"]
        self.ice_states = ["new"]
        self.errors = []
        self.server_offers_ignored = 0
        self.buffered_candidates = 0
        self.candidates_added = 0
        self.end_of_candidates = False
        self.received = []

    def result(self, tracks):
        return {
            "peer_id": self.peer_id,
            "connected": "connected" in self.connection_states,
            "connection_states": self.connection_states,
            "ice_states": self.ice_states,
            "tracks": tracks,
            "errors": self.errors,
            "server_offers_ignored": self.server_offers_ignored,
            "buffered_candidates": self.buffered_candidates,
            "candidates_added": self.candidates_added,
            "end_of_candidates": self.end_of_candidates,
            "received": self.received,
        }

    async def send(self, kind, data):
        await self.ws.send(json.dumps({"type": kind, "data": data}))

    async def run(self):
        ctx = None
        if self.args.url.startswith("wss://"):
            ctx = ssl.create_default_context(cafile=self.args.ca)
        try:
            self.ws = await connect(self.args.url, ssl=ctx, open_timeout=10)
        except Exception as e:
            self.errors.append(f"signaling: cannot connect to {self.args.url}: {e}")
            return 2, []
        reader = asyncio.ensure_future(self.read())
        await self.send("join_room", {"room_name": self.args.room})
        try:
            await asyncio.wait_for(self.joined.wait(), 10)
        except asyncio.TimeoutError:
            self.errors.append("signaling: no joined_room within 10 s")
            reader.cancel()
            await self.ws.close()
            return 2, []
        await self.negotiate()
        await asyncio.sleep(self.args.duration)
        tracks = await self.measure()
        reader.cancel()
        await self.pc.close()
        for t in self.tasks:
            t.cancel()
        await self.ws.close()
        return 0, tracks

    async def negotiate(self):
        pc = self.pc = RTCPeerConnection(rtc_configuration())

        @pc.on("connectionstatechange")
        async def on_state():
            self.connection_states.append(pc.connectionState)

        @pc.on("iceconnectionstatechange")
        async def on_ice():
            self.ice_states.append(pc.iceConnectionState)

        @pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                heard = Heard(track)
                self.heard.append(heard)
                self.tasks.append(asyncio.ensure_future(heard.consume()))

        pc.addTrack(Tone(self.args.tone))  # sendrecv, like getUserMedia + addTrack
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        if not self.args.trickle:
            await self.send("offer", {"sdp": sdp, "type": "offer"})
            return
        # Like a browser: the offer goes out at once, its candidates one event at a time after it.
        await self.send("offer", {"sdp": strip_candidates(sdp), "type": "offer"})
        candidates = sdp_candidates(sdp)
        if candidates:
            candidates = [c for c in candidates if c[2] == candidates[0][2]]
        ufrag = next((l.split(":", 1)[1].strip() for l in sdp.splitlines() if l.startswith("a=ice-ufrag:")), None)
        mid, mline = (candidates[0][1], candidates[0][2]) if candidates else ("0", 0)
        for cand, cmid, cmline in candidates + [("", mid, mline)]:
            init = {"candidate": cand, "sdpMid": cmid, "sdpMLineIndex": cmline, "usernameFragment": ufrag}
            await self.send("ice_candidate", {"candidate": init})

    async def read(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                    kind, data = msg.get("type"), msg.get("data") or {}
                except (ValueError, AttributeError):
                    self.errors.append(f"signaling: unparsable message {raw[:80]!r}")
                    continue
                self.received.append(kind)
                await self.on_message(kind, data)
        except Exception as e:  # the socket closing ends the reader
            log.debug("reader ended: %s", e)

    async def on_message(self, kind, data):
        if kind == "joined_room":
            self.peer_id = data.get("peer_id")
            self.joined.set()
        elif kind == "answer":
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type="answer"))
            except Exception as e:
                self.errors.append(f"Failed to execute 'setRemoteDescription' on 'RTCPeerConnection': {e}")
                return
            self.remote_set = True
            pending, self.pending = self.pending, []
            for init in pending:
                await self.add(init)
        elif kind == "ice_candidate":
            init = self.construct(data)
            if init is None:
                return
            if not self.remote_set:
                self.buffered_candidates += 1
                self.pending.append(init)
            else:
                await self.add(init)
        elif kind == "offer":
            self.server_offers_ignored += 1  # the guide's client has no handler for it
        elif kind == "error":
            self.errors.append(f"server error ({data.get('code')}): {data.get('message')}")
        # peer_joined / peer_left: nothing to do, like the guide's client (it only logs them)

    def construct(self, data):
        """`new RTCIceCandidate(...)` on a message, after the guide's one level of unwrapping."""
        init = data
        if isinstance(init.get("candidate"), dict):
            init = init["candidate"]
        value = init.get("candidate", "")
        if isinstance(value, dict):
            self.errors.append(CONSTRUCT + "candidate nesting too deep (candidate is an object)")
            return None
        if init.get("sdpMid") is None and init.get("sdpMLineIndex") is None:
            self.errors.append(CONSTRUCT + "sdpMid and sdpMLineIndex are both null.")
            return None
        if not isinstance(value, str):
            self.errors.append(CONSTRUCT + f"malformed candidate {value!r}")
            return None
        if value.startswith("candidate:candidate:"):
            self.errors.append(ADD + f"Error processing ICE candidate (doubled 'candidate:' prefix): {value}")
            return None
        if value and not CANDIDATE.match(value):
            self.errors.append(ADD + f"Error processing ICE candidate (malformed candidate): {value}")
            return None
        return init

    async def add(self, init):
        value, mid, mline = init.get("candidate", ""), init.get("sdpMid"), init.get("sdpMLineIndex")
        mids = [t.mid for t in self.pc.getTransceivers()]
        known = mid in mids if mid is not None else isinstance(mline, int) and 0 <= mline < len(mids)
        if not known:
            self.errors.append(ADD + f"Error processing ICE candidate (no m-line for mid {mid!r} / index {mline!r})")
            return
        if not value:
            self.end_of_candidates = True
            await self.pc.addIceCandidate(None)
            return
        candidate = candidate_from_sdp(value[len("candidate:"):])
        candidate.sdpMid, candidate.sdpMLineIndex = mid, mline
        try:
            await self.pc.addIceCandidate(candidate)
        except Exception as e:
            self.errors.append(ADD + str(e))
            return
        self.candidates_added += 1

    async def measure(self):
        packets = {}
        for receiver in self.pc.getReceivers():
            if receiver.track is None:
                continue
            try:
                report = await receiver.getStats()
            except Exception:
                continue
            packets[receiver.track.id] = sum(
                getattr(s, "packetsReceived", 0) for s in report.values() if s.type == "inbound-rtp"
            )
        return [h.summary(packets.get(h.track.id, 0)) for h in self.heard]


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--room", required=True)
    ap.add_argument("--tone", type=float, default=440.0, help="Hz of the sine sent as microphone")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds to stay after the offer")
    ap.add_argument("--trickle", action="store_true", help="offer without candidates, trickle them")
    ap.add_argument("--ca", help="CA certificate file for wss://")
    args = ap.parse_args()
    loopback_only_ice()
    client = Client(args)
    code, tracks = await client.run()
    print(json.dumps(client.result(tracks)), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
