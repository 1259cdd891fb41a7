// Bare-metal platform (Cortex-M): log through the board's console, a clock
// the board may provide, and a halt. The weak defaults below use ARM
// semihosting (qemu -semihosting, or a debugger) or a CMSDK APB UART.
#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "mote/board.h"
#include "format.h"
#include "mote/platform.h"

#ifndef MOTE_CONSOLE_UART
#define MOTE_CONSOLE_UART 0  // base address of a CMSDK APB UART; 0: semihosting
#endif
#ifndef MOTE_SEMIHOSTING_EXIT
#define MOTE_SEMIHOSTING_EXIT 1
#endif

namespace {

#if defined(__arm__)
int semihost(int op, const void* arg) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
#else
int semihost(int, const void*) { return -1; }
#endif

constexpr int kSysWrite0 = 0x04;
constexpr int kSysExitExtended = 0x20;
constexpr uint32_t kApplicationExit = 0x20026;

#if MOTE_CONSOLE_UART
struct CmsdkUart {
  volatile uint32_t data, state, ctrl, intstatus, bauddiv;
};
void uart_write(const char* s, std::size_t n) {
  auto* u = reinterpret_cast<CmsdkUart*>(static_cast<uintptr_t>(MOTE_CONSOLE_UART));
  if ((u->ctrl & 1u) == 0) {
    u->bauddiv = 16;
    u->ctrl = 1;  // TX enable
  }
  for (std::size_t i = 0; i < n; ++i) {
    while (u->state & 1u) {  // TX buffer full
    }
    u->data = static_cast<uint8_t>(s[i]);
  }
}
#endif

}  // namespace

extern "C" {

void mote_semihosting_write0(const char* s) { semihost(kSysWrite0, s); }

void mote_semihosting_exit(int code) {
  const uint32_t block[2] = {kApplicationExit, static_cast<uint32_t>(code)};
  semihost(kSysExitExtended, block);
  for (;;) {
  }
}

__attribute__((weak)) void mote_board_write(const char* s, std::size_t n) {
#if MOTE_CONSOLE_UART
  uart_write(s, n);
#else
  // SYS_WRITE0 wants a terminated string: copy in chunks.
  char chunk[65];
  while (n > 0) {
    const std::size_t k = n < 64 ? n : 64;
    for (std::size_t i = 0; i < k; ++i) chunk[i] = s[i];
    chunk[k] = '\0';
    mote_semihosting_write0(chunk);
    s += k;
    n -= k;
  }
#endif
}

__attribute__((weak)) uint64_t mote_board_now_us(void) { return 0; }

__attribute__((weak)) void mote_board_halt(int code) {
#if MOTE_SEMIHOSTING_EXIT
  mote_semihosting_exit(code);
#else
  (void)code;
  for (;;) {
#if defined(__arm__)
    __asm__ volatile("wfi");
#endif
  }
#endif
}

}  // extern "C"

namespace mote::platform {

void log(const char* fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vformat(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  std::size_t len = static_cast<std::size_t>(n) < sizeof line - 2 ? static_cast<std::size_t>(n) : sizeof line - 2;
  line[len++] = '\n';
  mote_board_write(line, len);
}

int vformat(char* buf, std::size_t n, const char* fmt, va_list ap) { return mini_vformat(buf, n, fmt, ap); }

uint64_t now_us() { return mote_board_now_us(); }

void fatal(const char* what) {
  log("mote: fatal: %s", what);
  mote_board_halt(1);
}

}  // namespace mote::platform
