#!/usr/bin/env bash
# Start Debian's notary-signer and notary-server (package notary, Notary v1 / Docker Content Trust)
# bound to 127.0.0.1, in the background, and wait until the server answers.
#
# usage: bash scripts/notary-up.sh DIR
#   DIR  created if missing; receives:
#          ca.crt                 throw-away test CA (openssl) to trust: notary --tlscacert, customs --ca
#          tls/                   server/signer certificates and keys (SAN 127.0.0.1, localhost)
#          signer-config.json     memory storage, passphrase alias "customstest" (env NOTARY_SIGNER_CUSTOMSTEST)
#          server-config.json     memory storage, remote trust service = the signer above
#          signer.log server.log  logs; signer.pid server.pid; server.port
# env:
#   READY_TIMEOUT  seconds to wait for readiness (default 30)
#
# Prints the server URL (https://127.0.0.1:PORT) on stdout. Everything else goes to stderr.
# Stop both with: kill "$(cat DIR/server.pid)" "$(cat DIR/signer.pid)".
# Storage is in memory: a restart forgets every repository.
set -euo pipefail

if [ $# -ne 1 ]; then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
dir=$1
ready_timeout=${READY_TIMEOUT:-30}

missing=()
command -v notary-server >/dev/null || missing+=(notary)
command -v notary-signer >/dev/null || missing+=(notary)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v node >/dev/null || command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "notary-up: missing tools; run: bash scripts/install-peers.sh (or: apt-get install -y ${missing[*]})" >&2
  exit 1
fi

free_port() {
  if command -v node >/dev/null; then
    node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  else
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  fi
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
t=$dir/tls
mkdir -p "$t"

# Certificates: one CA; the server's certificate also serves as its client certificate towards the
# signer (the signer's client_ca_file is the CA, so any CA-issued client certificate is accepted).
if [ ! -s "$dir/ca.crt" ] || [ ! -s "$t/server.crt" ] || [ ! -s "$t/signer.crt" ]; then
  (
    umask 077
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout "$t/ca.key" -out "$t/ca.pem" -days 3650 -subj "/CN=customs notary test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    for who in server signer; do
      openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$t/$who.key" -out "$t/$who.csr" -subj "/CN=notary-$who" 2>/dev/null
      printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:notary-$who" \
        >"$t/$who.ext"
      openssl x509 -req -in "$t/$who.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
        -days 3650 -extfile "$t/$who.ext" -out "$t/$who.crt" 2>/dev/null
    done
  )
  cp "$t/ca.pem" "$dir/ca.crt"
  chmod 644 "$dir/ca.crt" "$t/server.crt" "$t/signer.crt"
  echo "notary-up: generated test CA $dir/ca.crt" >&2
fi

signer_port=$(free_port)
server_port=$(free_port)
while [ "$server_port" = "$signer_port" ]; do server_port=$(free_port); done

cat >"$dir/signer-config.json" <<JSON
{
  "server": {
    "grpc_addr": "127.0.0.1:$signer_port",
    "tls_cert_file": "$t/signer.crt",
    "tls_key_file": "$t/signer.key",
    "client_ca_file": "$t/ca.pem"
  },
  "logging": { "level": "info" },
  "storage": { "backend": "memory", "default_alias": "customstest" }
}
JSON

cat >"$dir/server-config.json" <<JSON
{
  "server": {
    "http_addr": "127.0.0.1:$server_port",
    "tls_cert_file": "$t/server.crt",
    "tls_key_file": "$t/server.key"
  },
  "trust_service": {
    "type": "remote",
    "hostname": "127.0.0.1",
    "port": "$signer_port",
    "key_algorithm": "ecdsa",
    "tls_ca_file": "$t/ca.pem",
    "tls_client_cert": "$t/server.crt",
    "tls_client_key": "$t/server.key"
  },
  "logging": { "level": "info" },
  "storage": { "backend": "memory" }
}
JSON

# The signer encrypts private keys at rest with the passphrase named by default_alias.
NOTARY_SIGNER_CUSTOMSTEST=${NOTARY_SIGNER_CUSTOMSTEST:-customs-test-passphrase} \
  setsid notary-signer -config "$dir/signer-config.json" -logf logfmt >>"$dir/signer.log" 2>&1 </dev/null &
signer_pid=$!
echo "$signer_pid" >"$dir/signer.pid"

# The server's health endpoint can answer 200 before its first check of the signer, so wait for the
# signer's gRPC port first; a server started against a signer that is not yet listening answers 500.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
deadline=$((SECONDS + ready_timeout))
until listening "$signer_port"; do
  if ! kill -0 "$signer_pid" 2>/dev/null || [ $SECONDS -ge "$deadline" ]; then
    echo "notary-up: notary-signer did not start listening on 127.0.0.1:$signer_port; last log lines:" >&2
    tail -n 20 "$dir/signer.log" >&2 || true
    kill "$signer_pid" 2>/dev/null || true
    exit 1
  fi
  sleep 0.1
done

setsid notary-server -config "$dir/server-config.json" -logf logfmt >>"$dir/server.log" 2>&1 </dev/null &
server_pid=$!
echo "$server_pid" >"$dir/server.pid"

stop() {
  kill "$server_pid" "$signer_pid" 2>/dev/null || true
}

deadline=$((SECONDS + ready_timeout))
code=""
while [ $SECONDS -lt "$deadline" ]; do
  for p in "$signer_pid" "$server_pid"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "notary-up: a notary process exited early; last log lines:" >&2
      tail -n 20 "$dir/signer.log" "$dir/server.log" >&2 || true
      stop
      exit 1
    fi
  done
  # /_notary_server/health reports 200 only once the server reaches the signer.
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$dir/ca.crt" \
    "https://127.0.0.1:$server_port/_notary_server/health" || true)
  if [ "$code" = 200 ]; then
    echo "$server_port" >"$dir/server.port"
    echo "notary-up: https://127.0.0.1:$server_port ready (server pid $server_pid, signer pid $signer_pid, dir $dir)" >&2
    echo "https://127.0.0.1:$server_port"
    exit 0
  fi
  sleep 0.2
done
echo "notary-up: not ready within ${ready_timeout}s (last HTTP code: ${code:-none}); stopping" >&2
tail -n 20 "$dir/signer.log" "$dir/server.log" >&2 || true
stop
exit 1
