# Servers for the store tests, on loopback only. Sourced by scripts/test (in its own shell,
# so that the exports reach the test step), never run on its own.
#
# Installs Debian's redis-server, redis-tools, memcached and openssl when missing, starts one Redis,
# a Redis Cluster of three primaries and two Memcached servers on fixed loopback ports
# (override with the variables below), exports their addresses for the tests, and stops
# exactly the processes it started when the gate exits.
#
#   LARDER_REDIS_PORT (16379)  LARDER_REDIS_CLUSTER_PORTS ("17101 17102 17103")
#   LARDER_MEMCACHED_PORTS ("11311 11312")  LARDER_REDIS_TLS_PORT (16380)
#
# The TLS Redis (only TLS: its plain port is off) has a certificate for 127.0.0.1 and
# localhost, signed by a CA made here with openssl for this run; the tests trust that CA
# through LARDER_REDIS_TLS_CA (its PEM file) and reach the server at LARDER_REDIS_TLS_URL.

larder_services_dir=$(mktemp -d)
larder_service_pids=()

larder_stop_services() {
    if ((${#larder_service_pids[@]})); then
        kill "${larder_service_pids[@]}" 2>/dev/null || true
        wait "${larder_service_pids[@]}" 2>/dev/null || true
    fi
    rm -rf "$larder_services_dir"
}
trap larder_stop_services EXIT

larder_missing=()
command -v redis-server >/dev/null || larder_missing+=(redis-server)
command -v redis-cli >/dev/null || larder_missing+=(redis-tools)
command -v memcached >/dev/null || larder_missing+=(memcached)
command -v openssl >/dev/null || larder_missing+=(openssl)
if ((${#larder_missing[@]})); then
    echo "installing ${larder_missing[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${larder_missing[@]}" >/dev/null
fi

# A port someone else listens on would mix their data into our tests: refuse it.
larder_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits (up to 10 s) until something accepts connections on the port.
larder_wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$port after 10 s" >&2
    return 1
}

redis_port=${LARDER_REDIS_PORT:-16379}
larder_port_free "$redis_port" || { echo "port $redis_port is taken" >&2; exit 1; }
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$larder_services_dir" >"$larder_services_dir/redis.log" 2>&1 &
larder_service_pids+=($!)

# A CA and a server certificate it signs (for 127.0.0.1 and localhost), for this run only.
larder_tls_dir="$larder_services_dir/tls"
mkdir -p "$larder_tls_dir"
(
    cd "$larder_tls_dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=larder test CA" \
        -keyout ca.key -out ca.crt
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout redis.key -out redis.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >redis.ext
    openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile redis.ext -out redis.crt
) >"$larder_services_dir/tls.log" 2>&1 || { cat "$larder_services_dir/tls.log" >&2; exit 1; }

redis_tls_port=${LARDER_REDIS_TLS_PORT:-16380}
larder_port_free "$redis_tls_port" || { echo "port $redis_tls_port is taken" >&2; exit 1; }
mkdir -p "$larder_services_dir/redis-tls"
redis-server --port 0 --tls-port "$redis_tls_port" --bind 127.0.0.1 --save '' --appendonly no \
    --tls-cert-file "$larder_tls_dir/redis.crt" --tls-key-file "$larder_tls_dir/redis.key" \
    --tls-ca-cert-file "$larder_tls_dir/ca.crt" --tls-auth-clients no \
    --dir "$larder_services_dir/redis-tls" >"$larder_services_dir/redis-tls.log" 2>&1 &
larder_service_pids+=($!)

cluster_ports=(${LARDER_REDIS_CLUSTER_PORTS:-17101 17102 17103})
for port in "${cluster_ports[@]}"; do
    larder_port_free "$port" || { echo "port $port is taken" >&2; exit 1; }
    mkdir -p "$larder_services_dir/cluster-$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --cluster-enabled yes --cluster-config-file nodes.conf \
        --dir "$larder_services_dir/cluster-$port" \
        >"$larder_services_dir/cluster-$port.log" 2>&1 &
    larder_service_pids+=($!)
done

memcached_addrs=()
for port in ${LARDER_MEMCACHED_PORTS:-11311 11312}; do
    larder_port_free "$port" || { echo "port $port is taken" >&2; exit 1; }
    memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 -I 2m -u root \
        >"$larder_services_dir/memcached-$port.log" 2>&1 &
    larder_service_pids+=($!)
    memcached_addrs+=("127.0.0.1:$port")
done

larder_wait_port "$redis_port"
cluster_nodes=()
for port in "${cluster_ports[@]}"; do
    larder_wait_port "$port"
    cluster_nodes+=("127.0.0.1:$port")
done
redis-cli --cluster create "${cluster_nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$larder_services_dir/cluster-create.log" 2>&1 \
    || { cat "$larder_services_dir/cluster-create.log" >&2; exit 1; }
# Until every node agrees the cluster is up (slots assigned and gossiped; bounded, 10 s).
for port in "${cluster_ports[@]}"; do
    for i in $(seq 1 100); do
        redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
        ((i == 100)) && { echo "the Redis Cluster is not up after 10 s" >&2; exit 1; }
        sleep 0.1
    done
done
for addr in "${memcached_addrs[@]}"; do
    larder_wait_port "${addr##*:}"
done
larder_wait_port "$redis_tls_port" || { cat "$larder_services_dir/redis-tls.log" >&2; exit 1; }

export LARDER_REDIS_URL="redis://127.0.0.1:$redis_port"
export LARDER_REDIS_CLUSTER_NODES
LARDER_REDIS_CLUSTER_NODES=$(IFS=,; printf '%s' "${cluster_nodes[*]/#/redis://}")
export LARDER_MEMCACHED_ADDRS
LARDER_MEMCACHED_ADDRS=$(IFS=,; echo "${memcached_addrs[*]}")
export LARDER_REDIS_TLS_URL="rediss://127.0.0.1:$redis_tls_port"
export LARDER_REDIS_TLS_CA="$larder_tls_dir/ca.crt"
echo "redis: $LARDER_REDIS_URL; redis over TLS: $LARDER_REDIS_TLS_URL; cluster: $LARDER_REDIS_CLUSTER_NODES; memcached: $LARDER_MEMCACHED_ADDRS (pids ${larder_service_pids[*]})"
