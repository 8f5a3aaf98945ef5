# Run by tests/lab.rs inside a lab's `client` host (`rtc-assist lab exec`): UDP echo servers in
# the public `server` (ports 3478, 3479) and `turn` (3478) hosts report the source address they
# see, or send to a given address on request. The client prints one `key=value` line per fact:
#   mapping          same / different mapped address for two destinations (none: no reply)
#   from_other_port  whether the contacted address, from another port, gets through
#   from_other_addr  whether an address never contacted gets through
import socket, subprocess, time

me = subprocess.run(["ip", "netns", "identify"], capture_output=True, text=True).stdout.strip()
prefix = me[: -len("client")]
SERVER, TURN = "203.0.113.11", "203.0.113.12"
ECHO = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(5)
while True:
    try: d, a = s.recvfrom(200)
    except OSError: break
    if d == b"map":
        s.sendto(("%s:%d" % a).encode(), a)
    elif d.startswith(b"poke "):
        host, port = d.split()[1].decode().split(":")
        s.sendto(b"poke", (host, int(port)))
'''
echoes = [
    subprocess.Popen(["ip", "netns", "exec", prefix + ns, "python3", "-c", ECHO, ip, port])
    for ns, ip, port in [("server", SERVER, "3478"), ("server", SERVER, "3479"), ("turn", TURN, "3478")]
]
time.sleep(0.8)

def sock(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.8)
    return s

def ask(s, dest):
    s.sendto(b"map", dest)
    try:
        return s.recvfrom(200)[0].decode()
    except OSError:
        return None

a = sock(40000)
m1, m2 = ask(a, (SERVER, 3478)), ask(a, (TURN, 3478))
print("mapping=" + ("none" if m1 is None else "same" if m1 == m2 else "different"))
# A fresh mapping that has contacted SERVER:3478 only; pokes are requested from another socket.
b = sock(40001)
mb = ask(b, (SERVER, 3478)) or "198.51.100.2:40001"
helper = sock(40002)
for key, via in [("from_other_port", (SERVER, 3479)), ("from_other_addr", (TURN, 3478))]:
    helper.sendto(("poke " + mb).encode(), via)
    try:
        got = b.recvfrom(200)[0] == b"poke"
    except OSError:
        got = False
    print(key + "=" + ("yes" if got else "no"))
for e in echoes:
    e.terminate()
