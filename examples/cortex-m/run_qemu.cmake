# ctest driver: runs one firmware image under qemu-system-arm and checks what
# it printed. -D QEMU, MACHINE, ELF, MODE (infer | biases | last_layer | all).
# Passes when qemu exits 0 (the firmware's semihosting exit code), the output
# ends in "result: PASS", the painted stack was not used up ("stack used: N
# of M bytes", N < M), and, for a fine-tuning image, the printed
# reconstruction loss after fine-tuning is lower than before.
execute_process(
  COMMAND ${QEMU} -M ${MACHINE} -nographic -monitor none -serial stdio -semihosting-config enable=on,target=native
          -kernel ${ELF}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 240)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "firmware ${MODE}: qemu exited with '${rc}'")
endif()
if(NOT out MATCHES "result: PASS")
  message(FATAL_ERROR "firmware ${MODE}: no 'result: PASS' in the output")
endif()
if(NOT out MATCHES "inference: test image 0: loss [0-9.]+")
  message(FATAL_ERROR "firmware ${MODE}: no inference loss printed")
endif()
if(NOT out MATCHES "stack used: ([0-9]+) of ([0-9]+) bytes")
  message(FATAL_ERROR "firmware ${MODE}: no 'stack used: N of M bytes' line")
endif()
if(NOT CMAKE_MATCH_1 LESS CMAKE_MATCH_2)
  message(FATAL_ERROR "firmware ${MODE}: the stack is used up (${CMAKE_MATCH_1} of ${CMAKE_MATCH_2} bytes): raise MOTE_FW_STACK_BYTES")
endif()
if(NOT MODE STREQUAL "infer")
  if(NOT out MATCHES "reconstruction loss: before ([0-9.]+) after ([0-9.]+)")
    message(FATAL_ERROR "firmware ${MODE}: no 'reconstruction loss: before X after Y' line")
  endif()
  set(before ${CMAKE_MATCH_1})
  set(after ${CMAKE_MATCH_2})
  if(NOT after LESS before)
    message(FATAL_ERROR "firmware ${MODE}: loss after fine-tuning ${after} is not below ${before}")
  endif()
  message("firmware ${MODE} on ${MACHINE}: reconstruction loss ${before} -> ${after}")
endif()
