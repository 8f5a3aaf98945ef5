#!/usr/bin/env python3
"""Interop test double of a WHIP/WHEP server (RFC 9725 WHIP; WHEP per the IETF draft): plain
HTTP/1.1 on loopback, one aiortc RTCPeerConnection per session, a WHIP publisher's audio relayed
to the WHEP viewers of its room (see README.md).

Healthy by default; `--fault NAME` (repeatable or comma-separated) reproduces a real interop
breaker. Prints exactly one line to stdout, `listening http://HOST:PORT`, once it listens; logs
one line per request and per milestone to stderr, session ids shortened to 8 characters.
"""

import argparse
import asyncio
import ipaddress
import re
import secrets
import signal
import sys
import uuid
from http import HTTPStatus

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from double_common import (
    candidate_type,
    loopback_only_ice,
    rtc_configuration,
    sdp_candidates,
    setup_logging,
    strip_candidates,
)

FAULTS = (
    "no-location",
    "wrong-content-type",
    "status-500",
    "patch-405",
    "no-delete",
    "etag-ignored",
    "no-etag",  # the 201 carries no ETag, yet PATCH requires If-Match (428 for every trickle)
    "no-candidates",
    "private-candidates",
    "ice-servers",
)
SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"
PRIVATE_ADDRESS = "172.17.0.2"  # Docker's first container address: unreachable from the client
ICE_SERVER_LINK = '<stun:127.0.0.1:3478>; rel="ice-server"'
MAX_BODY = 64 * 1024
MAX_LINE = 8 * 1024  # request line and each header line
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 100
MAX_MLINES = 16
MAX_SESSIONS = 128
READ_TIMEOUT = 10.0  # the whole request, from its first byte
NEGOTIATION_TIMEOUT = 15.0
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
TARGET = re.compile(r"^[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]+$")
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
log = setup_logging("whip")


class HttpError(Exception):
    """An error answer: status, a one-line text/plain reason, extra headers."""

    def __init__(self, status, reason, headers=()):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, list(headers)


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method, self.target, self.version = method, target, version
        self.headers = headers  # lower-case name -> [values]
        self.body = body
        self.path = target.split("?", 1)[0]

    def header(self, name):
        values = self.headers.get(name)
        return ", ".join(values) if values else None


class Response:
    def __init__(self, status, headers=(), body=b"", content_type=None, note=""):
        self.status, self.headers, self.body = status, list(headers), body
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))
        self.note = note  # appended to the request's log line


def text(status, reason, headers=()):
    return Response(status, headers, (reason + "\n").encode(), "text/plain; charset=utf-8", reason)


# ---- HTTP/1.1 --------------------------------------------------------------------------------


async def read_line(reader, what, too_long):
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HttpError(too_long, f"{what} too long")
    except asyncio.IncompleteReadError as e:
        if not e.partial and what == "request line":
            return None  # the client closed without sending anything
        raise HttpError(400, f"connection closed inside the {what}")
    if len(line) > MAX_LINE:
        raise HttpError(too_long, f"{what} too long")
    return line.rstrip(b"\r\n").decode("latin-1")


async def read_request(reader, writer, seen):
    """One request off the stream; None when the client sent nothing. Raises HttpError; `seen`
    gets the method and path as soon as they are known (for the log line)."""
    line = await read_line(reader, "request line", 414)
    if line is None:
        return None
    while line == "":  # RFC 9112 §2.2: ignore at least one empty line before the request line
        line = await read_line(reader, "request line", 414)
        if line is None:
            return None
    parts = line.split(" ")
    if len(parts) != 3 or not TOKEN.match(parts[0]):
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    seen["method"], seen["path"] = method, target
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        if re.match(r"^HTTP/\d\.\d$", version):
            raise HttpError(505, f"{version} not supported")
        raise HttpError(400, "malformed request line")
    # origin-form, or absolute-form (what a client such as hyper's low-level connection sends)
    m = re.match(r"^https?://[^/?#]+(.*)$", target, re.IGNORECASE)
    if m:
        target = m.group(1) or "/"
    if not target.startswith("/") or not TARGET.match(target):
        raise HttpError(400, "malformed request target")
    seen["path"] = target.split("?", 1)[0]
    headers, size = {}, 0
    while True:
        h = await read_line(reader, "header line", 431)
        if h == "":
            break
        size += len(h) + 2
        if size > MAX_HEADER_BYTES or sum(len(v) for v in headers.values()) >= MAX_HEADERS:
            raise HttpError(431, "too many header bytes")
        if h[0] in " \t":
            raise HttpError(400, "obsolete header line folding")
        name, sep, value = h.partition(":")
        if not sep or not TOKEN.match(name):
            raise HttpError(400, "malformed header line")
        headers.setdefault(name.lower(), []).append(value.strip(" \t"))
    if version == "HTTP/1.1" and len(headers.get("host", [])) != 1:
        raise HttpError(400, "an HTTP/1.1 request needs exactly one Host header")
    body = await read_body(reader, writer, headers)
    return Request(method, target, version, headers, body)


async def read_body(reader, writer, headers):
    te, cl = headers.get("transfer-encoding"), headers.get("content-length")
    if te and cl:
        raise HttpError(400, "both Transfer-Encoding and Content-Length")
    expect = ", ".join(headers.get("expect", [])).lower()
    if expect and expect != "100-continue":
        raise HttpError(417, f"unsupported Expect {expect!r}")

    async def go_on():
        if expect:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()

    if te:
        codings = [c.strip().lower() for c in ", ".join(te).split(",")]
        if codings != ["chunked"]:
            raise HttpError(501, f"unsupported Transfer-Encoding {', '.join(te)!r}")
        await go_on()
        body = b""
        while True:
            size_line = await read_line(reader, "chunk size line", 400)
            size_hex = size_line.split(";", 1)[0].strip()
            if not re.match(r"^[0-9A-Fa-f]{1,8}$", size_hex):
                raise HttpError(400, "malformed chunk size")
            size = int(size_hex, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise HttpError(413, f"body over {MAX_BODY} bytes")
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise HttpError(400, "malformed chunk")
        while await read_line(reader, "trailer line", 431) != "":
            pass
        return body
    if not cl:
        return b""
    values = {v.strip() for v in ", ".join(cl).split(",")}
    if len(values) != 1 or not digits(next(iter(values)), 18):
        raise HttpError(400, "malformed Content-Length")
    length = int(next(iter(values)))
    if length > MAX_BODY:
        raise HttpError(413, f"body over {MAX_BODY} bytes")
    await go_on()
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise HttpError(400, "connection closed inside the body")


async def write_response(writer, resp):
    head = [f"HTTP/1.1 {resp.status} {HTTPStatus(resp.status).phrase}"]
    head += [f"{k}: {v}" for k, v in resp.headers]
    if resp.status != 204:  # RFC 9110 §8.6: no Content-Length in a 204
        head.append(f"Content-Length: {len(resp.body)}")
    head += ["Connection: close", "", ""]
    writer.write("\r\n".join(head).encode("latin-1") + resp.body)
    await writer.drain()


async def discard(reader, most=1 << 20):
    while most > 0:
        chunk = await reader.read(min(most, 65536))
        if not chunk:
            return
        most -= len(chunk)


def media_type(value):
    return (value or "").split(";", 1)[0].strip().lower()


def printable(s, limit=120):
    s = "".join(c if c.isprintable() and c.isascii() else "?" for c in s)
    return s if len(s) <= limit else s[:limit] + "…"


# ---- SDP -------------------------------------------------------------------------------------


def sdp_sections(sdp):
    """(session lines, [media section lines…]), each media section starting with its m= line."""
    session, media = [], []
    for line in sdp.splitlines():
        line = line.rstrip("\r")
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    return session, media


def attribute(lines, name):
    prefix = f"a={name}:"
    return next((l[len(prefix):].strip() for l in lines if l.startswith(prefix)), None)


def audio_directions(sdp):
    """The direction of each non-rejected audio m-section (session-level default, else sendrecv)."""
    session, media = sdp_sections(sdp)
    default = next((d for d in DIRECTIONS if f"a={d}" in session), "sendrecv")
    out = []
    for section in media:
        bits = section[0][2:].split()
        if len(bits) < 3 or bits[0] != "audio" or bits[1] == "0":
            continue
        out.append(next((d for d in DIRECTIONS if f"a={d}" in section), default))
    return out


def check_offer(body, kind):
    """The offer as text, or HttpError(400) saying what is wrong with it."""
    try:
        sdp = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "the offer is not UTF-8 text")
    if not sdp.strip():
        raise HttpError(400, "empty body: expected an SDP offer")
    if not sdp.startswith("v=0"):
        raise HttpError(400, "not an SDP offer: it does not start with v=0")
    if "\x00" in sdp:
        raise HttpError(400, "NUL byte in the offer")
    _, media = sdp_sections(sdp)
    if not media:
        raise HttpError(400, "the offer has no m= line")
    if len(media) > MAX_MLINES:
        raise HttpError(400, f"the offer has more than {MAX_MLINES} m= lines")
    session, _ = sdp_sections(sdp)
    for name in ("ice-ufrag", "ice-pwd", "fingerprint"):
        if all(attribute(lines, name) is None for lines in [session] + media):
            raise HttpError(400, f"the offer has no a={name}")
    directions = audio_directions(sdp)
    if not directions:
        raise HttpError(400, "the offer has no audio m= line")
    wanted = ("sendonly", "sendrecv") if kind == "whip" else ("recvonly",)
    if directions[0] not in wanted:
        what = "WHIP publish" if kind == "whip" else "WHEP play"
        raise HttpError(400, f"a {what} offer's audio must be {' or '.join(wanted)}, not {directions[0]}")
    return sdp


def ip_literal(address):
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


def only_ip_candidates(sdp):
    """The offer without candidates that are not IP literals (mDNS `.local` names would make
    aioice resolve them by multicast: this double stays on loopback). Returns (sdp, dropped)."""
    keep, dropped = [], 0
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            bits = line.split()
            if len(bits) < 8 or not ip_literal(bits[4]):
                dropped += 1
                continue
        keep.append(line)
    return "\r\n".join(keep) + "\r\n", dropped


def privatize(sdp):
    """The answer with its candidate and c= addresses rewritten to PRIVATE_ADDRESS."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            bits = line.split(" ")
            if len(bits) >= 8:
                bits[4] = PRIVATE_ADDRESS
            line = " ".join(bits)
        elif line.startswith("c=IN IP4 "):
            line = f"c=IN IP4 {PRIVATE_ADDRESS}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def digits(s, most):
    return re.match(r"^[0-9]{1,%d}$" % most, s) is not None


def parse_candidate(value):
    """An RFC 8839 candidate attribute value (without `candidate:`) -> RTCIceCandidate, or
    HttpError(400)."""
    bits = value.split()
    ok = (
        len(bits) >= 8
        and re.match(r"^[A-Za-z0-9+/]{1,32}$", bits[0])
        and digits(bits[1], 3) and 1 <= int(bits[1]) <= 256
        and bits[2].lower() in ("udp", "tcp")
        and digits(bits[3], 10) and int(bits[3]) < 2**32
        and digits(bits[5], 5) and int(bits[5]) <= 65535
        and bits[6] == "typ"
        and bits[7] in ("host", "srflx", "prflx", "relay")
    )
    if not ok:
        raise HttpError(400, f"malformed candidate {printable(value, 80)!r}")
    try:
        return candidate_from_sdp(value)
    except (AssertionError, ValueError, IndexError) as e:
        raise HttpError(400, f"malformed candidate {printable(value, 80)!r}: {e}")


def parse_sdpfrag(body):
    """RFC 8840 fragment -> (ufrag, pwd, [(candidate value, mid or None, m-line index)], end)."""
    try:
        frag = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "the fragment is not UTF-8 text")
    ufrag = pwd = None
    candidates, end = [], False
    mline, mid = -1, None
    for raw in frag.splitlines():
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise HttpError(400, f"malformed fragment line {printable(line, 60)!r}")
        if line.startswith("m="):
            mline, mid = mline + 1, None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:"):].strip()
        elif line.startswith("a=ice-ufrag:"):
            ufrag = line[len("a=ice-ufrag:"):].strip()
        elif line.startswith("a=ice-pwd:"):
            pwd = line[len("a=ice-pwd:"):].strip()
        elif line.startswith("a=candidate:"):
            candidates.append((line[len("a=candidate:"):].strip(), mid, mline))
        elif line == "a=end-of-candidates":
            end = True
        # other lines (a=ice-options, a=group, …) are allowed and ignored
    return ufrag, pwd, candidates, end


# ---- sessions --------------------------------------------------------------------------------


class Session:
    def __init__(self, kind, room):
        self.id = uuid.uuid4().hex
        self.short = self.id[:8]
        self.kind, self.room = kind, room
        self.location = f"/{kind}/{room}/{self.id}"
        self.etag = f'"{secrets.token_hex(8)}"'
        self.pc = None
        self.track = None  # a publisher's audio as aiortc received it
        self.tap = None
        self.proxy = None  # a viewer's relayed audio
        self.mids = []
        self.remote_ufrag = None
        self.remote_end = False  # end-of-candidates seen (offer or PATCH)
        self.closed = False

    def name(self):
        return f"{self.short} ({self.kind} {self.room})"


class WhipServer:
    def __init__(self, faults):
        self.faults = set(faults)
        self.sessions = {}  # id -> Session
        self.publishers = {}  # room -> Session (its WHIP publisher)
        self.relay = MediaRelay()

    def links(self):
        return [("Link", ICE_SERVER_LINK)] if "ice-servers" in self.faults else []

    def endpoint_allow(self):
        return [("Allow", "POST, OPTIONS"), ("Accept-Post", SDP)]

    def session_allow(self):
        methods = [m for m, f in (("PATCH", "patch-405"), ("DELETE", "no-delete")) if f not in self.faults]
        return [("Allow", ", ".join(methods + ["OPTIONS"]))]

    # ---- the connection ------------------------------------------------------------------

    async def handle(self, reader, writer):
        seen = {}
        try:
            try:
                try:
                    req = await asyncio.wait_for(read_request(reader, writer, seen), READ_TIMEOUT)
                except asyncio.TimeoutError:
                    raise HttpError(408, f"request not complete within {READ_TIMEOUT:.0f} s")
                if req is None:
                    return
                resp = await self.route(req)
            except HttpError as e:
                resp = text(e.status, e.reason, e.headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                return
            except Exception as e:  # never crash on what a client sends
                log.exception("internal error")
                resp = text(500, f"internal error: {type(e).__name__}")
            note = f" ({resp.note})" if resp.note else ""
            method, path = seen.get("method", "?"), self.shown(seen.get("path", "?"))
            log.info("%s %s -> %d%s", printable(method, 20), path, resp.status, note)
            try:
                await write_response(writer, resp)
                # Lingering close: a request body left unread (413, 415, …) would make our close
                # send a reset that can destroy the answer before the client reads it.
                writer.write_eof()
                await asyncio.wait_for(discard(reader), 2)
            except Exception:  # the client went away, or kept its side open
                pass
        finally:
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 2)
            except Exception:
                pass

    def shown(self, path):
        """The path for the log: printable, a session id shortened to 8 characters."""
        parts = path.split("/")
        if len(parts) == 4 and parts[1] in ("whip", "whep") and len(parts[3]) > 8:
            parts[3] = parts[3][:8]
        return printable("/".join(parts))

    async def route(self, req):
        parts = req.path.split("/")
        if len(parts) not in (3, 4) or parts[1] not in ("whip", "whep") or not parts[2] or len(parts[2]) > 128:
            return text(404, "not found: the endpoints are /whip/ROOM and /whep/ROOM")
        kind, room = parts[1], parts[2]
        if len(parts) == 3:
            if req.method == "POST":
                return await self.post(req, kind, room)
            if req.method == "OPTIONS":
                return Response(204, self.endpoint_allow() + self.links())
            return text(405, f"{req.method} not allowed on a {kind.upper()} endpoint", self.endpoint_allow())
        # A server without PATCH (or DELETE) refuses it whatever the session.
        if req.method == "PATCH" and "patch-405" in self.faults:
            return text(405, "PATCH not allowed (fault)", self.session_allow())
        if req.method == "DELETE" and "no-delete" in self.faults:
            return text(405, "DELETE not allowed (fault)", self.session_allow())
        s = self.session(kind, room, parts[3])
        if req.method == "PATCH":
            return await self.patch(req, s)
        if req.method == "DELETE":
            return await self.delete(req, s)
        if req.method == "OPTIONS":
            return Response(204, self.session_allow() + [("Accept-Patch", SDPFRAG)])
        return text(405, f"{req.method} not allowed on a {kind.upper()} session", self.session_allow())

    def session(self, kind, room, sid):
        s = self.sessions.get(sid)
        if s is None or s.kind != kind or s.room != room:
            raise HttpError(404, "no such session")
        return s

    # ---- POST: a new session -------------------------------------------------------------

    async def post(self, req, kind, room):
        if "status-500" in self.faults:
            return text(500, "internal error (fault)")
        ctype = media_type(req.header("content-type"))
        if ctype != SDP:
            return text(415, f"expected Content-Type {SDP}, got {ctype or 'none'}", [("Accept-Post", SDP)])
        sdp = check_offer(req.body, kind)
        if len(self.sessions) >= MAX_SESSIONS:
            return text(503, f"too many sessions ({MAX_SESSIONS})")
        publisher = None
        if kind == "whep":
            publisher = self.publishers.get(room)
            if publisher is None or publisher.track is None or publisher.track.readyState != "live":
                return text(404, f"room {room} has no publisher")
        sdp, dropped = only_ip_candidates(sdp)
        s = Session(kind, room)
        self.sessions[s.id] = s
        try:
            answer = await asyncio.wait_for(self.negotiate(s, sdp, publisher), NEGOTIATION_TIMEOUT)
        except HttpError:
            await self.close(s)
            raise
        except asyncio.TimeoutError:
            await self.close(s)
            return text(500, f"negotiation took over {NEGOTIATION_TIMEOUT:.0f} s")
        if kind == "whip" and s.track is not None:
            old = self.publishers.get(room)
            self.publishers[room] = s
            if old is not None and old is not s:
                log.info("room %s: publisher %s replaced by %s", room, old.short, s.short)
        notes = [f"session {s.short}"]
        if dropped:
            notes.append(f"{dropped} offer candidates not IP literals, ignored")
        if "no-candidates" in self.faults:
            answer = strip_candidates(answer)
            notes.append("no-candidates: answer stripped")
        if "private-candidates" in self.faults:
            answer = privatize(answer)
            notes.append(f"private-candidates: answer addresses -> {PRIVATE_ADDRESS}")
        direction = next(iter(audio_directions(answer)), "?")
        types = [candidate_type(c) for c, _, _ in sdp_candidates(answer)]
        log.info("answer to %s: audio %s, %d candidates (%s)", s.name(), direction, len(types), ", ".join(types) or "none")
        headers = []
        if "no-location" not in self.faults:
            headers.append(("Location", s.location))
        else:
            notes.append("no-location")
        if not {"etag-ignored", "no-etag"} & self.faults:
            headers.append(("ETag", s.etag))
        headers += self.links()
        ctype = "text/plain" if "wrong-content-type" in self.faults else SDP
        return Response(201, headers, answer.encode(), ctype, "; ".join(notes))

    async def negotiate(self, s, sdp, publisher):
        pc = s.pc = RTCPeerConnection(rtc_configuration())

        @pc.on("connectionstatechange")
        async def on_state():
            log.info("connection %s: %s", s.name(), pc.connectionState)
            if pc.connectionState == "failed":
                await self.close(s, forget=False)

        @pc.on("iceconnectionstatechange")
        async def on_ice():
            log.info("ice %s: %s", s.name(), pc.iceConnectionState)

        @pc.on("track")
        def on_track(track):
            if track.kind != "audio" or s.kind != "whip" or s.track is not None:
                return
            s.track = track
            log.info("track from %s (audio, id %s)", s.name(), track.id[:8])
            s.tap = asyncio.ensure_future(self.tap(s, self.relay.subscribe(track)))

        log.info("offer for %s (%d candidates in its SDP)", s.name(), len(sdp_candidates(sdp)))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as e:  # aiortc raises several kinds on bad SDP
            raise HttpError(400, f"cannot apply the offer: {printable(str(e) or type(e).__name__, 160)}")
        _, media = sdp_sections(sdp)
        s.mids = [attribute(m, "mid") or str(i) for i, m in enumerate(media)]
        session_lines, _ = sdp_sections(sdp)
        s.remote_ufrag = attribute(media[0], "ice-ufrag") or attribute(session_lines, "ice-ufrag")
        s.remote_end = "a=end-of-candidates" in sdp.splitlines()
        if publisher is not None:
            s.proxy = self.relay.subscribe(publisher.track, buffered=False)
            pc.addTrack(s.proxy)
            log.info("viewer %s <- publisher %s", s.name(), publisher.short)
        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as e:
            raise HttpError(400, f"cannot answer the offer: {printable(str(e) or type(e).__name__, 160)}")
        return pc.localDescription.sdp

    async def tap(self, s, proxy):
        """Consumes a publisher's audio (so the relay runs without viewers) and logs its flow."""
        frames = 0
        try:
            while True:
                await proxy.recv()
                frames += 1
                if frames == 1:
                    log.info("audio from %s arriving", s.name())
        except (MediaStreamError, asyncio.CancelledError):
            pass
        finally:
            proxy.stop()
            log.info("audio from %s ended after %d frames", s.name(), frames)

    # ---- PATCH: trickled candidates ------------------------------------------------------

    def precondition(self, req, s, required):
        """RFC 9725 §4.3.1: If-Match must carry the session's ETag (`*` matches any)."""
        if "etag-ignored" in self.faults:
            return
        value = req.header("if-match")
        if value is None:
            if required:
                raise HttpError(428, "If-Match with the session's ETag required")
            return
        tags = [t.strip() for t in value.split(",")]
        if "*" not in tags and s.etag not in tags:
            raise HttpError(412, f"If-Match {printable(value, 60)} does not match the session's ETag")

    async def patch(self, req, s):
        ctype = media_type(req.header("content-type"))
        if ctype != SDPFRAG:
            return text(415, f"expected Content-Type {SDPFRAG}, got {ctype or 'none'}", [("Accept-Patch", SDPFRAG)])
        self.precondition(req, s, required=True)
        ufrag, _pwd, candidates, end = parse_sdpfrag(req.body)
        if ufrag is not None and s.remote_ufrag is not None and ufrag != s.remote_ufrag:
            return text(501, "ICE restart not supported")
        parsed = []
        for value, mid, mline in candidates:
            c = parse_candidate(value)
            if mid is None:
                mid = s.mids[mline] if 0 <= mline < len(s.mids) else s.mids[0]
            if mid not in s.mids:
                raise HttpError(400, f"candidate for unknown mid {printable(mid, 20)!r}")
            c.sdpMid, c.sdpMLineIndex = mid, s.mids.index(mid)
            parsed.append(c)
        if s.closed:
            return text(404, "session closed")
        added, ignored = [], 0
        for c in parsed:
            if s.remote_end or not ip_literal(c.ip):
                ignored += 1  # after end-of-candidates (RFC 8838 §14), or an mDNS name
                continue
            try:
                await s.pc.addIceCandidate(c)
            except Exception as e:
                raise HttpError(400, f"addIceCandidate failed: {printable(str(e) or type(e).__name__, 120)}")
            added.append(c.type)
        if end and not s.remote_end:
            s.remote_end = True
            await s.pc.addIceCandidate(None)
        note = f"{len(added)} candidates added ({', '.join(added) or 'none'})"
        if ignored:
            note += f", {ignored} ignored"
        if end:
            note += ", end-of-candidates"
        return Response(204, note=note)

    # ---- DELETE --------------------------------------------------------------------------

    async def delete(self, req, s):
        self.precondition(req, s, required=False)
        await self.close(s)
        return Response(200, note=f"session {s.short} closed")

    async def close(self, s, forget=True):
        if forget:
            self.sessions.pop(s.id, None)
        if self.publishers.get(s.room) is s:
            self.publishers.pop(s.room)
        if s.closed:
            return
        s.closed = True
        if s.proxy is not None:
            s.proxy.stop()
        if s.tap is not None:
            s.tap.cancel()
        if s.pc is not None:
            await s.pc.close()

    async def shutdown(self):
        for s in list(self.sessions.values()):
            await self.close(s)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fault", action="append", default=[], help=f"one of {', '.join(FAULTS)}")
    args = ap.parse_args()
    faults = [f.strip() for arg in args.fault for f in arg.split(",") if f.strip()]
    for f in faults:
        if f not in FAULTS:
            ap.error(f"unknown fault {f!r} (known: {', '.join(FAULTS)})")
    loopback_only_ice()
    srv = WhipServer(faults)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(srv.handle, args.host, args.port, limit=MAX_LINE)
    async with server:
        port = server.sockets[0].getsockname()[1]
        log.info("faults: %s", ", ".join(faults) or "none (healthy)")
        print(f"listening http://{args.host}:{port}", flush=True)
        await stop.wait()
        server.close()
        await srv.shutdown()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
