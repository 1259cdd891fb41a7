#!/usr/bin/env bash
# Prints the size table of the firmware images in a build directory (markdown):
# .text split into mote's own code (input sections from libmote_*.a), the C
# and compiler runtime, and the application (main.c, startup), from the link
# map; the flash and RAM sections from arm-none-eabi-size; the arena and the
# mote_model handle from the symbol table; RAM as the linker laid it out (from
# the bottom of the stack to the end of .bss, alignment padding included).
#   examples/cortex-m/size_report.sh build-m4
set -euo pipefail
dir=${1:?usage: size_report.sh BUILD_DIR}
ls "$dir"/mote_fw_*.elf >/dev/null 2>&1 || { echo "size_report: no mote_fw_*.elf in $dir (build the firmware first)" >&2; exit 2; }
echo "| image | mote .text | libc+libm+libgcc .text | app .text (main, startup) | .text total | .weights (flash) | .samples (flash) | stack | .data | .bss | of which arena | of which handle | RAM total |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
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
  text=0 weights=0 samples=0 data=0 bss=0 stack=0
  eval "$(arm-none-eabi-size -A "$elf" | awk '$1 ~ /^\.(text|weights|samples|data|bss|stack)$/ { gsub(/\./, "", $1); print $1 "=" $2 }')"
  sym() {  # sym NAME size|addr: in decimal
    local h
    h=$(arm-none-eabi-nm -S "$elf" | awk -v name="$1" -v want="$2" '$NF == name { print (want == "size" ? $2 : $1); exit }')
    echo $((16#${h:-0}))
  }
  arena=$(sym arena size)
  handle=$(sym model size)
  ram=$(( $(sym __bss_end addr) - $(sym __stack_bottom addr) ))
  echo "| $mode | $mote | $rt | $app | $text | $weights | $samples | $stack | $data | $bss | $arena | $handle | $ram |"
done
