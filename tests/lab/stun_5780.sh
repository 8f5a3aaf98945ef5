# Run by tests/lab.rs inside a lab's NATed `client` host: coturn on the `turn` host with two
# addresses (RFC 5780 on), then `probe --stun` from the client; prints the probe's JSON.
set -eu
bin=$1
turn=$(ip netns identify | sed "s/client$/turn/")
dir=$(mktemp -d)
ip -n "$turn" addr add 203.0.113.13/24 dev eth0
ip netns exec "$turn" turnserver -n --listening-ip=203.0.113.12 --listening-ip=203.0.113.13 \
  --relay-ip=203.0.113.12 --listening-port=3478 --realm=lab --no-cli --no-tls --no-dtls \
  --pidfile="$dir/turn.pid" --log-file=stdout --simple-log >/dev/null 2>&1 &
sleep 1
# No --bind: the probe binds 0.0.0.0 for a server that is not on loopback.
"$bin" probe --stun stun:203.0.113.12:3478 --json || true
kill $! 2>/dev/null || true
rm -rf "$dir"
