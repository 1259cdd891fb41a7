#!/usr/bin/env bash
# Prints the size table of the firmware images in a build directory (markdown):
# .text split into mote's own code (input sections from libmote_*.a), the C
# and compiler runtime, and the application (main.c, startup, sample images),
# from the link map; the sections from arm-none-eabi-size; the arena from the
# generated model header.
#   examples/cortex-m/size_report.sh build-m4
set -euo pipefail
dir=${1:?usage: size_report.sh BUILD_DIR}
hdr="$dir/gen/tied_model.h"
[ -f "$hdr" ] || { echo "size_report: $hdr not found (configure the firmware first)" >&2; exit 2; }
arena_of() { sed -n "s/^#define TIED_ARENA_BYTES_$1 //p" "$hdr"; }
echo "| image | mote .text | libc+libm+libgcc .text | app .text (main, startup, sample images) | .text total | .weights (flash) | .data | .bss | stack | arena | RAM (.data+.bss+stack) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for mode in infer biases last_layer all; do
  elf="$dir/mote_fw_$mode.elf"
  map="$dir/mote_fw_$mode.map"
  [ -f "$elf" ] || continue
  read -r mote rt app < <(awk '
    /^\.text[ \t]/ { in_text = 1; next }
    in_text && /^\.[A-Za-z]/ { in_text = 0 }
    !in_text { next }
    function hex(h,   i, v) {
      v = 0; h = tolower(substr(h, 3))
      for (i = 1; i <= length(h); ++i) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v
    }
    function add(size, file) {
      s = hex(size)
      if (file ~ /libmote_/) mote += s
      else if (file ~ /lib(c|m|g|gcc|stdc\+\+|supc\+\+)(_nano)?\.a|crt|libgcc/) rt += s
      else app += s
    }
    /^ \.(text|rodata|isr_vector)/ {
      if (NF >= 4 && $2 ~ /^0x/) { add($3, $4); pending = 0 } else pending = 1
      next
    }
    pending && $1 ~ /^0x/ && NF >= 3 { add($2, $3); pending = 0; next }
    { pending = 0 }
    END { printf "%d %d %d\n", mote, rt, app }' "$map")
  eval "$(arm-none-eabi-size -A "$elf" | awk '$1 ~ /^\.(text|weights|data|bss|stack)$/ { gsub(/\./, "", $1); print $1 "=" $2 }')"
  case $mode in
    infer) arena=$(arena_of INFERENCE) ;;
    biases) arena=$(arena_of BIASES) ;;
    last_layer) arena=$(arena_of LAST_LAYER) ;;
    all) arena=$(arena_of ALL) ;;
  esac
  echo "| $mode | $mote | $rt | $app | $text | $weights | $data | $bss | $stack | $arena | $((data + bss + stack)) |"
done
