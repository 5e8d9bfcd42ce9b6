#!/usr/bin/env bash
# Environments of the multi-table benchmark (bench/relational_compare.py): one virtual environment per engine,
# never dependencies of the package. torch is installed FIRST from the CPU wheel on disk in every one, because an
# unpinned torch (pulled in by sdv / mostlyai) is a multi-GB CUDA build.
#   bench/.venv-sdv     sdv (latest, 2.x)  -> engine "sdv-hma"   (HMASynthesizer)
#   bench/.venv-sdv1    sdv 1.37           -> engine "sdv1-hma"  (2.x refuses deep/wide schemas; 1.x does not)
#   bench/.venv-mostly  mostlyai[local]    -> engine "mostlyai"  (the MOSTLY AI engine, Apache-2.0, local mode)
#   bench/.venv-ref     sdmetrics 0.32     -> the one scorer (made by bench/setup_reference_env.sh)
# Usage: bash bench/setup_relational_envs.sh [sdv|sdv1|mostly|score ...]   (no argument: all of them)
set -euo pipefail
cd "$(dirname "$0")"
TORCH="torch==2.13.0"
SDV2="sdv==2.0.0"
SDV1="sdv==1.37.4"
MOSTLY="mostlyai[local]==6.2.0"

make_env() {  # make_env DIR PACKAGE...
    local dir=$1; shift
    test -x "$dir/bin/python" || python3 -m venv "$dir"
    "$dir/bin/pip" install -q "$TORCH"
    "$dir/bin/pip" install -q "$@" "pandas<3" "$TORCH" psutil
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(score sdv sdv1 mostly)
for t in "${targets[@]}"; do
    case $t in
        score)  test -x .venv-ref/bin/python && .venv-ref/bin/python -c "import sdmetrics" 2>/dev/null \
                    || bash setup_reference_env.sh ;;
        sdv)    make_env .venv-sdv "$SDV2" ;;
        sdv1)   make_env .venv-sdv1 "$SDV1" ;;
        mostly) make_env .venv-mostly "$MOSTLY"
                # mostlyai-engine pins torchvision/torchaudio, but PyPI's wheels are CUDA builds that cannot load
                # against the CPU torch ("operator torchvision::nms does not exist") and transformers then fails
                # to import; the tabular engine uses neither, so remove them.
                .venv-mostly/bin/pip uninstall -q -y torchvision torchaudio ;;
        *) echo "unknown environment '$t' (use: score sdv sdv1 mostly)" >&2; exit 2 ;;
    esac
done
