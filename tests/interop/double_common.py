"""Shared pieces of the interop test double: loopback-only ICE, SDP candidate helpers, logging."""

import logging
import sys

import aioice.ice
from aiortc import RTCConfiguration

LOOPBACK = "127.0.0.1"


def loopback_only_ice() -> None:
    """Make aioice gather host candidates on 127.0.0.1 only.

    aioice skips 127.0.0.1 when it enumerates interfaces and offers every other address of the
    machine instead; the tests run on loopback only, so replace the enumeration.
    """
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [LOOPBACK] if use_ipv4 else []


def rtc_configuration() -> RTCConfiguration:
    # No ICE servers at all: aiortc's default is a public STUN server.
    return RTCConfiguration(iceServers=[])


def sdp_candidates(sdp: str) -> list[tuple[str, str, int]]:
    """Every `a=candidate` line of an SDP as (candidate-attribute, mid, m-line index).

    The attribute keeps its `candidate:` prefix, as in an RTCIceCandidate's `candidate` field.
    """
    out = []
    mline, mid = -1, None
    for line in sdp.splitlines():
        if line.startswith("m="):
            mline, mid = mline + 1, None
        elif line.startswith("a=mid:"):
            mid = line[len("a=mid:"):].strip()
        elif line.startswith("a=candidate:") and mline >= 0:
            out.append((line[len("a="):].strip(), mid if mid is not None else str(mline), mline))
    return out


def strip_candidates(sdp: str) -> str:
    """The SDP without its `a=candidate` and `a=end-of-candidates` lines."""
    keep = [
        line
        for line in sdp.splitlines()
        if not line.startswith("a=candidate:") and line.strip() != "a=end-of-candidates"
    ]
    return "\r\n".join(keep) + "\r\n"


def candidate_type(candidate: str) -> str:
    bits = candidate.split()
    if "typ" in bits and bits.index("typ") + 1 < len(bits):
        return bits[bits.index("typ") + 1]
    return "?"


def setup_logging(name: str, verbose: bool = False) -> logging.Logger:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    log = logging.getLogger(name)
    log.setLevel(logging.INFO)
    return log
